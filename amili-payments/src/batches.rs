//! Batches: one by id, all of them page by page, one by idempotency key; their status, type
//! and items.

use std::num::NonZeroU32;

use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use serde::Serialize;
use uuid::Uuid;

use crate::client::Client;
use crate::error::Error;
use crate::idempotency::IdempotencyKey;
pub use amili_api::{BatchItem, BatchStatus, BatchType};

/// A batch Amili created for a write call.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Batch {
    /// The batch id.
    pub id: Uuid,
    /// `QUEUED`, then `SUCCESS`, `PARTIAL` or `FAILED` (values this version does not know are
    /// kept and taken as not terminal).
    pub status: BatchStatus,
    /// What the batch holds, when sent.
    pub kind: Option<BatchType>,
    /// When it was created.
    pub created_at: Option<DateTime<Utc>>,
    /// When it finished (absent while queued).
    pub finished_at: Option<DateTime<Utc>>,
    /// The organization.
    pub organization_id: Option<Uuid>,
    /// Who created it.
    pub created_by: Option<Uuid>,
    /// The items that succeeded, kept whole.
    pub succeeded: Vec<BatchItem>,
    /// The items that failed, kept whole.
    pub failed: Vec<BatchItem>,
}

impl Batch {
    /// Whether the batch is done (`SUCCESS`, `PARTIAL` or `FAILED`).
    pub fn is_terminal(&self) -> bool {
        self.status.is_terminal()
    }
}

/// When a [`BatchStatus`] counts as done: the polling policy, kept here rather than in the
/// raw `amili-api` types.
///
/// ```
/// use amili_payments::batches::{BatchStatus, BatchStatusExt};
///
/// assert!(BatchStatus::Partial.is_terminal());
/// assert!(!BatchStatus::from("RUNNING").is_terminal());
/// ```
pub trait BatchStatusExt {
    /// Whether the batch is done (`SUCCESS`, `PARTIAL` or `FAILED`). Unknown values are taken
    /// as not done: a poller keeps waiting (until its deadline) rather than reading a
    /// half-processed batch as final.
    fn is_terminal(&self) -> bool;
}

impl BatchStatusExt for BatchStatus {
    fn is_terminal(&self) -> bool {
        matches!(self, Self::Success | Self::Partial | Self::Failed)
    }
}

impl From<amili_api::types::Batch> for Batch {
    fn from(b: amili_api::types::Batch) -> Self {
        Self {
            id: b.batch_id,
            status: b.status,
            kind: b.type_,
            created_at: b.created_at,
            finished_at: b.finished_at,
            organization_id: b.organization_id,
            created_by: b.created_by,
            succeeded: b.succeeded,
            failed: b.failed,
        }
    }
}

/// Which batches [`Client::batches`] lists. Every filter is optional.
///
/// ```
/// use amili_payments::batches::{BatchFilter, BatchStatus};
///
/// let filter = BatchFilter::default().with_status(BatchStatus::Queued).with_page_size(50);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct BatchFilter {
    /// Only batches with this status (`State`).
    pub status: Option<BatchStatus>,
    /// Only batches of this type (`Type`).
    pub kind: Option<BatchType>,
    /// Only batches about this subject (`SubjectId`).
    pub subject_id: Option<String>,
    /// Only the batch created with this key (`IdempotencyKey`).
    pub idempotency_key: Option<IdempotencyKey>,
    /// Batches per page (`PageSize`); the server's default when `None`.
    pub page_size: Option<NonZeroU32>,
    /// `ASC` or `DESC` by creation time (`SortDirection`; the value set is undocumented).
    pub sort_direction: Option<String>,
}

impl BatchFilter {
    /// Only batches with this status.
    #[must_use]
    pub fn with_status(mut self, status: BatchStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Only batches of this type.
    #[must_use]
    pub fn with_kind(mut self, kind: BatchType) -> Self {
        self.kind = Some(kind);
        self
    }

    /// Only batches about this subject.
    #[must_use]
    pub fn with_subject_id(mut self, subject_id: impl Into<String>) -> Self {
        self.subject_id = Some(subject_id.into());
        self
    }

    /// Only the batch created with this key.
    #[must_use]
    pub fn with_idempotency_key(mut self, key: IdempotencyKey) -> Self {
        self.idempotency_key = Some(key);
        self
    }

    /// Batches per page (0 means the server's default).
    #[must_use]
    pub fn with_page_size(mut self, size: u32) -> Self {
        self.page_size = NonZeroU32::new(size);
        self
    }

    /// `ASC` or `DESC`.
    #[must_use]
    pub fn with_sort_direction(mut self, direction: impl Into<String>) -> Self {
        self.sort_direction = Some(direction.into());
        self
    }
}

const LIST: &str = "get_batches_by_organization";

impl Client {
    /// One batch by id.
    ///
    /// # Errors
    ///
    /// [`Error`] with the API's status when Amili refuses the call (404: no such batch),
    /// after the call loop's retries for throttling and transport failures.
    pub async fn batch(&self, batch_id: Uuid) -> Result<Batch, Error> {
        const OPERATION: &str = "get_batch_by_id";
        let span = tracing::info_span!("amili.get_batch", operation = OPERATION, %batch_id);
        self.read_in(OPERATION, span, |raw, organization_id| {
            raw.get_batch_by_id()
                .organization_id(organization_id)
                .batch_id(batch_id)
                .send()
        })
        .await
        .map(|(batch, _)| batch.into())
    }

    /// One page of batches: the batches and the next cursor (absent or empty on the last).
    ///
    /// # Errors
    ///
    /// [`Error`] when Amili refuses the call or it cannot be made after the call loop's
    /// retries.
    pub async fn batches_page(
        &self,
        filter: &BatchFilter,
        page_token: Option<&str>,
    ) -> Result<(Vec<Batch>, Option<String>), Error> {
        let span = tracing::info_span!("amili.list_batches", operation = LIST, page_token);
        let (batches, next) = self
            .read_in(LIST, span, |raw, organization_id| {
                let mut request = raw
                    .get_batches_by_organization()
                    .organization_id(organization_id);
                if let Some(status) = &filter.status {
                    request = request.state(status.clone());
                }
                if let Some(kind) = &filter.kind {
                    request = request.type_(kind.clone());
                }
                if let Some(subject) = &filter.subject_id {
                    request = request.subject_id(subject.clone());
                }
                if let Some(key) = &filter.idempotency_key {
                    request = request.idempotency_key(key.to_string());
                }
                if let Some(size) = filter.page_size {
                    request = request.page_size(size);
                }
                if let Some(direction) = &filter.sort_direction {
                    request = request.sort_direction(direction.clone());
                }
                if let Some(token) = page_token {
                    request = request.page_token(token.to_owned());
                }
                request.send()
            })
            .await
            .map(crate::pages::items)?;
        // An empty cursor also marks the last page.
        Ok((batches, next.filter(|t| !t.is_empty())))
    }

    /// Proves the credentials may act for the organization with the cheapest read of it (a
    /// listing of at most one batch). A token alone proves only the credentials: a wrong
    /// organization id gets a token too, and then `403` or `404` on every call.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with `403` (the credentials are not allowed for the organization) or
    /// `404` (no such organization), [`Error::Authentication`] when the credentials are
    /// refused, and any read's errors.
    pub async fn check_organization(&self) -> Result<(), Error> {
        let filter = BatchFilter::default().with_page_size(1);
        self.batches_page(&filter, None).await.map(drop)
    }

    /// Every batch matching `filter`, across all pages, fetched lazily.
    ///
    /// The listing stops with an [`Error::InvalidResponse`] if the server hands out a cursor
    /// it handed out before (it would loop forever otherwise). A failed page ends the stream
    /// after yielding its error.
    ///
    /// ```no_run
    /// # async fn demo(client: amili_payments::Client) -> Result<(), amili_payments::Error> {
    /// use futures::TryStreamExt;
    /// use amili_payments::batches::BatchFilter;
    ///
    /// let all: Vec<_> = client.batches(BatchFilter::default()).try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn batches(&self, filter: BatchFilter) -> BoxStream<'static, Result<Batch, Error>> {
        crate::pages::follow_reads(self, LIST, filter, |client, filter, cursor| {
            Box::pin(client.batches_page(filter, cursor))
        })
    }

    /// The batch created with `key`, if any (`GET …/batches?IdempotencyKey=…`).
    ///
    /// More than one batch for one key means the server does not apply the filter as
    /// assumed; that is an error rather than a guess.
    ///
    /// # Errors
    ///
    /// [`Error`] when the listing fails, or when more than one batch carries `key`.
    pub async fn find_batch_by_key(&self, key: &IdempotencyKey) -> Result<Option<Batch>, Error> {
        let filter = BatchFilter::default()
            .with_idempotency_key(key.clone())
            .with_page_size(2);
        let (mut batches, _) = self.batches_page(&filter, None).await?;
        match batches.len() {
            0 => Ok(None),
            1 => Ok(batches.pop()),
            n => Err(Error::InvalidResponse {
                operation: LIST,
                status: None,
                message: format!(
                    "{n} batches were listed for idempotency key {key}; the server may not \
                     support the IdempotencyKey filter, so the key cannot identify a batch"
                ),
            }),
        }
    }
}

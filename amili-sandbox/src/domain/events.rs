//! Webhook events (domain floor): the `BATCH_COMPLETED` and `SETTLEMENT_CREATED` events the
//! sandbox announces, built in the order things happen, and the log of every delivery attempt
//! ([`crate::Sandbox::webhook_attempts`]). Delivering them is the courier's (`webhooks.rs`).
//!
//! Every delivery of one event (retries and the duplicate of [`crate::WebhookFault::DeliverTwice`])
//! carries the same `IdempotencyKey`; it is deliberately not the event's `id`, so a receiver
//! that dedupes by the documented header is tested as such.

use std::sync::Mutex;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::domain::settlements::Settlement;
use crate::domain::store::FinishedBatch;

/// One HTTP request of a webhook delivery, as [`crate::Sandbox::webhook_attempts`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebhookAttempt {
    /// The event's `id`.
    pub event_id: Uuid,
    /// The event's `type` (`BATCH_COMPLETED` or `SETTLEMENT_CREATED`).
    pub event_type: String,
    /// What the event is about: the batch of a `BATCH_COMPLETED`, the settlement of a
    /// `SETTLEMENT_CREATED`.
    pub subject_id: Uuid,
    /// The `IdempotencyKey` header (the same on every delivery of the event).
    pub idempotency_key: String,
    /// The `X-Amili-Request-Id` header (new for every request).
    pub request_id: Uuid,
    /// 1 for the first delivery, 2 for the duplicate of [`crate::WebhookFault::DeliverTwice`].
    pub copy: u32,
    /// The attempt within the delivery, from 1.
    pub attempt: u32,
    /// The receiver's status, when it answered.
    pub status: Option<u16>,
    /// Why no answer came (timeout, connection refused, …).
    pub error: Option<String>,
}

impl WebhookAttempt {
    /// Whether the receiver answered 2xx.
    pub fn delivered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// The log of every attempt, shared with the [`crate::Sandbox`] handle.
#[derive(Debug, Default)]
pub(crate) struct AttemptLog(Mutex<Vec<WebhookAttempt>>);

impl AttemptLog {
    pub(crate) fn push(&self, attempt: WebhookAttempt) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(attempt);
    }

    pub(crate) fn all(&self) -> Vec<WebhookAttempt> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

const BATCH_COMPLETED: &str = "BATCH_COMPLETED";
const SETTLEMENT_CREATED: &str = "SETTLEMENT_CREATED";

/// One event ready to go: what the courier is handed, in the order things happened.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub(crate) event_id: Uuid,
    pub(crate) event_type: &'static str,
    pub(crate) subject_id: Uuid,
    pub(crate) idempotency_key: String,
    pub(crate) body: bytes::Bytes,
}

impl Outgoing {
    pub(crate) fn batch_completed(batch: &FinishedBatch) -> Self {
        let data = json!({
            "batchId": batch.batch_id,
            "organizationId": batch.organization_id,
            "status": batch.status.as_str(),
        });
        Self::new(BATCH_COMPLETED, batch.batch_id, batch.finished_at, data)
    }

    /// The documented data of `SETTLEMENT_CREATED`; `invoiceNumber` only when the sandbox
    /// knows one (as in `GetSettlementById`).
    pub(crate) fn settlement_created(settlement: &Settlement, at: DateTime<Utc>) -> Self {
        let mut data = json!({
            "settlementId": settlement.id,
            "organizationId": settlement.organization_id,
            "settlementDate": settlement.settlement_date.to_string(),
            "invoiceId": settlement.invoice_id,
            "caseNumber": settlement.case_number(),
        });
        if let (Some(number), Some(data)) = (&settlement.invoice_number, data.as_object_mut()) {
            data.insert("invoiceNumber".into(), json!(number));
        }
        Self::new(SETTLEMENT_CREATED, settlement.id, at, data)
    }

    fn new(
        event_type: &'static str,
        subject_id: Uuid,
        at: DateTime<Utc>,
        data: serde_json::Value,
    ) -> Self {
        let event_id = Uuid::new_v4();
        let body = json!({
            "id": event_id,
            "type": event_type,
            "source": "COLLECTION",
            "timeStamp": at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "data": data,
        });
        Self {
            event_id,
            event_type,
            subject_id,
            idempotency_key: Uuid::new_v4().to_string(),
            body: bytes::Bytes::from(body.to_string()),
        }
    }
}

//! What a ledger store is: the [`Ledger`] trait, and the words it speaks (items, claims,
//! results, errors).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use uuid::Uuid;

use crate::idempotency::IdempotencyKey;
use crate::outcome::{Failure, Outcome};

/// A store the submission pipeline asks before each request and tells after it.
///
/// For every request the pipeline first **claims** its items under the request's idempotency
/// key (the *intent*, recorded before the first attempt), sends only the items it got, then
/// **records** the result. Items are identified by their id (a payment's
/// `uniqueSourcePaymentId`) within the ledger's scope (one API and organization: a store is
/// opened for one) and carry a fingerprint of their content. Once a poller learns how a
/// batch processed its items, it **records their outcomes** (succeeded, or failed with
/// Amili's reason), which later claims answer with.
///
/// `amili-payments` ships [`MemoryLedger`](super::MemoryLedger); the `amili-ledger` crate has SQLite and
/// PostgreSQL stores. Implementations answer each claim with [`decide`](super::decide) (or
/// its mirror in SQL) and must make `claim` atomic: two submissions claiming the same id at
/// once must not both get [`Claim::Claimed`].
pub trait Ledger: Send + Sync + fmt::Debug {
    /// Claims `items` for the request with `key`: one answer per item, in order. An item that
    /// is new (or was released by [`Settled::NotBooked`]) is recorded as pending under `key`
    /// and answered [`Claim::Claimed`].
    fn claim<'a>(
        &'a self,
        key: &'a IdempotencyKey,
        items: &'a [LedgerItem<'a>],
    ) -> BoxFuture<'a, Result<Vec<Claim>, LedgerError>>;

    /// The items claimed under `key` whose result was never recorded, with their
    /// fingerprints (to resume an interrupted request with exactly its payments).
    fn pending<'a>(
        &'a self,
        key: &'a IdempotencyKey,
    ) -> BoxFuture<'a, Result<Vec<(String, Fingerprint)>, LedgerError>>;

    /// Takes over the pending items of `key` (claimed by a submission that ended without
    /// recording them) to send them again under that key. `false` when another live
    /// submission holds or took them.
    fn adopt<'a>(&'a self, key: &'a IdempotencyKey) -> BoxFuture<'a, Result<bool, LedgerError>>;

    /// Records how the request with `key` ended, for every item claimed under it.
    fn record<'a>(
        &'a self,
        key: &'a IdempotencyKey,
        settled: &'a Settled,
    ) -> BoxFuture<'a, Result<(), LedgerError>>;

    /// Records how batch `batch_id` processed items accepted in it (learned by following the
    /// batch), replacing what was known. An id the ledger does not hold as accepted in that
    /// batch (unknown, or claimed again since) is left alone.
    fn record_outcomes<'a>(
        &'a self,
        batch_id: Uuid,
        outcomes: &'a [(&'a str, Processed)],
    ) -> BoxFuture<'a, Result<(), LedgerError>>;

    /// What the ledger holds for each of `ids`, in order (`None`: nothing).
    fn known<'a>(
        &'a self,
        ids: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Vec<Option<Known>>, LedgerError>>;

    /// Releases the items `ids` pending under `key` (a request Amili has no batch for, left
    /// by a run that ended or recorded its result unknown), so that they may be claimed
    /// again — but only once the request was last claimed or taken over at least `quiet`
    /// ago, by the store's clock: until then the request may still arrive, and the items are
    /// left as they are. The other items pending under `key` are never touched.
    ///
    /// `true` when none of `ids` is pending under `key` any more (released now or before);
    /// `false` when the request is too recent and they stay pending.
    fn release<'a>(
        &'a self,
        key: &'a IdempotencyKey,
        ids: &'a [&'a str],
        quiet: Duration,
    ) -> BoxFuture<'a, Result<bool, LedgerError>>;
}

/// How Amili processed an item in its batch, as the ledger records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Processed {
    /// Booked.
    Succeeded,
    /// Failed, with Amili's reason. Assumed not booked: a failed item may be sent again under
    /// its id (changed content only: unchanged, it would fail the same way).
    Failed(Failure),
}

impl Processed {
    /// `succeeded` or `failed`, as stored.
    pub fn name(&self) -> &'static str {
        match self {
            Processed::Succeeded => "succeeded",
            Processed::Failed(_) => "failed",
        }
    }

    /// From what a store holds: the name ([`name`](Self::name)) and the failure's code and
    /// message; `None` for a name this version does not know.
    pub fn from_stored(name: &str, code: Option<&str>, message: Option<&str>) -> Option<Self> {
        match name {
            "succeeded" => Some(Processed::Succeeded),
            "failed" => Some(Processed::Failed(Failure::new(code, message))),
            _ => None,
        }
    }

    /// The failure, when it failed.
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Processed::Failed(failure) => Some(failure),
            Processed::Succeeded => None,
        }
    }
}

/// What a ledger holds for one id.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Known {
    /// The content claimed last.
    pub fingerprint: Fingerprint,
    /// The key of the request that carried it last.
    pub key: IdempotencyKey,
    /// The batch it was accepted in; `None` while pending (no result recorded).
    pub batch_id: Option<Uuid>,
    /// How that batch processed it, once learned.
    pub processed: Option<Processed>,
}

impl Known {
    /// What a store read for an id.
    pub fn new(
        fingerprint: Fingerprint,
        key: IdempotencyKey,
        batch_id: Option<Uuid>,
        processed: Option<Processed>,
    ) -> Self {
        Self {
            fingerprint,
            key,
            batch_id,
            processed,
        }
    }

    /// The item as a report gives it once Amili accepted it, for this content: already
    /// accepted (its outcome not learned yet), succeeded, or failed with Amili's reason; with
    /// the batch. `None` while pending (claimed by a run that did not record its result).
    pub fn accepted_outcome(&self) -> Option<(Outcome, Uuid)> {
        let batch_id = self.batch_id?;
        let outcome = match &self.processed {
            None => Outcome::AlreadyAccepted,
            Some(Processed::Succeeded) => Outcome::Succeeded,
            Some(Processed::Failed(failure)) => Outcome::Failed(failure.clone()),
        };
        Some((outcome, batch_id))
    }
}

/// One item as the ledger sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerItem<'a> {
    /// The item's id (a payment's `uniqueSourcePaymentId`).
    pub id: &'a str,
    /// A digest of the item's content as sent (SHA-256 of its JSON).
    pub fingerprint: &'a Fingerprint,
}

/// A digest of an item's content.
pub type Fingerprint = [u8; 32];

/// What the ledger answers for one item.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Claim {
    /// Recorded as pending under the claiming key: send it.
    Claimed,
    /// Accepted earlier (same content) in this batch, its outcome not known yet: do not send
    /// it.
    AlreadyAccepted {
        /// The batch it was queued in.
        batch_id: Uuid,
    },
    /// Accepted earlier (same content) in this batch, which booked it: do not send it.
    SucceededEarlier {
        /// The batch that booked it.
        batch_id: Uuid,
    },
    /// Accepted earlier (same content) in this batch, which failed it: do not send it (it
    /// would fail the same way). Changed content is claimed instead, and sent again.
    FailedEarlier {
        /// The batch that failed it.
        batch_id: Uuid,
        /// Amili's reason.
        failure: Failure,
    },
    /// Accepted earlier with other content, and not known to have failed: do not send it.
    Conflict {
        /// The batch it was queued in.
        batch_id: Uuid,
    },
    /// Claimed earlier under `key` by a request whose result was never recorded (a crash, an
    /// unknown outcome). When the submission holds exactly that request's payments unchanged,
    /// the pipeline [adopts](Ledger::adopt) the key and sends them again under it (the server
    /// answers with the first batch if the first request arrived); otherwise it looks the batch
    /// up by that key, records what it finds, and claims again.
    Pending {
        /// The earlier request's key.
        key: IdempotencyKey,
    },
    /// Another submission is sending it right now: do not send it.
    Busy,
}

/// How a request ended, as the ledger records it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Settled {
    /// Queued in this batch: the items are accepted for good.
    Accepted {
        /// The batch.
        batch_id: Uuid,
    },
    /// Provably not booked: the items are released and may be claimed again.
    NotBooked,
    /// Maybe booked: the items stay pending under the key (a later claim answers
    /// [`Claim::Pending`]).
    Unknown,
}

/// Why a ledger could not answer or record. What could not be recorded is not sent.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct LedgerError {
    message: String,
}

impl LedgerError {
    /// An error with a message naming what failed.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// A ledger shared by reference.
impl<L: Ledger + ?Sized> Ledger for Arc<L> {
    fn claim<'a>(
        &'a self,
        key: &'a IdempotencyKey,
        items: &'a [LedgerItem<'a>],
    ) -> BoxFuture<'a, Result<Vec<Claim>, LedgerError>> {
        (**self).claim(key, items)
    }

    fn pending<'a>(
        &'a self,
        key: &'a IdempotencyKey,
    ) -> BoxFuture<'a, Result<Vec<(String, Fingerprint)>, LedgerError>> {
        (**self).pending(key)
    }

    fn adopt<'a>(&'a self, key: &'a IdempotencyKey) -> BoxFuture<'a, Result<bool, LedgerError>> {
        (**self).adopt(key)
    }

    fn record<'a>(
        &'a self,
        key: &'a IdempotencyKey,
        settled: &'a Settled,
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        (**self).record(key, settled)
    }

    fn record_outcomes<'a>(
        &'a self,
        batch_id: Uuid,
        outcomes: &'a [(&'a str, Processed)],
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        (**self).record_outcomes(batch_id, outcomes)
    }

    fn known<'a>(
        &'a self,
        ids: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Vec<Option<Known>>, LedgerError>> {
        (**self).known(ids)
    }

    fn release<'a>(
        &'a self,
        key: &'a IdempotencyKey,
        ids: &'a [&'a str],
        quiet: Duration,
    ) -> BoxFuture<'a, Result<bool, LedgerError>> {
        (**self).release(key, ids, quiet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_accepted_item_is_reported_as_its_batch_processed_it_and_a_pending_one_is_not() {
        let batch = Uuid::from_u128(7);
        let known = |batch_id, processed| {
            Known::new([1; 32], IdempotencyKey::random(), batch_id, processed)
        };
        assert_eq!(known(None, None).accepted_outcome(), None);
        assert_eq!(
            known(Some(batch), None).accepted_outcome(),
            Some((Outcome::AlreadyAccepted, batch))
        );
        assert_eq!(
            known(Some(batch), Some(Processed::Succeeded)).accepted_outcome(),
            Some((Outcome::Succeeded, batch))
        );
        let failure = Failure::new(Some("INVOICE_CLOSED"), Some("the invoice is closed"));
        assert_eq!(
            known(Some(batch), Some(Processed::Failed(failure.clone()))).accepted_outcome(),
            Some((Outcome::Failed(failure), batch))
        );
    }
}

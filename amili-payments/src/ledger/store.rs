//! What a ledger store is: the [`Ledger`] trait, and the words it speaks (items, claims,
//! results, errors).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use uuid::Uuid;

use crate::idempotency::IdempotencyKey;

/// A store the submission pipeline asks before each request and tells after it.
///
/// For every request the pipeline first **claims** its items under the request's idempotency
/// key (the *intent*, recorded before the first attempt), sends only the items it got, then
/// **records** the result. Items are identified by their id (a payment's
/// `uniqueSourcePaymentId`) within the ledger's scope (one API and organization: a store is
/// opened for one) and carry a fingerprint of their content.
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
    /// Accepted earlier (same content) in this batch: do not send it.
    AlreadyAccepted {
        /// The batch it was queued in.
        batch_id: Uuid,
    },
    /// Accepted earlier with other content: do not send it.
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

    fn release<'a>(
        &'a self,
        key: &'a IdempotencyKey,
        ids: &'a [&'a str],
        quiet: Duration,
    ) -> BoxFuture<'a, Result<bool, LedgerError>> {
        (**self).release(key, ids, quiet)
    }
}

//! The ledger: what a submission remembers of what it sent, so that nothing is sent twice —
//! across requests, runs, files and (with a shared store) machines.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex};

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
/// `amili-payments` ships [`MemoryLedger`]; the `amili-ledger` crate has SQLite and
/// PostgreSQL stores. Implementations must make `claim` atomic: two submissions claiming the
/// same id at once must not both get [`Claim::Claimed`].
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

/// A ledger in memory: nothing is sent twice by one process. Share one (`Arc`) across
/// submissions; it forgets everything when dropped.
///
/// ```
/// use std::sync::Arc;
/// use amili_payments::ledger::MemoryLedger;
///
/// let ledger = Arc::new(MemoryLedger::default());
/// // client.submit(payments).with_ledger(ledger.clone()).send().await?
/// assert!(ledger.is_empty());
/// ```
#[derive(Default)]
pub struct MemoryLedger {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    items: HashMap<String, Entry>,
    /// The items of each key whose result is not recorded as accepted.
    by_key: HashMap<IdempotencyKey, Vec<String>>,
    /// Keys claimed and not yet recorded: their requests are in flight.
    in_flight: HashSet<IdempotencyKey>,
}

#[derive(Debug, Clone)]
struct Entry {
    fingerprint: Fingerprint,
    key: IdempotencyKey,
    batch_id: Option<Uuid>,
}

impl MemoryLedger {
    /// How many items it holds.
    pub fn len(&self) -> usize {
        self.lock().items.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl fmt::Debug for MemoryLedger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryLedger")
            .field("items", &self.len())
            .finish()
    }
}

impl Ledger for MemoryLedger {
    fn claim<'a>(
        &'a self,
        key: &'a IdempotencyKey,
        items: &'a [LedgerItem<'a>],
    ) -> BoxFuture<'a, Result<Vec<Claim>, LedgerError>> {
        let mut state = self.lock();
        let state = &mut *state;
        let mut claimed = Vec::new();
        let claims = items
            .iter()
            .map(|item| match state.items.get(item.id) {
                None => {
                    state.items.insert(
                        item.id.to_owned(),
                        Entry {
                            fingerprint: *item.fingerprint,
                            key: key.clone(),
                            batch_id: None,
                        },
                    );
                    claimed.push(item.id.to_owned());
                    Claim::Claimed
                }
                Some(Entry {
                    batch_id: Some(batch_id),
                    fingerprint,
                    ..
                }) if fingerprint == item.fingerprint => Claim::AlreadyAccepted {
                    batch_id: *batch_id,
                },
                Some(Entry {
                    batch_id: Some(batch_id),
                    ..
                }) => Claim::Conflict {
                    batch_id: *batch_id,
                },
                Some(entry) if state.in_flight.contains(&entry.key) => Claim::Busy,
                Some(entry) => Claim::Pending {
                    key: entry.key.clone(),
                },
            })
            .collect();
        if !claimed.is_empty() {
            state.in_flight.insert(key.clone());
            state.by_key.entry(key.clone()).or_default().extend(claimed);
        }
        Box::pin(std::future::ready(Ok(claims)))
    }

    fn pending<'a>(
        &'a self,
        key: &'a IdempotencyKey,
    ) -> BoxFuture<'a, Result<Vec<(String, Fingerprint)>, LedgerError>> {
        let state = self.lock();
        let items = state
            .by_key
            .get(key)
            .into_iter()
            .flatten()
            .filter_map(|id| {
                state
                    .items
                    .get(id)
                    .filter(|e| e.batch_id.is_none())
                    .map(|e| (id.clone(), e.fingerprint))
            })
            .collect();
        Box::pin(std::future::ready(Ok(items)))
    }

    fn adopt<'a>(&'a self, key: &'a IdempotencyKey) -> BoxFuture<'a, Result<bool, LedgerError>> {
        // In one process a key not in flight belongs to nobody.
        let adopted = self.lock().in_flight.insert(key.clone());
        Box::pin(std::future::ready(Ok(adopted)))
    }

    fn record<'a>(
        &'a self,
        key: &'a IdempotencyKey,
        settled: &'a Settled,
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        let mut state = self.lock();
        state.in_flight.remove(key);
        match settled {
            Settled::Accepted { batch_id } => {
                for id in state.by_key.remove(key).unwrap_or_default() {
                    if let Some(entry) = state.items.get_mut(&id) {
                        entry.batch_id = Some(*batch_id);
                    }
                }
            }
            Settled::NotBooked => {
                for id in state.by_key.remove(key).unwrap_or_default() {
                    state.items.remove(&id);
                }
            }
            Settled::Unknown => {}
        }
        Box::pin(std::future::ready(Ok(())))
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
}

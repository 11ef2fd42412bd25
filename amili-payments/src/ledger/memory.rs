//! The store in memory: one process, one run.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use uuid::Uuid;

use super::decision::{Held, decide};
use super::store::{Claim, Fingerprint, Ledger, LedgerError, LedgerItem, Settled};
use crate::idempotency::IdempotencyKey;

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
    /// When each key pending was last claimed or taken over.
    touched: HashMap<IdempotencyKey, Instant>,
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
            .map(|item| {
                let held = match state.items.get(item.id) {
                    None => Held::Nothing,
                    Some(Entry {
                        batch_id: Some(batch_id),
                        fingerprint,
                        ..
                    }) => Held::Accepted {
                        fingerprint,
                        batch_id: *batch_id,
                    },
                    Some(Entry { key, .. }) => Held::Pending {
                        key,
                        sending: state.in_flight.contains(key),
                    },
                };
                let claim = decide(held, item.fingerprint);
                if claim == Claim::Claimed {
                    state.items.insert(
                        item.id.to_owned(),
                        Entry {
                            fingerprint: *item.fingerprint,
                            key: key.clone(),
                            batch_id: None,
                        },
                    );
                    claimed.push(item.id.to_owned());
                }
                claim
            })
            .collect();
        if !claimed.is_empty() {
            state.in_flight.insert(key.clone());
            state.touched.insert(key.clone(), Instant::now());
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
        let mut state = self.lock();
        let adopted = state.in_flight.insert(key.clone());
        if adopted {
            state.touched.insert(key.clone(), Instant::now());
        }
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
                state.touched.remove(key);
                for id in state.by_key.remove(key).unwrap_or_default() {
                    if let Some(entry) = state.items.get_mut(&id) {
                        entry.batch_id = Some(*batch_id);
                    }
                }
            }
            Settled::NotBooked => {
                state.touched.remove(key);
                for id in state.by_key.remove(key).unwrap_or_default() {
                    state.items.remove(&id);
                }
            }
            Settled::Unknown => {}
        }
        Box::pin(std::future::ready(Ok(())))
    }

    fn release<'a>(
        &'a self,
        key: &'a IdempotencyKey,
        ids: &'a [&'a str],
        quiet: Duration,
    ) -> BoxFuture<'a, Result<bool, LedgerError>> {
        let mut state = self.lock();
        let state = &mut *state;
        let recent = state
            .touched
            .get(key)
            .is_some_and(|at| at.elapsed() < quiet);
        let held = |state: &State, id: &str| {
            state
                .items
                .get(id)
                .is_some_and(|e| e.batch_id.is_none() && e.key == *key)
        };
        if recent && ids.iter().any(|id| held(state, id)) {
            return Box::pin(std::future::ready(Ok(false)));
        }
        for id in ids {
            if held(state, id) {
                state.items.remove(*id);
            }
        }
        if let Some(members) = state.by_key.get_mut(key) {
            members.retain(|id| !ids.contains(&id.as_str()));
            if members.is_empty() {
                state.by_key.remove(key);
                state.touched.remove(key);
                state.in_flight.remove(key);
            }
        }
        Box::pin(std::future::ready(Ok(true)))
    }
}

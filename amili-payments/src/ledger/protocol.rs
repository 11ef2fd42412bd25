//! The ledger protocol, as the submission pipeline runs it for each request:
//!
//! 1. **Intent before the first attempt**: the request's items are [claimed](Ledger::claim)
//!    under its idempotency key before it is sent, and only the items claimed are sent. A
//!    store answers each claim by one rule, [`decide`](super::decide): new → claimed, accepted
//!    → not sent, reported with its known outcome (a conflict when the content changed),
//!    failed in its batch → not sent when unchanged (it would fail the same way), claimed and
//!    sent again under its id when changed (the fix), being sent by another request → busy,
//!    pending under a request nobody is sending → that request is adopted or settled.
//! 2. **Result after**: how the request ended is [recorded](Ledger::record) under its key:
//!    accepted for good, released when provably not booked (rejected), left pending when
//!    unknown (the next run settles it).
//! 3. **Adopt**: when a request holds the whole of an earlier request left pending, unchanged,
//!    it [takes that key over](Ledger::adopt) and sends them again under it (Amili answers
//!    with the first batch if the first request arrived): never a second batch.
//! 4. **Settle**: otherwise the earlier request's batch is looked up by its key (once per
//!    submission) and recorded: accepted, and its items known; or, when Amili has no batch
//!    for it, [released](Ledger::release) — only the items this request holds, and only once
//!    the earlier request can no longer arrive (its claim or take-over older than twice the
//!    retry budget, [`RetryPolicy`](crate::RetryPolicy) and timeout: it may be waiting for its
//!    turn, then retrying, on a machine that lost the ledger or a server still working on
//!    it). Until then its items are not sent ("may still arrive; run again later") and stay
//!    pending under its key, for a run that holds it whole to send it again under that key.
//!    Released items are claimed again.
//! 5. **Outcomes**: a poller built [`with_ledger`](crate::Poller::with_ledger) records how
//!    each batch it follows processed its items ([`Ledger::record_outcomes`]): succeeded, or
//!    failed with Amili's reason. A failed item is assumed not booked (see the `failed` list
//!    of a batch in `openapi/autocollect.yaml`), so its fix may be sent under the same id;
//!    the new claim replaces the failure.
//! 6. **Status**: [`Submission::status`](crate::Submission::status) sends nothing: it reads
//!    what the ledger holds for each item ([`Ledger::known`]) and says what a submission of
//!    the same items would find.
//! 7. **Release**: a request claimed ahead and not sent because the submission stopped
//!    gives its items back: released under a key this submission chose; left pending under
//!    a caller's key (it may have been used before) or an adopted one, for a later run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use uuid::Uuid;

use super::store::{Claim, Fingerprint, Known, Ledger, LedgerError, LedgerItem, Settled};
use crate::client::Client;
use crate::idempotency::IdempotencyKey;
use crate::report::{Outcome, Reason, RequestResult};

/// What is decided for one item of a request.
#[derive(Clone)]
pub(crate) enum Plan {
    /// Send under the chunk's key.
    Send,
    /// Send again under an interrupted earlier request's key.
    Resume(IdempotencyKey),
    /// Sent under this key, with this outcome.
    Sent(Outcome, Option<Uuid>, IdempotencyKey),
    /// Not sent, with this outcome.
    Done(Outcome, Option<Uuid>),
}

/// A submission's side of the protocol: its ledger, and what it learned of earlier requests.
pub(crate) struct Protocol {
    ledger: Arc<dyn Ledger>,
    /// Looks earlier requests' batches up.
    client: Client,
    /// Earlier requests' keys already looked up in this submission.
    resolved: Mutex<HashMap<IdempotencyKey, Option<Uuid>>>,
}

impl Protocol {
    pub(crate) fn new(ledger: Arc<dyn Ledger>, client: Client) -> Self {
        Self {
            ledger,
            client,
            resolved: Mutex::new(HashMap::new()),
        }
    }

    fn resolved(&self) -> MutexGuard<'_, HashMap<IdempotencyKey, Option<Uuid>>> {
        self.resolved.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Claims the items marked `Send` in the ledger; marks the ones it knows, and the
    /// ones to resume under an earlier request's key.
    ///
    /// `ids` and `fingerprints` are the request's items (each item's id and the fingerprint
    /// of its JSON), `plans` what is decided for each so far. An error stops the submission.
    pub(crate) async fn claim(
        &self,
        key: &IdempotencyKey,
        ids: &[&str],
        fingerprints: &[Fingerprint],
        plans: &mut [Plan],
    ) -> Result<(), Reason> {
        let ledger = self.ledger.as_ref();
        let ledger_error =
            |e: LedgerError| Reason::from(format!("not sent: the ledger failed ({e})"));
        // Two rounds at most: a pending item of an earlier request is settled, then claimed
        // again. Only the items not yet claimed are asked about in a round.
        let mut to_claim: Vec<usize> = (0..ids.len())
            .filter(|&i| matches!(plans[i], Plan::Send))
            .collect();
        for _ in 0..2 {
            if to_claim.is_empty() {
                return Ok(());
            }
            let items: Vec<LedgerItem<'_>> = to_claim
                .iter()
                .map(|&i| LedgerItem {
                    id: ids[i],
                    fingerprint: &fingerprints[i],
                })
                .collect();
            let claims = ledger.claim(key, &items).await.map_err(ledger_error)?;
            let mut interrupted: Vec<(IdempotencyKey, Vec<usize>)> = Vec::new();
            for (&i, claim) in to_claim.iter().zip(claims) {
                plans[i] = match claim {
                    Claim::Claimed => Plan::Send,
                    Claim::AlreadyAccepted { batch_id } => {
                        Plan::Done(Outcome::AlreadyAccepted, Some(batch_id))
                    }
                    Claim::SucceededEarlier { batch_id } => {
                        Plan::Done(Outcome::Succeeded, Some(batch_id))
                    }
                    Claim::FailedEarlier { batch_id, failure } => {
                        Plan::Done(Outcome::Failed(failure), Some(batch_id))
                    }
                    Claim::Conflict { batch_id } => {
                        Plan::Done(Outcome::Conflict(conflict(batch_id)), Some(batch_id))
                    }
                    Claim::Busy => Plan::Done(
                        Outcome::NotSent("not sent: another submission is sending it".into()),
                        None,
                    ),
                    Claim::Pending { key: earlier } => {
                        match interrupted.iter_mut().find(|(k, _)| *k == earlier) {
                            Some((_, members)) => members.push(i),
                            None => interrupted.push((earlier, vec![i])),
                        }
                        Plan::Send
                    }
                };
            }
            to_claim.clear();
            for (earlier, members) in interrupted {
                // The whole interrupted request, unchanged, is here: send it again under its
                // own key (the body is built in id order, so the bytes are the first ones),
                // and a server that got it the first time answers with that batch.
                let pending = ledger.pending(&earlier).await.map_err(ledger_error)?;
                let whole = pending.len() == members.len()
                    && pending.iter().all(|(id, fingerprint)| {
                        members
                            .iter()
                            .any(|&i| ids[i] == id && &fingerprints[i] == fingerprint)
                    });
                if whole {
                    let plan = if ledger.adopt(&earlier).await.map_err(ledger_error)? {
                        tracing::info!(key = %earlier, items = members.len(), "resuming an interrupted request under its key");
                        Plan::Resume(earlier.clone())
                    } else {
                        Plan::Done(
                            Outcome::NotSent("not sent: another submission is sending it".into()),
                            None,
                        )
                    };
                    for i in members {
                        plans[i] = plan.clone();
                    }
                    continue;
                }
                // Only part of it, or changed: settle it by looking its batch up, then claim
                // those items again in the next round — unless its request may still arrive.
                let held: Vec<&str> = members.iter().map(|&i| ids[i]).collect();
                match self.settle(&earlier, &held).await {
                    Ok(true) => to_claim.extend(members),
                    Ok(false) => {
                        let reason = Reason::from(format!(
                            "not sent: another run's request (idempotency key {earlier}) holds \
                             it and may still arrive; run again later"
                        ));
                        for i in members {
                            plans[i] = Plan::Done(Outcome::NotSent(reason.clone()), None);
                        }
                    }
                    Err(reason) => {
                        for i in members {
                            plans[i] = Plan::Done(Outcome::Unknown(reason.clone()), None);
                        }
                    }
                }
            }
        }
        // Still pending after settling: leave them alone rather than loop.
        for i in to_claim {
            plans[i] = Plan::Done(
                Outcome::NotSent("not sent: the ledger still holds it as pending".into()),
                None,
            );
        }
        Ok(())
    }

    /// What the ledger holds for each item (`ids`, with the `fingerprints` of their JSON), as
    /// the outcome a status report gives it, with its batch and the key of the request that
    /// carried it.
    pub(crate) async fn status(
        &self,
        ids: &[&str],
        fingerprints: &[Fingerprint],
    ) -> Result<Vec<(Outcome, Option<Uuid>, Option<IdempotencyKey>)>, Reason> {
        let known = self
            .ledger
            .known(ids)
            .await
            .map_err(|e| Reason::from(format!("the ledger could not be read ({e})")))?;
        Ok(known
            .into_iter()
            .zip(fingerprints)
            .map(|(known, fingerprint)| status_of(known, fingerprint))
            .collect())
    }

    /// An earlier request whose result was never recorded: its batch, looked up by its key
    /// (once per submission), recorded in the ledger. `held` are the items of it this
    /// request holds: when Amili has no batch, only they are released, and only once the
    /// request can no longer arrive (its last claim or take-over older than twice the retry
    /// budget: one budget waiting for its turn behind the requests being sent, one sending
    /// it). `false` while it may still arrive: they stay pending under its key.
    async fn settle(&self, key: &IdempotencyKey, held: &[&str]) -> Result<bool, Reason> {
        let known = self.resolved().get(key).copied();
        let found = match known {
            Some(found) => found,
            None => {
                let found = match self.client.find_batch_by_key(key).await {
                    Ok(found) => found.map(|b| b.id),
                    Err(e) => {
                        return Err(Reason::from(format!(
                            "an earlier request (idempotency key {key}) may have booked it, and \
                             looking its batch up failed ({e}); not sent again"
                        )));
                    }
                };
                if let Some(batch_id) = found {
                    self.ledger
                        .record(key, &Settled::Accepted { batch_id })
                        .await
                        .map_err(|e| {
                            Reason::from(format!("not sent: the ledger could not record ({e})"))
                        })?;
                }
                self.resolved().insert(key.clone(), found);
                found
            }
        };
        if found.is_some() {
            return Ok(true);
        }
        self.ledger
            .release(key, held, self.quiet())
            .await
            .map_err(|e| Reason::from(format!("not sent: the ledger could not record ({e})")))
    }

    /// How long a request another run claimed may still arrive: twice the retry budget.
    fn quiet(&self) -> Duration {
        let shared = &self.client.shared;
        shared.retry.budget(shared.timeout).saturating_mul(2)
    }

    /// Records a request's result. A ledger that cannot record must stop the submission: the
    /// error says so, for the report.
    pub(crate) async fn record(
        &self,
        key: &IdempotencyKey,
        result: &RequestResult,
    ) -> Result<(), Reason> {
        let settled = match result {
            RequestResult::Accepted { batch_id, .. } => Settled::Accepted {
                batch_id: *batch_id,
            },
            RequestResult::Rejected(_) => Settled::NotBooked,
            _ => Settled::Unknown,
        };
        self.ledger.record(key, &settled).await.map_err(|e| {
            Reason::from(format!(
                "not sent: the ledger could not record request {key} ({e})"
            ))
        })
    }

    /// Gives back what a prepared request claimed when the submission stopped before it was
    /// sent: its own key's items are free again (nothing was sent under a key this submission
    /// chose; a caller's key may have been used before, so it stays pending), and the
    /// interrupted requests it adopted stay pending under their keys for a later run.
    pub(crate) async fn release(&self, key: &IdempotencyKey, fresh_key: bool, plans: &[Plan]) {
        let mut keys: Vec<(&IdempotencyKey, Settled)> = Vec::new();
        for plan in plans {
            let (group_key, settled) = match plan {
                Plan::Send if fresh_key => (key, Settled::NotBooked),
                Plan::Send => (key, Settled::Unknown),
                Plan::Resume(earlier) => (earlier, Settled::Unknown),
                Plan::Done(..) | Plan::Sent(..) => continue,
            };
            if !keys.iter().any(|(k, _)| *k == group_key) {
                keys.push((group_key, settled));
            }
        }
        for (group_key, settled) in keys {
            if let Err(e) = self.ledger.record(group_key, &settled).await {
                tracing::warn!(key = %group_key, error = %e, "the ledger could not release a request that was not sent");
            }
        }
    }
}

/// Why an item accepted earlier with other content is not sent.
fn conflict(batch_id: Uuid) -> Reason {
    Reason::from(format!(
        "accepted earlier (batch {batch_id}) with other content; not sent again: correct it in \
         Amili or give it a new id"
    ))
}

/// What a status report says of an item with content `fingerprint`, given what the ledger
/// holds for its id: its known outcome, or what a submission would do with it.
fn status_of(
    known: Option<Known>,
    fingerprint: &Fingerprint,
) -> (Outcome, Option<Uuid>, Option<IdempotencyKey>) {
    let Some(known) = known else {
        return (
            Outcome::NotSent(Reason::from("not sent: the ledger has no record of it")),
            None,
            None,
        );
    };
    let same = known.fingerprint == *fingerprint;
    let outcome = match known.accepted_outcome() {
        None => Outcome::Unknown(Reason::from(format!(
            "claimed under idempotency key {} by a run that did not record its result; \
             submitting again settles it",
            known.key
        ))),
        Some((outcome, _)) if same => outcome,
        Some((Outcome::Failed(failure), _)) => Outcome::NotSent(Reason::from(format!(
            "failed earlier ({failure}) and changed since: submitting sends the fix"
        ))),
        Some((_, batch_id)) => Outcome::Conflict(conflict(batch_id)),
    };
    (outcome, known.batch_id, Some(known.key))
}

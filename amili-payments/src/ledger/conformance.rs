//! The claim cases every ledger store is held to: one table ([`CASES`]), run by
//! [`check_claims`], and the release cases ([`RELEASES`], run by [`check_releases`]); both
//! run by [`check_tables`] against the memory ledger (this crate's tests) and against the
//! SQLite and PostgreSQL ledgers (`amili-ledger`'s tests).
//!
//! It lives here, beside the rule it checks ([`decide`](super::decide)), so that both crates
//! reach the same table. It is compiled for this crate's own tests and, elsewhere, only with
//! the `test-support` feature, which `amili-ledger` turns on in its dev-dependency alone: no
//! library build turns it on, and users who do not ask for it do not compile it. It is hidden
//! from the docs and is not part of the API (it may change in any release).

use std::fmt;
use std::future::Future;
use std::time::Duration;

use uuid::Uuid;

use super::store::{Claim, Fingerprint, Ledger, LedgerError, LedgerItem, Processed, Settled};
use crate::idempotency::IdempotencyKey;
use crate::outcome::Failure;

/// What the store holds for the id before the claim, and how it came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Before {
    /// Never claimed.
    Nothing,
    /// Claimed by this run under an earlier key, then released (recorded not booked).
    Released,
    /// Claimed by this run under an earlier key and recorded accepted, its outcome unknown.
    Accepted,
    /// Accepted, then recorded succeeded in its batch.
    Succeeded,
    /// Accepted, then recorded failed in its batch.
    Failed,
    /// Claimed by this run under an earlier key, whose request is being sent (no result yet).
    Sending,
    /// Claimed by this run under an earlier key, whose result was recorded unknown.
    Unknown,
    /// Claimed by another run, alive, whose request is being sent.
    OtherRunAlive,
    /// Claimed by another run that ended without recording a result (a crash).
    OtherRunEnded,
}

impl Before {
    /// Whether the case needs a second run on the same store.
    fn needs_another_run(self) -> bool {
        matches!(self, Before::OtherRunAlive | Before::OtherRunEnded)
    }
}

/// The content claimed, against the content claimed earlier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// The same fingerprint.
    Same,
    /// Another fingerprint.
    Changed,
}

/// The answer expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// [`Claim::Claimed`].
    Claimed,
    /// [`Claim::AlreadyAccepted`] in the earlier batch.
    AlreadyAccepted,
    /// [`Claim::SucceededEarlier`] in the earlier batch.
    SucceededEarlier,
    /// [`Claim::FailedEarlier`] in the earlier batch, with the recorded failure.
    FailedEarlier,
    /// [`Claim::Conflict`] with the earlier batch.
    Conflict,
    /// [`Claim::Busy`].
    Busy,
    /// [`Claim::Pending`] under the earlier key.
    Pending,
}

/// What the store holds for the id after the claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// Pending under the claiming key, with the content claimed.
    PendingUnderClaim,
    /// Pending under the earlier key, with the earlier content.
    PendingUnderEarlier,
    /// Accepted in the earlier batch, with the earlier content (and outcome).
    StillAccepted,
}

/// One claim: the state before, the claim made, the answer and the state after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Case {
    /// What the store holds before.
    pub before: Before,
    /// The content claimed.
    pub content: Content,
    /// The answer.
    pub expect: Expect,
    /// What the store holds after.
    pub after: After,
}

const fn case(before: Before, content: Content, expect: Expect, after: After) -> Case {
    Case {
        before,
        content,
        expect,
        after,
    }
}

/// The items `ids`, all with one `fingerprint`: what a store's tests and benchmarks claim.
pub fn items<'a, S: AsRef<str>>(ids: &'a [S], fingerprint: &'a Fingerprint) -> Vec<LedgerItem<'a>> {
    ids.iter()
        .map(|id| LedgerItem {
            id: id.as_ref(),
            fingerprint,
        })
        .collect()
}

/// The table: every state an id can be in, claimed with the same and with changed content.
#[rustfmt::skip]
pub const CASES: &[Case] = {
    use After::*;
    use Before::*;
    use Content::*;
    use Expect::*;
    &[
        //   before         content  answer           after
        case(Nothing,       Same,    Claimed,         PendingUnderClaim),
        case(Nothing,       Changed, Claimed,         PendingUnderClaim),
        case(Released,      Same,    Claimed,         PendingUnderClaim),
        case(Released,      Changed, Claimed,         PendingUnderClaim),
        case(Accepted,      Same,    AlreadyAccepted, StillAccepted),
        case(Accepted,      Changed, Conflict,        StillAccepted),
        case(Succeeded,     Same,    SucceededEarlier, StillAccepted),
        case(Succeeded,     Changed, Conflict,        StillAccepted),
        case(Failed,        Same,    FailedEarlier,   StillAccepted),
        case(Failed,        Changed, Claimed,         PendingUnderClaim),
        case(Sending,       Same,    Busy,            PendingUnderEarlier),
        case(Sending,       Changed, Busy,            PendingUnderEarlier),
        case(Unknown,       Same,    Pending,         PendingUnderEarlier),
        case(Unknown,       Changed, Pending,         PendingUnderEarlier),
        case(OtherRunAlive, Same,    Busy,            PendingUnderEarlier),
        case(OtherRunAlive, Changed, Busy,            PendingUnderEarlier),
        case(OtherRunEnded, Same,    Pending,         PendingUnderEarlier),
        case(OtherRunEnded, Changed, Pending,         PendingUnderEarlier),
    ]
};

/// The content claimed earlier, and the changed content.
const EARLIER: Fingerprint = [1; 32];
const CHANGED: Fingerprint = [2; 32];

/// The failure recorded for [`Before::Failed`].
fn failure() -> Failure {
    Failure::new(Some("UNKNOWN_INVOICE"), Some("no such invoice"))
}

/// Runs every case of [`CASES`] against a store, each with an id of its own, and returns how
/// many ran; the error names every case that failed.
///
/// `open` starts a run: a ledger on the store that sees what earlier runs left (SQLite: the
/// file opened again; PostgreSQL: another connection to the same scope). With
/// `runs_share_the_store` false (the memory ledger: its run is the process, and each `open`
/// is a new, empty store), the cases about another run are left out.
///
/// # Errors
///
/// Every case that answered or left the store otherwise than its row says, or failed.
pub async fn check_claims<L, F, Fut>(open: F, runs_share_the_store: bool) -> Result<usize, String>
where
    L: Ledger,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<L, LedgerError>>,
{
    let cases = CASES
        .iter()
        .filter(|case| runs_share_the_store || !case.before.needs_another_run());
    run_cases(cases, async |n, case| {
        let id = format!("case-{n}-{}", Uuid::new_v4());
        check_one(&open, case, &id).await
    })
    .await
}

/// Runs both tables against a store: [`check_claims`], then [`check_releases`]; how many
/// cases of each ran.
///
/// # Errors
///
/// Every case of either table that failed.
pub async fn check_tables<L, F, Fut>(
    open: F,
    runs_share_the_store: bool,
) -> Result<(usize, usize), String>
where
    L: Ledger,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<L, LedgerError>>,
{
    let claims = check_claims(&open, runs_share_the_store).await;
    let releases = check_releases(&open, runs_share_the_store).await;
    match (claims, releases) {
        (Ok(claims), Ok(releases)) => Ok((claims, releases)),
        (claims, releases) => Err([claims.err(), releases.err()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("\n")),
    }
}

/// Runs `check` on every case (numbered from 0); how many ran, or every failure by case.
async fn run_cases<'c, C: fmt::Debug + 'c>(
    cases: impl Iterator<Item = &'c C>,
    check: impl AsyncFn(usize, &'c C) -> Result<(), String>,
) -> Result<usize, String> {
    let mut ran = 0;
    let mut failures = Vec::new();
    for (n, case) in cases.enumerate() {
        ran += 1;
        if let Err(e) = check(n, case).await {
            failures.push(format!("{case:?}: {e}"));
        }
    }
    if failures.is_empty() {
        Ok(ran)
    } else {
        Err(failures.join("\n"))
    }
}

async fn check_one<L, F, Fut>(open: &F, case: &Case, id: &str) -> Result<(), String>
where
    L: Ledger,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<L, LedgerError>>,
{
    let fail = |e: LedgerError| e.to_string();
    let earlier = IdempotencyKey::random();
    let batch_id = Uuid::new_v4();
    let before = [LedgerItem {
        id,
        fingerprint: &EARLIER,
    }];
    let run = open().await.map_err(fail)?;
    // Held until the claim is answered: a live run.
    let mut other_run = None;
    let claimer = if case.before.needs_another_run() {
        &*other_run.insert(open().await.map_err(fail)?)
    } else {
        &run
    };
    if case.before != Before::Nothing {
        let claims = claimer.claim(&earlier, &before).await.map_err(fail)?;
        if claims != [Claim::Claimed] {
            return Err(format!("the earlier claim answered {claims:?}"));
        }
    }
    let settled = match case.before {
        Before::Released => Some(Settled::NotBooked),
        Before::Accepted | Before::Succeeded | Before::Failed => {
            Some(Settled::Accepted { batch_id })
        }
        Before::Unknown => Some(Settled::Unknown),
        _ => None,
    };
    if let Some(settled) = settled {
        run.record(&earlier, &settled).await.map_err(fail)?;
    }
    let processed = match case.before {
        Before::Succeeded => Some(Processed::Succeeded),
        Before::Failed => Some(Processed::Failed(failure())),
        _ => None,
    };
    if let Some(processed) = &processed {
        // An outcome for another batch is not this item's: it must be left alone.
        let elsewhere = [(id, Processed::Failed(failure()))];
        run.record_outcomes(Uuid::new_v4(), &elsewhere)
            .await
            .map_err(fail)?;
        run.record_outcomes(batch_id, &[(id, processed.clone())])
            .await
            .map_err(fail)?;
    }
    if matches!(
        case.before,
        Before::Accepted | Before::Succeeded | Before::Failed
    ) {
        let known = run.known(&[id]).await.map_err(fail)?;
        let held = known.first().cloned().flatten();
        let as_recorded = held.as_ref().is_some_and(|k| {
            k.fingerprint == EARLIER
                && k.key == earlier
                && k.batch_id == Some(batch_id)
                && k.processed == processed
        });
        if !as_recorded {
            return Err(format!("known before the claim: {held:?}"));
        }
    }
    if case.before == Before::OtherRunEnded {
        drop(other_run.take());
    }

    let fingerprint = match case.content {
        Content::Same => EARLIER,
        Content::Changed => CHANGED,
    };
    let key = IdempotencyKey::random();
    let claim = [LedgerItem {
        id,
        fingerprint: &fingerprint,
    }];
    let mut answer = run.claim(&key, &claim).await.map_err(fail)?;
    // A store may see a run that ended as alive for a moment (PostgreSQL frees a closed
    // session's lock once the server notices): a busy answer is asked again, for up to 5 s.
    for _ in 0..50 {
        if case.before != Before::OtherRunEnded || answer != [Claim::Busy] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        answer = run.claim(&key, &claim).await.map_err(fail)?;
    }
    let expected = match case.expect {
        Expect::Claimed => Claim::Claimed,
        Expect::AlreadyAccepted => Claim::AlreadyAccepted { batch_id },
        Expect::SucceededEarlier => Claim::SucceededEarlier { batch_id },
        Expect::FailedEarlier => Claim::FailedEarlier {
            batch_id,
            failure: failure(),
        },
        Expect::Conflict => Claim::Conflict { batch_id },
        Expect::Busy => Claim::Busy,
        Expect::Pending => Claim::Pending {
            key: earlier.clone(),
        },
    };
    if answer != [expected.clone()] {
        return Err(format!("answered {answer:?}, expected {expected:?}"));
    }

    let under_claim = run.pending(&key).await.map_err(fail)?;
    let under_earlier = run.pending(&earlier).await.map_err(fail)?;
    let (claim_holds, earlier_holds) = match case.after {
        After::PendingUnderClaim => (vec![(id.to_owned(), fingerprint)], vec![]),
        After::PendingUnderEarlier => (vec![], vec![(id.to_owned(), EARLIER)]),
        After::StillAccepted => (vec![], vec![]),
    };
    if under_claim != claim_holds || under_earlier != earlier_holds {
        return Err(format!(
            "pending after: {under_claim:?} under the claiming key, {under_earlier:?} under \
             the earlier one"
        ));
    }
    if case.after == After::StillAccepted {
        let probe = run
            .claim(&IdempotencyKey::random(), &before)
            .await
            .map_err(fail)?;
        let same = match processed {
            None => Claim::AlreadyAccepted { batch_id },
            Some(Processed::Succeeded) => Claim::SucceededEarlier { batch_id },
            Some(Processed::Failed(failure)) => Claim::FailedEarlier { batch_id, failure },
        };
        if probe != [same] {
            return Err(format!(
                "the earlier content, claimed again after, answered {probe:?}"
            ));
        }
    }
    if case.after == After::PendingUnderClaim && case.before == Before::Failed {
        // The fix replaced the failure: a late outcome of the earlier batch is not its.
        run.record_outcomes(batch_id, &[(id, Processed::Succeeded)])
            .await
            .map_err(fail)?;
        let known = run.known(&[id]).await.map_err(fail)?;
        let held = known.first().cloned().flatten();
        let replaced = held.as_ref().is_some_and(|k| {
            k.fingerprint == CHANGED
                && k.key == key
                && k.batch_id.is_none()
                && k.processed.is_none()
        });
        if !replaced {
            return Err(format!("known after the fix was claimed: {held:?}"));
        }
    }
    drop(other_run);
    Ok(())
}

/// Whose request is released, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReleaseCase {
    /// Who claimed the two items: this run (recorded unknown) or another run that ended.
    pub before: Before,
    /// Whether the request was claimed within the quiet time asked (one hour) or not (zero).
    pub recent: bool,
    /// Whether the release names both items or only the first.
    pub both: bool,
    /// The answer: released (`true`) or left, too recent (`false`).
    pub released: bool,
}

const fn release(before: Before, recent: bool, both: bool, released: bool) -> ReleaseCase {
    ReleaseCase {
        before,
        recent,
        both,
        released,
    }
}

/// Releasing a request Amili has no batch for: never while it may still arrive (claimed
/// within the quiet time), and never the items the release does not name.
#[rustfmt::skip]
pub const RELEASES: &[ReleaseCase] = {
    use Before::*;
    &[
        //      claimed by     recent  both   released
        release(Unknown,       true,   false, false),
        release(Unknown,       true,   true,  false),
        release(Unknown,       false,  false, true),
        release(Unknown,       false,  true,  true),
        release(OtherRunEnded, true,   false, false),
        release(OtherRunEnded, true,   true,  false),
        release(OtherRunEnded, false,  false, true),
        release(OtherRunEnded, false,  true,  true),
    ]
};

/// Runs every case of [`RELEASES`] against a store (as [`check_claims`]): a request of two
/// items is claimed, then released in part or whole, recently claimed or not. Afterwards
/// the items released can be claimed again and the others are still pending under the
/// request's key.
///
/// # Errors
///
/// Every case that answered or left the store otherwise than its row says, or failed.
pub async fn check_releases<L, F, Fut>(open: F, runs_share_the_store: bool) -> Result<usize, String>
where
    L: Ledger,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<L, LedgerError>>,
{
    let cases = RELEASES
        .iter()
        .filter(|case| runs_share_the_store || !case.before.needs_another_run());
    run_cases(cases, async |n, case| {
        let ids = [
            format!("release-{n}-a-{}", Uuid::new_v4()),
            format!("release-{n}-b-{}", Uuid::new_v4()),
        ];
        check_release(&open, case, &ids).await
    })
    .await
}

async fn check_release<L, F, Fut>(
    open: &F,
    case: &ReleaseCase,
    ids: &[String; 2],
) -> Result<(), String>
where
    L: Ledger,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<L, LedgerError>>,
{
    let fail = |e: LedgerError| e.to_string();
    let earlier = IdempotencyKey::random();
    let items = items(ids, &EARLIER);
    let run = open().await.map_err(fail)?;
    if case.before == Before::OtherRunEnded {
        let other = open().await.map_err(fail)?;
        let claims = other.claim(&earlier, &items).await.map_err(fail)?;
        if claims != [Claim::Claimed, Claim::Claimed] {
            return Err(format!("the earlier claim answered {claims:?}"));
        }
        drop(other);
    } else {
        let claims = run.claim(&earlier, &items).await.map_err(fail)?;
        if claims != [Claim::Claimed, Claim::Claimed] {
            return Err(format!("the earlier claim answered {claims:?}"));
        }
        run.record(&earlier, &Settled::Unknown)
            .await
            .map_err(fail)?;
    }
    let named: Vec<&str> = if case.both {
        vec![&ids[0], &ids[1]]
    } else {
        vec![&ids[0]]
    };
    let quiet = if case.recent {
        Duration::from_secs(3600)
    } else {
        Duration::ZERO
    };
    let answer = run.release(&earlier, &named, quiet).await.map_err(fail)?;
    if answer != case.released {
        return Err(format!("answered {answer}, expected {}", case.released));
    }
    let left: Vec<String> = run
        .pending(&earlier)
        .await
        .map_err(fail)?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let expected: Vec<String> = match (case.released, case.both) {
        (false, _) => ids.to_vec(),
        (true, false) => vec![ids[1].clone()],
        (true, true) => vec![],
    };
    if left != expected {
        return Err(format!("pending after: {left:?}, expected {expected:?}"));
    }
    if case.released {
        let again = [LedgerItem {
            id: &ids[0],
            fingerprint: &EARLIER,
        }];
        let claims = run
            .claim(&IdempotencyKey::random(), &again)
            .await
            .map_err(fail)?;
        if claims != [Claim::Claimed] {
            return Err(format!("released, then claimed again: {claims:?}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::memory::MemoryLedger;
    use super::*;

    #[tokio::test]
    async fn the_memory_ledger_answers_every_case_of_one_run() {
        let open = || std::future::ready(Ok(MemoryLedger::default()));
        let ran = check_tables(open, false)
            .await
            .unwrap_or_else(|failures| panic!("{failures}"));
        // Of the eighteen claim rows and the eight release rows, all but the four of each
        // about another run.
        assert_eq!(ran, (14, 4));
    }
}

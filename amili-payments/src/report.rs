//! The one outcome vocabulary: what became of each item of a submission, request by request.

use std::fmt;
use std::sync::Arc;

use serde::{Serialize, Serializer};
use uuid::Uuid;

use crate::error::Error;
use crate::idempotency::IdempotencyKey;

/// Why an item ended where it did, for a person. Cheap to clone: every item of a request
/// shares its request's reason.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Reason(Arc<str>);

impl Reason {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for Reason {
    fn from(text: String) -> Self {
        Self(text.into())
    }
}

impl From<&str> for Reason {
    fn from(text: &str) -> Self {
        Self(text.into())
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Where one item (a payment) of a submission ended up. The `amili` CLI prints, stores and
/// exits on these; it has no outcome type of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// Queued in a batch (`202`), not processed yet; [`Poller::follow`](crate::Poller::follow)
    /// turns it into `Succeeded` or `Failed`.
    Accepted,
    /// The batch processed it successfully.
    Succeeded,
    /// The batch processed it and it failed, with Amili's reason when the batch gave one.
    Failed(Option<Reason>),
    /// It may or may not have been booked: do **not** resend it under a new key.
    Unknown(Reason),
    /// It was sent and refused, or sending gave up before it could have been processed;
    /// nothing was booked. Safe to send again.
    Rejected(Reason),
    /// It never left: the submission stopped (a fatal answer, the circuit breaker, the ledger),
    /// or its id repeated an earlier item's. Nothing was booked.
    NotSent(Reason),
    /// The ledger knew it as accepted by an earlier submission (its batch id is on the item);
    /// it was not sent again.
    AlreadyAccepted,
    /// The ledger knew it as accepted by an earlier submission with *different* content; it was
    /// not sent. Correct it in Amili, or give the corrected payment a new id.
    Conflict(Reason),
    /// It failed validation and was skipped (only the caller creates this, for input it did
    /// not turn into a payment).
    Invalid(Reason),
}

impl Outcome {
    /// Whether nothing more will change it by following its batch.
    pub fn is_final(&self) -> bool {
        !matches!(self, Outcome::Accepted)
    }

    /// Whether Amili has it (queued, processed, or known from an earlier submission).
    pub fn is_accepted(&self) -> bool {
        matches!(
            self,
            Outcome::Accepted | Outcome::Succeeded | Outcome::Failed(_) | Outcome::AlreadyAccepted
        )
    }

    /// Whether sending it again cannot book it twice (`Rejected`, `NotSent`).
    pub fn is_safe_to_resend(&self) -> bool {
        matches!(self, Outcome::Rejected(_) | Outcome::NotSent(_))
    }

    /// The snake_case name used in reports (`accepted`, `not_sent`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Succeeded => "succeeded",
            Outcome::Failed(_) => "failed",
            Outcome::Unknown(_) => "unknown",
            Outcome::Rejected(_) => "rejected",
            Outcome::NotSent(_) => "not_sent",
            Outcome::AlreadyAccepted => "already_accepted",
            Outcome::Conflict(_) => "conflict",
            Outcome::Invalid(_) => "invalid",
        }
    }

    /// The reason, when the outcome carries one.
    pub fn reason(&self) -> Option<&Reason> {
        match self {
            Outcome::Failed(reason) => reason.as_ref(),
            Outcome::Unknown(r)
            | Outcome::Rejected(r)
            | Outcome::NotSent(r)
            | Outcome::Conflict(r)
            | Outcome::Invalid(r) => Some(r),
            Outcome::Accepted | Outcome::Succeeded | Outcome::AlreadyAccepted => None,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason() {
            Some(reason) => write!(f, "{}: {reason}", self.name()),
            None => f.write_str(self.name()),
        }
    }
}

/// One item of a submission and where it ended up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ItemOutcome {
    /// Its position in the submission, counting from 0.
    pub index: usize,
    /// Its id: the payment's `uniqueSourcePaymentId`.
    pub id: String,
    /// Its invoice.
    pub invoice_id: Uuid,
    /// The batch it was queued in, when known.
    pub batch_id: Option<Uuid>,
    /// The key of the request that carried it: its chunk's, or, for a payment of an
    /// interrupted earlier submission resumed whole, that request's. `None` when not sent.
    pub idempotency_key: Option<IdempotencyKey>,
    /// Where it ended up.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// How many items are in each outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct OutcomeCounts {
    /// Queued, not yet processed.
    pub accepted: usize,
    /// Processed successfully.
    pub succeeded: usize,
    /// Processed and failed.
    pub failed: usize,
    /// Outcome unknown.
    pub unknown: usize,
    /// Sent and refused, nothing booked.
    pub rejected: usize,
    /// Never sent.
    pub not_sent: usize,
    /// Accepted by an earlier submission (the ledger knew it).
    pub already_accepted: usize,
    /// Accepted earlier with other content.
    pub conflict: usize,
    /// Failed validation.
    pub invalid: usize,
}

impl OutcomeCounts {
    /// Counts one more item.
    pub fn add(&mut self, outcome: &Outcome) {
        *match outcome {
            Outcome::Accepted => &mut self.accepted,
            Outcome::Succeeded => &mut self.succeeded,
            Outcome::Failed(_) => &mut self.failed,
            Outcome::Unknown(_) => &mut self.unknown,
            Outcome::Rejected(_) => &mut self.rejected,
            Outcome::NotSent(_) => &mut self.not_sent,
            Outcome::AlreadyAccepted => &mut self.already_accepted,
            Outcome::Conflict(_) => &mut self.conflict,
            Outcome::Invalid(_) => &mut self.invalid,
        } += 1;
    }

    /// Adds another count.
    pub fn merge(&mut self, other: &OutcomeCounts) {
        self.accepted += other.accepted;
        self.succeeded += other.succeeded;
        self.failed += other.failed;
        self.unknown += other.unknown;
        self.rejected += other.rejected;
        self.not_sent += other.not_sent;
        self.already_accepted += other.already_accepted;
        self.conflict += other.conflict;
        self.invalid += other.invalid;
    }

    /// Items counted.
    pub fn total(&self) -> usize {
        self.accepted
            + self.succeeded
            + self.failed
            + self.unknown
            + self.rejected
            + self.not_sent
            + self.already_accepted
            + self.conflict
            + self.invalid
    }

    /// Items Amili has (accepted, succeeded, failed in a batch, or already accepted).
    pub fn accepted_total(&self) -> usize {
        self.accepted + self.succeeded + self.failed + self.already_accepted
    }
}

/// How one request of a submission ended.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum RequestResult {
    /// Queued as a batch.
    Accepted {
        /// The batch.
        batch_id: Uuid,
        /// `true` when the answer was lost and the batch was found by its idempotency key.
        recovered: bool,
    },
    /// Sent and refused, or sending gave up before it could have been processed; nothing was
    /// booked.
    Rejected(Error),
    /// May or may not have been booked.
    Unknown(Error),
    /// No request was sent for these items (see each item's outcome for why).
    NotSent,
}

impl RequestResult {
    /// The outcome each item the request carried gets.
    pub(crate) fn outcome(&self) -> Outcome {
        match self {
            RequestResult::Accepted { .. } => Outcome::Accepted,
            RequestResult::Rejected(
                e @ Error::Transport {
                    maybe_sent: false, ..
                },
            ) => Outcome::NotSent(Reason::from(e.to_string())),
            RequestResult::Rejected(e) => Outcome::Rejected(Reason::from(e.to_string())),
            RequestResult::Unknown(e) => Outcome::Unknown(Reason::from(e.to_string())),
            RequestResult::NotSent => Outcome::NotSent(Reason::from("not sent")),
        }
    }

    pub(crate) fn batch_id(&self) -> Option<Uuid> {
        match self {
            RequestResult::Accepted { batch_id, .. } => Some(*batch_id),
            _ => None,
        }
    }
}

/// What became of one request of a submission (or of items that needed none), yielded by
/// [`Submission::stream`](crate::Submission::stream) as soon as it is known.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RequestReport {
    /// The key the request carried; `None` when no request was sent.
    pub idempotency_key: Option<IdempotencyKey>,
    /// How the request ended.
    pub result: RequestResult,
    /// Its items, in submission order.
    pub items: Vec<ItemOutcome>,
}

impl RequestReport {
    /// How many of its items are in each outcome.
    pub fn counts(&self) -> OutcomeCounts {
        let mut counts = OutcomeCounts::default();
        for item in &self.items {
            counts.add(&item.outcome);
        }
        counts
    }

    /// The batch, when the request was accepted.
    pub fn batch_id(&self) -> Option<Uuid> {
        self.result.batch_id()
    }
}

/// The result of a whole submission: every request's report.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SubmitReport {
    /// One per request (and per group of items that needed none), in submission order of
    /// their first item.
    pub requests: Vec<RequestReport>,
}

impl SubmitReport {
    /// Every item, in submission order.
    pub fn items(&self) -> impl Iterator<Item = &ItemOutcome> {
        self.requests.iter().flat_map(|r| &r.items)
    }

    /// How many items are in each outcome.
    pub fn counts(&self) -> OutcomeCounts {
        let mut counts = OutcomeCounts::default();
        for item in self.items() {
            counts.add(&item.outcome);
        }
        counts
    }

    /// The batches items were queued in, in order.
    pub fn batch_ids(&self) -> Vec<Uuid> {
        self.requests
            .iter()
            .filter_map(RequestReport::batch_id)
            .collect()
    }

    /// Whether Amili has every item (accepted, processed, or accepted earlier).
    pub fn all_accepted(&self) -> bool {
        self.items().all(|i| i.outcome.is_accepted())
    }

    /// Whether every item succeeded in its batch.
    pub fn all_succeeded(&self) -> bool {
        self.items().all(|i| i.outcome == Outcome::Succeeded)
    }

    /// `Ok` when Amili has every item; else [`Error::NotAccepted`] with the counts and the
    /// first item that is not accepted — for `?` in code that must not pass over a refusal.
    ///
    /// # Errors
    ///
    /// [`Error::NotAccepted`] when any item is not accepted.
    pub fn ensure_accepted(&self) -> Result<&Self, Error> {
        match self.items().find(|i| !i.outcome.is_accepted()) {
            None => Ok(self),
            Some(first) => Err(Error::NotAccepted {
                counts: self.counts(),
                first: format!("{} ({})", first.id, first.outcome),
            }),
        }
    }

    pub(crate) fn push(&mut self, request: RequestReport) {
        self.requests.push(request);
    }

    /// Puts the requests in submission order (they finish in any order).
    pub(crate) fn sort(&mut self) {
        self.requests
            .sort_by_key(|r| r.items.first().map_or(usize::MAX, |i| i.index));
    }
}

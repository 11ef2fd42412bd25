//! The one outcome vocabulary: where an item of a submission ended ([`Outcome`], with its
//! [`Reason`], or Amili's [`Failure`] for an item its batch failed) and how many items ended
//! in each ([`OutcomeCounts`]).

use std::fmt;
use std::sync::Arc;

use serde::{Serialize, Serializer};

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

/// Why Amili failed an item of a batch: the item's `reason` (a code such as
/// `UNKNOWN_INVOICE`) and `message`, each when the batch gave it. Displayed as `CODE: message`
/// (or whichever is present). Cheap to clone.
///
/// ```
/// use amili_payments::report::Failure;
///
/// let failure = Failure::new(Some("UNKNOWN_INVOICE"), Some("no such invoice"));
/// assert_eq!(failure.code(), Some("UNKNOWN_INVOICE"));
/// assert_eq!(failure.to_string(), "UNKNOWN_INVOICE: no such invoice");
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Failure(Option<Arc<FailureText>>);

/// What a [`Failure`] holds, behind one pointer: an [`Outcome`] is in every item of every
/// report, and three texts inline would make each one 56 bytes instead of 24 (32 MB more in a
/// million-payment report).
#[derive(Debug, PartialEq, Eq, Hash)]
struct FailureText {
    code: Option<Reason>,
    message: Option<Reason>,
    /// `CODE: message`, written once (every report of the item shows it).
    text: Reason,
}

impl Failure {
    /// A failure with Amili's reason code and message (blank ones are left out).
    pub fn new(code: Option<&str>, message: Option<&str>) -> Self {
        let keep = |s: Option<&str>| s.map(str::trim).filter(|s| !s.is_empty()).map(Reason::from);
        let (code, message) = (keep(code), keep(message));
        let text = match (&code, &message) {
            (Some(c), Some(m)) if c != m => Reason::from(format!("{c}: {m}")),
            (Some(one), _) | (None, Some(one)) => one.clone(),
            (None, None) => return Self(None),
        };
        Self(Some(Arc::new(FailureText {
            code,
            message,
            text,
        })))
    }

    /// Amili's reason code (the item's `reason`), when given.
    pub fn code(&self) -> Option<&str> {
        self.0.as_ref()?.code.as_ref().map(Reason::as_str)
    }

    /// Amili's message, when given.
    pub fn message(&self) -> Option<&str> {
        self.0.as_ref()?.message.as_ref().map(Reason::as_str)
    }

    /// `CODE: message` (or whichever is present), `None` when the batch gave neither.
    pub fn as_reason(&self) -> Option<&Reason> {
        self.0.as_ref().map(|failure| &failure.text)
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Failure")
            .field("code", &self.code())
            .field("message", &self.message())
            .field("text", &self.as_reason())
            .finish()
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_reason().map_or("", Reason::as_str))
    }
}

/// As its text (`CODE: message`), or `null` when Amili gave no reason.
impl Serialize for Failure {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.as_reason().serialize(serializer)
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
    /// The batch processed it successfully. Known from an earlier submission (the ledger
    /// recorded it; the item carries that batch and no idempotency key), it was not sent again.
    Succeeded,
    /// The batch processed it and it failed, with Amili's reason code and message when the
    /// batch gave them. Known from an earlier submission (the ledger recorded it), it was not
    /// sent again: unchanged, it would fail the same way.
    Failed(Failure),
    /// It may or may not have been booked: do **not** resend it under a new key.
    Unknown(Reason),
    /// It was sent and refused, or sending gave up before it could have been processed;
    /// nothing was booked. Safe to send again.
    Rejected(Reason),
    /// It never left: the submission stopped (a fatal answer, the circuit breaker, the ledger),
    /// or its id repeated an earlier item's. Nothing was booked.
    NotSent(Reason),
    /// The ledger knew it as accepted by an earlier submission (its batch id is on the item),
    /// without knowing yet how its batch processed it; it was not sent again.
    /// [`Poller::follow`](crate::Poller::follow) learns its outcome.
    AlreadyAccepted,
    /// The ledger knew it as accepted by an earlier submission with *different* content; it was
    /// not sent. Correct it in Amili, or give the corrected payment a new id.
    Conflict(Reason),
    /// It failed validation and was skipped: input the caller did not turn into a payment,
    /// or an item of a stream whose id appeared earlier in the same submission.
    Invalid(Reason),
}

impl Outcome {
    /// Whether nothing more will change it by following its batch (`Accepted` and
    /// `AlreadyAccepted` wait for their batch's outcome).
    pub fn is_final(&self) -> bool {
        !matches!(self, Outcome::Accepted | Outcome::AlreadyAccepted)
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

    /// The reason, when the outcome carries one (a failure's as `CODE: message`).
    pub fn reason(&self) -> Option<&Reason> {
        match self {
            Outcome::Failed(failure) => failure.as_reason(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_reads_and_serializes_as_code_and_message() {
        let failed = Outcome::Failed(Failure::new(Some("UNKNOWN_INVOICE"), Some(" no such ")));
        assert_eq!(failed.to_string(), "failed: UNKNOWN_INVOICE: no such");
        assert_eq!(
            serde_json::to_value(&failed).ok(),
            Some(serde_json::json!({"outcome": "failed", "reason": "UNKNOWN_INVOICE: no such"}))
        );
        let bare = Outcome::Failed(Failure::new(Some(" "), None));
        assert_eq!(bare.reason(), None);
        assert_eq!(bare.to_string(), "failed");
        assert_eq!(
            serde_json::to_value(&bare).ok(),
            Some(serde_json::json!({"outcome": "failed", "reason": null}))
        );
        let same = Failure::new(Some("CLOSED"), Some("CLOSED"));
        assert_eq!(
            (same.code(), same.message()),
            (Some("CLOSED"), Some("CLOSED"))
        );
        assert_eq!(same.to_string(), "CLOSED");
        assert!(!Outcome::AlreadyAccepted.is_final());
    }

    #[test]
    fn a_failure_compares_and_debugs_by_its_texts() {
        let failure = Failure::new(Some("CLOSED"), Some("invoice closed"));
        assert_eq!(
            failure,
            Failure::new(Some("CLOSED"), Some("invoice closed"))
        );
        assert_ne!(failure, Failure::new(Some("CLOSED"), None));
        assert_eq!(Failure::new(None, Some("  ")), Failure::default());
        assert_eq!(
            format!("{failure:?}"),
            r#"Failure { code: Some("CLOSED"), message: Some("invoice closed"), text: Some("CLOSED: invoice closed") }"#
        );
    }

    /// Every item of every report holds an outcome: a failure's texts sit behind one pointer
    /// so that an outcome stays a tag and a [`Reason`].
    #[test]
    fn an_outcome_is_a_tag_and_a_reason() {
        assert_eq!(std::mem::size_of::<Failure>(), std::mem::size_of::<usize>());
        assert_eq!(
            std::mem::size_of::<Outcome>(),
            std::mem::size_of::<Reason>() + std::mem::size_of::<usize>()
        );
    }
}

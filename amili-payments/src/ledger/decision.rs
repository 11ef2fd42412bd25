//! The claim decision: what a store answers for one item, from what it holds for the item's
//! id. The memory, SQLite and PostgreSQL stores read their row and ask [`decide`]; the SQL
//! stores claim a new id by an atomic insert first (the rule's first line, in SQL, so that
//! two runs cannot both claim it). One table of cases (`conformance.rs`) holds every store
//! to the rule.

use uuid::Uuid;

use super::store::{Claim, Fingerprint, Processed};
use crate::idempotency::IdempotencyKey;

/// The fingerprint of an item accepted with content unknown (recorded from Amili's batch
/// history, whose items may carry no more than the id): a claim of that id with any content
/// is [`Claim::AlreadyAccepted`]. No SHA-256 digest of an item is all zeros.
pub const UNKNOWN_CONTENT: Fingerprint = [0; 32];

/// What a store holds for an id when it is claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held<'a> {
    /// Nothing: the id is new, or its request was released ([`Settled::NotBooked`]).
    ///
    /// [`Settled::NotBooked`]: super::Settled::NotBooked
    Nothing,
    /// Accepted in a batch.
    Accepted {
        /// The content accepted (its fingerprint as stored).
        fingerprint: &'a [u8],
        /// The batch it was queued in.
        batch_id: Uuid,
        /// How the batch processed it, once recorded
        /// ([`record_outcomes`](super::Ledger::record_outcomes)).
        processed: Option<&'a Processed>,
    },
    /// Claimed under `key` by a request whose result is not recorded.
    Pending {
        /// The request's key.
        key: &'a IdempotencyKey,
        /// Whether that request is being sent now: claimed or adopted by this ledger and not
        /// yet recorded, or held by another run that is alive. A request of a run that ended
        /// (crashed or stopped), or whose result was recorded as unknown, is not.
        sending: bool,
    },
}

/// The answer to a claim of an item with content `fingerprint`, given what the store holds
/// for its id:
///
/// | held                                  | answer                                          |
/// |---------------------------------------|-------------------------------------------------|
/// | nothing                               | [`Claim::Claimed`]: recorded pending, sent      |
/// | accepted, outcome unknown, same       | [`Claim::AlreadyAccepted`]: not sent            |
/// | accepted, succeeded, same content     | [`Claim::SucceededEarlier`]: not sent           |
/// | accepted, failed, same content        | [`Claim::FailedEarlier`]: not sent (would fail) |
/// | accepted, failed, other content       | [`Claim::Claimed`]: pending again, sent         |
/// | accepted, not failed, other content   | [`Claim::Conflict`]: not sent                   |
/// | accepted, content unknown             | as "same content"                               |
/// | pending, being sent                   | [`Claim::Busy`]: not sent                       |
/// | pending, nobody sending it            | [`Claim::Pending`]: adopted or settled          |
///
/// A failed item is claimed again with changed content (the fix) because Amili did not book
/// it: sending its id again is allowed (the assumption `openapi/autocollect.yaml` states on
/// the batch's `failed` list). Its new claim replaces the failed one.
///
/// "Content unknown" is the fingerprint [`UNKNOWN_CONTENT`]: an item recorded from Amili's
/// batch history whose content the batch did not carry; the id alone says it was accepted.
///
/// A store that answers [`Claim::Claimed`] must have recorded the item as pending under the
/// claiming key (with the claimed content, and no outcome), atomically with reading what it
/// held.
pub fn decide(held: Held<'_>, fingerprint: &Fingerprint) -> Claim {
    match held {
        Held::Nothing => Claim::Claimed,
        Held::Accepted {
            fingerprint: stored,
            batch_id,
            processed,
        } => {
            let same = stored == fingerprint.as_slice() || stored == UNKNOWN_CONTENT.as_slice();
            match (processed, same) {
                (None, true) => Claim::AlreadyAccepted { batch_id },
                (Some(Processed::Succeeded), true) => Claim::SucceededEarlier { batch_id },
                (Some(Processed::Failed(failure)), true) => Claim::FailedEarlier {
                    batch_id,
                    failure: failure.clone(),
                },
                (Some(Processed::Failed(_)), false) => Claim::Claimed,
                (_, false) => Claim::Conflict { batch_id },
            }
        }
        Held::Pending { sending: true, .. } => Claim::Busy,
        Held::Pending { key, .. } => Claim::Pending { key: key.clone() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_accepted_with_unknown_content_is_already_accepted_whatever_is_claimed() {
        let batch_id = Uuid::nil();
        let held = |fingerprint: &'static [u8]| Held::Accepted {
            fingerprint,
            batch_id,
            processed: None,
        };
        assert_eq!(
            decide(held(&UNKNOWN_CONTENT), &[7; 32]),
            Claim::AlreadyAccepted { batch_id }
        );
        assert_eq!(
            decide(held(&[1; 32]), &[7; 32]),
            Claim::Conflict { batch_id }
        );
    }
}

//! What became of each item of a submission, request by request, in the one outcome
//! vocabulary ([`Outcome`]).

use serde::Serialize;
use uuid::Uuid;

use crate::error::{Error, Refusal};
use crate::idempotency::IdempotencyKey;
pub use crate::outcome::{Failure, Outcome, OutcomeCounts, Reason};

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
    /// The item's own fields, for an item without a client id (a correction): a finished
    /// batch's items are matched back by content when one request holds several for the
    /// same invoice.
    #[serde(skip)]
    pub(crate) content: Option<Box<serde_json::Map<String, serde_json::Value>>>,
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
    /// A request's report from its items, kept in a vector of their own size: collected in
    /// place from the chunk, a report would keep the chunk's slots, larger than an item's (a
    /// payment on its way takes 144 bytes, its outcome 120), a million of them to the end of a
    /// [`send`](crate::Submission::send).
    pub(crate) fn new(
        idempotency_key: Option<IdempotencyKey>,
        result: RequestResult,
        items: impl ExactSizeIterator<Item = ItemOutcome>,
    ) -> Self {
        let mut kept = Vec::with_capacity(items.len());
        kept.extend(items);
        Self {
            idempotency_key,
            result,
            items: kept,
        }
    }

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
///
/// It must be used: a report can hold refused or unknown items, so dropping it unread is a
/// warning (with `#![deny(unused_must_use)]`, an error):
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// # async fn demo(client: amili_payments::Client, payments: Vec<amili_payments::Payment>)
/// # -> Result<(), amili_payments::Error> {
/// client.submit(payments).send().await?;
/// # Ok(()) }
/// ```
///
/// Reading it compiles:
///
/// ```no_run
/// #![deny(unused_must_use)]
/// # async fn demo(client: amili_payments::Client, payments: Vec<amili_payments::Payment>)
/// # -> Result<(), amili_payments::Error> {
/// client.submit(payments).send().await?.ensure_accepted()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "a report can hold refused or unknown items: check it (`ensure_accepted`, `counts`)"]
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

impl Error {
    /// A submission stopped by `cause`, with what it reported up to then.
    pub(crate) fn refused(cause: Error, report: SubmitReport) -> Error {
        Error::Refused {
            cause: Box::new(cause),
            counts: report.counts(),
            report: Refusal(std::sync::Arc::new(report)),
        }
    }

    /// The whole report of a submission that stopped ([`Error::Refused`]): what each item
    /// became, those sent before the refusal included.
    pub fn report(&self) -> Option<&SubmitReport> {
        match self {
            Error::Refused { report, .. } => report.0.downcast_ref(),
            _ => None,
        }
    }

    /// The answer that stopped a submission ([`Error::Refused`]), else the error itself.
    pub fn cause(&self) -> &Error {
        match self {
            Error::Refused { cause, .. } => cause,
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(index: usize) -> ItemOutcome {
        ItemOutcome {
            index,
            id: format!("P-{index}"),
            invoice_id: Uuid::nil(),
            batch_id: None,
            idempotency_key: None,
            outcome: Outcome::Accepted,
            content: None,
        }
    }

    /// The size `Submission::send`'s documentation gives for an item.
    #[test]
    fn a_report_item_takes_at_most_120_bytes() {
        assert!(std::mem::size_of::<ItemOutcome>() <= 120);
    }

    /// A report keeps its items to the end of a submission: in a vector of their own, exactly
    /// as long as they are, whatever the vector they came from.
    #[test]
    fn a_request_report_keeps_its_items_in_a_vector_of_their_size() {
        let mut chunk: Vec<(usize, [u64; 24])> = Vec::with_capacity(500);
        chunk.extend((0..300).map(|i| (i, [0; 24])));
        let report = RequestReport::new(
            None,
            RequestResult::NotSent,
            chunk.into_iter().map(|(i, _)| item(i)),
        );
        assert_eq!(report.items.len(), 300);
        assert_eq!(report.items.capacity(), 300);
        assert_eq!(report.items[299].index, 299);
    }
}

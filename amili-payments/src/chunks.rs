//! A submission's items on their way: numbered in submission order, a repeated id marked,
//! cut into requests ([`chunks`]); and how each one is reported at the end
//! ([`Pending::into_item`], [`not_sent`]). The submission pipeline (`submission.rs`) and the
//! status report (`status.rs`) cut the same chunks.

use futures::stream::{BoxStream, Stream, StreamExt};
use uuid::Uuid;

use crate::idempotency::IdempotencyKey;
use crate::repeats::Repeats;
use crate::report::{ItemOutcome, Outcome, Reason, RequestReport, RequestResult};
use crate::submittable::Submittable;

/// The items with their positions (a repeated id marked, when `filter_repeats`), cut into
/// chunks of at most `chunk_size`.
pub(crate) fn chunks<T: Submittable>(
    items: BoxStream<'_, T>,
    filter_repeats: bool,
    chunk_size: usize,
) -> impl Stream<Item = Vec<Pending<T>>> + Send + '_ {
    let mut seen = filter_repeats.then(Repeats::default);
    items
        .enumerate()
        .map(move |(index, item)| {
            let repeated = seen.as_mut().is_some_and(|s| !s.first(item.id()));
            Pending {
                index,
                item,
                repeated,
            }
        })
        .chunks(chunk_size)
}

/// One item on its way, with its position.
pub(crate) struct Pending<T> {
    pub(crate) index: usize,
    pub(crate) item: T,
    /// Its id appeared earlier in the submission (it is not sent).
    pub(crate) repeated: bool,
}

impl<T: Submittable> Pending<T> {
    /// The item as a report gives it: its position, id, invoice and content, and how it
    /// ended.
    pub(crate) fn into_item(
        self,
        outcome: Outcome,
        batch_id: Option<Uuid>,
        idempotency_key: Option<IdempotencyKey>,
    ) -> ItemOutcome {
        let invoice_id = self.item.invoice_id();
        let content = self.item.content().map(Box::new);
        ItemOutcome {
            content,
            index: self.index,
            id: self.item.into_id(),
            invoice_id,
            batch_id,
            idempotency_key,
            outcome,
        }
    }

    /// The item reported not sent for `reason`, or (a repeat) invalid.
    pub(crate) fn into_not_sent(self, reason: &Reason) -> ItemOutcome {
        let outcome = if self.repeated {
            repeated::<T>()
        } else {
            Outcome::NotSent(reason.clone())
        };
        self.into_item(outcome, None, None)
    }
}

/// A repeat's outcome: invalid (one submission must not carry an item twice; sending it
/// again would not change that), never sent.
pub(crate) fn repeated<T: Submittable>() -> Outcome {
    Outcome::Invalid(Reason::from(format!(
        "its {} appeared earlier in the submission",
        T::ID_NAME
    )))
}

/// The report of a request that was not sent, for `reason`.
pub(crate) fn not_sent<T: Submittable>(chunk: Vec<Pending<T>>, reason: Reason) -> RequestReport {
    RequestReport::new(
        None,
        RequestResult::NotSent,
        chunk.into_iter().map(|p| p.into_not_sent(&reason)),
    )
}

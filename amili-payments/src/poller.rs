//! The one batch poller: read a batch once or until it is done (with a deadline), and map a
//! finished batch's items back to the payments a request carried.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::{self, Either};
use futures::stream::{self, StreamExt};
use serde_json::{Map, Value};
use tokio::sync::broadcast;
use tracing::Instrument;
use uuid::Uuid;

use crate::backoff::Backoff;
use crate::batches::Batch;
use crate::batches::BatchItem;
use crate::client::Client;
use crate::error::Error;
use crate::ledger::{Ledger, Processed};
use crate::report::{Failure, Outcome, Reason, RequestReport, SubmitReport};

/// Follows batches: [`poll`](Self::poll) once, [`until_done`](Self::until_done), or
/// [`follow`](Self::follow) a request (and [`follow_all`](Self::follow_all) of a report) to
/// turn its `Accepted` payments into `Succeeded` or `Failed`.
///
/// Between polls it pauses with the same [`Backoff`] as retries (default 1 s doubling to
/// 30 s, with jitter); it gives up at the deadline (default 10 minutes per batch).
///
/// [`with_wakeups`](Self::with_wakeups) lets events wake it: when something (a webhook
/// receiver) says a batch finished, the poller reads that batch again at once instead of
/// waiting out its pause; without events it polls at a slower pace
/// ([`with_fallback_backoff`](Self::with_fallback_backoff)). Outcomes always come from the
/// batch as read from the API — an event only says *when* to read it.
///
/// ```
/// use std::time::Duration;
/// use amili_payments::Backoff;
///
/// # fn demo(client: amili_payments::Client) {
/// let poller = client
///     .poller()
///     .with_timeout(Duration::from_secs(120))
///     .with_backoff(Backoff::new(Duration::from_millis(500), Duration::from_secs(10)));
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Poller<'c> {
    client: &'c Client,
    backoff: Backoff,
    timeout: Duration,
    concurrency: usize,
    wakeups: Option<BatchWakeups>,
    fallback: Backoff,
    ledger: Option<Arc<dyn Ledger>>,
}

/// How many wake-ups a poller may fall behind before it simply reads its batch again.
const WAKEUP_BUFFER: usize = 1024;

/// Wakes [`Poller`]s early: a cheap-to-clone handle that whatever learns that a batch
/// finished (typically a webhook handler on `BATCH_COMPLETED`) calls
/// [`notify`](Self::notify) on, and that pollers built
/// [`with_wakeups`](Poller::with_wakeups) listen to.
///
/// A wake-up is only a hint: the woken poller reads the batch from the API and reports what it
/// reads, so a wrong, repeated, late or early event cannot change an outcome. A notification
/// for a batch nobody is waiting for is dropped (a poller that starts later reads the batch
/// first anyway); a poller subscribes before its first read, so an event arriving while it
/// reads is not lost.
///
/// ```
/// use std::time::Duration;
/// use amili_payments::{Backoff, BatchWakeups};
///
/// # fn demo(client: amili_payments::Client) {
/// let wakeups = BatchWakeups::new();
/// // In the webhook handler: `wakeups.notify(batch_id)` for each BATCH_COMPLETED.
/// let poller = client
///     .poller()
///     .with_wakeups(wakeups.clone())
///     .with_fallback_backoff(Backoff::new(Duration::from_secs(10), Duration::from_secs(120)));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct BatchWakeups {
    sender: broadcast::Sender<Uuid>,
}

impl Default for BatchWakeups {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchWakeups {
    /// A handle nobody listens to yet.
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(WAKEUP_BUFFER);
        Self { sender }
    }

    /// Says that `batch_id` may have finished: pollers waiting for it read it again now.
    pub fn notify(&self, batch_id: Uuid) {
        // An error only means that no poller is listening right now.
        let _ = self.sender.send(batch_id);
    }

    fn subscribe(&self) -> broadcast::Receiver<Uuid> {
        self.sender.subscribe()
    }
}

/// Returns when `batch_id` is notified, or when the receiver fell behind (a wake-up may have
/// been among those skipped: reading the batch again is the safe answer).
async fn woken_for(receiver: &mut broadcast::Receiver<Uuid>, batch_id: Uuid) {
    loop {
        match receiver.recv().await {
            Ok(id) if id == batch_id => return,
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(_)) => return,
            Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
        }
    }
}

impl Client {
    /// A batch poller with the default pace and deadline.
    pub fn poller(&self) -> Poller<'_> {
        Poller {
            client: self,
            backoff: Backoff::new(Duration::from_secs(1), Duration::from_secs(30)),
            timeout: Duration::from_secs(10 * 60),
            concurrency: self.shared.concurrency,
            wakeups: None,
            fallback: Backoff::new(Duration::from_secs(5), Duration::from_secs(60)),
            ledger: None,
        }
    }
}

impl Poller<'_> {
    /// The pauses between polls.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Give up on a batch after this long.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Wake up early when `wakeups` is notified for the batch being followed, and poll at the
    /// slower [fallback pace](Self::with_fallback_backoff) otherwise.
    pub fn with_wakeups(mut self, wakeups: BatchWakeups) -> Self {
        self.wakeups = Some(wakeups);
        self
    }

    /// The pauses between polls when the poller has [wake-ups](Self::with_wakeups) (default
    /// 5 s doubling to 60 s, with jitter): the pace when no event comes.
    pub fn with_fallback_backoff(mut self, backoff: Backoff) -> Self {
        self.fallback = backoff;
        self
    }

    /// Records in `ledger` how each batch it follows processed its items
    /// ([`Ledger::record_outcomes`]), so that later submissions know which payments
    /// succeeded and which failed (and may be sent again once fixed).
    pub fn with_ledger(mut self, ledger: Arc<dyn Ledger>) -> Self {
        self.ledger = Some(ledger);
        self
    }

    /// How many batches [`follow_all`](Self::follow_all) follows at once.
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Reads the batch once.
    ///
    /// # Errors
    ///
    /// As [`Client::batch`].
    pub async fn poll(&self, batch_id: Uuid) -> Result<Batch, Error> {
        self.client.batch(batch_id).await
    }

    /// Polls until the batch is terminal (`SUCCESS`, `PARTIAL`, `FAILED`; a status this
    /// version does not know is "not done yet"). A poll that fails temporarily is tried again
    /// at the next pause.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when the deadline passes first; a poll's error that is not
    /// temporary.
    pub async fn until_done(&self, batch_id: Uuid) -> Result<Batch, Error> {
        let span = tracing::info_span!("amili.wait", operation = "wait", %batch_id);
        async move {
            let started = Instant::now();
            // Subscribed before the first read, so an event arriving meanwhile is not lost.
            let mut wakeups = self.wakeups.as_ref().map(BatchWakeups::subscribe);
            let mut polls = 0u32;
            let mut woken = 0u32;
            loop {
                let last = match self.poll(batch_id).await {
                    Ok(batch) if batch.is_terminal() => {
                        tracing::info!(status = %batch.status, polls, woken, "batch finished");
                        return Ok(batch);
                    }
                    Ok(batch) => format!("still {}", batch.status),
                    Err(e) if e.is_retryable() || e.is_authentication() => {
                        format!("the last poll failed: {e}")
                    }
                    Err(e) => return Err(e),
                };
                let timed_out = |polls: u32| Error::Timeout {
                    operation: "wait",
                    message: format!(
                        "batch {batch_id} did not finish within {:?} ({last} after {polls} \
                         polls)",
                        self.timeout
                    ),
                };
                let Some(receiver) = wakeups.as_mut() else {
                    let pause = self.backoff.pause(polls);
                    polls += 1;
                    if started.elapsed().saturating_add(pause) > self.timeout {
                        return Err(timed_out(polls));
                    }
                    tracing::debug!(polls, ?pause, "{last}");
                    tokio::time::sleep(pause).await;
                    continue;
                };
                // With wake-ups: wait for an event or the slower pause, up to the deadline.
                let left = self.timeout.saturating_sub(started.elapsed());
                polls += 1;
                if left.is_zero() {
                    return Err(timed_out(polls));
                }
                let pause = self.fallback.pause(polls - 1).min(left);
                tracing::debug!(polls, ?pause, "{last}; waiting for an event");
                let sleep = std::pin::pin!(tokio::time::sleep(pause));
                let event = std::pin::pin!(woken_for(receiver, batch_id));
                if let Either::Right(_) = future::select(sleep, event).await {
                    woken += 1;
                    tracing::debug!("woken by an event; reading the batch again");
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Follows the batches of the request's `Accepted` payments (its own, and that of any
    /// resumed earlier request) and of its `AlreadyAccepted` ones (accepted by an earlier
    /// submission, outcome not known yet), and settles those payments: `Succeeded`, `Failed`
    /// with Amili's reason, or `Unknown` when the finished batch has no item for a payment.
    /// With [`with_ledger`](Self::with_ledger), what was learned is recorded there.
    ///
    /// # Errors
    ///
    /// As [`until_done`](Self::until_done), for the first batch that could not be followed;
    /// the other batches are still settled. The payments of a batch whose answer cannot be
    /// read become `Unknown` with that reason; those of a batch that did not finish in time
    /// or could not be reached stay `Accepted`.
    /// [`Error::Ledger`] when the ledger could not record (the outcomes are reported anyway).
    pub async fn follow(&self, request: &mut RequestReport) -> Result<(), Error> {
        let open =
            |outcome: &Outcome| matches!(outcome, Outcome::Accepted | Outcome::AlreadyAccepted);
        let mut batches: Vec<Uuid> = request
            .items
            .iter()
            .filter(|i| open(&i.outcome))
            .filter_map(|i| i.batch_id)
            .collect();
        batches.sort_unstable();
        batches.dedup();
        let mut first_error = None;
        for batch_id in batches {
            let batch = match self.until_done(batch_id).await {
                Ok(batch) => batch,
                Err(e) => {
                    // An answer that cannot be read (not the documented JSON, a number out of
                    // range) will not read better later: the batch's payments were accepted
                    // and their fate is unknown, said per batch. A deadline or an unreachable
                    // server leaves them `Accepted`, to be followed again.
                    if matches!(e, Error::InvalidResponse { .. }) {
                        let reason = Reason::from(format!(
                            "accepted in batch {batch_id}, whose answer could not be read: {e}"
                        ));
                        for item in request
                            .items
                            .iter_mut()
                            .filter(|i| open(&i.outcome) && i.batch_id == Some(batch_id))
                        {
                            item.outcome = Outcome::Unknown(reason.clone());
                        }
                    }
                    first_error.get_or_insert(e);
                    continue;
                }
            };
            let mut items: Vec<_> = request
                .items
                .iter_mut()
                .filter(|i| open(&i.outcome) && i.batch_id == Some(batch_id))
                .collect();
            let carried: Vec<Carried<'_>> = items
                .iter()
                .map(|i| (i.id.as_str(), i.invoice_id, i.content.as_deref()))
                .collect();
            let Some(outcomes) = batch.settle(&carried) else {
                continue;
            };
            if let Some(ledger) = &self.ledger {
                let learned: Vec<(&str, Processed)> = carried
                    .iter()
                    .zip(&outcomes)
                    .filter_map(|((id, _, _), outcome)| match outcome {
                        Outcome::Succeeded => Some((*id, Processed::Succeeded)),
                        Outcome::Failed(failure) => Some((*id, Processed::Failed(failure.clone()))),
                        _ => None,
                    })
                    .collect();
                if !learned.is_empty()
                    && let Err(e) = ledger.record_outcomes(batch_id, &learned).await
                {
                    tracing::warn!(%batch_id, error = %e, "the ledger could not record the batch's outcomes");
                    first_error.get_or_insert(Error::Ledger(e));
                }
            }
            for (item, outcome) in items.iter_mut().zip(outcomes) {
                item.outcome = outcome;
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Follows every request of the report, [`with_concurrency`](Self::with_concurrency)
    /// batches at once. A batch that cannot be followed leaves its payments `Accepted` and
    /// the others go on.
    ///
    /// # Errors
    ///
    /// The first error of any batch, after every batch was tried.
    pub async fn follow_all(&self, report: &mut SubmitReport) -> Result<(), Error> {
        let results: Vec<Result<(), Error>> = stream::iter(report.requests.iter_mut())
            .map(|request| self.follow(request))
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        results.into_iter().collect()
    }
}

/// Which list an item is in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Listed {
    Succeeded,
    Failed,
}

/// A payment (or correction) a request carried: its id, its invoice, and its own fields when
/// it has no client id (see [`ItemOutcome`](crate::report::ItemOutcome)).
pub(crate) type Carried<'a> = (&'a str, Uuid, Option<&'a Map<String, Value>>);

impl Batch {
    /// What became of each payment this batch carried, in any order; the answer has one
    /// state per payment, in the same order. `None` while the batch is not terminal.
    ///
    /// An item is matched by `uniqueSourcePaymentId`, else by invoice: when one payment has
    /// that invoice, its items are that payment's; when several do (corrections, which have
    /// no client id), the batch must list one item per payment for that invoice, and a
    /// payment gets the state of the items whose fields agree with its own (amount, currency,
    /// date, description, as far as the items carry them) when those all agree. A payment no
    /// item decides becomes [`Outcome::Unknown`] with a reason — never silently `Succeeded`,
    /// and only that payment. Failed items carry Amili's reason code and message ([`Failure`]).
    pub(crate) fn settle(&self, carried: &[Carried<'_>]) -> Option<Vec<Outcome>> {
        if !self.is_terminal() {
            return None;
        }
        let batch = self;
        let mut by_source: HashMap<&str, Vec<(Listed, &BatchItem)>> = HashMap::new();
        let mut by_invoice: HashMap<Uuid, Vec<(Listed, &BatchItem)>> = HashMap::new();
        let items = batch
            .succeeded
            .iter()
            .map(|i| (Listed::Succeeded, i))
            .chain(batch.failed.iter().map(|i| (Listed::Failed, i)));
        for (listed, item) in items {
            if let Some(id) = item.unique_source_payment_id() {
                by_source.entry(id).or_default().push((listed, item));
            } else if let Some(invoice) = item.invoice_id() {
                by_invoice.entry(invoice).or_default().push((listed, item));
            }
        }
        let mut payments_per_invoice: HashMap<Uuid, usize> = HashMap::new();
        for (_, invoice, _) in carried {
            *payments_per_invoice.entry(*invoice).or_default() += 1;
        }
        let state = |source_id: &str, invoice_id: Uuid, content: Option<&Map<String, Value>>| {
            if let Some(matched) = by_source.get(source_id) {
                return agreed(matched).unwrap_or_else(|| {
                    Outcome::Unknown(Reason::from(format!(
                        "batch {} lists this payment both as succeeded and as failed",
                        batch.id
                    )))
                });
            }
            let sharing = payments_per_invoice.get(&invoice_id).copied().unwrap_or(0);
            let Some(listed) = by_invoice.get(&invoice_id) else {
                return Outcome::Unknown(Reason::from(format!(
                    "batch {} finished as {} without an item for this payment",
                    batch.id, batch.status
                )));
            };
            if sharing <= 1 {
                return agreed(listed).unwrap_or_else(|| {
                    Outcome::Unknown(Reason::from(format!(
                        "batch {} lists this payment both as succeeded and as failed",
                        batch.id
                    )))
                });
            }
            // Several for one invoice: only when every one of them has its own item can the
            // items that agree with this one's fields (its own among them) decide.
            let why = if listed.len() != sharing {
                format!(
                    "batch {} finished as {} with {} items for invoice {} but without \
                     uniqueSourcePaymentId, and several payments ({sharing}) are for that invoice",
                    batch.id,
                    batch.status,
                    listed.len(),
                    invoice_id
                )
            } else {
                let fitting: Vec<(Listed, &BatchItem)> = listed
                    .iter()
                    .filter(|(_, item)| content.is_none_or(|c| fits(item, c)))
                    .copied()
                    .collect();
                if let Some(outcome) = agreed(&fitting) {
                    return outcome;
                }
                format!(
                    "batch {} finished as {} with items for invoice {} but without \
                     uniqueSourcePaymentId, and several payments are for that invoice; the \
                     items that fit this one do not agree",
                    batch.id, batch.status, invoice_id
                )
            };
            Outcome::Unknown(Reason::from(why))
        };
        Some(
            carried
                .iter()
                .map(|(source_id, invoice_id, content)| state(source_id, *invoice_id, *content))
                .collect(),
        )
    }
}

/// The state that all of `items` agree on: `Succeeded`, or `Failed` with the first one's
/// reason. `None` when they are mixed or empty.
fn agreed(items: &[(Listed, &BatchItem)]) -> Option<Outcome> {
    match items {
        [(Listed::Succeeded, _), rest @ ..]
            if rest.iter().all(|(l, _)| *l == Listed::Succeeded) =>
        {
            Some(Outcome::Succeeded)
        }
        [(Listed::Failed, first), rest @ ..] if rest.iter().all(|(l, _)| *l == Listed::Failed) => {
            Some(Outcome::Failed(failure(first)))
        }
        _ => None,
    }
}

/// Whether a batch item's fields agree with a carried item's `content` wherever both have the
/// field: amounts as numbers (`-150` is `"-150.00"`), dates as instants, the rest as JSON.
fn fits(item: &BatchItem, content: &Map<String, Value>) -> bool {
    item.fields().iter().all(|(key, value)| {
        let Some(own) = content.get(key) else {
            return true;
        };
        if key == "amount" {
            return match (decimal(value), decimal(own)) {
                (Some(a), Some(b)) => a == b,
                _ => value == own,
            };
        }
        if key == "date" {
            let instant = |v: &Value| {
                v.as_str()
                    .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            };
            if let (Some(a), Some(b)) = (instant(value), instant(own)) {
                return a == b;
            }
        }
        value == own
    })
}

fn decimal(value: &Value) -> Option<rust_decimal::Decimal> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return None,
    };
    text.parse()
        .ok()
        .or_else(|| rust_decimal::Decimal::from_scientific(&text).ok())
}

/// Amili's reason for a failed item: its `reason` (the code) and `message`; an item with
/// neither gives its `error` as the message.
fn failure(item: &BatchItem) -> Failure {
    let field = |key: &str| {
        item.fields()
            .get(key)
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    match (field("reason"), field("message")) {
        (None, None) => Failure::new(None, field("error")),
        (code, message) => Failure::new(code, message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batches::BatchStatus;
    use serde_json::json;

    fn item(value: serde_json::Value) -> BatchItem {
        serde_json::from_value(value).unwrap_or_default()
    }

    fn batch(status: BatchStatus, succeeded: Vec<BatchItem>, failed: Vec<BatchItem>) -> Batch {
        Batch {
            id: Uuid::nil(),
            status,
            kind: None,
            created_at: None,
            finished_at: None,
            organization_id: None,
            created_by: None,
            succeeded,
            failed,
        }
    }

    #[test]
    fn matches_by_source_id_then_unambiguous_invoice() {
        let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let batch = batch(
            BatchStatus::Partial,
            vec![
                item(json!({"uniqueSourcePaymentId": "P-1", "invoiceId": a})),
                item(json!({"invoiceId": b})),
            ],
            vec![item(
                json!({"uniqueSourcePaymentId": "P-3", "reason": "invoice closed"}),
            )],
        );
        let outcomes = batch
            .settle(&[
                ("P-1", a, None),
                ("P-2", b, None),
                ("P-3", c, None),
                ("P-4", c, None),
            ])
            .unwrap_or_default();
        assert_eq!(outcomes[0], Outcome::Succeeded);
        assert_eq!(outcomes[1], Outcome::Succeeded);
        assert_eq!(
            outcomes[2],
            Outcome::Failed(Failure::new(Some("invoice closed"), None))
        );
        assert!(matches!(outcomes[3], Outcome::Unknown(_)));
    }

    #[test]
    fn an_invoice_shared_by_two_payments_is_not_guessed() {
        let a = Uuid::new_v4();
        let batch = batch(
            BatchStatus::Success,
            vec![item(json!({"invoiceId": a}))],
            vec![],
        );
        let outcomes = batch
            .settle(&[("P-1", a, None), ("P-2", a, None)])
            .unwrap_or_default();
        assert_eq!(outcomes.len(), 2);
        assert!(outcomes.iter().all(
            |o| matches!(o, Outcome::Unknown(reason) if reason.as_str().contains("several payments"))
        ));
    }

    #[test]
    fn several_corrections_for_one_invoice_map_back_by_content() {
        let a = Uuid::new_v4();
        let content = |amount: &str| {
            json!({"invoiceId": a, "amount": amount.parse::<f64>().unwrap_or_default(),
                   "currency": "NOK", "date": "2025-03-10T09:00:00Z", "description": ""})
            .as_object()
            .cloned()
            .unwrap_or_default()
        };
        let (one, two, three) = (content("-10.50"), content("20"), content("0.5"));
        let batch = batch(
            BatchStatus::Partial,
            vec![
                item(json!({"invoiceId": a, "amount": "20.00"})),
                item(json!({"invoiceId": a, "amount": -10.5})),
            ],
            vec![item(
                json!({"invoiceId": a, "amount": 0.5, "reason": "INVALID_AMOUNT"}),
            )],
        );
        let outcomes = batch
            .settle(&[
                ("C-1", a, Some(&one)),
                ("C-2", a, Some(&two)),
                ("C-3", a, Some(&three)),
            ])
            .unwrap_or_default();
        assert_eq!(
            outcomes,
            vec![
                Outcome::Succeeded,
                Outcome::Succeeded,
                Outcome::Failed(Failure::new(Some("INVALID_AMOUNT"), None))
            ]
        );
    }

    #[test]
    fn identical_items_for_one_invoice_decide_when_they_agree_and_only_the_mixed_are_unknown() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let same = json!({"invoiceId": a, "amount": 5}).as_object().cloned();
        let batch = batch(
            BatchStatus::Partial,
            vec![
                item(json!({"invoiceId": a})),
                item(json!({"invoiceId": a})),
                item(json!({"invoiceId": b})),
            ],
            vec![item(json!({"invoiceId": b, "reason": "closed"}))],
        );
        let outcomes = batch
            .settle(&[
                ("C-1", a, same.as_ref()),
                ("C-2", a, same.as_ref()),
                ("C-3", b, None),
                ("C-4", b, None),
            ])
            .unwrap_or_default();
        assert_eq!(outcomes[..2], [Outcome::Succeeded, Outcome::Succeeded]);
        assert!(
            outcomes[2..]
                .iter()
                .all(|o| matches!(o, Outcome::Unknown(r) if r.as_str().contains("do not agree"))),
            "{outcomes:?}"
        );
    }

    #[test]
    fn a_queued_batch_settles_nothing() {
        let batch = batch(BatchStatus::Queued, vec![], vec![]);
        assert_eq!(batch.settle(&[("P-1", Uuid::nil(), None)]), None);
    }

    #[test]
    fn reason_and_message_together() {
        let batch = batch(
            BatchStatus::Failed,
            vec![],
            vec![item(
                json!({"uniqueSourcePaymentId": "P-1", "reason": "UNKNOWN_INVOICE", "message": "no such invoice"}),
            )],
        );
        assert_eq!(
            batch.settle(&[("P-1", Uuid::nil(), None)]),
            Some(vec![Outcome::Failed(Failure::new(
                Some("UNKNOWN_INVOICE"),
                Some("no such invoice")
            ))])
        );
        let Some(Outcome::Failed(failure)) = batch
            .settle(&[("P-1", Uuid::nil(), None)])
            .and_then(|o| o.into_iter().next())
        else {
            panic!("not failed");
        };
        assert_eq!(failure.code(), Some("UNKNOWN_INVOICE"));
        assert_eq!(failure.message(), Some("no such invoice"));
        assert_eq!(failure.to_string(), "UNKNOWN_INVOICE: no such invoice");
    }
}

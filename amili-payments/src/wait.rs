//! Following batches until they are done, and mapping their items back to payments.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use tracing::Instrument;
use uuid::Uuid;

use crate::BatchItem;
use crate::batches::Batch;
use crate::client::Client;
use crate::create::Receipt;
use crate::error::Error;
use crate::report::{OutcomeState, PaymentOutcome, SubmitReport};

/// How [`Client::wait`] polls.
///
/// ```
/// use std::time::Duration;
/// use amili_payments::WaitOptions;
///
/// let options = WaitOptions::default()
///     .with_timeout(Duration::from_secs(120))
///     .with_interval(Duration::from_millis(500), Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WaitOptions {
    /// Give up after this long (default 10 minutes).
    pub timeout: Duration,
    /// The first pause between polls (default 1 s); it doubles up to `max_interval`.
    pub initial_interval: Duration,
    /// The longest pause between polls (default 30 s).
    pub max_interval: Duration,
}

impl Default for WaitOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10 * 60),
            initial_interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(30),
        }
    }
}

impl WaitOptions {
    /// Give up after `timeout`.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The first and the longest pause between polls.
    #[must_use]
    pub fn with_interval(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_interval = initial;
        self.max_interval = max.max(initial);
        self
    }
}

impl Client {
    /// Polls a batch, pausing longer each time, until it is terminal (`SUCCESS`, `PARTIAL`,
    /// `FAILED`) or `options.timeout` passes ([`Error::Timeout`]). Statuses this version does
    /// not know are taken as "not done yet". Temporary failures of a poll are retried until the
    /// timeout; others end the wait.
    pub async fn wait(&self, batch_id: Uuid, options: WaitOptions) -> Result<Batch, Error> {
        let span = tracing::info_span!("amili.wait", operation = "wait", %batch_id);
        async move {
            let started = Instant::now();
            let mut interval = options.initial_interval;
            let mut polls = 0u32;
            loop {
                polls += 1;
                let last = match self.batch(batch_id).await {
                    Ok(batch) if batch.is_terminal() => {
                        tracing::info!(status = %batch.status, polls, "batch finished");
                        return Ok(batch);
                    }
                    Ok(batch) => format!("still {}", batch.status),
                    Err(e) if e.is_retryable() => format!("the last poll failed: {e}"),
                    Err(e) => return Err(e),
                };
                let elapsed = started.elapsed();
                if elapsed.saturating_add(interval) > options.timeout {
                    return Err(Error::Timeout {
                        operation: "wait",
                        message: format!(
                            "batch {batch_id} did not finish within {:?} ({last} after {polls} \
                             polls)",
                            options.timeout
                        ),
                    });
                }
                tracing::debug!(polls, ?interval, "{last}");
                tokio::time::sleep(interval).await;
                interval = interval.saturating_mul(2).min(options.max_interval);
            }
        }
        .instrument(span)
        .await
    }

    /// Waits for the batch of `receipt` and tells what happened to each of its payments.
    pub async fn wait_receipt(
        &self,
        receipt: &Receipt,
        options: WaitOptions,
    ) -> Result<Vec<PaymentOutcome>, Error> {
        let batch = self.wait(receipt.batch_id, options).await?;
        let mut outcomes: Vec<PaymentOutcome> = receipt
            .source_ids
            .iter()
            .zip(&receipt.invoice_ids)
            .enumerate()
            .map(|(index, (source_id, invoice_id))| PaymentOutcome {
                index,
                unique_source_payment_id: source_id.clone(),
                invoice_id: *invoice_id,
                batch_id: Some(receipt.batch_id),
                idempotency_key: Some(receipt.idempotency_key.clone()),
                state: OutcomeState::Accepted,
            })
            .collect();
        let mut refs: Vec<&mut PaymentOutcome> = outcomes.iter_mut().collect();
        apply_batch(&batch, &mut refs);
        Ok(outcomes)
    }

    /// Waits for every batch of the report (as many at once as the client's concurrency) and
    /// turns its `Accepted` payments into `Succeeded`, `Failed` — or `Unknown` when the
    /// finished batch has no item for a payment.
    ///
    /// Batches that finish are applied even if others do not; the first error (a timeout, a
    /// batch that cannot be read) is returned after all batches were tried, leaving those
    /// payments `Accepted`.
    pub async fn follow(
        &self,
        report: &mut SubmitReport,
        options: WaitOptions,
    ) -> Result<(), Error> {
        let pending: Vec<Uuid> = {
            let mut ids: Vec<Uuid> = report
                .outcomes
                .iter()
                .filter(|o| o.state == OutcomeState::Accepted)
                .filter_map(|o| o.batch_id)
                .collect();
            ids.sort();
            ids.dedup();
            ids
        };
        let results: Vec<(Uuid, Result<Batch, Error>)> = stream::iter(pending)
            .map(|id| {
                let options = options.clone();
                async move { (id, self.wait(id, options).await) }
            })
            .buffer_unordered(self.shared.concurrency)
            .collect()
            .await;
        let mut first_error = None;
        for (id, result) in results {
            match result {
                Ok(batch) => {
                    let mut refs: Vec<&mut PaymentOutcome> = report
                        .outcomes
                        .iter_mut()
                        .filter(|o| o.batch_id == Some(id) && o.state == OutcomeState::Accepted)
                        .collect();
                    apply_batch(&batch, &mut refs);
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Which list an item is in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Listed {
    Succeeded,
    Failed,
}

/// Applies a terminal batch to the outcomes of the payments it carried (see [`Batch::settle`]).
pub(crate) fn apply_batch(batch: &Batch, outcomes: &mut [&mut PaymentOutcome]) {
    let carried: Vec<(&str, Uuid)> = outcomes
        .iter()
        .map(|o| (o.unique_source_payment_id.as_str(), o.invoice_id))
        .collect();
    let Some(states) = batch.settle(&carried) else {
        return;
    };
    for (outcome, state) in outcomes.iter_mut().zip(states) {
        outcome.state = state;
    }
}

impl Batch {
    /// What became of each payment this batch carried, given as
    /// `(uniqueSourcePaymentId, invoiceId)` in any order; the answer has one state per payment,
    /// in the same order. `None` while the batch is not terminal.
    ///
    /// An item is matched by `uniqueSourcePaymentId`, else by invoice id when exactly one of
    /// the payments has that invoice. A payment no item matches becomes
    /// [`OutcomeState::Unknown`] with a reason — never silently `Succeeded`. Failed items carry
    /// Amili's reason (`reason: message` when both are present). [`Client::follow`] uses it
    /// on a [`SubmitReport`](crate::SubmitReport); callers that keep their own records (the
    /// `amili` CLI streams them from disk) call it directly.
    pub fn settle(&self, carried: &[(&str, Uuid)]) -> Option<Vec<OutcomeState>> {
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
        for (_, invoice) in carried {
            *payments_per_invoice.entry(*invoice).or_default() += 1;
        }
        let state = |source_id: &str, invoice_id: Uuid| {
            let matched = by_source.get(source_id).map(Vec::as_slice).or_else(|| {
                (payments_per_invoice.get(&invoice_id) == Some(&1))
                    .then(|| by_invoice.get(&invoice_id).map(Vec::as_slice))
                    .flatten()
            });
            match matched {
                Some([(Listed::Succeeded, _), rest @ ..])
                    if rest.iter().all(|(l, _)| *l == Listed::Succeeded) =>
                {
                    OutcomeState::Succeeded
                }
                Some([(Listed::Failed, item), rest @ ..])
                    if rest.iter().all(|(l, _)| *l == Listed::Failed) =>
                {
                    OutcomeState::Failed {
                        reason: failure_reason(item),
                    }
                }
                Some([_, ..]) => OutcomeState::Unknown {
                    reason: format!(
                        "batch {} lists this payment both as succeeded and as failed",
                        batch.id
                    ),
                },
                _ => {
                    let ambiguous_invoice = payments_per_invoice
                        .get(&invoice_id)
                        .is_some_and(|n| *n > 1)
                        && by_invoice.contains_key(&invoice_id);
                    OutcomeState::Unknown {
                        reason: if ambiguous_invoice {
                            format!(
                                "batch {} finished as {} with items for invoice {} but without \
                                 uniqueSourcePaymentId, and several payments are for that invoice",
                                batch.id, batch.status, invoice_id
                            )
                        } else {
                            format!(
                                "batch {} finished as {} without an item for this payment",
                                batch.id, batch.status
                            )
                        },
                    }
                }
            }
        };
        Some(
            carried
                .iter()
                .map(|(source_id, invoice_id)| state(source_id, *invoice_id))
                .collect(),
        )
    }
}

/// `reason` and `message` together when an item has both (`UNKNOWN_INVOICE: invoice … is not
/// known`), else whichever it has.
fn failure_reason(item: &BatchItem) -> Option<String> {
    let field = |key: &str| {
        item.fields()
            .get(key)
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    match (field("reason"), field("message")) {
        (Some(reason), Some(message)) if reason != message => Some(format!("{reason}: {message}")),
        _ => item.reason().map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BatchStatus;
    use serde_json::json;

    fn item(value: serde_json::Value) -> BatchItem {
        serde_json::from_value(value).unwrap_or_default()
    }

    fn outcome(index: usize, source: &str, invoice: Uuid) -> PaymentOutcome {
        PaymentOutcome {
            index,
            unique_source_payment_id: source.to_owned(),
            invoice_id: invoice,
            batch_id: None,
            idempotency_key: None,
            state: OutcomeState::Accepted,
        }
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
        let mut outcomes = [
            outcome(0, "P-1", a),
            outcome(1, "P-2", b),
            outcome(2, "P-3", c),
            outcome(3, "P-4", c),
        ];
        let mut refs: Vec<&mut PaymentOutcome> = outcomes.iter_mut().collect();
        apply_batch(&batch, &mut refs);
        assert_eq!(outcomes[0].state, OutcomeState::Succeeded);
        assert_eq!(outcomes[1].state, OutcomeState::Succeeded);
        assert_eq!(
            outcomes[2].state,
            OutcomeState::Failed {
                reason: Some("invoice closed".into())
            }
        );
        assert!(matches!(outcomes[3].state, OutcomeState::Unknown { .. }));
    }

    #[test]
    fn an_invoice_shared_by_two_payments_is_not_guessed() {
        let a = Uuid::new_v4();
        let batch = batch(
            BatchStatus::Success,
            vec![item(json!({"invoiceId": a}))],
            vec![],
        );
        let mut outcomes = [outcome(0, "P-1", a), outcome(1, "P-2", a)];
        let mut refs: Vec<&mut PaymentOutcome> = outcomes.iter_mut().collect();
        apply_batch(&batch, &mut refs);
        assert!(outcomes
            .iter()
            .all(|o| matches!(&o.state, OutcomeState::Unknown { reason } if reason.contains("several payments"))));
    }

    #[test]
    fn a_queued_batch_changes_nothing() {
        let batch = batch(BatchStatus::Queued, vec![], vec![]);
        let mut outcomes = [outcome(0, "P-1", Uuid::nil())];
        let mut refs: Vec<&mut PaymentOutcome> = outcomes.iter_mut().collect();
        apply_batch(&batch, &mut refs);
        assert_eq!(outcomes[0].state, OutcomeState::Accepted);
    }
}

//! `submit`: any number of payments, split into requests, sent with bounded concurrency.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::stream::{self, Stream, StreamExt};
use tracing::Instrument;

use crate::client::Client;
use crate::create::find_duplicates;
use crate::error::Error;
use crate::idempotency::IdempotencyKey;
use crate::payment::Payment;
use crate::report::{ChunkReport, ChunkResult, OutcomeState, PaymentOutcome, SubmitReport};

/// One request of a submission whose idempotency key is already chosen (for example read back
/// from a journal, to resume a submission without booking anything twice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedChunk {
    /// The key every attempt of this request carries.
    pub idempotency_key: IdempotencyKey,
    /// The payments, at most the client's maximum per request.
    pub payments: Vec<Payment>,
}

impl PlannedChunk {
    /// A chunk under a fresh random key.
    pub fn new(payments: Vec<Payment>) -> Self {
        Self {
            idempotency_key: IdempotencyKey::random(),
            payments,
        }
    }
}

/// Watches a submission request by request: journal the keys before anything is sent, record
/// the outcomes as they come.
pub trait SubmitObserver: Send + Sync {
    /// Called before the request's first attempt. An `Err` means the request is **not** sent
    /// (its payments are reported `NotSent`), so a journal that cannot be written stops the
    /// payments it would have recorded.
    fn chunk_planned(
        &self,
        key: &IdempotencyKey,
        source_ids: &[String],
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let _ = (key, source_ids);
        Ok(())
    }

    /// Called when the request's outcome is known.
    fn chunk_finished(&self, key: &IdempotencyKey, result: &ChunkResult) {
        let _ = (key, result);
    }
}

/// Options of one submission.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct SubmitOptions {
    /// Told about every request before it is sent and when it ends.
    pub observer: Option<Arc<dyn SubmitObserver>>,
    /// How many requests run at once; the client's setting when `None`.
    pub concurrency: Option<usize>,
}

impl SubmitOptions {
    /// With an observer.
    #[must_use]
    pub fn with_observer(mut self, observer: Arc<dyn SubmitObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// With a concurrency of its own.
    #[must_use]
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = Some(concurrency.max(1));
        self
    }
}

impl fmt::Debug for SubmitOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubmitOptions")
            .field("observer", &self.observer.as_ref().map(|_| "…"))
            .field("concurrency", &self.concurrency)
            .finish()
    }
}

/// A request of a submission with the positions of its payments in the input.
struct Planned {
    key: IdempotencyKey,
    indexes: Vec<usize>,
    payments: Vec<Payment>,
}

/// Shared state of one submission run.
struct Run {
    options: SubmitOptions,
    /// Set after a failure that every later request would repeat (credentials refused, the
    /// organization unknown): later requests are not sent.
    halted: Mutex<Option<String>>,
    any_halt: AtomicBool,
}

impl Client {
    /// Submits any number of payments: rejects repeated `uniqueSourcePaymentId`s (nothing is
    /// sent then), splits the rest into requests of at most
    /// [`max_payments_per_request`](Client::max_payments_per_request), gives each request an
    /// idempotency key before its first attempt, and sends them with bounded concurrency,
    /// each as reliably as [`create_with_key`](Client::create_with_key).
    ///
    /// Returns `Err` only for problems of the whole submission; how each request ended is in
    /// the report, one [`PaymentOutcome`] per payment in input order. After a failure that
    /// every request would repeat (credentials refused, `403`, `404`), the requests not yet
    /// started are not sent (`NotSent`).
    pub async fn submit(
        &self,
        payments: Vec<Payment>,
        options: SubmitOptions,
    ) -> Result<SubmitReport, Error> {
        let duplicates = find_duplicates(payments.iter().map(Payment::unique_source_payment_id));
        if !duplicates.is_empty() {
            return Err(Error::DuplicateSourceId { duplicates });
        }
        let max = self.shared.max_payments_per_request;
        let mut planned = Vec::with_capacity(payments.len().div_ceil(max));
        let mut payments = payments.into_iter().enumerate().peekable();
        while payments.peek().is_some() {
            let (indexes, chunk): (Vec<usize>, Vec<Payment>) = payments.by_ref().take(max).unzip();
            planned.push(Planned {
                key: IdempotencyKey::random(),
                indexes,
                payments: chunk,
            });
        }
        let total = planned.iter().map(|p| p.payments.len()).sum();
        self.run_submission(stream::iter(planned), total, options)
            .await
    }

    /// Submits the payments of a stream and returns the whole report: the payments of at
    /// most `concurrency` requests are in memory at once, but the report (one outcome per
    /// payment) and the set of ids seen grow with the stream. For a stream too large for
    /// that, use [`submit_stream_each`](Self::submit_stream_each).
    ///
    /// Repeated ids cannot be rejected up front here: a payment whose
    /// `uniqueSourcePaymentId` appeared earlier in the stream is not sent and reported
    /// `NotSent`.
    pub async fn submit_stream<S>(
        &self,
        payments: S,
        options: SubmitOptions,
    ) -> Result<SubmitReport, Error>
    where
        S: Stream<Item = Payment>,
    {
        Ok(SubmitReport::collect(self.submit_stream_each(payments, options), 0).await)
    }

    /// Submits the payments of a stream like [`submit_stream`](Self::submit_stream), but
    /// yields each request's [`ChunkReport`] as soon as it is known (in completion order)
    /// instead of collecting them: nothing but the ids seen (to skip repeats) grows with the
    /// stream. A payment whose id appeared earlier in the stream is reported `NotSent` in a
    /// report of its own with no idempotency key.
    ///
    /// ```no_run
    /// # async fn demo(client: amili_payments::Client, payments: Vec<amili_payments::Payment>) {
    /// use futures::StreamExt;
    /// use amili_payments::SubmitOptions;
    ///
    /// let mut reports = std::pin::pin!(
    ///     client.submit_stream_each(futures::stream::iter(payments), SubmitOptions::default())
    /// );
    /// while let Some(chunk) = reports.next().await {
    ///     for outcome in &chunk.outcomes {
    ///         println!("{} {:?}", outcome.unique_source_payment_id, outcome.state);
    ///     }
    /// }
    /// # }
    /// ```
    pub fn submit_stream_each<'a, S>(
        &'a self,
        payments: S,
        options: SubmitOptions,
    ) -> impl Stream<Item = ChunkReport> + 'a
    where
        S: Stream<Item = Payment> + 'a,
    {
        let max = self.shared.max_payments_per_request;
        let mut seen: HashSet<String> = HashSet::new();
        // Repeats found while chunks are being cut; handed out after the next report.
        let skipped: Arc<Mutex<Vec<PaymentOutcome>>> = Arc::default();
        let found = Arc::clone(&skipped);
        let planned = payments
            .enumerate()
            .filter_map(move |(index, payment)| {
                let fresh = seen.insert(payment.unique_source_payment_id().to_owned());
                if !fresh {
                    lock(&found).push(PaymentOutcome {
                        index,
                        unique_source_payment_id: payment.unique_source_payment_id().to_owned(),
                        invoice_id: payment.invoice_id(),
                        batch_id: None,
                        idempotency_key: None,
                        state: OutcomeState::NotSent {
                            reason: REPEATED_IN_STREAM.to_owned(),
                        },
                    });
                }
                futures::future::ready(fresh.then_some((index, payment)))
            })
            .chunks(max)
            .map(|chunk| {
                let (indexes, payments) = chunk.into_iter().unzip();
                Planned {
                    key: IdempotencyKey::random(),
                    indexes,
                    payments,
                }
            });
        let take_skipped = move || {
            let outcomes = std::mem::take(&mut *lock(&skipped));
            (!outcomes.is_empty()).then(|| ChunkReport {
                idempotency_key: None,
                result: ChunkResult::NotSent {
                    reason: REPEATED_IN_STREAM.to_owned(),
                },
                outcomes,
            })
        };
        self.run_each(planned, options)
            .map(Some)
            // A last round after the stream ends picks up repeats found after the last request.
            .chain(stream::once(futures::future::ready(None)))
            .flat_map(move |report| stream::iter(report.into_iter().chain(take_skipped())))
    }

    /// Submits requests whose keys were chosen before (resuming from a journal): each chunk
    /// is sent as one request under its own key. Chunks must not be empty or larger than the
    /// maximum per request, and no id may repeat across them.
    pub async fn submit_chunks(
        &self,
        chunks: Vec<PlannedChunk>,
        options: SubmitOptions,
    ) -> Result<SubmitReport, Error> {
        let max = self.shared.max_payments_per_request;
        if let Some((i, chunk)) = chunks
            .iter()
            .enumerate()
            .find(|(_, c)| c.payments.is_empty() || c.payments.len() > max)
        {
            return Err(Error::Usage(format!(
                "submit_chunks: chunk #{i} (key {}) has {} payments; each must have 1 to {max}",
                chunk.idempotency_key,
                chunk.payments.len()
            )));
        }
        let keys = find_duplicates(chunks.iter().map(|c| c.idempotency_key.as_str()));
        if let Some(d) = keys.first() {
            return Err(Error::Usage(format!(
                "submit_chunks: the idempotency key {} is used by {} chunks",
                d.source_id,
                d.indexes.len()
            )));
        }
        let duplicates = find_duplicates(
            chunks
                .iter()
                .flat_map(|c| c.payments.iter().map(Payment::unique_source_payment_id)),
        );
        if !duplicates.is_empty() {
            return Err(Error::DuplicateSourceId { duplicates });
        }
        let mut next = 0;
        let planned: Vec<Planned> = chunks
            .into_iter()
            .map(|chunk| {
                let indexes = (next..next + chunk.payments.len()).collect();
                next += chunk.payments.len();
                Planned {
                    key: chunk.idempotency_key,
                    indexes,
                    payments: chunk.payments,
                }
            })
            .collect();
        self.run_submission(stream::iter(planned), next, options)
            .await
    }

    async fn run_submission<S>(
        &self,
        planned: S,
        expected: usize,
        options: SubmitOptions,
    ) -> Result<SubmitReport, Error>
    where
        S: Stream<Item = Planned>,
    {
        let report = SubmitReport::collect(self.run_each(planned, options), expected).await;
        tracing::info!(counts = ?report.counts(), "submission finished");
        Ok(report)
    }

    /// Sends the planned requests with bounded concurrency, yielding each one's report as it
    /// ends. Only the requests in flight hold their payments.
    fn run_each<'a, S>(
        &'a self,
        planned: S,
        options: SubmitOptions,
    ) -> impl Stream<Item = ChunkReport> + 'a
    where
        S: Stream<Item = Planned> + 'a,
    {
        let concurrency = options
            .concurrency
            .unwrap_or(self.shared.concurrency)
            .max(1);
        let run = Arc::new(Run {
            options,
            halted: Mutex::new(None),
            any_halt: AtomicBool::new(false),
        });
        let span = tracing::info_span!("amili.submit", operation = "submit", concurrency);
        planned
            .map(move |chunk| {
                let run = Arc::clone(&run);
                async move { self.run_chunk(chunk, &run).await }.instrument(span.clone())
            })
            .buffer_unordered(concurrency)
            .map(|(chunk, result)| chunk_report(chunk, result))
    }

    async fn run_chunk(&self, chunk: Planned, run: &Run) -> (Planned, ChunkResult) {
        let source_ids: Vec<String> = chunk
            .payments
            .iter()
            .map(|p| p.unique_source_payment_id().to_owned())
            .collect();
        let observer = run.options.observer.as_ref();
        let result = if run.any_halt.load(Ordering::Acquire) {
            let reason = run
                .halted
                .lock()
                .map(|h| h.clone())
                .unwrap_or_else(|p| p.into_inner().clone())
                .unwrap_or_default();
            ChunkResult::NotSent {
                reason: format!(
                    "not sent: an earlier request failed in a way every request would: {reason}"
                ),
            }
        } else if let Some(Err(e)) = observer.map(|o| o.chunk_planned(&chunk.key, &source_ids)) {
            ChunkResult::NotSent {
                reason: format!("not sent: the submission observer refused it: {e}"),
            }
        } else {
            let result = ChunkResult::from_create(
                self.create_with_key(&chunk.payments, chunk.key.clone())
                    .await,
            );
            if let ChunkResult::Rejected(e) = &result
                && (e.is_authentication() || matches!(e.status(), Some(401 | 403 | 404)))
            {
                let mut halted = run.halted.lock().unwrap_or_else(|p| p.into_inner());
                if halted.is_none() {
                    *halted = Some(e.to_string());
                }
                run.any_halt.store(true, Ordering::Release);
            }
            result
        };
        if let Some(observer) = observer {
            observer.chunk_finished(&chunk.key, &result);
        }
        (chunk, result)
    }
}

const REPEATED_IN_STREAM: &str = "its uniqueSourcePaymentId appeared earlier in the submission";

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// One outcome per payment of a finished request; the payments themselves are dropped here.
fn chunk_report(chunk: Planned, result: ChunkResult) -> ChunkReport {
    let state = result.state();
    let batch_id = match &result {
        ChunkResult::Accepted(receipt) => Some(receipt.batch_id),
        _ => None,
    };
    let outcomes = chunk
        .indexes
        .into_iter()
        .zip(chunk.payments)
        .map(|(index, payment)| PaymentOutcome {
            index,
            unique_source_payment_id: payment.unique_source_payment_id().to_owned(),
            invoice_id: payment.invoice_id(),
            batch_id,
            idempotency_key: Some(chunk.key.clone()),
            state: state.clone(),
        })
        .collect();
    ChunkReport {
        idempotency_key: Some(chunk.key),
        result,
        outcomes,
    }
}

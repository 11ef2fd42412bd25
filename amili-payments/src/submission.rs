//! The one submission pipeline: any number of items (payments, corrections: any
//! [`Submittable`]) → requests of at most `chunk_size`, each under its own idempotency key,
//! sent with bounded concurrency through the call loop, remembered in an optional ledger,
//! reported request by request.
//!
//! Here: the [`Submission`] and its options, and the run of its requests (prepare: key, body,
//! claim; send; record). Beside it: `chunks.rs` cuts the items into requests and reports each
//! item; `status.rs` reads the ledger instead of sending ([`Submission::status`]);
//! `ledger/protocol.rs` is the ledger's side of every request.

use std::fmt;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::stream::{self, BoxStream, Stream, StreamExt};
use tracing::Instrument;

use crate::breaker::{Breaker, DEFAULT_CIRCUIT_BREAKER};
use crate::chunks::{Pending, chunks, not_sent, repeated};
use crate::client::Client;
use crate::error::{DuplicateSourceId, Error};
use crate::idempotency::IdempotencyKey;
use crate::ledger::protocol::{Plan, Protocol};
use crate::ledger::{Fingerprint, Ledger};
use crate::payment::Payment;
use crate::repeats::find_duplicates;
use crate::report::{Outcome, Reason, RequestReport, RequestResult, SubmitReport};
use crate::stop::StopHandle;
use crate::submittable::{Submittable, fingerprint_of_json};
use crate::wire::request_body;

/// A submission being configured: made by [`Client::submit`] or [`Client::submit_stream`],
/// finished by [`send`](Self::send) (the whole report) or [`stream`](Self::stream) (a report
/// per request as it ends, with flat memory) — or, sending nothing, by
/// [`status`](Self::status) (what the ledger knows of each item).
///
/// One pipeline for every kind of item: `T` is [`Payment`] (the default) or
/// [`Correction`](crate::Correction); the kind is inferred from what is submitted.
///
/// What every submission does, in order:
///
/// 1. **Duplicates** — an item's [id](Submittable::id) (a payment's
///    `uniqueSourcePaymentId`, a correction's content-derived id) may appear once. For a list, a repeat is an
///    [`Error::DuplicateSourceId`] before anything is sent; in a stream, the repeat is
///    reported [`Outcome::NotSent`] (the first one is sent).
/// 2. **Requests** — consecutive items are cut into requests of at most
///    [`with_chunk_size`](Self::with_chunk_size), each with an idempotency key chosen before
///    its first attempt and kept on every retry.
/// 3. **Ledger** (optional, [`with_ledger`](Self::with_ledger)) — the items are claimed under
///    the key before the request is sent: items the ledger knows as accepted are reported
///    [`Outcome::AlreadyAccepted`] (or [`Outcome::Conflict`] when their content changed) and
///    not sent; items of an earlier request whose result was never recorded are settled by
///    looking that request's batch up by its key. The result is recorded after the request.
/// 4. **Sending** — through the client's call loop (retries, token refresh, look-up by key
///    after an ambiguous failure: never a blind resend), at most
///    [`with_concurrency`](Self::with_concurrency) requests at once, while as many more are
///    prepared (serialized and claimed) to go next. The body is serialized once; retries
///    resend the same bytes.
/// 5. **Stopping** — an answer every later request would get too (credentials refused, `403`,
///    `404` for the organization), a ledger that cannot record,
///    [`with_circuit_breaker`](Self::with_circuit_breaker) requests in a row failing after all
///    retries, or the caller through [`with_stop_handle`](Self::with_stop_handle) stop the
///    submission: requests not yet sent are reported
///    [`Outcome::NotSent`] with the cause (a request claimed ahead and not sent gives its
///    items back to the ledger).
///
/// ```no_run
/// # async fn demo(client: amili_payments::Client, payments: Vec<amili_payments::Payment>)
/// # -> Result<(), amili_payments::Error> {
/// let report = client
///     .submit(payments)
///     .with_chunk_size(200)
///     .with_concurrency(2)
///     .send()
///     .await?;
/// report.ensure_accepted()?;
/// # Ok(()) }
/// ```
#[must_use = "a submission does nothing until `send` or `stream` is called"]
pub struct Submission<'c, T: Submittable = Payment> {
    pub(crate) client: &'c Client,
    pub(crate) items: BoxStream<'c, T>,
    /// A problem of the whole submission found before anything was sent.
    pub(crate) refused: Option<Error>,
    /// Whether repeats are filtered while streaming (a list is checked up front instead).
    pub(crate) filter_repeats: bool,
    /// The caller checked every id unique ([`Submission::with_ids_known_unique`]).
    ids_known_unique: bool,
    pub(crate) chunk_size: usize,
    concurrency: usize,
    key: Option<IdempotencyKey>,
    pub(crate) ledger: Option<Arc<dyn Ledger>>,
    circuit_breaker: u32,
    stop: StopHandle,
}

impl<T: Submittable> fmt::Debug for Submission<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Submission")
            .field("chunk_size", &self.chunk_size)
            .field("concurrency", &self.concurrency)
            .field("idempotency_key", &self.key)
            .field("ledger", &self.ledger)
            .field("circuit_breaker", &self.circuit_breaker)
            .field("ids_known_unique", &self.ids_known_unique)
            .field("stop", &self.stop)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts a submission of a list of payments or of corrections (checked for repeated ids
    /// before anything is sent). See [`Submission`] for what it does and its options.
    pub fn submit<I, T>(&self, items: I) -> Submission<'_, T>
    where
        I: IntoIterator<Item = T>,
        T: Submittable,
    {
        let items: Vec<T> = items.into_iter().collect();
        let duplicates: Vec<DuplicateSourceId> = find_duplicates(items.iter().map(Submittable::id))
            .into_iter()
            .map(|(id, indexes)| DuplicateSourceId {
                source_id: id.to_owned(),
                indexes,
            })
            .collect();
        let mut submission = self.submission(stream::iter(items).boxed(), false);
        if !duplicates.is_empty() {
            submission.refused = Some(Error::DuplicateSourceId {
                id_name: T::ID_NAME,
                duplicates,
            });
        }
        submission
    }

    /// Starts a submission of a stream of payments or corrections, read as requests are sent:
    /// only the requests in flight, and as many prepared to go next, hold their items. A
    /// repeated id is reported `Invalid`, never sent (checked with a 64-bit hash of each id seen, so
    /// memory grows by about 8 bytes per item).
    pub fn submit_stream<S, T>(&self, items: S) -> Submission<'_, T>
    where
        S: Stream<Item = T> + Send + 'static,
        T: Submittable,
    {
        self.submission(items.boxed(), true)
    }

    fn submission<'c, T: Submittable>(
        &'c self,
        items: BoxStream<'c, T>,
        filter: bool,
    ) -> Submission<'c, T> {
        Submission {
            client: self,
            items,
            refused: None,
            filter_repeats: filter,
            ids_known_unique: false,
            chunk_size: self.shared.max_payments_per_request,
            concurrency: self.shared.concurrency,
            key: None,
            ledger: None,
            circuit_breaker: DEFAULT_CIRCUIT_BREAKER,
            stop: StopHandle::new(),
        }
    }
}

impl<'c, T: Submittable> Submission<'c, T> {
    /// The most items per request (at least 1; default: the client's
    /// [`max_payments_per_request`](crate::ClientBuilder::max_payments_per_request)).
    pub fn with_chunk_size(mut self, chunk_size: usize) -> Self {
        self.chunk_size = chunk_size.max(1);
        self
    }

    /// How many requests run at once (at least 1; default: the client's
    /// [`concurrency`](crate::ClientBuilder::concurrency)).
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// The idempotency key of the submission's one request, chosen by the caller (for
    /// example stored before a crash). The submission must fit in one request: items past
    /// the first request are reported `NotSent`.
    pub fn with_idempotency_key(mut self, key: IdempotencyKey) -> Self {
        self.key = Some(key);
        self
    }

    /// Remembers what is sent in `ledger`, and sends nothing it knows as accepted.
    pub fn with_ledger(mut self, ledger: Arc<dyn Ledger>) -> Self {
        self.ledger = Some(ledger);
        self
    }

    /// Stops the submission after `requests` requests in a row failed after all their retries
    /// (default 5; 0 never stops).
    pub fn with_circuit_breaker(mut self, requests: u32) -> Self {
        self.circuit_breaker = requests;
        self
    }

    /// Stops the submission when `stop` is stopped (see [`StopHandle`]); the submission stops
    /// itself through it too, so it tells why it stopped.
    pub fn with_stop_handle(mut self, stop: StopHandle) -> Self {
        self.stop = stop;
        self
    }

    /// Tells a [`submit_stream`](Client::submit_stream) that no id repeats in it (the caller
    /// checked every item's id before, as the `amili` CLI checks a whole file with
    /// [`IdHashes`](crate::validation::IdHashes)), so it need not remember each id to find
    /// repeats as they come (8 bytes and about 0.3 µs an item).
    ///
    /// It takes effect only with a [ledger](Self::with_ledger), which never lets an id be
    /// sent twice: a repeat that comes anyway is then reported as the ledger has it (not sent
    /// while the first is in flight; already accepted after, or a conflict if its content
    /// differs), not as invalid. Without a ledger the stream still finds repeats itself.
    pub fn with_ids_known_unique(mut self) -> Self {
        self.ids_known_unique = true;
        self
    }

    /// Whether the stream must find repeated ids itself.
    pub(crate) fn filters_repeats(&self) -> bool {
        self.filter_repeats && !(self.ids_known_unique && self.ledger.is_some())
    }

    /// Sends everything and returns the whole report, requests in submission order.
    ///
    /// The report keeps every item until it is returned: 120 bytes an item, besides its id. For
    /// hundreds of thousands of items, [`stream`](Self::stream) hands each request's report over
    /// as it ends instead (1,000,000 payments: about 115 MiB less at the peak, and faster;
    /// `BENCHMARKS.md`).
    ///
    /// # Errors
    ///
    /// Problems of the whole submission found before anything was sent
    /// ([`Error::DuplicateSourceId`]), and [`Error::Refused`] when an answer every request
    /// would get stopped it (credentials refused, `403`, `404` for the organization) — the
    /// report is [`Error::report`]. How each request and item ended otherwise is in the
    /// report.
    pub async fn send(self) -> Result<SubmitReport, Error> {
        let mut requests = std::pin::pin!(self.stream()?);
        let mut report = SubmitReport::default();
        let mut refusal = None;
        while let Some(request) = requests.next().await {
            match request {
                Ok(request) => report.push(request),
                Err(cause) => refusal = Some(cause),
            }
        }
        report.sort();
        tracing::info!(counts = ?report.counts(), "submission finished");
        match refusal {
            Some(cause) => Err(Error::refused(cause, report)),
            None => Ok(report),
        }
    }

    /// Sends everything, yielding each request's report as soon as it ends (in completion
    /// order), then, when an answer every request would get stopped the submission
    /// (credentials refused, `403`, `404` for the organization), that answer as the last
    /// item. Memory holds the requests in flight, not the submission.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send), before the stream starts.
    pub fn stream(
        self,
    ) -> Result<impl Stream<Item = Result<RequestReport, Error>> + Send + 'c, Error> {
        if let Some(error) = self.refused {
            return Err(error);
        }
        let filter_repeats = self.filters_repeats();
        let run = Arc::new(Run {
            client: self.client.clone(),
            ledger: self
                .ledger
                .map(|ledger| Protocol::new(ledger, self.client.clone())),
            fixed_key: Mutex::new(self.key.clone()),
            refusal: Mutex::new(None),
            single_request: self.key.is_some(),
            stop: self.stop,
            breaker: Breaker::new(self.circuit_breaker),
        });
        let sending = Arc::new(tokio::sync::Semaphore::new(self.concurrency));
        let span = tracing::info_span!(
            "amili.submit",
            operation = "submit",
            chunk_size = self.chunk_size,
            concurrency = self.concurrency
        );
        let last = Arc::clone(&run);
        let requests = chunks(self.items, filter_repeats, self.chunk_size)
            .enumerate()
            .map(move |(n, chunk)| {
                let (run, sending) = (Arc::clone(&run), Arc::clone(&sending));
                async move {
                    let ready = match run.prepare(n, chunk).await {
                        Ok(ready) => ready,
                        Err(report) => return report,
                    };
                    // Never closed: `acquire` cannot fail, and the permit is held while the
                    // request is sent.
                    let _sending = sending.acquire().await;
                    run.finish(ready).await
                }
                .instrument(span.clone())
            })
            // `concurrency` requests are sent at once while as many more are prepared
            // (serialized, claimed): a durable ledger's claims overlap the sending, and claims
            // that queue share one commit.
            .buffer_unordered(2 * self.concurrency)
            .map(Ok)
            .chain(
                stream::once(async move { lock(&last.refusal).take() })
                    .filter_map(|refusal| async move { refusal.map(Err) }),
            );
        Ok(requests)
    }
}

/// A request prepared ahead of its turn to be sent.
struct Ready<T> {
    chunk: Vec<Pending<T>>,
    plans: Vec<Plan>,
    key: IdempotencyKey,
    /// Whether this submission chose the key (rather than the caller).
    fresh_key: bool,
    /// The body carrying the whole chunk, in id order.
    whole_chunk: Bytes,
    /// Each item's span of it.
    spans: Vec<Range<usize>>,
}

/// Shared state of one submission.
struct Run {
    client: Client,
    /// The ledger, when the submission has one.
    ledger: Option<Protocol>,
    /// The caller's key, taken by the first request.
    fixed_key: Mutex<Option<IdempotencyKey>>,
    single_request: bool,
    /// The answer every request would get, when one stopped the submission.
    refusal: Mutex<Option<Error>>,
    /// Stopped when the submission stops: why later requests are not sent.
    stop: StopHandle,
    /// Requests failing in a row after all retries.
    breaker: Breaker,
}

impl Run {
    fn stopped(&self) -> Option<Reason> {
        self.stop.reason()
    }

    /// The submission stops itself (a caller's own stop is the caller's to report).
    fn halt(&self, reason: String) {
        let reason = Reason::from(reason);
        if self.stop.stop_first(reason.clone()) {
            tracing::warn!(%reason, "stopping the submission");
        }
    }

    /// Prepares request `n` of the submission: its key, its body serialized once and, with a
    /// ledger, its items claimed (and the interrupted earlier requests it holds adopted). A
    /// request that will not be sent is its report already.
    async fn prepare<T: Submittable>(
        &self,
        n: usize,
        chunk: Vec<Pending<T>>,
    ) -> Result<Ready<T>, RequestReport> {
        let mut plans: Vec<Plan> = chunk
            .iter()
            .map(|p| {
                if p.repeated {
                    Plan::Done(repeated::<T>(), None)
                } else {
                    Plan::Send
                }
            })
            .collect();
        if n > 0 && self.single_request {
            let reason = Reason::from(
                "not sent: a caller-chosen idempotency key covers one request, and the \
                 submission needed more",
            );
            return Err(not_sent(chunk, reason));
        }
        if let Some(reason) = self.stopped() {
            return Err(not_sent(chunk, reason));
        }
        let callers_key = lock(&self.fixed_key).take();
        let fresh_key = callers_key.is_none();
        let key = callers_key.unwrap_or_else(IdempotencyKey::random);

        // Serialize once, in id order (a request resumed later, from any file order, has the
        // same bytes): the body of a request carrying the whole chunk, each item a span of it
        // (for the ledger's fingerprints, and the bodies of other requests).
        let mut order: Vec<usize> = (0..chunk.len()).collect();
        order.sort_by(|&a, &b| chunk[a].item.id().cmp(chunk[b].item.id()));
        let mut json = Vec::with_capacity(chunk.len() * 256 + 16);
        json.extend_from_slice(b"{\"");
        json.extend_from_slice(T::BODY_FIELD.as_bytes());
        json.extend_from_slice(b"\":[");
        let mut spans = vec![0..0; chunk.len()];
        for (n, &i) in order.iter().enumerate() {
            if n > 0 {
                json.push(b',');
            }
            let start = json.len();
            chunk[i].item.write_json(&mut json);
            spans[i] = start..json.len();
        }
        json.extend_from_slice(b"]}");
        let whole_chunk = Bytes::from(json);
        if let Some(ledger) = &self.ledger
            && let Err(reason) = {
                let ids: Vec<&str> = chunk.iter().map(|p| p.item.id()).collect();
                let fingerprints: Vec<Fingerprint> = spans
                    .iter()
                    .map(|span| fingerprint_of_json(&whole_chunk[span.clone()]))
                    .collect();
                ledger.claim(&key, &ids, &fingerprints, &mut plans).await
            }
        {
            self.halt(reason.to_string());
            return Err(not_sent(chunk, reason));
        }
        Ok(Ready {
            chunk,
            plans,
            key,
            fresh_key,
            whole_chunk,
            spans,
        })
    }

    /// Sends a prepared request (the requests it makes: its own key for new items, an
    /// earlier key for each interrupted request resumed whole) and records each result.
    async fn finish<T: Submittable>(&self, ready: Ready<T>) -> RequestReport {
        let Ready {
            chunk,
            mut plans,
            key,
            fresh_key,
            whole_chunk,
            spans,
        } = ready;
        if let Some(reason) = self.stopped() {
            if let Some(ledger) = &self.ledger {
                ledger.release(&key, fresh_key, &plans).await;
            }
            // What the ledger decided stands (already accepted, conflict, …); the rest was
            // not sent.
            let items = chunk
                .into_iter()
                .zip(plans)
                .map(|(pending, plan)| match plan {
                    Plan::Done(outcome, batch_id) => pending.into_item(outcome, batch_id, None),
                    _ => pending.into_item(Outcome::NotSent(reason.clone()), None, None),
                });
            return RequestReport::new(None, RequestResult::NotSent, items);
        }
        let mut groups: Vec<(IdempotencyKey, Vec<usize>)> = Vec::new();
        for (i, plan) in plans.iter().enumerate() {
            let group_key = match plan {
                Plan::Send => &key,
                Plan::Resume(earlier) => earlier,
                Plan::Done(..) | Plan::Sent(..) => continue,
            };
            match groups.iter_mut().find(|(k, _)| k == group_key) {
                Some((_, members)) => members.push(i),
                None => groups.push((group_key.clone(), vec![i])),
            }
        }
        let mut results: Vec<(IdempotencyKey, RequestResult)> = Vec::with_capacity(groups.len());
        for (group_key, members) in &mut groups {
            let body = if members.len() == chunk.len() {
                whole_chunk.clone()
            } else {
                // In id order, as the whole chunk was written.
                members.sort_by(|&a, &b| chunk[a].item.id().cmp(chunk[b].item.id()));
                request_body(
                    T::BODY_FIELD,
                    members.iter().map(|&i| &whole_chunk[spans[i].clone()]),
                )
            };
            let result = self.send::<T>(group_key, body, members.len()).await;
            if let Some(ledger) = &self.ledger
                && let Err(reason) = ledger.record(group_key, &result).await
            {
                self.halt(reason.to_string());
            }
            let outcome = result.outcome();
            let batch_id = result.batch_id();
            for &i in members.iter() {
                plans[i] = Plan::Sent(outcome.clone(), batch_id, group_key.clone());
            }
            results.push((group_key.clone(), result));
        }
        let (idempotency_key, result) = match results.iter().position(|(k, _)| *k == key) {
            Some(at) => {
                let (k, r) = results.swap_remove(at);
                (Some(k), r)
            }
            None => match results.pop() {
                Some((k, r)) => (Some(k), r),
                None => (None, RequestResult::NotSent),
            },
        };
        let items = chunk
            .into_iter()
            .zip(plans)
            .map(|(pending, plan)| match plan {
                Plan::Sent(outcome, batch, key) => pending.into_item(outcome, batch, Some(key)),
                Plan::Done(outcome, batch) => pending.into_item(outcome, batch, None),
                // Every item to send was sent above.
                Plan::Send | Plan::Resume(_) => pending.into_item(repeated::<T>(), None, None),
            });
        RequestReport::new(idempotency_key, result, items)
    }

    /// Sends one request and classifies how it ended; stops the submission when every later
    /// request would end the same way.
    async fn send<T: Submittable>(
        &self,
        key: &IdempotencyKey,
        body: Bytes,
        items: usize,
    ) -> RequestResult {
        let span = tracing::info_span!(
            "amili.create",
            operation = T::OPERATION,
            idempotency_key = %key,
            items,
        );
        let answer = T::create(&self.client, key, &body).instrument(span).await;
        let result = match answer {
            Ok((batch_id, recovered)) => RequestResult::Accepted {
                batch_id,
                recovered,
            },
            Err(e) if e.is_outcome_unknown() => RequestResult::Unknown(e),
            Err(e) => RequestResult::Rejected(e),
        };
        match &result {
            RequestResult::Accepted { batch_id, .. } => {
                tracing::info!(%batch_id, "{}s accepted", T::NOUN);
                self.breaker.success();
            }
            RequestResult::Rejected(e) if stops_every_request(e) => {
                lock(&self.refusal).get_or_insert_with(|| e.clone());
                self.halt(format!(
                    "not sent: an earlier request got an answer every request would get: {e}"
                ));
            }
            RequestResult::Rejected(e) | RequestResult::Unknown(e)
                if e.is_retryable() || e.is_outcome_unknown() =>
            {
                if let Some(in_row) = self.breaker.failure() {
                    self.halt(format!(
                        "not sent: {in_row} requests in a row failed after all retries (the \
                         last: {e}); try again later"
                    ));
                }
            }
            _ => {}
        }
        result
    }
}

/// Answers that every request of the submission would get: the credentials refused, not
/// allowed for the organization, the organization unknown.
fn stops_every_request(e: &Error) -> bool {
    e.is_authentication() || matches!(e.status(), Some(401 | 403 | 404))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

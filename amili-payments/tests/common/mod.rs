//! Shared helpers of the integration tests: a sandbox-backed client, payments, a recording
//! proxy (that can also play a misbehaving gateway or token endpoint) and tiny mock servers
//! for what the sandbox cannot do, and a tracing capture.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amili_payments::ledger::{Claim, Fingerprint, Ledger, LedgerItem, MemoryLedger, Settled};
use amili_payments::report::{ItemOutcome, Outcome, RequestReport, SubmitReport};
use amili_payments::{
    Backoff, Client, ClientBuilder, Correction, Decimal, Environment, IdempotencyKey, Payment,
    Poller, RetryPolicy, Submission, Submittable, Utc,
};
use amili_sandbox::{DEMO_INVOICES, Fault, Route, Sandbox, Stats};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

pub type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Fast, deterministic retries for tests: 5 attempts.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(5)
        .with_backoff(ms(1), ms(10))
        .without_jitter()
        .with_max_retry_after(ms(50))
        .with_deadline(Some(Duration::from_secs(20)))
}

/// A sandbox whose batches finish quickly.
pub async fn sandbox() -> Sandbox {
    match Sandbox::builder().batch_delay(ms(10)).start().await {
        Ok(sandbox) => sandbox,
        Err(e) => panic!("the sandbox did not start: {e}"),
    }
}

/// A client builder pointed at `sandbox` with its credentials and fast retries.
pub fn builder_for(sandbox: &Sandbox) -> ClientBuilder {
    Client::builder()
        .environment(Environment::custom(sandbox.api_url(), sandbox.token_url()))
        .organization_id(sandbox.organization_id())
        .client_credentials(sandbox.client_id(), sandbox.client_secret())
        .retry_policy(fast_retries())
        .timeout(Duration::from_secs(10))
}

pub fn client_for(sandbox: &Sandbox) -> Client {
    match builder_for(sandbox).build() {
        Ok(client) => client,
        Err(e) => panic!("the client did not build: {e}"),
    }
}

/// A client on `sandbox` whose requests can no longer arrive a moment after they were
/// claimed (one second's timeout, no retries), and how long a settling run waits for that:
/// twice the retry budget (the deadline and two timeouts).
pub fn short_budget_client(sandbox: &Sandbox) -> (Client, Duration) {
    let timeout = Duration::from_secs(1);
    let built = builder_for(sandbox)
        .retry_policy(fast_retries().with_deadline(Some(Duration::ZERO)))
        .timeout(timeout)
        .build();
    match built {
        Ok(client) => (client, timeout * 4),
        Err(e) => panic!("the client did not build: {e}"),
    }
}

/// A poller that polls often and gives up after 20 s.
pub fn quick_poller(client: &Client) -> Poller<'_> {
    client
        .poller()
        .with_backoff(Backoff::new(ms(5), ms(50)).without_jitter())
        .with_timeout(Duration::from_secs(20))
}

/// The sandbox's API and token endpoints as a client sees them through `proxy`.
pub fn through(proxy: &TestServer) -> Environment {
    Environment::custom(
        format!("{}/collection/v1", proxy.origin),
        format!("{}/token", proxy.origin),
    )
}

/// The sandbox's origin (`http://127.0.0.1:PORT`).
pub fn origin_of(sandbox: &Sandbox) -> String {
    sandbox.token_url().trim_end_matches("/token").to_owned()
}

/// A client talking to `sandbox` through a recording proxy.
pub async fn proxied(sandbox: &Sandbox) -> (Client, TestServer) {
    let (listener, _) = bind().await;
    let proxy = recording_proxy(listener, origin_of(sandbox));
    let client = builder_for(sandbox)
        .environment(through(&proxy))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    (client, proxy)
}

/// A valid payment for one of the sandbox's demo invoices.
pub fn payment(n: usize) -> Payment {
    payment_with_id(n, &format!("P-{n:06}"))
}

pub fn payment_with_id(n: usize, id: &str) -> Payment {
    let built = Payment::builder()
        .invoice_id(DEMO_INVOICES[n % DEMO_INVOICES.len()])
        .amount(Decimal::new(10_000 + n as i64, 2))
        .currency("NOK")
        .date(Utc::now() - chrono::Duration::hours(1))
        .description(format!("payment {n}"))
        .unique_source_payment_id(id)
        .build();
    match built {
        Ok(p) => p,
        Err(e) => panic!("test payment invalid: {e}"),
    }
}

pub fn payments(range: std::ops::Range<usize>) -> Vec<Payment> {
    range.map(payment).collect()
}

/// A valid correction for one of the sandbox's demo invoices; its description is its label
/// (`K-000001`), and its content (and so its id) is the same on every call.
pub fn correction(n: usize) -> Correction {
    let date = chrono::DateTime::parse_from_rfc3339("2025-06-01T12:00:00Z")
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(|e| panic!("{e}"));
    Correction::builder()
        .invoice_id(DEMO_INVOICES[n % DEMO_INVOICES.len()])
        .amount(-Decimal::new(10_000 + n as i64, 2))
        .currency("NOK")
        .date(date)
        .description(format!("K-{n:06}"))
        .build()
        .unwrap_or_else(|e| panic!("test correction invalid: {e}"))
}

/// What a test needs to know of a kind of item the pipeline sends, so that the same fault
/// tests run for payments and corrections.
pub trait Kind: Submittable + Clone {
    /// The sandbox's fault route of its write.
    const ROUTE: Route;
    /// The end of its write's path.
    const PATH: &'static str;
    /// The body's array field.
    const FIELD: &'static str;
    /// The operation name in errors.
    const OPERATION_NAME: &'static str;
    /// Item `n`.
    fn item(n: usize) -> Self;
    /// Items `range`.
    fn items(range: std::ops::Range<usize>) -> Vec<Self> {
        range.map(Self::item).collect()
    }
    /// How item `n` is told apart in the sandbox's ledger.
    fn label(n: usize) -> String;
    /// Item `n`'s amount as written in the body.
    fn amount_text(n: usize) -> String;
    /// Every booking in the sandbox: (label, idempotency key).
    fn booked(sandbox: &Sandbox) -> Vec<(String, Option<String>)>;
    /// How many write requests the sandbox saw.
    fn requests(stats: &Stats) -> u64;
}

impl Kind for Payment {
    const ROUTE: Route = Route::CreatePayments;
    const PATH: &'static str = "/payments";
    const FIELD: &'static str = "payments";
    const OPERATION_NAME: &'static str = "create_payments";
    fn item(n: usize) -> Self {
        payment(n)
    }
    fn label(n: usize) -> String {
        format!("P-{n:06}")
    }
    fn amount_text(n: usize) -> String {
        Decimal::new(10_000 + n as i64, 2).to_string()
    }
    fn booked(sandbox: &Sandbox) -> Vec<(String, Option<String>)> {
        sandbox
            .ledger()
            .into_iter()
            .map(|b| (b.unique_source_payment_id, b.idempotency_key))
            .collect()
    }
    fn requests(stats: &Stats) -> u64 {
        stats.payment_requests
    }
}

impl Kind for Correction {
    const ROUTE: Route = Route::CreateCorrections;
    const PATH: &'static str = "/corrections";
    const FIELD: &'static str = "corrections";
    const OPERATION_NAME: &'static str = "create_corrections";
    fn item(n: usize) -> Self {
        correction(n)
    }
    fn label(n: usize) -> String {
        format!("K-{n:06}")
    }
    fn amount_text(n: usize) -> String {
        (-Decimal::new(10_000 + n as i64, 2)).to_string()
    }
    fn booked(sandbox: &Sandbox) -> Vec<(String, Option<String>)> {
        sandbox
            .corrections()
            .into_iter()
            .map(|b| (b.description, b.idempotency_key))
            .collect()
    }
    fn requests(stats: &Stats) -> u64 {
        stats.correction_requests
    }
}

/// A fault: the answer `status`, without `Retry-After`.
pub fn status(status: u16) -> Fault {
    Fault::Status {
        status,
        retry_after: None,
    }
}

/// A submission of `payments` one per request, one request at a time.
pub fn one_at_a_time(client: &Client, payments: Vec<Payment>) -> Submission<'_, Payment> {
    client
        .submit(payments)
        .with_chunk_size(1)
        .with_concurrency(1)
}

/// A sandbox whose every CreatePayments request is answered `code`.
pub async fn answering(code: u16) -> Sandbox {
    let sandbox = sandbox().await;
    sandbox
        .faults()
        .random(Route::CreatePayments, status(code), 1.0);
    sandbox
}

/// Payments `range` sent [`one_at_a_time`] to a sandbox [`answering`] every CreatePayments
/// request with `code`, the circuit breaker at `breaker` requests (its default when `None`):
/// the sandbox and the report.
pub async fn storm(
    code: u16,
    range: std::ops::Range<usize>,
    breaker: Option<u32>,
) -> Result<(Sandbox, SubmitReport), amili_payments::Error> {
    let sandbox = answering(code).await;
    let client = client_for(&sandbox);
    let mut submission = one_at_a_time(&client, payments(range));
    if let Some(requests) = breaker {
        submission = submission.with_circuit_breaker(requests);
    }
    let report = submission.send().await?;
    Ok((sandbox, report))
}

/// The fingerprint of what an earlier run claimed in [`left_unknown`]: no payment's here.
pub const STALE_FINGERPRINT: Fingerprint = [7; 32];

/// A ledger in memory in which an earlier run claimed `ids` (with [`STALE_FINGERPRINT`])
/// under a key and ended without knowing whether its request arrived: the ledger and the key.
pub async fn left_unknown(
    ids: &[&str],
) -> Result<(Arc<MemoryLedger>, IdempotencyKey), Box<dyn std::error::Error + Send + Sync>> {
    let ledger = Arc::new(MemoryLedger::default());
    let stale = IdempotencyKey::random();
    let items: Vec<LedgerItem<'_>> = ids
        .iter()
        .map(|id| LedgerItem {
            id,
            fingerprint: &STALE_FINGERPRINT,
        })
        .collect();
    let claims = ledger.claim(&stale, &items).await?;
    assert!(claims.iter().all(|c| *c == Claim::Claimed), "{claims:?}");
    ledger.record(&stale, &Settled::Unknown).await?;
    Ok((ledger, stale))
}

/// `payments` sent under the caller's idempotency `key`, `chunk` a request (the default when
/// `None`).
pub async fn send_under_key(
    client: &Client,
    payments: Vec<Payment>,
    chunk: Option<usize>,
    key: IdempotencyKey,
) -> Result<SubmitReport, amili_payments::Error> {
    let mut submission = client.submit(payments);
    if let Some(size) = chunk {
        submission = submission.with_chunk_size(size);
    }
    submission.with_idempotency_key(key).send().await
}

/// A sandbox and a client for it: what most tests start with.
pub async fn sandbox_and_client() -> (Sandbox, Client) {
    let sandbox = sandbox().await;
    let client = client_for(&sandbox);
    (sandbox, client)
}

/// A sandbox, a client for it and an empty ledger in memory: what a test of submissions that
/// remember starts with.
pub async fn with_memory_ledger() -> (Sandbox, Client, Arc<MemoryLedger>) {
    let (sandbox, client) = sandbox_and_client().await;
    (sandbox, client, Arc::new(MemoryLedger::default()))
}

/// A client on `sandbox` with the credentials of its other organization (valid, but not
/// for the organization the client acts for).
pub fn client_with_other_credentials(sandbox: &Sandbox) -> Client {
    let other = sandbox.other_organization();
    builder_for(sandbox)
        .client_credentials(other.client_id.clone(), other.client_secret.clone())
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A client on `sandbox` acting for an organization the sandbox does not know.
pub fn client_for_unknown_organization(sandbox: &Sandbox) -> Client {
    builder_for(sandbox)
        .organization_id(amili_payments::Uuid::new_v4())
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A submission of `payments` that remembers them in `ledger`.
pub fn remembered<'c, L: Ledger + 'static>(
    client: &'c Client,
    ledger: &Arc<L>,
    payments: Vec<Payment>,
) -> Submission<'c, Payment> {
    client.submit(payments).with_ledger(ledger.clone())
}

/// Sends `payments` again with `ledger` and checks that each is already accepted (none is
/// sent again); then, the sandbox's batches finished, that payments `booked` were each booked
/// once.
pub async fn assert_sent_once<L: Ledger + 'static>(
    sandbox: &Sandbox,
    client: &Client,
    ledger: &Arc<L>,
    payments: Vec<Payment>,
    booked: std::ops::Range<usize>,
) -> Result<(), amili_payments::Error> {
    let again = remembered(client, ledger, payments).send().await?;
    assert_all(&again, "already_accepted");
    sandbox.finish_batches();
    assert_booked_once(sandbox, booked);
    Ok(())
}

/// Submits `sent` with `ledger` so that the request is processed, its answer lost and the
/// look-up by key fails: the payments are left unknown, pending in the ledger under the
/// returned key.
pub async fn interrupted<L: Ledger + 'static>(
    sandbox: &Sandbox,
    client: &Client,
    ledger: &Arc<L>,
    sent: &[Payment],
) -> Result<IdempotencyKey, Box<dyn std::error::Error + Send + Sync>> {
    sandbox
        .faults()
        .push(Route::CreatePayments, Fault::DropAfterProcessing);
    sandbox.faults().push_n(Route::ListBatches, status(503), 5);
    let first = remembered(client, ledger, sent.to_vec()).send().await?;
    assert_eq!(first.counts().unknown, sent.len(), "{first:?}");
    assert_eq!(sandbox.stats().payment_requests, 1);
    assert_eq!(
        sandbox.ledger().len(),
        sent.len(),
        "booked, unbeknown to the client"
    );
    let key = first.requests[0].idempotency_key.clone().ok_or("no key")?;
    Ok(key)
}

/// What a first run with a ledger leaves: the sandbox, the client, its ledger in memory, the
/// payments sent and `T`, what came of sending them.
pub type FirstRun<T> = (Sandbox, Client, Arc<MemoryLedger>, Vec<Payment>, T);

/// Payments `range` sent with a ledger in memory, `chunk` a request (the default when `None`),
/// and all accepted; what is left and the report.
pub async fn accepted_run(
    range: std::ops::Range<usize>,
    chunk: Option<usize>,
) -> Result<FirstRun<SubmitReport>, Box<dyn std::error::Error + Send + Sync>> {
    let (sandbox, client, ledger) = with_memory_ledger().await;
    let sent = payments(range);
    let mut submission = remembered(&client, &ledger, sent.clone());
    if let Some(size) = chunk {
        submission = submission.with_chunk_size(size);
    }
    let report = submission.send().await?;
    report.ensure_accepted()?;
    Ok((sandbox, client, ledger, sent, report))
}

/// Payments `range` sent with a ledger in memory in a request that was [`interrupted`]; what
/// is left and the request's key.
pub async fn interrupted_run(
    range: std::ops::Range<usize>,
) -> Result<FirstRun<IdempotencyKey>, Box<dyn std::error::Error + Send + Sync>> {
    let (sandbox, client, ledger) = with_memory_ledger().await;
    let sent = payments(range);
    let key = interrupted(&sandbox, &client, &ledger, &sent).await?;
    Ok((sandbox, client, ledger, sent, key))
}

/// The keys of the requests that were sent, in submission order.
pub fn sent_keys(report: &SubmitReport) -> Vec<IdempotencyKey> {
    report
        .requests
        .iter()
        .filter_map(|r| r.idempotency_key.clone())
        .collect()
}

/// Asserts that the sandbox booked each of the payments `ids` (as numbered by [`payment`])
/// exactly once.
#[track_caller]
pub fn assert_booked_once(sandbox: &Sandbox, ids: std::ops::Range<usize>) {
    for n in ids {
        let id = format!("P-{n:06}");
        assert_eq!(sandbox.times_booked(&id), 1, "{id}");
    }
}

/// Asserts that the report has payments and every one ended as `outcome`.
#[track_caller]
pub fn assert_all(report: &SubmitReport, outcome: &str) {
    let all = outcomes(report);
    assert!(
        !all.is_empty() && all.iter().all(|(_, o)| *o == outcome),
        "expected every payment {outcome}: {all:?}"
    );
}

/// Every payment's outcome, in submission order.
pub fn outcomes(report: &SubmitReport) -> Vec<(String, &'static str)> {
    report
        .items()
        .map(|i| (i.id.clone(), i.outcome.name()))
        .collect()
}

/// The report of a submission that must have been stopped by an answer every request would
/// get: `send` returned [`Error::Refused`](amili_payments::Error::Refused), its report
/// reachable from the error.
pub fn refused(result: Result<SubmitReport, amili_payments::Error>) -> SubmitReport {
    match result {
        Err(e @ amili_payments::Error::Refused { .. }) => match e.report() {
            Some(report) => report.clone(),
            None => panic!("a refusal without its report: {e:?}"),
        },
        other => panic!("expected the submission to be refused, got {other:?}"),
    }
}

/// The one request of a report that must have exactly one.
pub fn only_request(report: &SubmitReport) -> &RequestReport {
    match report.requests.as_slice() {
        [one] => one,
        other => panic!("expected one request, got {}: {report:?}", other.len()),
    }
}

/// The reason of an item that must be `NotSent`.
pub fn not_sent_reason(item: &ItemOutcome) -> &str {
    match &item.outcome {
        Outcome::NotSent(reason) => reason.as_str(),
        other => panic!("{}: expected not sent, got {other:?}", item.id),
    }
}

/// The reason of an item reported invalid as a repeat of an earlier id (panics otherwise).
pub fn repeat_reason(item: &ItemOutcome) -> &str {
    match &item.outcome {
        Outcome::Invalid(reason) if reason.as_str().contains("appeared earlier") => reason.as_str(),
        other => panic!("{}: expected invalid as a repeat, got {other:?}", item.id),
    }
}

// ---- tiny HTTP servers for what the sandbox cannot do ----------------------------------------

/// What a test server saw of one request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub idempotency_key: Option<String>,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    /// The request body, byte for byte.
    pub body: Bytes,
}

impl Seen {
    /// Whether it is a `CreatePayments` request.
    pub fn is_create_payments(&self) -> bool {
        self.method == "POST" && self.path.ends_with("/payments")
    }

    /// Whether it is a write (`CreatePayments`, `CreateCorrections`).
    pub fn is_write(&self) -> bool {
        self.method == "POST"
            && (self.path.ends_with("/payments") || self.path.ends_with("/corrections"))
    }

    /// Whether it is a token request.
    pub fn is_token(&self) -> bool {
        self.method == "POST" && self.path == "/token"
    }
}

pub type Handler = Arc<
    dyn Fn(Seen, Bytes) -> Pin<Box<dyn Future<Output = Response<Full<Bytes>>> + Send>>
        + Send
        + Sync,
>;

/// A running test server: its origin and every request it saw.
#[derive(Clone, Debug)]
pub struct TestServer {
    pub origin: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl TestServer {
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Every `CreatePayments` attempt, in order.
    pub fn payment_posts(&self) -> Vec<Seen> {
        self.requests()
            .into_iter()
            .filter(Seen::is_create_payments)
            .collect()
    }

    /// Every `POST` to a path ending in `path` (`/payments`, `/corrections`), in order.
    pub fn posts_to(&self, path: &str) -> Vec<Seen> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path.ends_with(path))
            .collect()
    }

    /// The idempotency key of every `POST` to `path`, in order.
    pub fn keys_to(&self, path: &str) -> Vec<Option<String>> {
        self.posts_to(path)
            .into_iter()
            .map(|r| r.idempotency_key)
            .collect()
    }

    /// The idempotency key of every `CreatePayments` attempt, in order.
    pub fn payment_keys(&self) -> Vec<Option<String>> {
        self.payment_posts()
            .into_iter()
            .map(|r| r.idempotency_key)
            .collect()
    }

    /// How many token requests it saw.
    pub fn token_requests(&self) -> usize {
        self.requests().iter().filter(|r| r.is_token()).count()
    }
}

pub async fn bind() -> (TcpListener, SocketAddr) {
    let listener = match TcpListener::bind("127.0.0.1:0").await {
        Ok(l) => l,
        Err(e) => panic!("cannot bind: {e}"),
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => panic!("no address: {e}"),
    };
    (listener, addr)
}

/// Serves `handler` on `listener` until the test ends.
pub fn serve(listener: TcpListener, handler: Handler) -> TestServer {
    let origin = match listener.local_addr() {
        Ok(addr) => format!("http://{addr}"),
        Err(e) => panic!("no address: {e}"),
    };
    let seen = Arc::new(Mutex::new(Vec::new()));
    let server = TestServer {
        origin,
        seen: seen.clone(),
    };
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let handler = handler.clone();
            let seen = seen.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                    let handler = handler.clone();
                    let seen = seen.clone();
                    async move {
                        let (parts, body) = request.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let header = |name: &str| {
                            parts
                                .headers
                                .get(name)
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned)
                        };
                        let request = Seen {
                            method: parts.method.to_string(),
                            path: parts.uri.path().to_owned(),
                            query: parts.uri.query().map(str::to_owned),
                            idempotency_key: header("idempotencykey"),
                            authorization: header("authorization"),
                            content_type: header("content-type"),
                            body: body.clone(),
                        };
                        if let Ok(mut s) = seen.lock() {
                            s.push(request.clone());
                        }
                        Ok::<_, Infallible>(handler(request, body).await)
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    server
}

pub fn respond(
    status: u16,
    headers: &[(&str, String)],
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            hyper::header::HeaderName::from_bytes(name.as_bytes()),
            hyper::header::HeaderValue::from_str(value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// An upstream answer as the proxy got it.
pub struct Upstream {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

/// Decides what the client gets instead of the upstream's answer (`None`: the answer as is).
/// It runs *after* the request was forwarded, so the upstream has processed it.
pub type Rewrite = Arc<dyn Fn(&Seen, &Upstream) -> Option<Upstream> + Send + Sync>;

/// A proxy in front of the sandbox that records every request (method, path, idempotency key,
/// body) before forwarding it: to check what each *attempt* carried.
pub fn recording_proxy(listener: TcpListener, upstream: String) -> TestServer {
    rewriting_proxy(listener, upstream, Arc::new(|_, _| None))
}

/// A recording proxy that lets `rewrite` replace the upstream's answers.
pub fn rewriting_proxy(listener: TcpListener, upstream: String, rewrite: Rewrite) -> TestServer {
    proxy(
        listener,
        upstream,
        Arc::new(|_| Box::pin(async {})),
        rewrite,
    )
}

/// Decides how long the proxy holds a request (recorded already) before forwarding it: until
/// the future it returns is ready.
pub type Hold = Arc<dyn Fn(&Seen) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// A recording proxy that holds each request until `hold` lets it go, then forwards it.
pub fn holding_proxy(listener: TcpListener, upstream: String, hold: Hold) -> TestServer {
    proxy(listener, upstream, hold, Arc::new(|_, _| None))
}

/// The recording proxy: each request held by `hold`, forwarded, its answer replaced by what
/// `rewrite` says.
fn proxy(listener: TcpListener, upstream: String, hold: Hold, rewrite: Rewrite) -> TestServer {
    let http = amili_api::tls::client_builder()
        .build()
        .expect("an HTTP client");
    let handler: Handler = Arc::new(move |seen: Seen, body: Bytes| {
        let http = http.clone();
        let upstream = upstream.clone();
        let rewrite = rewrite.clone();
        let held = hold(&seen);
        Box::pin(async move {
            held.await;
            let url = match &seen.query {
                Some(q) => format!("{upstream}{}?{q}", seen.path),
                None => format!("{upstream}{}", seen.path),
            };
            let method =
                reqwest::Method::from_bytes(seen.method.as_bytes()).unwrap_or(reqwest::Method::GET);
            let mut request = http.request(method, url).body(body);
            if let Some(auth) = &seen.authorization {
                request = request.header("authorization", auth);
            }
            if let Some(key) = &seen.idempotency_key {
                request = request.header("IdempotencyKey", key);
            }
            if let Some(content_type) = &seen.content_type {
                request = request.header("content-type", content_type);
            }
            let answer = match request.send().await {
                Ok(answer) => answer,
                Err(_) => return respond(599, &[], "proxy: upstream failed"),
            };
            let status = answer.status().as_u16();
            let headers: Vec<(String, String)> = answer
                .headers()
                .iter()
                .filter(|(name, _)| {
                    !matches!(
                        name.as_str(),
                        "content-length" | "transfer-encoding" | "connection"
                    )
                })
                .filter_map(|(name, value)| {
                    Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
                })
                .collect();
            let body = answer.bytes().await.unwrap_or_default();
            let got = Upstream {
                status,
                headers,
                body,
            };
            let sent = rewrite(&seen, &got).unwrap_or(got);
            let headers: Vec<(&str, String)> = sent
                .headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.clone()))
                .collect();
            respond(sent.status, &headers, sent.body)
        })
    });
    serve(listener, handler)
}

/// A gateway in front of the sandbox: each write (payments, corrections) is forwarded (and so
/// processed), and the next status of `statuses` (while any is left) replaces the answer with
/// that status and an HTML page, as a gateway that gave up on the back end would.
pub fn gateway_after_processing(
    listener: TcpListener,
    upstream: String,
    statuses: &[u16],
) -> TestServer {
    let statuses = Arc::new(Mutex::new(
        statuses.iter().copied().collect::<VecDeque<u16>>(),
    ));
    let rewrite: Rewrite = Arc::new(move |seen, _| {
        if !seen.is_write() {
            return None;
        }
        let status = statuses.lock().ok()?.pop_front()?;
        Some(Upstream {
            status,
            headers: vec![("content-type".into(), "text/html".into())],
            body: Bytes::from(format!(
                "<html><body><h1>{status}</h1>The upstream server did not answer in time.</body></html>"
            )),
        })
    });
    rewriting_proxy(listener, upstream, rewrite)
}

// ---- tracing capture ----------------------------------------------------------------------

/// Everything logged (TRACE and up, every target) while the guard lives, on this thread.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub fn text(&self) -> String {
        self.0
            .lock()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn capture_logs() -> (Logs, tracing::dispatcher::DefaultGuard) {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_writer(move || writer.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    (logs, guard)
}

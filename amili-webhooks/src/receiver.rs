//! The receiver users mount in their own server (feature `receiver`): a `tower::Service` that
//! axum mounts with `route_service`.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use amili_payments::BatchWakeups;
use axum::body::{Body, HttpBody};
use axum::extract::ConnectInfo;
use axum::http::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use bytes::Bytes;
use futures::FutureExt as _;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use sha2::{Digest as _, Sha256};
use tracing::Instrument as _;

use crate::dedupe::{BoxFuture, Claim, DEFAULT_WINDOW, DedupeStore, MemoryDedupeStore};
use crate::event::Event;
use crate::refusals::RefusalLog;
use crate::signature::{
    EVENT_HEADER, IDEMPOTENCY_KEY_HEADER, MAX_DELIVERY_ID_BYTES, REQUEST_ID_HEADER, Verifier,
    VerifyError, hex,
};

/// The error a handler may return: anything that converts into a boxed error (`anyhow::Error`,
/// `std::io::Error`, a `String`, …).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The largest body [`ReceiverBuilder::max_body_bytes`] allows by default (1 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// How long a sender may take to send the body by default
/// ([`ReceiverBuilder::body_read_timeout`]).
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How old an event's signed `timeStamp` may be by default
/// ([`ReceiverBuilder::replay_window`]): the default dedupe store's window, so that a
/// delivery is either remembered or refused as too old.
pub const DEFAULT_REPLAY_WINDOW: Duration = DEFAULT_WINDOW;
/// How often refused (and repeated) deliveries from one source are logged by default
/// ([`ReceiverBuilder::log_refusals_every`]).
pub const DEFAULT_REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(60);
/// The longest `IdempotencyKey` passed on in [`Delivery::idempotency_key`]; a longer one is
/// ignored.
pub const MAX_IDEMPOTENCY_KEY_BYTES: usize = 256;

/// How far in the future an event's `timeStamp` may be (the sender's clock may be ahead).
const CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);
/// How much of an unsigned header the logs show.
const LOGGED_HEADER_CHARS: usize = 64;

/// How long a sender is asked to wait when the same delivery is being handled right now.
const RETRY_AFTER_IN_PROGRESS: &str = "5";

/// One verified, new delivery, as a handler receives it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Delivery {
    /// The event.
    pub event: Event,
    /// The `IdempotencyKey` header (the same on repeated deliveries of the event), when at
    /// most [`MAX_IDEMPOTENCY_KEY_BYTES`] long. Not signed: for your records only — repeats
    /// are recognised by what the signature covers.
    pub idempotency_key: Option<String>,
    /// The `X-Amili-Request-Id` header (one per request).
    pub request_id: Option<String>,
}

type Handler = dyn Fn(Delivery) -> BoxFuture<'static, Result<(), BoxError>> + Send + Sync;

struct Inner {
    verifier: Box<dyn Verifier>,
    store: Arc<dyn DedupeStore>,
    handler: Box<Handler>,
    max_body_bytes: usize,
    body_read_timeout: Duration,
    replay_window: Duration,
    wakeups: Option<BatchWakeups>,
    refusal_log_interval: Duration,
    refused: RefusalLog,
    repeated: RefusalLog,
}

/// Receives Amili's webhooks: reads the raw body, verifies the signature (401 when it does not
/// hold, before anything else happens), parses the event, refuses it when its signed
/// `timeStamp` is older than the [replay window](ReceiverBuilder::replay_window), drops
/// repeated deliveries (acknowledging them), and hands new ones to your async handler. It
/// answers `200` only after the handler succeeded; when the handler fails (or panics) it
/// answers `500` and forgets the delivery, so Amili's retry is handled again.
///
/// Repeats are recognised by what the signature covers: the id the verifier signs beside
/// the body ([`Verifier::delivery_id`]), else the event's `id` in the signed body, else the
/// body's SHA-256. Never by the unsigned `IdempotencyKey` header: a captured delivery sent
/// again under fresh keys is still a repeat.
///
/// Refused and repeated deliveries are logged once per source (peer address) and
/// [interval](ReceiverBuilder::log_refusals_every), with the number not logged since.
///
/// Events of a type this version does not know reach the handler as [`Event::Unknown`] and
/// are logged; a handler that returns `Ok` for them acknowledges them, so the sender does not
/// retry them forever.
///
/// It is a `tower::Service` (cheap to clone): mount it in axum with
/// `Router::route_service("/your/path", receiver)`, or run it on its own with
/// [`serve`](Self::serve). Each request gets a `tracing` span `amili.webhook` with the
/// request id (`X-Amili-Request-Id`), the event type (`X-Amili-Event`), the idempotency key,
/// the event id and the status answered (unsigned headers cut to 64 characters).
///
/// | answer | when |
/// |---|---|
/// | `200` `{"status":"handled"}` | the handler succeeded |
/// | `200` `{"status":"duplicate"}` | this delivery was handled before (the handler is not called) |
/// | `400` | the body is not an event, or its `timeStamp` is outside the replay window (after the signature held) |
/// | `401` | the signature is missing, wrong or stale |
/// | `405` | not a `POST` |
/// | `408` | the body was not sent within [`body_read_timeout`](ReceiverBuilder::body_read_timeout) |
/// | `413` | the body is larger than [`max_body_bytes`](ReceiverBuilder::max_body_bytes) |
/// | `500` | the handler failed or panicked |
/// | `503` (+ `Retry-After`) | the same delivery is being handled right now, or the dedupe store failed |
///
/// ```
/// use std::time::Duration;
/// use amili_webhooks::{Event, HmacSha256Verifier, Receiver};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let _ = rustls::crypto::ring::default_provider().install_default();
/// let (seen, mut events) = tokio::sync::mpsc::unbounded_channel();
/// let receiver = Receiver::builder(HmacSha256Verifier::new("shared-secret"))
///     .handler(move |delivery| {
///         let seen = seen.clone();
///         async move {
///             if let Event::BatchCompleted(event) = &delivery.event {
///                 seen.send(event.data.batch_id)?; // your work here
///             }
///             Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
///         }
///     });
///
/// // Mount it in your own axum app …
/// let app: axum::Router = axum::Router::new().route_service("/amili/webhooks", receiver.clone());
/// # drop(app);
/// // … or serve it alone.
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let url = format!("http://{}/", listener.local_addr()?);
/// tokio::spawn(receiver.serve(listener, std::future::pending()));
///
/// let body = format!(r#"{{"id":"897e1f80-ceb5-4b58-a2aa-c895aff6ce3e","type":"BATCH_COMPLETED",
///   "source":"COLLECTION","timeStamp":"{}",
///   "data":{{"batchId":"db6a7ff4-3a20-4042-b271-a9485ded6333","status":"SUCCESS"}}}}"#,
///   amili_webhooks::Utc::now().to_rfc3339());
/// let signature = HmacSha256Verifier::new("shared-secret").sign(body.as_bytes());
/// let http = reqwest::Client::new();
/// let post = |signature: String, key: &str| {
///     http.post(&url)
///         .header("X-Webhook-Signature", signature)
///         .header("IdempotencyKey", key)
///         .body(body.clone())
///         .send()
/// };
/// assert_eq!(post(signature.clone(), "delivery-1").await?.status(), 200);
/// // A repeat, even under another key: acknowledged, not handled.
/// assert_eq!(post(signature, "delivery-2").await?.status(), 200);
/// assert_eq!(post("forged".into(), "delivery-3").await?.status(), 401);
/// assert_eq!(events.recv().await.map(|id| id.to_string()).as_deref(),
///            Some("db6a7ff4-3a20-4042-b271-a9485ded6333"));
/// assert!(events.try_recv().is_err(), "handled once");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Receiver {
    inner: Arc<Inner>,
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("insecure", &self.inner.verifier.is_insecure())
            .field("max_body_bytes", &self.inner.max_body_bytes)
            .field("wakes_pollers", &self.inner.wakeups.is_some())
            .finish_non_exhaustive()
    }
}

/// Configures a [`Receiver`]; [`handler`](Self::handler) finishes it.
#[must_use]
pub struct ReceiverBuilder {
    verifier: Box<dyn Verifier>,
    store: Option<Arc<dyn DedupeStore>>,
    max_body_bytes: usize,
    body_read_timeout: Duration,
    replay_window: Duration,
    refusal_log_interval: Duration,
    wakeups: Option<BatchWakeups>,
}

impl fmt::Debug for ReceiverBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiverBuilder")
            .field("insecure", &self.verifier.is_insecure())
            .field("max_body_bytes", &self.max_body_bytes)
            .finish_non_exhaustive()
    }
}

impl Receiver {
    /// A receiver that checks signatures with `verifier` ([`crate::HmacSha256Verifier`], or
    /// [`crate::insecure_no_verification`] for a local demo).
    pub fn builder(verifier: impl Verifier) -> ReceiverBuilder {
        ReceiverBuilder {
            verifier: Box::new(verifier),
            store: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            replay_window: DEFAULT_REPLAY_WINDOW,
            refusal_log_interval: DEFAULT_REFUSAL_LOG_INTERVAL,
            wakeups: None,
        }
    }
}

impl ReceiverBuilder {
    /// Where handled deliveries are remembered (default: a [`MemoryDedupeStore`] of 100 000
    /// keys for 72 hours). Share one store between receivers by passing an `Arc`.
    pub fn dedupe_store(mut self, store: impl DedupeStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// The largest body accepted (default 1 MiB); larger ones get `413`.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// How long a sender may take to send the body once the headers are in (default 30 s);
    /// slower ones get `408`.
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// How old an event's signed `timeStamp` may be (default 72 hours, the default dedupe
    /// store's window); older deliveries get `400` and are not handled. Keep it no longer
    /// than your store remembers, so that a replay is either recognised or refused. A
    /// `timeStamp` more than 5 minutes ahead is refused too; an event without one is only
    /// deduplicated.
    pub fn replay_window(mut self, window: Duration) -> Self {
        self.replay_window = window;
        self
    }

    /// How often a refused or repeated delivery from one source is logged (default once a
    /// minute, with the number not logged since). The source is the peer address in axum's
    /// `ConnectInfo<SocketAddr>`: [`serve`](Receiver::serve) sets it; in your own axum server
    /// use `into_make_service_with_connect_info::<SocketAddr>()`, else every request shares
    /// one source.
    pub fn log_refusals_every(mut self, interval: Duration) -> Self {
        self.refusal_log_interval = interval;
        self
    }

    /// Notify `wakeups` for every verified `BATCH_COMPLETED` (repeats included), so
    /// [`Poller`](amili_payments::Poller)s built with the same handle read the batch at once.
    /// The pollers read the batch from the API: the event only says when.
    pub fn wake_pollers(mut self, wakeups: BatchWakeups) -> Self {
        self.wakeups = Some(wakeups);
        self
    }

    /// The async handler of each new delivery; `Ok` acknowledges it (`200`), `Err` makes
    /// Amili retry it (`500`).
    pub fn handler<F, Fut, E>(self, handler: F) -> Receiver
    where
        F: Fn(Delivery) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<BoxError>,
    {
        if self.verifier.is_insecure() {
            tracing::warn!(
                "webhook signatures are NOT verified (insecure_no_verification): anyone who \
                 can reach this endpoint can post events"
            );
        }
        let handler: Box<Handler> = Box::new(move |delivery| {
            let future = handler(delivery);
            Box::pin(async move { future.await.map_err(Into::into) })
        });
        Receiver {
            inner: Arc::new(Inner {
                verifier: self.verifier,
                store: self
                    .store
                    .unwrap_or_else(|| Arc::new(MemoryDedupeStore::default())),
                handler,
                max_body_bytes: self.max_body_bytes,
                body_read_timeout: self.body_read_timeout,
                replay_window: self.replay_window,
                wakeups: self.wakeups,
                refusal_log_interval: self.refusal_log_interval,
                refused: RefusalLog::new(self.refusal_log_interval),
                repeated: RefusalLog::new(self.refusal_log_interval),
            }),
        }
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// An unsigned header as the logs show it: cut, so that a sender cannot fill them.
fn shown(value: Option<&str>) -> &str {
    let value = value.unwrap_or("-");
    match value.char_indices().nth(LOGGED_HEADER_CHARS) {
        Some((end, _)) => &value[..end],
        None => value,
    }
}

/// Where the request came from, when the server says (axum's `ConnectInfo`).
fn source_of(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip())
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn error(status: StatusCode, message: &str) -> Response<Body> {
    answer(status, serde_json::json!({ "error": message }))
}

impl Receiver {
    /// Handles one request. Most users mount the receiver as a service instead; this is the
    /// same logic for any other server.
    pub async fn receive<B>(&self, request: Request<B>) -> Response<Body>
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let (parts, body) = request.into_parts();
        let headers = &parts.headers;
        let source = source_of(&parts.extensions);
        let span = tracing::info_span!(
            "amili.webhook",
            request_id = %shown(header(headers, REQUEST_ID_HEADER)),
            event = %shown(header(headers, EVENT_HEADER)),
            idempotency_key = tracing::field::Empty,
            event_id = tracing::field::Empty,
            status = tracing::field::Empty,
        );
        let response = async {
            if parts.method != Method::POST {
                let mut response = self.refuse(source, StatusCode::METHOD_NOT_ALLOWED, "use POST");
                response
                    .headers_mut()
                    .insert(ALLOW, HeaderValue::from_static("POST"));
                return response;
            }
            let max = self.inner.max_body_bytes;
            let declared = header(headers, CONTENT_LENGTH.as_str()).and_then(|v| v.parse().ok());
            if declared.is_some_and(|length: u64| length > u64::try_from(max).unwrap_or(u64::MAX)) {
                return self.refuse(
                    source,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "the body is too large",
                );
            }
            let read = Limited::new(body, max).collect();
            let bytes = match tokio::time::timeout(self.inner.body_read_timeout, read).await {
                Ok(Ok(collected)) => collected.to_bytes(),
                Ok(Err(e)) if e.is::<LengthLimitError>() => {
                    return self.refuse(
                        source,
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "the body is too large",
                    );
                }
                Ok(Err(_)) => {
                    return self.refuse(source, StatusCode::BAD_REQUEST, "could not read the body");
                }
                Err(_) => {
                    return self.refuse(
                        source,
                        StatusCode::REQUEST_TIMEOUT,
                        "the body was not sent in time",
                    );
                }
            };
            self.handle(headers, source, bytes).await
        }
        .instrument(span.clone())
        .await;
        span.record("status", response.status().as_u16());
        response
    }

    /// How often refusals from one source are logged (`serve` logs cut-off connections so).
    pub(crate) fn refusal_log_interval(&self) -> Duration {
        self.inner.refusal_log_interval
    }

    /// A refusal, logged once per source and interval.
    fn refuse(&self, source: Option<IpAddr>, status: StatusCode, reason: &str) -> Response<Body> {
        if let Some(unlogged) = self.inner.refused.admit(source, Instant::now()) {
            tracing::warn!(
                source = %source.map_or_else(|| "-".to_owned(), |ip| ip.to_string()),
                status = status.as_u16(),
                unlogged,
                "refused: {reason}"
            );
        }
        error(status, reason)
    }

    /// A repeat, acknowledged or deferred, logged once per source and interval.
    fn repeat(&self, source: Option<IpAddr>, message: &str) {
        if let Some(unlogged) = self.inner.repeated.admit(source, Instant::now()) {
            tracing::info!(
                source = %source.map_or_else(|| "-".to_owned(), |ip| ip.to_string()),
                unlogged,
                "{message}"
            );
        }
    }

    /// The key a repeat has in common with the first delivery: what the signature covers.
    fn dedupe_key(&self, headers: &HeaderMap, event: &Event, body: &[u8]) -> String {
        let signed_id = self
            .inner
            .verifier
            .delivery_id(headers)
            .filter(|id| id.len() <= MAX_DELIVERY_ID_BYTES);
        if let Some(id) = signed_id {
            return format!("delivery:{id}");
        }
        if let Some(id) = event.id() {
            return format!("event:{id}");
        }
        format!("sha256:{}", hex(&Sha256::digest(body)))
    }

    /// Why the event's signed time stamp makes it too old (or too new) to handle.
    fn outside_window(&self, event: &Event) -> Option<&'static str> {
        let at = event.time_stamp()?;
        let now = chrono::Utc::now();
        let age = now.signed_duration_since(at);
        if age.to_std().is_ok_and(|age| age > self.inner.replay_window) {
            return Some("the event's timeStamp is older than the replay window");
        }
        let ahead = at.signed_duration_since(now);
        if ahead.to_std().is_ok_and(|ahead| ahead > CLOCK_SKEW) {
            return Some("the event's timeStamp is in the future");
        }
        None
    }

    async fn handle(
        &self,
        headers: &HeaderMap,
        source: Option<IpAddr>,
        body: Bytes,
    ) -> Response<Body> {
        if let Err(e) = self.inner.verifier.verify(headers, &body) {
            let message = match e {
                VerifyError::Missing => "the signature is missing",
                VerifyError::Stale => "the signature is stale",
                _ => "the signature does not hold",
            };
            return self.refuse(source, StatusCode::UNAUTHORIZED, message);
        }
        let hint = header(headers, EVENT_HEADER);
        let event = match Event::parse_with_type_hint(&body, hint) {
            Ok(event) => event,
            Err(e) => {
                tracing::debug!(error = %e, "not an event");
                return self.refuse(source, StatusCode::BAD_REQUEST, &e.to_string());
            }
        };
        let span = tracing::Span::current();
        if let Some(id) = event.id() {
            span.record("event_id", tracing::field::display(id));
        }
        if let Some(reason) = self.outside_window(&event) {
            return self.refuse(source, StatusCode::BAD_REQUEST, reason);
        }
        if let (Some(wakeups), Some(batch_id)) = (&self.inner.wakeups, event.batch_id()) {
            wakeups.notify(batch_id);
        }
        let idempotency_key = header(headers, IDEMPOTENCY_KEY_HEADER)
            .filter(|key| key.len() <= MAX_IDEMPOTENCY_KEY_BYTES)
            .map(str::to_owned);
        if let Some(key) = &idempotency_key {
            span.record("idempotency_key", tracing::field::display(shown(Some(key))));
        }
        let key = self.dedupe_key(headers, &event, &body);
        match self.inner.store.claim(&key).await {
            Ok(Claim::New) => {}
            Ok(Claim::Seen) => {
                self.repeat(
                    source,
                    "a repeated delivery: acknowledged, not handled again",
                );
                return answer(StatusCode::OK, serde_json::json!({"status": "duplicate"}));
            }
            Ok(Claim::InProgress) => {
                self.repeat(
                    source,
                    "the same delivery is being handled; asking for a retry",
                );
                let mut response = error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "this delivery is being handled",
                );
                response.headers_mut().insert(
                    RETRY_AFTER,
                    HeaderValue::from_static(RETRY_AFTER_IN_PROGRESS),
                );
                return response;
            }
            Err(e) => {
                tracing::error!(error = %e, "the dedupe store failed");
                return error(StatusCode::SERVICE_UNAVAILABLE, "try again later");
            }
        }
        if let Some(hint) = hint
            && hint != event.event_type()
        {
            tracing::warn!(
                header = shown(Some(hint)),
                body = event.event_type(),
                "X-Amili-Event differs from the body's type; the body's is used"
            );
        }
        if event.is_unknown() {
            tracing::info!(
                event_type = event.event_type(),
                "an event type this version does not know"
            );
        }
        let delivery = Delivery {
            event,
            idempotency_key,
            request_id: header(headers, REQUEST_ID_HEADER).map(str::to_owned),
        };
        // The handling runs in its own task, so a sender that hangs up does not cut it short
        // (its retry then finds the delivery handled, or released).
        let inner = Arc::clone(&self.inner);
        let task = tokio::spawn(
            async move {
                let outcome = AssertUnwindSafe((inner.handler)(delivery))
                    .catch_unwind()
                    .await;
                let handled = match outcome {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err("the handler panicked".to_owned()),
                };
                let stored = match &handled {
                    Ok(()) => inner.store.complete(&key).await,
                    Err(_) => inner.store.release(&key).await,
                };
                if let Err(e) = stored {
                    tracing::error!(error = %e, "the dedupe store failed");
                }
                handled
            }
            .in_current_span(),
        );
        match task.await {
            Ok(Ok(())) => {
                tracing::info!("handled");
                answer(StatusCode::OK, serde_json::json!({"status": "handled"}))
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "the handler failed; the sender will retry");
                error(StatusCode::INTERNAL_SERVER_ERROR, "the handler failed")
            }
            Err(e) => {
                tracing::error!(error = %e, "the handler task ended early");
                error(StatusCode::INTERNAL_SERVER_ERROR, "the handler failed")
            }
        }
    }

    /// An axum router answering on every path with this receiver.
    pub fn into_router(self) -> axum::Router {
        axum::Router::new().fallback_service(self)
    }
}

impl<B> tower::Service<Request<B>> for Receiver
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let receiver = self.clone();
        Box::pin(async move { Ok(receiver.receive(request).await) })
    }
}

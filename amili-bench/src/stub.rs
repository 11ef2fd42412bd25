//! Server (a): a minimal local HTTP stub on `127.0.0.1:0`, on its own tokio runtime thread.
//!
//! `POST /token` answers a bearer token; `POST /collection/v1/orgs/{org}/payments` reads the
//! whole body, counts the payments in it and answers `202` with a `CreatePaymentsResponse`
//! (`batchId`, `batchUrl`). Nothing else is checked or stored: it is the cheapest server that
//! still speaks the API, so the contenders' own costs show.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use uuid::Uuid;

use crate::raw::{Endpoint, IDEMPOTENCY_KEY_HEADER};

/// The token every client gets.
const TOKEN: &str = "t";
/// The key whose occurrences count the payments of a body (one per payment object).
const PAYMENT_KEY: &[u8] = br#""uniqueSourcePaymentId""#;

/// What the stub saw since the last [`Stub::take_counts`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StubCounts {
    /// `POST /token` requests.
    pub token_requests: u64,
    /// `CreatePayments` requests answered 202.
    pub payment_requests: u64,
    /// Payments in those requests.
    pub payments: u64,
    /// `CreatePayments` requests without `Authorization: Bearer t` or an `IdempotencyKey`
    /// (answered 401 / 400).
    pub refused: u64,
}

#[derive(Default)]
struct Counters {
    token_requests: AtomicU64,
    payment_requests: AtomicU64,
    payments: AtomicU64,
    refused: AtomicU64,
}

/// A running stub; stopped when dropped.
pub struct Stub {
    addr: SocketAddr,
    counters: Arc<Counters>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Stub {
    /// Starts the stub on `127.0.0.1:0` with a runtime of `workers` threads.
    pub fn start(workers: usize) -> anyhow::Result<Stub> {
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").context("binding the stub's port")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers.max(1))
            .thread_name("stub")
            .enable_all()
            .build()
            .context("the stub's runtime")?;
        let counters = Arc::new(Counters::default());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let origin = format!("http://{addr}");
        let state = Arc::clone(&counters);
        let thread = std::thread::Builder::new()
            .name("stub-main".to_owned())
            .spawn(move || runtime.block_on(serve(listener, origin, state, stopped)))
            .context("the stub's thread")?;
        Ok(Stub {
            addr,
            counters,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The endpoint to give contenders (any client id and secret are accepted).
    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            api_url: format!("http://{}/collection/v1", self.addr),
            token_url: format!("http://{}/token", self.addr),
            client_id: "bench-client".to_owned(),
            client_secret: "bench-secret".to_owned(),
            organization_id: Uuid::from_u128(0xbe4c_0000_0000_4000_8000_0000_0000_ffff),
        }
    }

    /// The counts since the last call, and resets them.
    pub fn take_counts(&self) -> StubCounts {
        let c = &self.counters;
        StubCounts {
            token_requests: c.token_requests.swap(0, Ordering::SeqCst),
            payment_requests: c.payment_requests.swap(0, Ordering::SeqCst),
            payments: c.payments.swap(0, Ordering::SeqCst),
            refused: c.refused.swap(0, Ordering::SeqCst),
        }
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    origin: String,
    counters: Arc<Counters>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    let origin: Arc<str> = origin.into();
    loop {
        let accepted = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else { continue };
        let _ = stream.set_nodelay(true);
        let counters = Arc::clone(&counters);
        let origin = Arc::clone(&origin);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                handle(request, Arc::clone(&origin), Arc::clone(&counters))
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn json(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

async fn handle(
    request: Request<Incoming>,
    origin: Arc<str>,
    counters: Arc<Counters>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    // Read the whole body first, whatever the route (a real server would).
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Ok(json(StatusCode::BAD_REQUEST, "{}".to_owned())),
    };
    let path = parts.uri.path();
    // The organization check every client run starts with (`Client::check_organization`):
    // an empty first page of the organization's batches.
    if parts.method == Method::GET
        && path
            .strip_prefix("/collection/v1/orgs/")
            .is_some_and(|rest| rest.ends_with("/batches"))
    {
        return Ok(json(
            StatusCode::OK,
            r#"{"summary":{"status":"SUCCESS"},"data":[]}"#.to_owned(),
        ));
    }
    if parts.method != Method::POST {
        return Ok(json(StatusCode::METHOD_NOT_ALLOWED, "{}".to_owned()));
    }
    if path == "/token" {
        counters.token_requests.fetch_add(1, Ordering::SeqCst);
        return Ok(json(
            StatusCode::OK,
            format!(r#"{{"access_token":"{TOKEN}","token_type":"Bearer","expires_in":3600}}"#),
        ));
    }
    let Some(org) = path
        .strip_prefix("/collection/v1/orgs/")
        .and_then(|rest| rest.strip_suffix("/payments"))
    else {
        return Ok(json(StatusCode::NOT_FOUND, "{}".to_owned()));
    };
    let authorized = parts
        .headers
        .get(AUTHORIZATION)
        .is_some_and(|v| v.as_bytes() == format!("Bearer {TOKEN}").as_bytes());
    if !authorized || !parts.headers.contains_key(IDEMPOTENCY_KEY_HEADER) {
        counters.refused.fetch_add(1, Ordering::SeqCst);
        let status = if authorized {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::UNAUTHORIZED
        };
        return Ok(json(status, "{}".to_owned()));
    }
    let payments = memchr::memmem::find_iter(&body, PAYMENT_KEY).count() as u64;
    counters.payments.fetch_add(payments, Ordering::SeqCst);
    counters.payment_requests.fetch_add(1, Ordering::SeqCst);
    let batch = Uuid::new_v4();
    Ok(json(
        StatusCode::ACCEPTED,
        format!(
            r#"{{"summary":{{"status":"SUCCESS"}},"data":{{"batchId":"{batch}","batchUrl":"{origin}/collection/v1/orgs/{org}/batches/{batch}"}}}}"#
        ),
    ))
}

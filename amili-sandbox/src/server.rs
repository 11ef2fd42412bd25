//! The HTTP server (on the routes floor, above `routes/`): the routes behind an accept loop that can apply
//! faults, including closing a connection without an answer (which `axum::serve` cannot do,
//! as its service must be infallible: here the service returns `Err` and hyper drops the
//! connection).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue, RETRY_AFTER};
use axum::http::{Request, Response, StatusCode};
use axum::response::IntoResponse;
use bytes::Bytes;
use futures::StreamExt as _;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt;

use crate::domain::faults::{Fault, Route, retry_after_secs};
use crate::error::error_body;
use crate::headers::REQUEST_ID_HEADER;
use crate::request;
use crate::routes;
use crate::state::AppState;

/// How long shutdown waits for requests in flight before closing their connections.
const GRACE: Duration = Duration::from_secs(5);

/// The service's error: close the connection without an answer.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for Dropped {}

/// The body error that cuts a truncated answer short.
#[derive(Debug)]
struct Truncated;

impl std::fmt::Display for Truncated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("body truncated by an injected fault")
    }
}

impl std::error::Error for Truncated {}

async fn call(router: Router, request: Request<Body>) -> Response<Body> {
    match router.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

fn status_of(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn fault_status_response(status: u16, retry_after: Option<Duration>) -> Response<Body> {
    let status = status_of(status);
    let message = format!(
        "injected fault: {} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or_default()
    );
    let mut response = (status, axum::Json(error_body(&message, &[]))).into_response();
    if let Some(after) = retry_after
        && let Ok(value) = HeaderValue::from_str(&retry_after_secs(after).to_string())
    {
        response.headers_mut().insert(RETRY_AFTER, value);
    }
    response
}

fn html_response(status: u16) -> Response<Body> {
    let status = status_of(status);
    let title = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    let html = format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    );
    let mut response = (status, html).into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// The same answer with half its body and a `Content-Length` promising more.
async fn truncate(response: Response<Body>) -> Response<Body> {
    let (mut parts, body) = response.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    let sent = bytes.slice(..bytes.len() / 2);
    let declared = bytes.len().max(sent.len().saturating_add(1));
    parts
        .headers
        .insert(CONTENT_LENGTH, HeaderValue::from(declared));
    // Send the part, pause so hyper flushes it, then fail the body: hyper closes the
    // connection short of the declared length.
    let part = futures::stream::iter([Ok::<_, Truncated>(Frame::data(sent))]);
    let cut = futures::stream::once(async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        Err::<Frame<Bytes>, _>(Truncated)
    });
    let body = Body::new(StreamBody::new(part.chain(cut)));
    Response::from_parts(parts, body)
}

/// Serves one request: counts it, applies the route's next fault, logs it.
async fn serve_request(
    state: Arc<AppState>,
    router: Router,
    request: Request<Incoming>,
) -> Result<Response<Body>, Dropped> {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let route = Route::classify(&method, &path);
    state.stats.count(route);
    let fault = route.and_then(|route| state.faults.next(route));
    if fault.is_some() {
        state.stats.count_fault();
    }
    let request = request.map(Body::new);
    let outcome = match fault.clone() {
        None => Ok(call(router, request).await),
        Some(Fault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            Ok(call(router, request).await)
        }
        Some(Fault::Status {
            status,
            retry_after,
        }) => {
            request::drain(request.into_body()).await;
            Ok(fault_status_response(status, retry_after))
        }
        Some(Fault::HtmlError { status }) => {
            request::drain(request.into_body()).await;
            Ok(html_response(status))
        }
        Some(Fault::DropBeforeProcessing) => {
            request::drain(request.into_body()).await;
            Err(Dropped)
        }
        Some(Fault::DropAfterProcessing) => {
            let response = call(router, request).await;
            let _ = response.into_body().collect().await;
            Err(Dropped)
        }
        Some(Fault::TruncatedBody) => Ok(truncate(call(router, request).await).await),
    };
    let elapsed_ms = started.elapsed().as_millis();
    let route_name = route.map_or("-", Route::name);
    let fault_text = fault.map(|f| f.to_string()).unwrap_or_default();
    match &outcome {
        Ok(response) => tracing::info!(
            %method, %path, route = route_name, status = response.status().as_u16(),
            elapsed_ms, fault = %fault_text, "request"
        ),
        Err(_) => tracing::info!(
            %method, %path, route = route_name, elapsed_ms, fault = %fault_text,
            "request dropped"
        ),
    }
    outcome.map(|mut response| {
        if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(REQUEST_ID_HEADER), id);
        }
        response
    })
}

/// Accepts connections on `listener` until `shutdown` says so, then shuts down gracefully.
pub(crate) fn spawn(
    listener: TcpListener,
    state: Arc<AppState>,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let router = routes::router(Arc::clone(&state));
    tokio::spawn(async move {
        let graceful = GracefulShutdown::new();
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        break;
                    }
                }
                accepted = listener.accept() => match accepted {
                    Ok((stream, _peer)) => {
                        let state = Arc::clone(&state);
                        let router = router.clone();
                        // Each request on a task of its own: one whose client went away
                        // (killed, cut off) is finished all the same, as servers do.
                        let service = hyper::service::service_fn(move |request| {
                            let served = tokio::spawn(serve_request(
                                Arc::clone(&state),
                                router.clone(),
                                request,
                            ));
                            async move { served.await.unwrap_or(Err(Dropped)) }
                        });
                        let mut builder = auto::Builder::new(TokioExecutor::new());
                        builder
                            .http1()
                            .timer(TokioTimer::new())
                            .header_read_timeout(Duration::from_secs(30));
                        let connection = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .into_owned();
                        let connection = graceful.watch(connection);
                        connections.spawn(async move {
                            if let Err(error) = connection.await {
                                tracing::debug!(%error, "connection ended with an error");
                            }
                        });
                    }
                    Err(error) => {
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        drop(listener);
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(GRACE) => {
                tracing::warn!("requests still in flight after the grace period; closing");
            }
        }
        connections.shutdown().await;
        tracing::info!("sandbox stopped");
    })
}

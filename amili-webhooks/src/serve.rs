//! Serving a [`Receiver`] alone: an HTTP/1 accept loop that bounds what a sender can hold —
//! the time to send headers (and to send the next request on a kept-alive connection), their
//! size, and the number of open connections.

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::receiver::Receiver;
use crate::refusals::RefusalLog;

/// How long a connection may take to send a request's headers by default, counted from when
/// the server waits for them: also how long a kept-alive connection may sit idle.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How many connections are served at once by default; more wait to be accepted.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// The largest request head (request line and headers) read by default; larger ones get `431`.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 16 * 1024;

/// hyper's smallest read buffer.
const MIN_HEADER_BYTES: usize = 8 * 1024;
/// How long the loop rests when accepting fails (no file descriptor left, …) before trying
/// again, so that it does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// What [`Receiver::serve_with`] allows a connection; [`Receiver::serve`] uses the defaults.
///
/// | setting | default | past it |
/// |---|---|---|
/// | [`header_read_timeout`](Self::header_read_timeout) | 10 s ([`DEFAULT_HEADER_READ_TIMEOUT`]) | the connection is closed |
/// | idle keep-alive | the same timer: hyper starts it when it waits for the next request | the connection is closed |
/// | body read timeout | [`ReceiverBuilder::body_read_timeout`](crate::ReceiverBuilder::body_read_timeout), 30 s | `408` |
/// | [`max_connections`](Self::max_connections) | 256 ([`DEFAULT_MAX_CONNECTIONS`]) | new connections wait to be accepted |
/// | [`max_header_bytes`](Self::max_header_bytes) | 16 KiB ([`DEFAULT_MAX_HEADER_BYTES`]) | `431` |
///
/// Keep `max_connections` below the process's open-file limit (`ulimit -n`): then idle or
/// half-open connections cannot take every descriptor, and each is closed within the header
/// read timeout, so a genuine delivery waits at most about that long for a place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServeLimits {
    /// How long a connection may take to send a request's headers, and may sit idle between
    /// requests.
    pub header_read_timeout: Duration,
    /// How many connections are served at once (at least 1).
    pub max_connections: usize,
    /// The largest request head read (at least 8 KiB, hyper's smallest buffer).
    pub max_header_bytes: usize,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
        }
    }
}

impl ServeLimits {
    /// Sets [`header_read_timeout`](Self::header_read_timeout).
    #[must_use]
    pub fn with_header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Sets [`max_connections`](Self::max_connections).
    #[must_use]
    pub fn with_max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections.max(1);
        self
    }

    /// Sets [`max_header_bytes`](Self::max_header_bytes).
    #[must_use]
    pub fn with_max_header_bytes(mut self, bytes: usize) -> Self {
        self.max_header_bytes = bytes.max(MIN_HEADER_BYTES);
        self
    }
}

impl Receiver {
    /// Serves this receiver alone on `listener` (every path, HTTP/1) with the default
    /// [`ServeLimits`] until `shutdown` completes, then waits for the requests in flight.
    ///
    /// # Errors
    ///
    /// None so far: a failed accept is logged and retried. The `Result` leaves room for
    /// errors that end serving.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        self.serve_with(listener, ServeLimits::default(), shutdown)
            .await
    }

    /// [`serve`](Self::serve) with these limits.
    ///
    /// Each request carries the peer's address as axum's `ConnectInfo<SocketAddr>`, so that
    /// refused deliveries are logged per source.
    ///
    /// # Errors
    ///
    /// As [`serve`](Self::serve).
    pub async fn serve_with(
        self,
        listener: TcpListener,
        limits: ServeLimits,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .max_buf_size(limits.max_header_bytes.max(MIN_HEADER_BYTES));
        let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
        // Connections cut off (a head too large or too slow) are logged like refusals.
        let cut_off = Arc::new(RefusalLog::new(self.refusal_log_interval()));
        let graceful = GracefulShutdown::new();
        let mut shutdown = pin!(shutdown);
        loop {
            // A place first, then a connection: past the limit, connections wait in the
            // listen queue instead of holding a descriptor here.
            let permit = tokio::select! {
                () = &mut shutdown => break,
                permit = Arc::clone(&slots).acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break, // never closed
                },
            };
            let (stream, peer) = tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot accept a connection; trying again");
                        tokio::select! {
                            () = &mut shutdown => break,
                            () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                        }
                    }
                },
            };
            let receiver = self.clone();
            let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                let receiver = receiver.clone();
                async move { Ok::<_, Infallible>(receiver.receive(request).await) }
            });
            let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
            let cut_off = Arc::clone(&cut_off);
            tokio::spawn(async move {
                if let Err(e) = connection.await
                    && let Some(unlogged) = cut_off.admit(Some(peer.ip()), Instant::now())
                {
                    tracing::debug!(error = %e, %peer, unlogged, "connection cut off");
                }
                drop(permit);
            });
        }
        drop(listener);
        graceful.shutdown().await;
        Ok(())
    }
}

//! What a sender can hold of a served receiver: idle, half-sent and kept-alive connections
//! are closed after the header read timeout, a body sent too slowly gets 408, and past the
//! connection limit a delivery waits for a place instead of the server running out of
//! descriptors. Nothing asserts on how fast: a bound of a minute only turns a hang into a
//! failure.

mod loopback;

use std::net::SocketAddr;
use std::time::Duration;

use amili_webhooks::{Delivery, HmacSha256Verifier, Receiver, ServeLimits};
use loopback::{SECRET, TestResult, body, builder};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// Long enough that only a hang reaches it.
const BOUND: Duration = Duration::from_secs(60);

struct Server {
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

async fn serve(receiver: Receiver, limits: ServeLimits) -> std::io::Result<Server> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(receiver.serve_with(listener, limits, async {
        let _ = stopped.await;
    }));
    Ok(Server { addr, _stop: stop })
}

fn accepting() -> Receiver {
    builder().handler(|_delivery: Delivery| async { Ok::<_, String>(()) })
}

/// A signed delivery as raw HTTP/1.1 (kept alive unless `close`).
fn delivery(batch: u32, close: bool) -> Vec<u8> {
    let event = body("BATCH_COMPLETED", batch);
    let signature = HmacSha256Verifier::new(SECRET).sign(event.as_bytes());
    format!(
        "POST / HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
         X-Webhook-Signature: {signature}\r\nContent-Length: {}\r\n{}\r\n{event}",
        event.len(),
        if close { "Connection: close\r\n" } else { "" }
    )
    .into_bytes()
}

/// Reads until the server closes the connection (or resets it): what it sent.
async fn until_closed(stream: &mut TcpStream) -> Result<String, String> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout(BOUND, stream.read(&mut buffer)).await {
            Err(_) => return Err("the server kept the connection open".to_owned()),
            Ok(Ok(0) | Err(_)) => return Ok(String::from_utf8_lossy(&received).into_owned()),
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
        }
    }
}

/// Sends `request` on a new connection to `server` and reads until it is closed: the answer.
async fn answer_to(
    server: &Server,
    request: &[u8],
) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let mut stream = TcpStream::connect(server.addr).await?;
    stream.write_all(request).await?;
    Ok(until_closed(&mut stream).await?)
}

fn short_timeouts() -> ServeLimits {
    ServeLimits::default().with_header_read_timeout(Duration::from_millis(300))
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed() -> TestResult {
    let server = serve(accepting(), short_timeouts()).await?;
    let mut idle = TcpStream::connect(server.addr).await?;
    until_closed(&mut idle).await?;
    Ok(())
}

#[tokio::test]
async fn a_half_sent_head_is_cut_off() -> TestResult {
    let server = serve(accepting(), short_timeouts()).await?;
    let mut slow = TcpStream::connect(server.addr).await?;
    slow.write_all(b"POST / HTTP/1.1\r\nHost: test\r\nX-Webhook-Sig")
        .await?;
    until_closed(&mut slow).await?;
    Ok(())
}

#[tokio::test]
async fn a_kept_alive_connection_is_closed_once_idle() -> TestResult {
    let server = serve(accepting(), short_timeouts()).await?;
    let answered = answer_to(&server, &delivery(1, false)).await?;
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
    Ok(())
}

#[tokio::test]
async fn a_body_sent_too_slowly_gets_408() -> TestResult {
    let receiver = builder()
        .body_read_timeout(Duration::from_millis(300))
        .handler(|_delivery: Delivery| async { Ok::<_, String>(()) });
    let server = serve(receiver, ServeLimits::default()).await?;
    let answered = answer_to(
        &server,
        b"POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n{\"id\":",
    )
    .await?;
    assert!(answered.starts_with("HTTP/1.1 408"), "{answered}");
    Ok(())
}

#[tokio::test]
async fn a_body_declared_too_large_gets_413_before_it_is_sent() -> TestResult {
    let server = serve(accepting(), ServeLimits::default()).await?;
    let answered = answer_to(
        &server,
        b"POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 100000000\r\n\r\n",
    )
    .await?;
    assert!(answered.starts_with("HTTP/1.1 413"), "{answered}");
    Ok(())
}

#[tokio::test]
async fn past_the_connection_limit_a_delivery_waits_for_a_place() -> TestResult {
    // Timeouts long enough that only the limit is at play.
    let limits = ServeLimits::default()
        .with_max_connections(2)
        .with_header_read_timeout(BOUND * 2);
    let server = serve(accepting(), limits).await?;
    let first = TcpStream::connect(server.addr).await?;
    let _second = TcpStream::connect(server.addr).await?;
    let mut third = TcpStream::connect(server.addr).await?;
    third.write_all(&delivery(1, true)).await?;
    let mut buffer = [0u8; 64];
    // Not served while both places are held (a server without a limit answers at once).
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut buffer)).await;
    assert!(early.is_err(), "answered past the limit: {early:?}");
    drop(first);
    let answered = until_closed(&mut third).await?;
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
    Ok(())
}

#[tokio::test]
async fn idle_connections_do_not_keep_a_delivery_from_being_answered() -> TestResult {
    let limits = short_timeouts().with_max_connections(4);
    let server = serve(accepting(), limits).await?;
    let mut idle = Vec::new();
    for _ in 0..12 {
        idle.push(TcpStream::connect(server.addr).await?);
    }
    let answered = answer_to(&server, &delivery(1, true)).await?;
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
    Ok(())
}

#[tokio::test]
async fn the_head_limit_does_not_limit_bodies() -> TestResult {
    let server = serve(accepting(), ServeLimits::default()).await?;
    // 600 KiB of undocumented data: past the 16 KiB head limit, within the 1 MiB body limit.
    let padding = "p".repeat(600 * 1024);
    let event = body("BATCH_COMPLETED", 1).replace(
        r#""status":"SUCCESS""#,
        &format!(r#""status":"SUCCESS","note":"{padding}""#),
    );
    let signature = HmacSha256Verifier::new(SECRET).sign(event.as_bytes());
    let request = format!(
        "POST / HTTP/1.1\r\nHost: test\r\nConnection: close\r\nX-Webhook-Signature: {signature}\r\n\
         Content-Length: {}\r\n\r\n{event}",
        event.len()
    );
    let answered = answer_to(&server, request.as_bytes()).await?;
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
    Ok(())
}

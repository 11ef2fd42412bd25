//! What the receiver logs: the span names the request, the event and the delivery, never a
//! secret or a signature; refusals and repeats once per source and interval. Alone in its test binary: `tracing`'s per-callsite interest is
//! process-wide, and other tests hitting the same callsites from other threads while this one
//! installs its subscriber could leave an event disabled for it.

mod loopback;

use std::sync::{Arc, Mutex};

use amili_webhooks::HmacSha256Verifier;
use loopback::{SECRET, Served, TestResult, body, recording};

/// Log lines written by the receiver, with their span's fields.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut buffer) = self.0.lock() {
            buffer.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_span_names_the_request_the_event_and_the_delivery_but_no_secret() -> TestResult {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);
    let (receiver, _seen) = recording();
    let served = Served::start(receiver).await?;
    let event = body("BATCH_COMPLETED", 1);
    assert_eq!(served.post_signed(&event, "key-span").await?.0, 200);
    let forged = HmacSha256Verifier::new("guess").sign(event.as_bytes());
    assert_eq!(
        served.post(&event, Some(forged.clone()), None).await?.0,
        401
    );
    // A flood of forged deliveries and of replays (fresh keys, long headers): one line each
    // per source and interval, with unsigned headers cut short.
    let long = "r".repeat(5000);
    for i in 0..20 {
        let forged = served
            .http
            .post(&served.url)
            .header("X-Webhook-Signature", "0".repeat(64))
            .header("X-Amili-Request-Id", &long)
            .body(event.clone())
            .send()
            .await?;
        assert_eq!(forged.status().as_u16(), 401);
        assert_eq!(
            served.post_signed(&event, &format!("replay-{i}")).await?.0,
            200
        );
    }
    // The "handled" line is written by the server's task after it answered: let it run.
    let read = || -> Result<String, String> {
        Ok(String::from_utf8_lossy(&captured.0.lock().map_err(|e| e.to_string())?).into_owned())
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !read()?.lines().any(|line| line.ends_with("handled"))
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    drop(served);

    let logs = read()?;
    let handled = logs
        .lines()
        .find(|line| line.ends_with("handled"))
        .ok_or_else(|| format!("no 'handled' line in:\n{logs}"))?;
    for field in [
        "amili.webhook{",
        "request_id=req-1",
        "event=BATCH_COMPLETED",
        "idempotency_key=key-span",
        "event_id=897e1f80-ceb5-4b58-a2aa-000000000001",
    ] {
        assert!(handled.contains(field), "{field} not in {handled}");
    }
    assert!(
        logs.contains("refused: the signature does not hold"),
        "{logs}"
    );
    let refused: Vec<&str> = logs.lines().filter(|l| l.contains("refused:")).collect();
    assert_eq!(refused.len(), 1, "{refused:#?}");
    assert!(refused[0].contains("source=127.0.0.1"), "{}", refused[0]);
    let repeats = logs
        .lines()
        .filter(|l| l.contains("a repeated delivery"))
        .count();
    assert_eq!(repeats, 1, "{logs}");
    assert!(
        !logs.contains(&"r".repeat(65)),
        "a long header was logged whole"
    );
    assert!(!logs.contains(SECRET), "the secret was logged");
    assert!(!logs.contains(&forged), "a signature was logged");
    Ok(())
}

//! The receiver over loopback HTTP: 401 before anything else, repeats dropped, 2xx only
//! after the handler succeeded, a failed or panicked handling retried, unknown types
//! acknowledged.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use amili_webhooks::{
    Delivery, Event, HmacSha256Verifier, MemoryDedupeStore, Receiver, ReceiverBuilder,
};
use tokio::sync::{Notify, oneshot};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

const SECRET: &str = "receiver-test-secret";

fn body(event_type: &str, batch: u32) -> String {
    format!(
        r#"{{"id":"897e1f80-ceb5-4b58-a2aa-c895aff6ce3e","type":"{event_type}","source":"COLLECTION","timeStamp":"2025-08-15T11:42:00Z","data":{{"batchId":"db6a7ff4-3a20-4042-b271-{batch:012}","status":"SUCCESS"}}}}"#
    )
}

struct Served {
    url: String,
    http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Served {
    async fn start(receiver: Receiver) -> Result<Served, std::io::Error> {
        // Built with the whole workspace, reqwest's rustls backend needs a crypto provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/amili/webhooks", listener.local_addr()?);
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(receiver.serve(listener, async {
            let _ = stopped.await;
        }));
        Ok(Served {
            url,
            http: reqwest::Client::new(),
            stop: Some(stop),
        })
    }

    async fn post(
        &self,
        body: &str,
        signature: Option<String>,
        key: Option<&str>,
    ) -> Result<(u16, String), reqwest::Error> {
        let mut request = self
            .http
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("X-Amili-Event", "BATCH_COMPLETED")
            .header("X-Amili-Request-Id", "req-1")
            .body(body.to_owned());
        if let Some(signature) = signature {
            request = request.header("X-Webhook-Signature", signature);
        }
        if let Some(key) = key {
            request = request.header("IdempotencyKey", key);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        Ok((status, response.text().await?))
    }

    async fn post_signed(&self, body: &str, key: &str) -> Result<(u16, String), reqwest::Error> {
        let signature = HmacSha256Verifier::new(SECRET).sign(body.as_bytes());
        self.post(body, Some(signature), Some(key)).await
    }
}

fn builder() -> ReceiverBuilder {
    Receiver::builder(HmacSha256Verifier::new(SECRET))
}

/// A receiver whose handler records every delivery it is given.
fn recording() -> (Receiver, Arc<Mutex<Vec<Delivery>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let receiver = builder().handler(move |delivery: Delivery| {
        let log = Arc::clone(&log);
        async move {
            log.lock().map_err(|e| e.to_string())?.push(delivery);
            Ok::<_, String>(())
        }
    });
    (receiver, seen)
}

fn count(seen: &Mutex<Vec<Delivery>>) -> usize {
    seen.lock().map(|v| v.len()).unwrap_or(usize::MAX)
}

#[tokio::test]
async fn a_repeated_delivery_is_acknowledged_but_handled_once() -> TestResult {
    let (receiver, seen) = recording();
    let served = Served::start(receiver).await?;
    let event = body("BATCH_COMPLETED", 1);
    assert_eq!(served.post_signed(&event, "key-1").await?.0, 200);
    let (status, text) = served.post_signed(&event, "key-1").await?;
    assert_eq!(status, 200);
    assert!(text.contains("duplicate"), "{text}");
    assert_eq!(count(&seen), 1);
    // Another delivery key is another delivery.
    assert_eq!(served.post_signed(&event, "key-2").await?.0, 200);
    assert_eq!(count(&seen), 2);
    let deliveries = seen.lock().map_err(|e| e.to_string())?.clone();
    assert_eq!(deliveries[0].idempotency_key.as_deref(), Some("key-1"));
    assert_eq!(deliveries[0].request_id.as_deref(), Some("req-1"));
    Ok(())
}

#[tokio::test]
async fn without_a_key_repeats_are_recognised_by_event_id() -> TestResult {
    let (receiver, seen) = recording();
    let served = Served::start(receiver).await?;
    let event = body("BATCH_COMPLETED", 1);
    let signature = HmacSha256Verifier::new(SECRET).sign(event.as_bytes());
    assert_eq!(
        served.post(&event, Some(signature.clone()), None).await?.0,
        200
    );
    assert_eq!(served.post(&event, Some(signature), None).await?.0, 200);
    assert_eq!(count(&seen), 1);
    Ok(())
}

#[tokio::test]
async fn forged_or_missing_signatures_get_401_and_never_reach_the_handler() -> TestResult {
    let (receiver, seen) = recording();
    let served = Served::start(receiver).await?;
    let event = body("BATCH_COMPLETED", 1);
    let forged = HmacSha256Verifier::new("not-the-secret").sign(event.as_bytes());
    assert_eq!(served.post(&event, Some(forged), Some("k")).await?.0, 401);
    assert_eq!(served.post(&event, None, Some("k")).await?.0, 401);
    let truncated = HmacSha256Verifier::new(SECRET).sign(event.as_bytes())[..40].to_owned();
    assert_eq!(
        served.post(&event, Some(truncated), Some("k")).await?.0,
        401
    );
    // Signed for another body.
    let other = HmacSha256Verifier::new(SECRET).sign(body("BATCH_COMPLETED", 2).as_bytes());
    assert_eq!(served.post(&event, Some(other), Some("k")).await?.0, 401);
    assert_eq!(count(&seen), 0);
    // A refused request is not remembered: the genuine delivery with that key is handled.
    assert_eq!(served.post_signed(&event, "k").await?.0, 200);
    assert_eq!(count(&seen), 1);
    Ok(())
}

#[tokio::test]
async fn a_failed_handling_answers_500_and_its_retry_is_handled() -> TestResult {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let receiver = builder().handler(move |_delivery: Delivery| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            match n {
                0 => Err("the database is down".to_owned()),
                1 => panic!("the handler panicked"),
                _ => Ok(()),
            }
        }
    });
    let served = Served::start(receiver).await?;
    let event = body("BATCH_COMPLETED", 1);
    let (status, text) = served.post_signed(&event, "key-1").await?;
    assert_eq!(status, 500);
    assert!(
        !text.contains("database"),
        "the handler's error is not shown: {text}"
    );
    assert_eq!(served.post_signed(&event, "key-1").await?.0, 500);
    assert_eq!(served.post_signed(&event, "key-1").await?.0, 200);
    assert_eq!(served.post_signed(&event, "key-1").await?.0, 200);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "handled until it succeeded, then never"
    );
    Ok(())
}

#[tokio::test]
async fn the_same_delivery_in_flight_twice_is_handled_once() -> TestResult {
    let started = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let calls = Arc::new(AtomicUsize::new(0));
    let (s, r, c) = (
        Arc::clone(&started),
        Arc::clone(&release),
        Arc::clone(&calls),
    );
    let receiver = builder().handler(move |_delivery: Delivery| {
        let (s, r) = (Arc::clone(&s), Arc::clone(&r));
        c.fetch_add(1, Ordering::SeqCst);
        async move {
            s.notify_one();
            r.notified().await;
            Ok::<_, String>(())
        }
    });
    let served = Arc::new(Served::start(receiver).await?);
    let event = body("BATCH_COMPLETED", 1);
    let first = {
        let (served, event) = (Arc::clone(&served), event.clone());
        tokio::spawn(async move { served.post_signed(&event, "key-1").await })
    };
    started.notified().await;
    let (status, _) = served.post_signed(&event, "key-1").await?;
    assert_eq!(status, 503, "the sender is asked to retry later");
    release.notify_one();
    assert_eq!(first.await??.0, 200);
    assert_eq!(served.post_signed(&event, "key-1").await?.0, 200);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    Ok(())
}

#[tokio::test]
async fn unknown_types_are_acknowledged_and_bad_bodies_refused() -> TestResult {
    let (receiver, seen) = recording();
    let served = Served::start(receiver).await?;
    let (status, _) = served.post_signed(&body("INVOICE_PAID", 1), "k-1").await?;
    assert_eq!(status, 200);
    let deliveries = seen.lock().map_err(|e| e.to_string())?.clone();
    assert!(matches!(
        &deliveries[..],
        [Delivery { event: Event::Unknown { event_type, .. }, .. }] if event_type == "INVOICE_PAID"
    ));
    // Authentic but not an event: 400, not handled, not remembered.
    assert_eq!(served.post_signed("{\"type\":", "k-2").await?.0, 400);
    assert_eq!(
        served
            .post_signed(
                &body("BATCH_COMPLETED", 1).replace("SUCCESS", "\\u0000"),
                "k-3"
            )
            .await?
            .0,
        200,
        "an odd status value is open, not refused"
    );
    let bad_batch = body("BATCH_COMPLETED", 1).replace("db6a7ff4-3a20", "nope");
    assert_eq!(served.post_signed(&bad_batch, "k-4").await?.0, 400);
    assert_eq!(count(&seen), 2);
    Ok(())
}

#[tokio::test]
async fn other_methods_and_oversized_bodies_are_refused() -> TestResult {
    let receiver = builder()
        .max_body_bytes(64)
        .dedupe_store(MemoryDedupeStore::new(
            10,
            std::time::Duration::from_secs(60),
        ))
        .handler(|_delivery: Delivery| async { Ok::<_, String>(()) });
    let served = Served::start(receiver).await?;
    let response = served.http.get(&served.url).send().await?;
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(
        response
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok()),
        Some("POST")
    );
    assert_eq!(
        served
            .post_signed(&body("BATCH_COMPLETED", 1), "k")
            .await?
            .0,
        413
    );
    Ok(())
}

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
        "event_id=897e1f80-ceb5-4b58-a2aa-c895aff6ce3e",
    ] {
        assert!(handled.contains(field), "{field} not in {handled}");
    }
    assert!(
        logs.contains("refused: the signature does not hold"),
        "{logs}"
    );
    assert!(!logs.contains(SECRET), "the secret was logged");
    assert!(!logs.contains(&forged), "a signature was logged");
    Ok(())
}

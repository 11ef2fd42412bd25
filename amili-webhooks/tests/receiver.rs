//! The receiver over loopback HTTP: 401 before anything else, repeats dropped, 2xx only
//! after the handler succeeded, a failed or panicked handling retried, unknown types
//! acknowledged.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

mod loopback;

use amili_webhooks::{Delivery, Event, HmacSha256Verifier, MemoryDedupeStore};
use loopback::{SECRET, Served, TestResult, body, builder, count, recording};
use tokio::sync::Notify;

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

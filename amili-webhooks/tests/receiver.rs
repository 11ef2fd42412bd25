//! The receiver over loopback HTTP: 401 before anything else, repeats dropped (by the signed
//! event id), old events refused, 2xx only after the handler succeeded, a failed or panicked
//! handling retried, unknown types acknowledged.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

mod loopback;

use amili_webhooks::{
    Delivery, Event, HmacSha256Verifier, MAX_IDEMPOTENCY_KEY_BYTES, MemoryDedupeStore,
    StandardWebhooksVerifier, Utc,
};
use loopback::{
    SECRET, Served, TestResult, body, body_at, builder, count, recording, recording_by,
};
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
    // Another event is handled.
    assert_eq!(
        served
            .post_signed(&body("BATCH_COMPLETED", 2), "key-2")
            .await?
            .0,
        200
    );
    assert_eq!(count(&seen), 2);
    let deliveries = seen.lock().map_err(|e| e.to_string())?.clone();
    assert_eq!(deliveries[0].idempotency_key.as_deref(), Some("key-1"));
    assert_eq!(deliveries[0].request_id.as_deref(), Some("req-1"));
    Ok(())
}

#[tokio::test]
async fn a_captured_delivery_replayed_under_fresh_keys_is_a_repeat() -> TestResult {
    let (receiver, seen) = recording();
    let served = Served::start(receiver).await?;
    let event = body("BATCH_COMPLETED", 1);
    assert_eq!(served.post_signed(&event, "key-1").await?.0, 200);
    // The key is not signed: anyone holding the signed body can make up new ones.
    for replay in 0..20 {
        let (status, text) = served
            .post_signed(&event, &format!("fresh-{replay}"))
            .await?;
        assert_eq!(status, 200);
        assert!(text.contains("duplicate"), "{text}");
    }
    // The same event signed again (another body: a retry with another time stamp) too.
    let again = body("BATCH_COMPLETED", 1);
    let signature = HmacSha256Verifier::new(SECRET).sign(again.as_bytes());
    assert_eq!(
        served.post(&again, Some(signature), None).await?.1,
        r#"{"status":"duplicate"}"#
    );
    assert_eq!(count(&seen), 1);
    Ok(())
}

#[tokio::test]
async fn events_outside_the_replay_window_are_refused() -> TestResult {
    let (receiver, seen) = recording_by(builder().replay_window(Duration::from_secs(3600)));
    let served = Served::start(receiver).await?;
    let now = Utc::now();
    let old = body_at("BATCH_COMPLETED", 1, now - chrono::Duration::hours(2));
    let (status, text) = served.post_signed(&old, "k-1").await?;
    assert_eq!(status, 400);
    assert!(text.contains("replay window"), "{text}");
    let ahead = body_at("BATCH_COMPLETED", 2, now + chrono::Duration::hours(1));
    assert_eq!(served.post_signed(&ahead, "k-2").await?.0, 400);
    // An unknown type with a time stamp is held to it too.
    let unknown = body_at("INVOICE_PAID", 3, now - chrono::Duration::hours(2));
    assert_eq!(served.post_signed(&unknown, "k-3").await?.0, 400);
    assert_eq!(count(&seen), 0);
    let recent = body_at("BATCH_COMPLETED", 1, now - chrono::Duration::minutes(50));
    assert_eq!(served.post_signed(&recent, "k-4").await?.0, 200);
    assert_eq!(count(&seen), 1);
    Ok(())
}

#[tokio::test]
async fn the_default_window_refuses_an_event_from_last_week() -> TestResult {
    let (receiver, seen) = recording();
    let served = Served::start(receiver).await?;
    let last_week = body_at("BATCH_COMPLETED", 1, Utc::now() - chrono::Duration::days(7));
    assert_eq!(served.post_signed(&last_week, "k").await?.0, 400);
    assert_eq!(count(&seen), 0);
    Ok(())
}

#[tokio::test]
async fn a_key_past_the_limit_is_ignored_and_a_huge_one_refused() -> TestResult {
    let (receiver, seen) = recording();
    let served = Served::start(receiver).await?;
    let long = "k".repeat(MAX_IDEMPOTENCY_KEY_BYTES + 1);
    assert_eq!(
        served
            .post_signed(&body("BATCH_COMPLETED", 1), &long)
            .await?
            .0,
        200
    );
    let longest = "k".repeat(MAX_IDEMPOTENCY_KEY_BYTES);
    assert_eq!(
        served
            .post_signed(&body("BATCH_COMPLETED", 2), &longest)
            .await?
            .0,
        200
    );
    let deliveries = seen.lock().map_err(|e| e.to_string())?.clone();
    assert_eq!(
        deliveries[0].idempotency_key, None,
        "ignored, not passed on"
    );
    assert_eq!(
        deliveries[1].idempotency_key.as_deref(),
        Some(longest.as_str())
    );
    // A head past the server's limit is not read at all.
    let huge = "k".repeat(200 * 1024);
    assert_eq!(
        served
            .post_signed(&body("BATCH_COMPLETED", 3), &huge)
            .await?
            .0,
        431
    );
    assert_eq!(count(&seen), 2);
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
                &body("BATCH_COMPLETED", 3).replace("SUCCESS", "\\u0000"),
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

#[tokio::test]
async fn standard_webhooks_repeats_are_recognised_by_the_signed_message_id() -> TestResult {
    let verifier = StandardWebhooksVerifier::from_bytes(*b"standard-secret");
    let sender = StandardWebhooksVerifier::from_bytes(*b"standard-secret");
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let receiver = amili_webhooks::Receiver::builder(verifier).handler(move |_d: Delivery| {
        counter.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, String>(()) }
    });
    let served = Served::start(receiver).await?;
    let now = u64::try_from(Utc::now().timestamp())?;
    let post = |id: &'static str, at: u64, event: String| {
        let signature = sender.sign(id, at, event.as_bytes());
        served
            .http
            .post(&served.url)
            .header("webhook-id", id)
            .header("webhook-timestamp", at.to_string())
            .header("webhook-signature", signature)
            .body(event)
            .send()
    };
    assert_eq!(
        post("msg_1", now, body("BATCH_COMPLETED", 1))
            .await?
            .status(),
        200
    );
    // Another body (another event id even) under the same signed message id: a repeat.
    let again = post("msg_1", now, body("BATCH_COMPLETED", 2)).await?;
    assert_eq!(again.text().await?, r#"{"status":"duplicate"}"#);
    // Signed long ago: refused before the store is asked.
    let stale = post("msg_2", now - 3600, body("BATCH_COMPLETED", 3)).await?;
    assert_eq!(stale.status().as_u16(), 401);
    assert_eq!(
        post("msg_3", now, body("BATCH_COMPLETED", 3))
            .await?
            .status(),
        200
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    Ok(())
}

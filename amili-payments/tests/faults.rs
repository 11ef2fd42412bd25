//! Faults: throttling, unavailability, dropped connections, lost answers, gateway errors —
//! every payment, and every correction (the write tests run for both kinds through the one
//! pipeline: `payments::…` and `corrections::…`), booked exactly once, the same idempotency key and the same body bytes on every
//! attempt, "unknown" (never "rejected") once a request may have been processed.

mod common;

use std::time::Duration;

use amili_payments::report::{Outcome, RequestResult};
use amili_payments::{Backoff, Environment, Error, IdempotencyKey, RetryPolicy};
use amili_sandbox::{Fault, Route, Sandbox};
use common::*;

/// Items `range` booked once each, all under `key`.
fn assert_booked_once_with<T: Kind>(
    sandbox: &Sandbox,
    range: std::ops::Range<usize>,
    key: &IdempotencyKey,
) {
    let booked = T::booked(sandbox);
    for n in range {
        let label = T::label(n);
        let times = booked.iter().filter(|(l, _)| *l == label).count();
        assert_eq!(times, 1, "{label}");
    }
    assert!(
        booked
            .iter()
            .all(|(_, k)| k.as_deref() == Some(key.as_str())),
        "every booked item carries the request's key"
    );
}

fn key_of(report: &amili_payments::report::SubmitReport) -> IdempotencyKey {
    only_request(report)
        .idempotency_key
        .clone()
        .unwrap_or_else(|| panic!("no key: {report:?}"))
}

/// Every attempt carried the same key and the very same body bytes.
fn assert_same_key_and_bytes<T: Kind>(proxy: &TestServer, key: &IdempotencyKey, attempts: usize) {
    let posts = proxy.posts_to(T::PATH);
    assert_eq!(posts.len(), attempts, "attempts");
    for post in &posts {
        assert_eq!(post.idempotency_key.as_deref(), Some(key.as_str()));
        assert_eq!(post.body, posts[0].body, "a retry changed the body");
    }
    assert!(!posts[0].body.is_empty());
}

async fn a_429_with_retry_after_is_honoured_and_retried_with_the_same_key<T: Kind>() -> TestResult {
    let sandbox = sandbox().await;
    let (client, proxy) = proxied(&sandbox).await;
    sandbox.faults().push(
        T::ROUTE,
        Fault::Status {
            status: 429,
            retry_after: Some(Duration::from_secs(1)),
        },
    );
    let (logs, guard) = capture_logs();
    let mut report = client.submit(T::items(0..2)).send().await?;
    drop(guard);
    report.ensure_accepted()?;
    let key = key_of(&report);
    assert_same_key_and_bytes::<T>(&proxy, &key, 2);
    // The server asked for 1 s; the policy caps Retry-After at 50 ms (backoff alone: 1 ms).
    let text = logs.text();
    assert!(text.contains("delay=50ms"), "{text}");

    quick_poller(&client).follow_all(&mut report).await?;
    assert!(report.all_succeeded(), "{report:?}");
    assert_booked_once_with::<T>(&sandbox, 0..2, &key);
    assert_eq!(sandbox.batch_count(), 1);
    Ok(())
}

async fn retries_resend_the_same_key_and_the_same_body_bytes<T: Kind>() -> TestResult {
    let sandbox = sandbox().await;
    let (listener, _) = bind().await;
    let proxy = recording_proxy(listener, origin_of(&sandbox));
    let client = builder_for(&sandbox)
        .environment(through(&proxy))
        .retry_policy(fast_retries().with_max_attempts(7))
        .build()?;
    // Throttled (not taken), then gateway errors (maybe processed: looked up by key, not
    // found, resent with the same key).
    sandbox.faults().push_n(T::ROUTE, status(503), 2);
    sandbox.faults().push(T::ROUTE, status(429));
    sandbox
        .faults()
        .push(T::ROUTE, Fault::HtmlError { status: 502 });
    sandbox.faults().push(T::ROUTE, status(500));
    let report = client.submit(T::items(0..3)).send().await?;
    report.ensure_accepted()?;
    let key = key_of(&report);
    assert_same_key_and_bytes::<T>(&proxy, &key, 6);
    // Two ambiguous answers: two look-ups by key, each for this key.
    let lookups: Vec<_> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/batches"))
        .collect();
    assert_eq!(lookups.len(), 2);
    assert!(
        lookups
            .iter()
            .all(|r| r.query.as_deref().is_some_and(|q| q.contains(key.as_str())))
    );
    // The bytes sent are the items' JSON, money as exact numbers.
    let body: serde_json::Value = serde_json::from_slice(&proxy.posts_to(T::PATH)[0].body)?;
    let items = body[T::FIELD].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 3);
    assert!(
        items
            .iter()
            .any(|i| serde_json::to_string(&i["amount"]).ok() == Some(T::amount_text(1))),
        "{body}"
    );
    sandbox.finish_batches();
    assert_booked_once_with::<T>(&sandbox, 0..3, &key);
    assert_eq!(sandbox.batch_count(), 1);
    Ok(())
}

async fn when_503s_outlast_the_policy_the_payments_are_rejected_and_nothing_is_booked<T: Kind>()
-> TestResult {
    for (code, refusal) in [(503, status(503)), (429, status(429))] {
        let (sandbox, client) = sandbox_and_client().await;
        sandbox.faults().push_n(T::ROUTE, refusal, 5);
        let report = client.submit(T::items(0..2)).send().await?;
        let request = only_request(&report);
        match &request.result {
            RequestResult::Rejected(err) => {
                assert_eq!(err.status(), Some(code), "{err}");
                assert!(err.is_retryable());
                assert!(err.request_id().is_some());
            }
            other => panic!("{code}: expected rejected, got {other:?}"),
        }
        for item in report.items() {
            match &item.outcome {
                Outcome::Rejected(reason) => {
                    assert!(reason.as_str().contains(&code.to_string()), "{reason}")
                }
                other => panic!("{code}: expected rejected, got {other:?}"),
            }
            assert!(item.outcome.is_safe_to_resend());
        }
        assert!(report.ensure_accepted().is_err());
        let stats = sandbox.stats();
        assert_eq!(T::requests(&stats), 5, "{code}: max_attempts");
        assert_eq!(stats.batch_lists, 0, "{code}: a refusal needs no look-up");
        assert!(T::booked(&sandbox).is_empty());
    }
    Ok(())
}

async fn a_refused_connection_is_retried_with_the_same_key<T: Kind>() -> TestResult {
    let sandbox = sandbox().await;
    // The proxy's port is known but nothing listens yet: connections are refused.
    let (listener, addr) = bind().await;
    drop(listener);
    let client = builder_for(&sandbox)
        .environment(Environment::custom(
            format!("http://{addr}/collection/v1"),
            format!("http://{addr}/token"),
        ))
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(100)
                .with_backoff(ms(5), ms(10))
                .without_jitter(),
        )
        .build()?;
    let upstream = origin_of(&sandbox);
    let late_proxy = tokio::spawn(async move {
        tokio::time::sleep(ms(60)).await;
        let listener = tokio::net::TcpListener::bind(addr).await?;
        Ok::<_, std::io::Error>(recording_proxy(listener, upstream))
    });
    let mut report = client.submit(T::items(0..2)).send().await?;
    let proxy = late_proxy.await??;
    report.ensure_accepted()?;
    let key = key_of(&report);
    assert_eq!(proxy.keys_to(T::PATH), [Some(key.to_string())]);
    quick_poller(&client).follow_all(&mut report).await?;
    assert_booked_once_with::<T>(&sandbox, 0..2, &key);
    Ok(())
}

async fn a_request_dropped_before_processing_is_checked_then_resent_with_the_same_key<T: Kind>()
-> TestResult {
    let sandbox = sandbox().await;
    // The sandbox reads the request and hangs up: from the client's side it was sent and
    // got no answer, so the batch is looked up by key (not found) before the resend.
    sandbox.faults().push(T::ROUTE, Fault::DropBeforeProcessing);
    let client = client_for(&sandbox);
    let mut report = client.submit(T::items(0..2)).send().await?;
    assert!(
        matches!(
            only_request(&report).result,
            RequestResult::Accepted {
                recovered: false,
                ..
            }
        ),
        "{report:?}"
    );
    let stats = sandbox.stats();
    assert_eq!(T::requests(&stats), 2);
    assert_eq!(stats.batch_lists, 1, "looked up by key before resending");
    quick_poller(&client).follow_all(&mut report).await?;
    assert_booked_once_with::<T>(&sandbox, 0..2, &key_of(&report));
    assert_eq!(sandbox.batch_count(), 1);
    Ok(())
}

async fn an_answer_lost_after_processing_is_found_by_key_and_not_resent<T: Kind>() -> TestResult {
    for fault in [Fault::DropAfterProcessing, Fault::TruncatedBody] {
        let (sandbox, client) = sandbox_and_client().await;
        sandbox.faults().push(T::ROUTE, fault.clone());
        let mut report = client.submit(T::items(0..3)).send().await?;
        assert!(report.all_accepted(), "{fault:?}: {report:?}");
        assert!(
            matches!(
                only_request(&report).result,
                RequestResult::Accepted {
                    recovered: true,
                    ..
                }
            ),
            "{fault:?}: {report:?}"
        );
        assert_eq!(T::requests(&sandbox.stats()), 1, "{fault:?}: not resent");
        assert_eq!(sandbox.batch_count(), 1);
        quick_poller(&client).follow_all(&mut report).await?;
        assert!(report.all_succeeded(), "{fault:?}: {report:?}");
        assert_booked_once_with::<T>(&sandbox, 0..3, &key_of(&report));
    }
    Ok(())
}

async fn a_gateway_error_after_processing_is_found_by_key_accepted_and_not_resent<T: Kind>()
-> TestResult {
    for code in [500, 502, 504] {
        let sandbox = sandbox().await;
        let (listener, _) = bind().await;
        // The request reaches the sandbox and is booked; the client gets a gateway's page.
        let gateway = gateway_after_processing(listener, origin_of(&sandbox), &[code]);
        let client = builder_for(&sandbox)
            .environment(through(&gateway))
            .build()?;
        let mut report = client.submit(T::items(0..3)).send().await?;
        let request = only_request(&report);
        assert!(
            matches!(
                request.result,
                RequestResult::Accepted {
                    recovered: true,
                    ..
                }
            ),
            "{code}: {report:?}"
        );
        assert!(
            report
                .items()
                .all(|i| i.outcome == Outcome::Accepted && i.batch_id == request.batch_id()),
            "{code}: {report:?}"
        );
        let stats = sandbox.stats();
        assert_eq!(T::requests(&stats), 1, "{code}: not resent");
        assert_eq!(stats.batch_lists, 1, "{code}: looked up by key");
        assert_eq!(
            gateway.posts_to(T::PATH)[0].idempotency_key.as_deref(),
            Some(key_of(&report).as_str())
        );
        quick_poller(&client).follow_all(&mut report).await?;
        assert!(report.all_succeeded(), "{code}: {report:?}");
        assert_booked_once_with::<T>(&sandbox, 0..3, &key_of(&report));
    }
    Ok(())
}

async fn gateway_errors_until_the_last_attempt_are_unknown_never_rejected<T: Kind>() -> TestResult {
    for fault in [
        status(500),
        status(502),
        status(504),
        Fault::HtmlError { status: 502 },
        Fault::HtmlError { status: 504 },
    ] {
        let (sandbox, client) = sandbox_and_client().await;
        sandbox.faults().push_n(T::ROUTE, fault.clone(), 5);
        let report = client.submit(T::items(0..2)).send().await?;
        let request = only_request(&report);
        match &request.result {
            RequestResult::Unknown(err) => {
                assert!(err.is_outcome_unknown(), "{fault:?}: {err}");
                let text = err.to_string();
                assert!(text.contains("no retry was left"), "{fault:?}: {text}");
                assert!(text.contains("same key"), "{fault:?}: {text}");
            }
            other => panic!("{fault:?}: expected unknown, got {other:?}"),
        }
        for item in report.items() {
            assert!(
                matches!(item.outcome, Outcome::Unknown(_)),
                "{fault:?}: {item:?}"
            );
            assert!(!item.outcome.is_safe_to_resend());
        }
        let stats = sandbox.stats();
        assert_eq!(T::requests(&stats), 5, "{fault:?}: every attempt used");
        assert_eq!(
            stats.batch_lists, 5,
            "{fault:?}: looked up by key after every attempt"
        );
        // It was in fact never booked, and resending with the same key is safe.
        assert!(T::booked(&sandbox).is_empty());
        let key = request
            .idempotency_key
            .clone()
            .unwrap_or_else(|| panic!("no key"));
        let again = client
            .submit(T::items(0..2))
            .with_idempotency_key(key.clone())
            .send()
            .await?;
        again.ensure_accepted()?;
        sandbox.finish_batches();
        assert_booked_once_with::<T>(&sandbox, 0..2, &key);
    }
    Ok(())
}

async fn when_the_lookup_fails_too_the_outcome_is_unknown<T: Kind>() -> TestResult {
    let (sandbox, client) = sandbox_and_client().await;
    sandbox.faults().push(T::ROUTE, Fault::DropAfterProcessing);
    sandbox.faults().push_n(Route::ListBatches, status(503), 5);
    let sent = T::items(0..2);
    let report = client.submit(sent.clone()).send().await?;
    let request = only_request(&report);
    assert!(
        matches!(request.result, RequestResult::Unknown(_)),
        "{report:?}"
    );
    for item in report.items() {
        match &item.outcome {
            Outcome::Unknown(reason) => {
                assert!(reason.as_str().contains("looking the batch up"), "{reason}");
                assert!(reason.as_str().contains("same key"), "{reason}");
            }
            other => panic!("expected unknown, got {other:?}"),
        }
    }
    assert_eq!(T::requests(&sandbox.stats()), 1, "never resent blindly");
    assert_eq!(report.counts().unknown, 2);
    let err = report.ensure_accepted().err();
    assert!(matches!(err, Some(Error::NotAccepted { .. })), "{err:?}");

    // It was in fact booked, once: resending with the same key is safe and returns it.
    let key = request
        .idempotency_key
        .clone()
        .unwrap_or_else(|| panic!("no key"));
    let mut again = client
        .submit(sent)
        .with_idempotency_key(key.clone())
        .send()
        .await?;
    assert!(
        matches!(
            only_request(&again).result,
            RequestResult::Accepted {
                recovered: false,
                ..
            }
        ),
        "the server answered the replay with the original batch: {again:?}"
    );
    quick_poller(&client).follow_all(&mut again).await?;
    assert_eq!(sandbox.batch_count(), 1);
    assert_booked_once_with::<T>(&sandbox, 0..2, &key);
    Ok(())
}

async fn without_the_idempotency_header_a_lost_answer_is_unknown<T: Kind>() -> TestResult {
    let sandbox = sandbox().await;
    let client = builder_for(&sandbox).send_idempotency_key(false).build()?;
    sandbox.faults().push(T::ROUTE, Fault::DropAfterProcessing);
    let report = client.submit(T::items(0..1)).send().await?;
    match &only_request(&report).result {
        RequestResult::Unknown(err) => {
            assert!(err.is_outcome_unknown(), "{err}");
            assert!(
                err.to_string().contains("without an idempotency key"),
                "{err}"
            );
        }
        other => panic!("expected unknown, got {other:?}"),
    }
    assert_eq!(sandbox.stats().batch_lists, 0);
    assert_eq!(T::requests(&sandbox.stats()), 1);

    // A gateway's 502 may hide a processed request: also unknown, not retried.
    sandbox
        .faults()
        .push(T::ROUTE, Fault::HtmlError { status: 502 });
    let report = client.submit(T::items(1..2)).send().await?;
    assert!(
        matches!(only_request(&report).result, RequestResult::Unknown(_)),
        "{report:?}"
    );
    assert_eq!(T::requests(&sandbox.stats()), 2);
    // A 503 is the server refusing: safe to retry even without a key.
    sandbox.faults().push(T::ROUTE, status(503));
    client
        .submit(T::items(2..3))
        .send()
        .await?
        .ensure_accepted()?;
    assert_eq!(T::requests(&sandbox.stats()), 4);
    sandbox.finish_batches();
    assert!(T::booked(&sandbox).iter().all(|(_, key)| key.is_none()));
    Ok(())
}

async fn a_timeout_is_checked_by_key_and_the_resend_books_nothing_twice<T: Kind>() -> TestResult {
    let sandbox = sandbox().await;
    let client = builder_for(&sandbox).timeout(ms(150)).build()?;
    client.check_token().await?;
    sandbox.faults().push(T::ROUTE, Fault::Delay(ms(400)));
    let report = client.submit(T::items(0..2)).send().await?;
    report.ensure_accepted()?;
    assert!(sandbox.stats().batch_lists >= 1, "looked up by key");
    // Let the first (slow) request finish: it carries the same key and body, so the sandbox
    // answers it with the same batch.
    tokio::time::sleep(ms(400)).await;
    sandbox.finish_batches();
    assert_eq!(sandbox.batch_count(), 1);
    assert_booked_once_with::<T>(&sandbox, 0..2, &key_of(&report));
    Ok(())
}

async fn an_html_error_keeps_status_body_and_request_id<T: Kind>() -> TestResult {
    let (sandbox, client) = sandbox_and_client().await;
    sandbox
        .faults()
        .push(T::ROUTE, Fault::HtmlError { status: 400 });
    let report = client.submit(T::items(0..1)).send().await?;
    let err = match &only_request(&report).result {
        RequestResult::Rejected(err) => err.clone(),
        other => panic!("expected rejected, got {other:?}"),
    };
    let api = err.as_api().unwrap_or_else(|| panic!("{err}"));
    assert_eq!(api.status(), 400);
    assert!(
        api.content_type()
            .is_some_and(|c| c.starts_with("text/html"))
    );
    assert!(api.body_text().is_some_and(|b| b.contains("<html")));
    assert_eq!(api.message(), None);
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "{}: Amili answered 400 Bad Request",
            T::OPERATION_NAME
        )),
        "{text}"
    );
    assert!(text.contains("request id"), "{text}");
    // progenitor's own error text never reaches users, in the error or the item's reason.
    let reason = report
        .items()
        .next()
        .and_then(|i| i.outcome.reason())
        .map(ToString::to_string)
        .unwrap_or_default();
    for raw in [
        "Error Response",
        "ErrorResponse",
        ":: ",
        "ByteStream",
        "Communication Error",
    ] {
        assert!(!text.contains(raw), "{text}");
        assert!(!reason.contains(raw), "{reason}");
    }
    assert_eq!(T::requests(&sandbox.stats()), 1, "a 400 is not retried");
    Ok(())
}

#[tokio::test]
async fn reads_and_the_token_endpoint_retry_their_faults() -> TestResult {
    let (sandbox, client) = sandbox_and_client().await;
    sandbox.faults().push(Route::Token, status(503));
    sandbox
        .faults()
        .push(Route::Token, Fault::DropBeforeProcessing);
    let report = client.submit(payments(0..1)).send().await?;
    report.ensure_accepted()?;
    assert_eq!(sandbox.stats().token_requests, 3);
    let batch_id = report.batch_ids()[0];

    sandbox
        .faults()
        .push(Route::GetBatch, Fault::DropBeforeProcessing);
    sandbox.faults().push(Route::GetBatch, Fault::TruncatedBody);
    sandbox
        .faults()
        .push(Route::GetBatch, Fault::HtmlError { status: 504 });
    sandbox.faults().push(Route::GetBatch, status(500));
    let poller = quick_poller(&client);
    let batch = poller.until_done(batch_id).await?;
    assert!(batch.is_terminal());

    // A read failing for good ends the wait with the error, not a timeout.
    sandbox.faults().push(Route::GetBatch, status(404));
    let err = poller.until_done(batch_id).await.err();
    assert_eq!(err.as_ref().and_then(Error::status), Some(404), "{err:?}");
    Ok(())
}

#[tokio::test]
async fn a_batch_that_stays_queued_ends_the_wait_with_a_timeout() -> TestResult {
    let sandbox = match Sandbox::builder().batch_delay(Duration::MAX).start().await {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let client = client_for(&sandbox);
    let mut report = client.submit(payments(0..2)).send().await?;
    let poller = client
        .poller()
        .with_timeout(ms(100))
        .with_backoff(Backoff::new(ms(10), ms(20)));
    let err = poller.follow_all(&mut report).await.err();
    assert!(err.as_ref().is_some_and(Error::is_timeout), "{err:?}");
    assert!(err.is_some_and(|e| e.to_string().contains("still QUEUED")));
    assert_eq!(report.counts().accepted, 2, "left accepted, not guessed");

    sandbox.finish_batches();
    poller.follow_all(&mut report).await?;
    assert!(report.all_succeeded());
    Ok(())
}

// Every write test above, for each kind the pipeline sends.
macro_rules! for_each_kind {
    ($($name:ident),* $(,)?) => {
        mod payments {
            use super::*;
            $(#[tokio::test]
            async fn $name() -> TestResult {
                super::$name::<amili_payments::Payment>().await
            })*
        }
        mod corrections {
            use super::*;
            $(#[tokio::test]
            async fn $name() -> TestResult {
                super::$name::<amili_payments::Correction>().await
            })*
        }
    };
}

for_each_kind!(
    a_429_with_retry_after_is_honoured_and_retried_with_the_same_key,
    retries_resend_the_same_key_and_the_same_body_bytes,
    when_503s_outlast_the_policy_the_payments_are_rejected_and_nothing_is_booked,
    a_refused_connection_is_retried_with_the_same_key,
    a_request_dropped_before_processing_is_checked_then_resent_with_the_same_key,
    an_answer_lost_after_processing_is_found_by_key_and_not_resent,
    a_gateway_error_after_processing_is_found_by_key_accepted_and_not_resent,
    gateway_errors_until_the_last_attempt_are_unknown_never_rejected,
    when_the_lookup_fails_too_the_outcome_is_unknown,
    without_the_idempotency_header_a_lost_answer_is_unknown,
    a_timeout_is_checked_by_key_and_the_resend_books_nothing_twice,
    an_html_error_keeps_status_body_and_request_id,
);

/// A batch answer that cannot be read (here an item's number out of `f64`'s range) does not leave its
/// payments `Accepted`: they are `Unknown`, with a reason naming the batch.
#[tokio::test]
async fn an_unreadable_batch_answer_makes_its_payments_unknown() -> TestResult {
    let sandbox = sandbox().await;
    let (listener, _) = bind().await;
    let rewrite: Rewrite = std::sync::Arc::new(|seen: &Seen, got: &Upstream| {
        let batch_read = seen.method == "GET" && seen.path.contains("/batches/");
        batch_read.then(|| Upstream {
            status: got.status,
            headers: got.headers.clone(),
            body: bytes::Bytes::from(String::from_utf8_lossy(&got.body).replacen(
                r#""succeeded":[{"#,
                r#""succeeded":[{"amount":1e400,"#,
                1,
            )),
        })
    });
    let proxy = rewriting_proxy(listener, origin_of(&sandbox), rewrite);
    let client = builder_for(&sandbox).environment(through(&proxy)).build()?;
    let mut report = client.submit(payments(0..2)).send().await?;
    report.ensure_accepted()?;
    let batch_id = only_request(&report).batch_id().ok_or("no batch")?;
    let followed = quick_poller(&client).follow_all(&mut report).await;
    assert!(
        matches!(followed, Err(Error::InvalidResponse { .. })),
        "{followed:?}"
    );
    for item in report.items() {
        assert!(
            matches!(&item.outcome, Outcome::Unknown(reason)
                if reason.as_str().contains(&batch_id.to_string())),
            "{item:?}"
        );
    }
    Ok(())
}

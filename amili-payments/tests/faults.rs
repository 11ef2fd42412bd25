//! Faults: throttling, unavailability, dropped connections, lost answers — every payment booked
//! exactly once, the same idempotency key on every attempt, unknown outcomes reported.

mod common;

use std::time::Duration;

use amili_payments::{
    Client, Environment, Error, IdempotencyKey, OutcomeState, RetryPolicy, SubmitOptions,
    WaitOptions,
};
use amili_sandbox::{Fault, Route, Sandbox};
use common::*;

fn quick_wait() -> WaitOptions {
    WaitOptions::default()
        .with_timeout(Duration::from_secs(20))
        .with_interval(ms(5), ms(50))
}

/// A client talking to `sandbox` through a recording proxy.
async fn proxied(sandbox: &Sandbox) -> (Client, TestServer) {
    let (listener, _) = bind().await;
    let origin = sandbox.token_url().trim_end_matches("/token").to_owned();
    let proxy = recording_proxy(listener, origin);
    let client = builder_for(sandbox)
        .environment(Environment::custom(
            format!("{}/collection/v1", proxy.origin),
            format!("{}/token", proxy.origin),
        ))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    (client, proxy)
}

fn payment_keys(proxy: &TestServer) -> Vec<Option<String>> {
    proxy
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/payments"))
        .map(|r| r.idempotency_key)
        .collect()
}

fn assert_booked_once_with(sandbox: &Sandbox, ids: &[&str], key: &IdempotencyKey) {
    for id in ids {
        assert_eq!(sandbox.times_booked(id), 1, "{id}");
    }
    assert!(
        sandbox
            .ledger()
            .iter()
            .all(|b| b.idempotency_key.as_deref() == Some(key.as_str())),
        "every booked payment carries the request's key"
    );
}

#[tokio::test]
async fn a_429_with_retry_after_is_honoured_and_retried_with_the_same_key() -> TestResult {
    let sandbox = sandbox().await;
    let (client, proxy) = proxied(&sandbox).await;
    sandbox.faults().push(
        Route::CreatePayments,
        Fault::Status {
            status: 429,
            retry_after: Some(Duration::from_secs(1)),
        },
    );
    let (logs, guard) = capture_logs();
    let receipt = client.create(&payments(0..2)).await?;
    drop(guard);

    let keys = payment_keys(&proxy);
    assert_eq!(keys.len(), 2);
    assert!(
        keys.iter()
            .all(|k| k.as_deref() == Some(receipt.idempotency_key.as_str()))
    );
    // The server asked for 1 s; the policy caps Retry-After at 50 ms (backoff alone: 1 ms).
    let text = logs.text();
    assert!(text.contains("delay=50ms"), "{text}");

    client.wait(receipt.batch_id, quick_wait()).await?;
    assert_booked_once_with(
        &sandbox,
        &["P-000000", "P-000001"],
        &receipt.idempotency_key,
    );
    assert_eq!(sandbox.batch_count(), 1);
    Ok(())
}

#[tokio::test]
async fn repeated_503s_are_retried_with_the_same_key_until_accepted() -> TestResult {
    let sandbox = sandbox().await;
    let (client, proxy) = proxied(&sandbox).await;
    sandbox.faults().push_n(
        Route::CreatePayments,
        Fault::Status {
            status: 503,
            retry_after: None,
        },
        3,
    );
    sandbox
        .faults()
        .push(Route::CreatePayments, Fault::HtmlError { status: 502 });
    let receipt = client.create(&payments(0..3)).await?;
    let keys = payment_keys(&proxy);
    assert_eq!(keys.len(), 5);
    assert!(
        keys.iter()
            .all(|k| k.as_deref() == Some(receipt.idempotency_key.as_str()))
    );
    client.wait(receipt.batch_id, quick_wait()).await?;
    assert_booked_once_with(
        &sandbox,
        &["P-000000", "P-000001", "P-000002"],
        &receipt.idempotency_key,
    );
    Ok(())
}

#[tokio::test]
async fn when_503s_outlast_the_policy_nothing_is_booked_and_the_error_says_so() -> TestResult {
    let sandbox = sandbox().await;
    let client = client_for(&sandbox);
    sandbox.faults().push_n(
        Route::CreatePayments,
        Fault::Status {
            status: 503,
            retry_after: None,
        },
        5,
    );
    let err = client
        .create(&payments(0..1))
        .await
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    assert_eq!(err.status(), Some(503), "{err}");
    assert!(err.is_retryable());
    assert!(err.request_id().is_some());
    assert_eq!(sandbox.stats().payment_requests, 5, "max_attempts");
    assert!(sandbox.ledger().is_empty());
    Ok(())
}

#[tokio::test]
async fn a_refused_connection_is_retried_with_the_same_key() -> TestResult {
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
    let upstream = sandbox.token_url().trim_end_matches("/token").to_owned();
    let late_proxy = tokio::spawn(async move {
        tokio::time::sleep(ms(60)).await;
        let listener = tokio::net::TcpListener::bind(addr).await?;
        Ok::<_, std::io::Error>(recording_proxy(listener, upstream))
    });
    let receipt = client.create(&payments(0..2)).await?;
    let proxy = late_proxy.await??;

    let keys = payment_keys(&proxy);
    assert_eq!(keys, [Some(receipt.idempotency_key.to_string())]);
    client.wait(receipt.batch_id, quick_wait()).await?;
    assert_booked_once_with(
        &sandbox,
        &["P-000000", "P-000001"],
        &receipt.idempotency_key,
    );
    Ok(())
}

#[tokio::test]
async fn a_request_dropped_before_processing_is_checked_then_resent_with_the_same_key() -> TestResult
{
    let sandbox = sandbox().await;
    // The sandbox reads the request and hangs up: from the client's side it was sent and
    // got no answer, so the batch is looked up by key (not found) before the resend.
    sandbox
        .faults()
        .push(Route::CreatePayments, Fault::DropBeforeProcessing);
    let direct = client_for(&sandbox);
    let receipt = direct.create(&payments(0..2)).await?;
    assert!(!receipt.recovered);
    let stats = sandbox.stats();
    assert_eq!(stats.payment_requests, 2);
    assert_eq!(stats.batch_lists, 1, "looked up by key before resending");
    direct.wait(receipt.batch_id, quick_wait()).await?;
    assert_booked_once_with(
        &sandbox,
        &["P-000000", "P-000001"],
        &receipt.idempotency_key,
    );
    assert_eq!(sandbox.batch_count(), 1);
    Ok(())
}

#[tokio::test]
async fn an_answer_lost_after_processing_is_found_by_key_and_not_resent() -> TestResult {
    for fault in [Fault::DropAfterProcessing, Fault::TruncatedBody] {
        let sandbox = sandbox().await;
        let client = client_for(&sandbox);
        sandbox.faults().push(Route::CreatePayments, fault.clone());
        let mut report = client
            .submit(payments(0..3), SubmitOptions::default())
            .await?;
        assert!(report.all_accepted(), "{fault:?}: {report:?}");
        assert!(report.receipts[0].recovered, "{fault:?}");
        assert_eq!(sandbox.stats().payment_requests, 1, "{fault:?}: not resent");
        assert_eq!(sandbox.batch_count(), 1);
        client.follow(&mut report, quick_wait()).await?;
        assert!(report.all_succeeded(), "{fault:?}: {report:?}");
        assert_booked_once_with(
            &sandbox,
            &["P-000000", "P-000001", "P-000002"],
            &report.receipts[0].idempotency_key,
        );
    }
    Ok(())
}

#[tokio::test]
async fn when_the_lookup_fails_too_the_outcome_is_unknown() -> TestResult {
    let sandbox = sandbox().await;
    let client = client_for(&sandbox);
    sandbox
        .faults()
        .push(Route::CreatePayments, Fault::DropAfterProcessing);
    sandbox.faults().push_n(
        Route::ListBatches,
        Fault::Status {
            status: 503,
            retry_after: None,
        },
        5,
    );
    let sent = payments(0..2);
    let report = client
        .submit(sent.clone(), SubmitOptions::default())
        .await?;
    for outcome in &report.outcomes {
        match &outcome.state {
            OutcomeState::Unknown { reason } => {
                assert!(reason.contains("looking the batch up"), "{reason}");
                assert!(reason.contains("same key"), "{reason}");
            }
            other => panic!("expected unknown, got {other:?}"),
        }
        assert!(outcome.idempotency_key.is_some());
    }
    assert_eq!(sandbox.stats().payment_requests, 1, "never resent blindly");

    // It was in fact booked, once: resending with the same key is safe and returns it.
    let key = report.outcomes[0]
        .idempotency_key
        .clone()
        .unwrap_or_else(IdempotencyKey::random);
    let receipt = client.create_with_key(&sent, key).await?;
    assert!(
        !receipt.recovered,
        "the server answered the replay with the original batch"
    );
    client.wait(receipt.batch_id, quick_wait()).await?;
    assert_eq!(sandbox.batch_count(), 1);
    assert_booked_once_with(
        &sandbox,
        &["P-000000", "P-000001"],
        &receipt.idempotency_key,
    );
    Ok(())
}

#[tokio::test]
async fn without_the_idempotency_header_a_lost_answer_is_unknown() -> TestResult {
    let sandbox = sandbox().await;
    let client = builder_for(&sandbox).send_idempotency_key(false).build()?;
    sandbox
        .faults()
        .push(Route::CreatePayments, Fault::DropAfterProcessing);
    let err = client
        .create(&payments(0..1))
        .await
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    assert!(err.is_outcome_unknown(), "{err}");
    assert!(
        err.to_string().contains("without an idempotency key"),
        "{err}"
    );
    assert_eq!(sandbox.stats().batch_lists, 0);
    assert_eq!(sandbox.stats().payment_requests, 1);

    // A gateway's 502 may hide a processed request: also unknown, not retried.
    sandbox
        .faults()
        .push(Route::CreatePayments, Fault::HtmlError { status: 502 });
    let err = client
        .create(&payments(1..2))
        .await
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    assert!(err.is_outcome_unknown(), "{err}");
    // A 503 is the server refusing: safe to retry even without a key.
    sandbox.faults().push(
        Route::CreatePayments,
        Fault::Status {
            status: 503,
            retry_after: None,
        },
    );
    client.create(&payments(2..3)).await?;
    sandbox.finish_batches();
    assert!(sandbox.ledger().iter().all(|b| b.idempotency_key.is_none()));
    Ok(())
}

#[tokio::test]
async fn a_timeout_is_checked_by_key_and_the_resend_books_nothing_twice() -> TestResult {
    let sandbox = sandbox().await;
    let client = builder_for(&sandbox).timeout(ms(150)).build()?;
    client.check_token().await?;
    sandbox
        .faults()
        .push(Route::CreatePayments, Fault::Delay(ms(400)));
    let receipt = client.create(&payments(0..2)).await?;
    tokio::time::sleep(ms(400)).await;
    client.wait(receipt.batch_id, quick_wait()).await?;
    assert_eq!(sandbox.batch_count(), 1);
    assert_booked_once_with(
        &sandbox,
        &["P-000000", "P-000001"],
        &receipt.idempotency_key,
    );
    Ok(())
}

#[tokio::test]
async fn an_html_error_keeps_status_body_and_request_id() -> TestResult {
    let sandbox = sandbox().await;
    let client = client_for(&sandbox);
    sandbox
        .faults()
        .push(Route::CreatePayments, Fault::HtmlError { status: 500 });
    let err = client
        .create(&payments(0..1))
        .await
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    let api = err.as_api().unwrap_or_else(|| panic!("{err}"));
    assert_eq!(api.status(), 500);
    assert!(
        api.content_type()
            .is_some_and(|c| c.starts_with("text/html"))
    );
    assert!(api.body_text().is_some_and(|b| b.contains("<html")));
    assert_eq!(api.message(), None);
    let text = err.to_string();
    assert!(
        text.starts_with("create_payments: Amili answered 500 Internal Server Error"),
        "{text}"
    );
    assert!(text.contains("request id"), "{text}");
    // progenitor's own error text never reaches users.
    for raw in [
        "Error Response",
        "ErrorResponse",
        ":: ",
        "ByteStream",
        "Communication Error",
    ] {
        assert!(!text.contains(raw), "{text}");
    }
    assert_eq!(sandbox.stats().payment_requests, 1, "500 is not retried");
    Ok(())
}

#[tokio::test]
async fn reads_and_the_token_endpoint_retry_their_faults() -> TestResult {
    let sandbox = sandbox().await;
    let client = client_for(&sandbox);
    sandbox.faults().push(
        Route::Token,
        Fault::Status {
            status: 503,
            retry_after: None,
        },
    );
    sandbox
        .faults()
        .push(Route::Token, Fault::DropBeforeProcessing);
    let receipt = client.create(&payments(0..1)).await?;
    assert_eq!(sandbox.stats().token_requests, 3);

    sandbox
        .faults()
        .push(Route::GetBatch, Fault::DropBeforeProcessing);
    sandbox.faults().push(Route::GetBatch, Fault::TruncatedBody);
    sandbox
        .faults()
        .push(Route::GetBatch, Fault::HtmlError { status: 504 });
    let batch = client.wait(receipt.batch_id, quick_wait()).await?;
    assert!(batch.is_terminal());

    // A read failing for good ends the wait with the error, not a timeout.
    sandbox.faults().push(
        Route::GetBatch,
        Fault::Status {
            status: 404,
            retry_after: None,
        },
    );
    let err = client.wait(receipt.batch_id, quick_wait()).await.err();
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
    let mut report = client
        .submit(payments(0..2), SubmitOptions::default())
        .await?;
    let options = WaitOptions::default()
        .with_timeout(ms(100))
        .with_interval(ms(10), ms(20));
    let err = client.follow(&mut report, options.clone()).await.err();
    assert!(err.as_ref().is_some_and(Error::is_timeout), "{err:?}");
    assert!(err.is_some_and(|e| e.to_string().contains("still QUEUED")));
    assert_eq!(report.counts().accepted, 2, "left accepted, not guessed");

    sandbox.finish_batches();
    client.follow(&mut report, options).await?;
    assert!(report.all_succeeded());
    Ok(())
}

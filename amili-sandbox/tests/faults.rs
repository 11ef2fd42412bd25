//! Fault injection, observed from a client over real HTTP.

mod common;

use std::time::{Duration, Instant};

use amili_sandbox::{Fault, Route, Sandbox};
use common::{Api, DEADLINE, client, one, own_token_answer};
use serde_json::Value;

#[tokio::test]
async fn a_status_fault_answers_with_retry_after_and_processes_nothing() {
    let api = Api::default().await;
    api.fault(
        Route::CreatePayments,
        Fault::Status {
            status: 503,
            retry_after: Some(Duration::from_millis(1500)),
        },
    );
    api.fault(
        Route::CreatePayments,
        Fault::Status {
            status: 429,
            retry_after: None,
        },
    );
    let response = api.post_payments(&one("p1"), Some("k")).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "2");
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["summary"]["status"], "ERROR");
    let response = api.post_payments(&one("p1"), Some("k")).await;
    assert_eq!(response.status(), 429);
    assert!(!response.headers().contains_key("retry-after"));
    assert_eq!(api.sandbox.batch_count(), 0);
    // The queue is spent: the retry with the same key goes through.
    let (_, url) = api.accepted(&one("p1"), Some("k")).await;
    api.wait_terminal(&url).await;
    assert_eq!(api.sandbox.times_booked("p1"), 1);
    let stats = api.sandbox.stats();
    assert_eq!(stats.payment_requests, 3);
    assert_eq!(stats.faults_applied, 2);
}

#[tokio::test]
async fn a_token_fault_is_counted_as_a_token_request() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.faults().push(
        Route::Token,
        Fault::Status {
            status: 500,
            retry_after: None,
        },
    );
    let http = client();
    let failed = own_token_answer(&http, &sandbox).await;
    assert_eq!(failed.status(), 500);
    let ok = own_token_answer(&http, &sandbox).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(sandbox.stats().token_requests, 2);
}

/// Waits (bounded by `DEADLINE`) until the sandbox applied its first fault.
async fn wait_for_the_first_fault(api: &Api) {
    let started = Instant::now();
    while api.sandbox.faults().applied().is_empty() {
        assert!(
            started.elapsed() < DEADLINE,
            "the request never reached the sandbox"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_delay_fault_holds_the_answer_then_processes_normally() {
    let api = Api::default().await;
    // A delay far beyond the test's patience: once the request has reached the sandbox and
    // met the fault, its answer is still held, and the client gives up (the task is aborted).
    // Waiting for the fault rather than for a client timeout: on a loaded machine a short
    // timeout can expire before the request arrives.
    api.fault(Route::ListBatches, Fault::Delay(Duration::from_secs(60)));
    let request = api
        .http
        .get(api.batches_url())
        .header("Authorization", api.bearer());
    let impatient = tokio::spawn(request.send());
    wait_for_the_first_fault(&api).await;
    assert!(!impatient.is_finished(), "the delayed answer came early");
    impatient.abort();
    // A short delay, then the normal answer.
    api.fault(
        Route::CreatePayments,
        Fault::Delay(Duration::from_millis(50)),
    );
    let (_, url) = api.accepted(&one("p1"), None).await;
    assert_eq!(api.wait_terminal(&url).await["status"], "SUCCESS");
    assert_eq!(
        api.sandbox.faults().applied(),
        vec![
            (Route::ListBatches, Fault::Delay(Duration::from_secs(60))),
            (
                Route::CreatePayments,
                Fault::Delay(Duration::from_millis(50))
            ),
        ]
    );
}

#[tokio::test]
async fn drop_before_processing_closes_without_answer_and_books_nothing() {
    let api = Api::immediate().await;
    api.fault(Route::CreatePayments, Fault::DropBeforeProcessing);
    let result = api.try_post_payments(&one("p1"), Some("key-1")).await;
    assert!(result.is_err(), "expected a connection error");
    assert_eq!(
        api.sandbox.stats().payment_requests,
        1,
        "the client did not resend"
    );
    assert_eq!(api.sandbox.batch_count(), 0);
    assert!(api.sandbox.ledger().is_empty());
    let (_, listed) = api
        .get_json(&format!("{}?IdempotencyKey=key-1", api.batches_url()))
        .await;
    assert_eq!(listed["data"], serde_json::json!([]));
}

#[tokio::test]
async fn drop_after_processing_closes_without_answer_but_books() {
    let api = Api::immediate().await;
    api.fault(Route::CreatePayments, Fault::DropAfterProcessing);
    let result = api.try_post_payments(&one("p1"), Some("key-1")).await;
    assert!(result.is_err(), "expected a connection error");
    assert_eq!(api.sandbox.batch_count(), 1);
    assert_eq!(api.sandbox.times_booked("p1"), 1);
    assert_eq!(
        api.sandbox.ledger()[0].idempotency_key.as_deref(),
        Some("key-1")
    );
    // The client can find the batch by its idempotency key, and a resend books nothing new.
    let (_, listed) = api
        .get_json(&format!("{}?IdempotencyKey=key-1", api.batches_url()))
        .await;
    let found = listed["data"][0]["batchId"].as_str().unwrap().to_owned();
    let (again, _) = api.accepted(&one("p1"), Some("key-1")).await;
    assert_eq!(again, found);
    assert_eq!(api.sandbox.times_booked("p1"), 1);
}

#[tokio::test]
async fn a_dropped_batch_read_is_a_connection_error() {
    let api = Api::default().await;
    let (_, url) = api.accepted(&one("p1"), None).await;
    api.fault(Route::GetBatch, Fault::DropBeforeProcessing);
    let result = api
        .http
        .get(&url)
        .header("Authorization", api.bearer())
        .send()
        .await;
    assert!(result.is_err());
    assert_eq!(api.get(&url).await.status(), 200);
}

#[tokio::test]
async fn an_html_error_has_a_text_html_body() {
    let api = Api::default().await;
    api.fault(Route::GetBatch, Fault::HtmlError { status: 502 });
    let url = format!("{}/{}", api.batches_url(), uuid::Uuid::new_v4());
    let response = api.get(&url).await;
    assert_eq!(response.status(), 502);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let text = response.text().await.unwrap();
    assert!(text.contains("<html>") && text.contains("502 Bad Gateway"));
    assert!(serde_json::from_str::<Value>(&text).is_err());
}

#[tokio::test]
async fn a_truncated_body_fails_while_reading() {
    let api = Api::immediate().await;
    api.fault(Route::CreatePayments, Fault::TruncatedBody);
    let response = api.post_payments(&one("p1"), Some("key-1")).await;
    assert_eq!(response.status(), 202);
    let declared = response.content_length().unwrap();
    let read = response.bytes().await;
    assert!(read.is_err(), "expected a body error, got {read:?}");
    assert!(declared > 0);
    // The request itself was processed.
    assert_eq!(api.sandbox.times_booked("p1"), 1);
    // Truncation also works on reads.
    api.fault(Route::ListBatches, Fault::TruncatedBody);
    let read = api.get(&api.batches_url()).await.json::<Value>().await;
    assert!(read.is_err());
}

/// The statuses a client sees for `n` batch reads with a 50% random 500 fault and `seed`.
async fn random_statuses(seed: u64, n: usize) -> Vec<u16> {
    let api = Api::start(Sandbox::builder().fault_seed(seed)).await;
    api.sandbox.faults().random(
        Route::ListBatches,
        Fault::Status {
            status: 500,
            retry_after: None,
        },
        0.5,
    );
    let mut statuses = Vec::new();
    for i in 0..n {
        // Requests on other routes do not disturb the list route's sequence.
        if i % 3 == 0 {
            api.post_payments(&one(&format!("noise-{i}")), None).await;
        }
        statuses.push(api.get(&api.batches_url()).await.status().as_u16());
    }
    assert_eq!(api.sandbox.faults().seed(), seed);
    statuses
}

#[tokio::test]
async fn seeded_random_faults_reproduce() {
    let first = random_statuses(42, 40).await;
    let second = random_statuses(42, 40).await;
    assert_eq!(first, second);
    assert!(first.contains(&500) && first.contains(&200), "{first:?}");
    let other_seed = random_statuses(43, 40).await;
    assert_ne!(first, other_seed);
}

#[tokio::test]
async fn clear_removes_every_fault() {
    let api = Api::default().await;
    api.sandbox
        .faults()
        .push_n(Route::ListBatches, Fault::HtmlError { status: 503 }, 5);
    api.sandbox
        .faults()
        .random(Route::ListBatches, Fault::DropBeforeProcessing, 1.0);
    assert_eq!(api.get(&api.batches_url()).await.status(), 503);
    assert_eq!(api.sandbox.faults().pending(Route::ListBatches), 4);
    api.sandbox.faults().clear();
    assert_eq!(api.sandbox.faults().pending(Route::ListBatches), 0);
    assert_eq!(api.get(&api.batches_url()).await.status(), 200);
}

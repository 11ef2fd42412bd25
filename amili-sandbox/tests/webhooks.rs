//! Webhook delivery as a receiver sees it: the documented headers, the signature, the body
//! (of `BATCH_COMPLETED` and of `SETTLEMENT_CREATED`);
//! retries after a non-2xx answer and after a timeout, with the same key; a bounded number of
//! attempts; the command line's webhook flags. No check depends on how fast the machine is:
//! the one attempt meant to time out is never answered, and the others are checked only
//! where an extra timeout cannot change the outcome.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use amili_sandbox::cli::Args;
use amili_sandbox::{DEFAULT_WEBHOOK_TIMEOUT, DEMO_INVOICES, Sandbox, WebhookFault};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use clap::Parser;
use common::{Api, DEADLINE, payment};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tower::ServiceExt as _;

/// One request the test receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

/// How the test receiver answers the n-th request (from 0).
type Script = Arc<dyn Fn(usize) -> (StatusCode, Duration) + Send + Sync>;

#[derive(Clone)]
struct Receiver {
    received: Arc<Mutex<Vec<Received>>>,
    script: Script,
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let n = {
        let mut received = receiver.received.lock().expect("lock");
        received.push(Received { headers, body });
        received.len() - 1
    };
    let (status, delay) = (receiver.script)(n);
    tokio::time::sleep(delay).await;
    status
}

/// A receiver on loopback; its URL and what it received.
async fn receiver(script: Script) -> (String, Arc<Mutex<Vec<Received>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(Receiver {
            received: Arc::clone(&received),
            script,
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let app = app.clone();
            let service = hyper::service::service_fn(move |request: hyper::Request<_>| {
                let app = app.clone();
                async move { app.oneshot(request.map(axum::body::Body::new)).await }
            });
            tokio::spawn(async move {
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
            });
        }
    });
    (url, received)
}

async fn wait_for(what: &str, condition: impl Fn() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < DEADLINE, "gave up waiting: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> &'h str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn hex_hmac(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A sandbox signing with `s3cret` for a receiver that answers 200, and one payment for
/// `DEMO_INVOICES[1]` accepted: the batch's id and URL.
async fn one_batch_signed(source_id: &str) -> (Api, Arc<Mutex<Vec<Received>>>, String, String) {
    let (url, received) = receiver(Arc::new(|_| (StatusCode::OK, Duration::ZERO))).await;
    let api = Api::start(
        Sandbox::builder()
            .batch_delay(Duration::ZERO)
            .webhook_url(&url)
            .webhook_secret("s3cret"),
    )
    .await;
    let (batch_id, batch_url) = api
        .accepted(
            &json!({"payments": [payment(DEMO_INVOICES[1], source_id)]}),
            None,
        )
        .await;
    (api, received, batch_id, batch_url)
}

#[tokio::test]
async fn a_finished_batch_is_posted_signed_with_the_documented_headers() {
    let (api, received, batch_id, _) = one_batch_signed("WH-1").await;
    wait_for("a delivery", || api.sandbox.stats().webhooks_delivered == 1).await;

    let got = received.lock().expect("lock")[0].clone();
    assert_eq!(header(&got.headers, "x-amili-event"), "BATCH_COMPLETED");
    assert_eq!(header(&got.headers, "content-type"), "application/json");
    assert_eq!(
        header(&got.headers, "x-webhook-signature"),
        hex_hmac("s3cret", &got.body)
    );
    assert!(!header(&got.headers, "idempotencykey").is_empty());
    assert!(!header(&got.headers, "x-amili-request-id").is_empty());
    let event: Value = serde_json::from_slice(&got.body).expect("JSON");
    assert_eq!(event["type"], "BATCH_COMPLETED");
    assert_eq!(event["source"], "COLLECTION");
    assert!(
        event["timeStamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    assert_eq!(event["data"]["batchId"], batch_id.as_str());
    assert_eq!(
        event["data"]["organizationId"],
        api.sandbox.organization_id().to_string()
    );
    assert_eq!(event["data"]["status"], "SUCCESS");
    assert_ne!(
        event["id"].as_str(),
        Some(header(&got.headers, "idempotencykey")),
        "the delivery key is not the event id"
    );
}

#[tokio::test]
async fn a_settlement_made_over_the_admin_route_is_posted_signed_after_its_batch() {
    let (api, received, _, batch_url) = one_batch_signed("WH-S").await;
    api.wait_terminal(&batch_url).await;
    let answer = api.admin_settle("2025-04-30").await;
    let settlement = answer["data"][0].clone();
    wait_for("two deliveries", || {
        api.sandbox.stats().webhooks_delivered == 2
    })
    .await;

    let received = received.lock().expect("lock").clone();
    let events: Vec<&str> = received
        .iter()
        .map(|r| header(&r.headers, "x-amili-event"))
        .collect();
    assert_eq!(events, ["BATCH_COMPLETED", "SETTLEMENT_CREATED"]);
    let got = &received[1];
    assert_eq!(
        header(&got.headers, "x-webhook-signature"),
        hex_hmac("s3cret", &got.body)
    );
    let event: Value = serde_json::from_slice(&got.body).expect("JSON");
    assert_eq!(event["type"], "SETTLEMENT_CREATED");
    assert_eq!(event["source"], "COLLECTION");
    assert_eq!(
        event["data"],
        json!({
            "settlementId": settlement["id"],
            "organizationId": api.sandbox.organization_id().to_string(),
            "settlementDate": "2025-04-30",
            "invoiceId": DEMO_INVOICES[1].to_string(),
            "invoiceNumber": settlement["invoiceNumber"],
            "caseNumber": settlement["caseNumber"],
        })
    );
    assert!(settlement["invoiceNumber"].is_string(), "{settlement}");
    let attempts = api.sandbox.webhook_attempts();
    assert_eq!(attempts[1].event_type, "SETTLEMENT_CREATED");
    assert_eq!(
        attempts[1].subject_id.to_string(),
        settlement["id"].as_str().unwrap_or_default()
    );
}

/// A sandbox with `attempts` tries of `timeout` each for a receiver answering as `script`
/// says, and one payment accepted; returns when the event was delivered.
async fn one_event_retried(
    script: Script,
    attempts: u32,
    timeout: Duration,
) -> (Api, Arc<Mutex<Vec<Received>>>) {
    let (url, received) = receiver(script).await;
    let api = Api::start(
        Sandbox::builder()
            .batch_delay(Duration::ZERO)
            .webhook_url(&url)
            .webhook_retries(attempts, Duration::from_millis(5))
            .webhook_timeout(timeout),
    )
    .await;
    api.accepted(
        &json!({"payments": [payment(DEMO_INVOICES[1], "WH-2")]}),
        None,
    )
    .await;
    wait_for("a delivery", || api.sandbox.stats().webhooks_delivered == 1).await;
    (api, received)
}

/// Every request the receiver got is the same event under the same `IdempotencyKey`, each
/// with its own request id.
fn assert_one_event_under_one_key(received: &[Received]) {
    let keys: Vec<&str> = received
        .iter()
        .map(|r| header(&r.headers, "idempotencykey"))
        .collect();
    assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
    let request_ids: std::collections::HashSet<&str> = received
        .iter()
        .map(|r| header(&r.headers, "x-amili-request-id"))
        .collect();
    assert_eq!(request_ids.len(), received.len());
    assert!(received.iter().all(|r| r.body == received[0].body));
}

#[tokio::test]
async fn a_non_2xx_answer_is_retried_with_the_same_key() {
    // The default attempt timeout (10 s) is far beyond what these immediate answers take, so
    // no attempt here can time out, however loaded the machine.
    let script: Script = Arc::new(|n| match n {
        0 => (StatusCode::SERVICE_UNAVAILABLE, Duration::ZERO),
        _ => (StatusCode::NO_CONTENT, Duration::ZERO),
    });
    let (api, received) = one_event_retried(script, 5, DEFAULT_WEBHOOK_TIMEOUT).await;

    let attempts = api.sandbox.webhook_attempts();
    let statuses: Vec<_> = attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [Some(503), Some(204)]);
    assert_eq!(
        attempts.iter().map(|a| a.attempt).collect::<Vec<_>>(),
        [1, 2]
    );
    let received = received.lock().expect("lock").clone();
    assert_eq!(received.len(), 2);
    assert_one_event_under_one_key(&received);
}

#[tokio::test]
async fn a_timed_out_attempt_is_retried_with_the_same_key() {
    // The first request is never answered, so its attempt times out; later ones are answered
    // at once. On a loaded machine one of those may time out as well: the checks below hold
    // for any number of such extra attempts.
    let script: Script = Arc::new(|n| match n {
        0 => (StatusCode::OK, Duration::from_secs(3600)),
        _ => (StatusCode::NO_CONTENT, Duration::ZERO),
    });
    let (api, received) = one_event_retried(script, 10, Duration::from_secs(1)).await;

    let attempts = api.sandbox.webhook_attempts();
    assert_eq!(attempts[0].status, None);
    assert_eq!(attempts[0].error.as_deref(), Some("timed out"));
    let (last, earlier) = attempts.split_last().expect("attempts");
    assert_eq!(last.status, Some(204));
    assert!(earlier.iter().all(|a| !a.delivered()), "{attempts:?}");
    assert!(
        attempts
            .iter()
            .map(|a| a.attempt)
            .eq(1..=attempts.len() as u32),
        "{attempts:?}"
    );
    assert!(
        attempts
            .iter()
            .all(|a| a.idempotency_key == last.idempotency_key)
    );
    let received = received.lock().expect("lock").clone();
    assert!(received.len() >= 2);
    assert_one_event_under_one_key(&received);
}

#[tokio::test]
async fn attempts_are_bounded() {
    let (url, received) = receiver(Arc::new(|_| {
        (StatusCode::INTERNAL_SERVER_ERROR, Duration::ZERO)
    }))
    .await;
    let api = Api::start(
        Sandbox::builder()
            .batch_delay(Duration::ZERO)
            .webhook_url(&url)
            .webhook_retries(3, Duration::from_millis(1))
            .webhook_fault(WebhookFault::DeliverTwice),
    )
    .await;
    api.accepted(
        &json!({"payments": [payment(DEMO_INVOICES[1], "WH-3")]}),
        None,
    )
    .await;
    wait_for("both deliveries given up", || {
        api.sandbox.stats().webhooks_given_up == 2
    })
    .await;
    assert_eq!(received.lock().expect("lock").len(), 6);
    assert_eq!(api.sandbox.stats().webhook_attempts, 6);
    assert_eq!(api.sandbox.stats().webhooks_delivered, 0);
}

#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    args: Args,
}

#[tokio::test]
async fn the_command_line_configures_webhooks() {
    let (url, received) = receiver(Arc::new(|_| (StatusCode::OK, Duration::ZERO))).await;
    let cli = Cli::try_parse_from([
        "amili-sandbox",
        "--addr",
        "127.0.0.1:0",
        "--batch-delay-ms",
        "0",
        "--webhook-url",
        &url,
        "--webhook-secret",
        "from-the-command-line",
        "--webhook-fault",
        "twice",
        "--webhook-attempts",
        "2",
    ])
    .expect("valid arguments");
    let sandbox = cli.args.start().await.expect("starts");
    let banner = amili_sandbox::cli::banner(&sandbox, &cli.args);
    assert!(banner.contains(&url), "{banner}");
    assert!(
        !banner.contains("from-the-command-line"),
        "a user's secret is not printed"
    );
    let http = common::client();
    let token = common::own_token(&http, &sandbox).await;
    let answer = http
        .post(format!(
            "{}/orgs/{}/payments",
            sandbox.api_url(),
            sandbox.organization_id()
        ))
        .bearer_auth(token)
        .json(&json!({"payments": [payment(DEMO_INVOICES[1], "WH-4")]}))
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status(), 202);
    wait_for("two deliveries", || sandbox.stats().webhooks_delivered == 2).await;
    let received = received.lock().expect("lock").clone();
    assert_eq!(
        header(&received[0].headers, "x-webhook-signature"),
        hex_hmac("from-the-command-line", &received[0].body)
    );
    for bad in [
        vec!["--webhook-fault", "twice"],
        vec!["--webhook-url", "x", "--webhook-fault", "sometimes"],
    ] {
        let mut argv = vec!["amili-sandbox"];
        argv.extend(bad.iter().copied());
        assert!(Cli::try_parse_from(&argv).is_err(), "{bad:?}");
    }
    assert!(
        Sandbox::builder()
            .webhook_url("not a url")
            .start()
            .await
            .is_err()
    );
}

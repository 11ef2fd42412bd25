//! Corrections through the one submission pipeline: the faults payments are tested under
//! (throttling, unavailability, answers lost after processing, gateway errors until the last
//! attempt), exactly-once booking, the same key and bytes on every attempt, the ledger, and
//! following the batch.
//!
//! The sandbox has no `CreateCorrections` route yet, so these run against a small stateful
//! stub of it here (books by idempotency key, lists batches by key, serves finished batches).

mod common;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use amili_payments::ledger::MemoryLedger;
use amili_payments::report::{Outcome, RequestResult};
use amili_payments::{Client, Correction, Decimal, Environment, Error, SubmitReport, Uuid};
use common::*;
use serde_json::{Value, json};

const ORG: Uuid = Uuid::from_u128(0x3fa8_5f64_5717_4562_b3fc_2c96_3f66_afa6);

/// What the stub does to the next `CreateCorrections` attempt.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// Refused before processing with this status (`429`, `503`).
    Refuse(u16),
    /// Processed, then the answer replaced by this status (`500`, `502`, `504`).
    LoseAnswer(u16),
}

#[derive(Default)]
struct Stub {
    faults: VecDeque<Fault>,
    /// Batches by idempotency key: (batch id, the corrections booked).
    batches: HashMap<String, (Uuid, Vec<Value>)>,
    /// Every correction booked, in order.
    booked: Vec<Value>,
}

type Shared = Arc<Mutex<Stub>>;

fn json_response(status: u16, body: Value) -> hyper::Response<http_body_util::Full<bytes::Bytes>> {
    respond(
        status,
        &[("content-type", "application/json".into())],
        body.to_string(),
    )
}

fn batch_json(id: Uuid, items: &[Value]) -> Value {
    json!({"batchId": id, "status": "SUCCESS", "type": "CORRECTION",
           "succeeded": items, "failed": []})
}

fn handle(stub: &Shared, seen: &Seen) -> hyper::Response<http_body_util::Full<bytes::Bytes>> {
    let mut stub = stub.lock().unwrap_or_else(|p| p.into_inner());
    if seen.method == "POST" && seen.path.ends_with("/corrections") {
        let fault = stub.faults.pop_front();
        if let Some(Fault::Refuse(status)) = fault {
            return json_response(status, json!({"message": "try later"}));
        }
        let Some(key) = seen.idempotency_key.clone() else {
            return json_response(400, json!({"message": "no key"}));
        };
        let body: Value = serde_json::from_slice(&seen.body).unwrap_or_default();
        let Some(corrections) = body["corrections"].as_array().cloned() else {
            return json_response(400, json!({"message": "no corrections"}));
        };
        let id = match stub.batches.get(&key) {
            Some((id, _)) => *id,
            None => {
                let id = Uuid::new_v4();
                stub.booked.extend(corrections.iter().cloned());
                stub.batches.insert(key, (id, corrections));
                id
            }
        };
        if let Some(Fault::LoseAnswer(status)) = fault {
            return json_response(status, json!({"message": "gateway"}));
        }
        return json_response(
            202,
            json!({"summary": {"status": "SUCCESS"},
                   "data": {"batchId": id, "batchUrl": format!("https://stub/batches/{id}")}}),
        );
    }
    if seen.method == "GET" && seen.path.ends_with("/batches") {
        let key = seen
            .query
            .as_deref()
            .unwrap_or_default()
            .split('&')
            .find_map(|pair| pair.strip_prefix("IdempotencyKey="))
            .unwrap_or_default()
            .to_owned();
        let data: Vec<Value> = stub
            .batches
            .get(&key)
            .map(|(id, items)| batch_json(*id, items))
            .into_iter()
            .collect();
        return json_response(200, json!({"summary": {"status": "SUCCESS"}, "data": data}));
    }
    if seen.method == "GET" && seen.path.contains("/batches/") {
        let found = stub
            .batches
            .values()
            .find(|(id, _)| seen.path.ends_with(&id.to_string()));
        return match found {
            Some((id, items)) => json_response(200, json!({"data": batch_json(*id, items)})),
            None => json_response(404, json!({"message": "no batch"})),
        };
    }
    json_response(404, json!({"message": "not here"}))
}

async fn stub(faults: &[Fault]) -> (Client, TestServer, Shared) {
    let state: Shared = Arc::new(Mutex::new(Stub {
        faults: faults.iter().copied().collect(),
        ..Stub::default()
    }));
    let handler_state = state.clone();
    let handler: Handler = Arc::new(move |seen, _| {
        let response = handle(&handler_state, &seen);
        Box::pin(async move { response })
    });
    let (listener, _) = bind().await;
    let server = serve(listener, handler);
    let client = Client::builder()
        .environment(Environment::custom(
            format!("{}/collection/v1", server.origin),
            "",
        ))
        .organization_id(ORG)
        .bearer_token("static-token")
        .retry_policy(fast_retries())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    (client, server, state)
}

/// Correction `n`: its own invoice, a signed amount.
fn correction(n: u128) -> Correction {
    Correction::builder()
        .invoice_id(Uuid::from_u128(0x1000 + n))
        .amount(Decimal::new(-1000 - n as i64, 2))
        .currency("NOK")
        .date(
            "2025-03-10T09:00:00Z"
                .parse()
                .unwrap_or_else(|e| panic!("{e}")),
        )
        .description(format!("correction {n}"))
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn corrections(n: u128) -> Vec<Correction> {
    (0..n).map(correction).collect()
}

fn posts(server: &TestServer) -> Vec<Seen> {
    server
        .requests()
        .into_iter()
        .filter(|s| s.method == "POST" && s.path.ends_with("/corrections"))
        .collect()
}

fn booked(state: &Shared) -> Vec<Value> {
    state.lock().map(|s| s.booked.clone()).unwrap_or_default()
}

/// Every attempt carried the request's key and the very same bytes; each correction booked
/// once.
fn assert_exactly_once(report: &SubmitReport, server: &TestServer, state: &Shared, n: usize) {
    let key = only_request(report)
        .idempotency_key
        .clone()
        .unwrap_or_else(|| panic!("no key: {report:?}"));
    let posts = posts(server);
    assert!(!posts.is_empty());
    for post in &posts {
        assert_eq!(post.idempotency_key.as_deref(), Some(key.as_str()));
        assert_eq!(post.body, posts[0].body, "a retry changed the body");
    }
    let booked = booked(state);
    assert_eq!(booked.len(), n, "{booked:?}");
    let mut invoices: Vec<&str> = booked
        .iter()
        .filter_map(|b| b["invoiceId"].as_str())
        .collect();
    invoices.sort_unstable();
    invoices.dedup();
    assert_eq!(invoices.len(), n, "a correction was booked twice");
}

#[tokio::test]
async fn corrections_are_booked_exactly_once_under_every_fault() -> TestResult {
    let matrix: &[(&str, &[Fault], usize)] = &[
        ("no fault", &[], 1),
        ("429 then 503", &[Fault::Refuse(429), Fault::Refuse(503)], 3),
        ("answer lost (502)", &[Fault::LoseAnswer(502)], 1),
        (
            "answer lost (500, 504)",
            &[Fault::LoseAnswer(500), Fault::LoseAnswer(504)],
            1,
        ),
    ];
    for (name, faults, attempts) in matrix {
        let (client, server, state) = stub(faults).await;
        let mut report = client.submit(corrections(3)).send().await?;
        report.ensure_accepted()?;
        assert_exactly_once(&report, &server, &state, 3);
        assert_eq!(posts(&server).len(), *attempts, "{name}: attempts");
        let recovered = matches!(
            only_request(&report).result,
            RequestResult::Accepted {
                recovered: true,
                ..
            }
        );
        assert_eq!(
            recovered,
            matches!(faults.first(), Some(Fault::LoseAnswer(_))),
            "{name}: found by key"
        );
        // The batch's items carry only invoice ids: each correction is matched by its own.
        quick_poller(&client).follow_all(&mut report).await?;
        assert!(report.all_succeeded(), "{name}: {report:?}");
    }
    Ok(())
}

#[tokio::test]
async fn gateway_errors_until_the_last_attempt_are_unknown_never_rejected() -> TestResult {
    let (client, server, state) = stub(&[Fault::LoseAnswer(502); 5]).await;
    let report = client.submit(corrections(2)).send().await?;
    let request = only_request(&report);
    assert!(
        matches!(
            request.result,
            RequestResult::Accepted {
                recovered: true,
                ..
            }
        ),
        "the first attempt was processed, so the look-up finds it: {request:?}"
    );
    assert_exactly_once(&report, &server, &state, 2);

    // Refused every time before processing: nothing booked, safe to resend.
    let (client, _server, state) = stub(&[Fault::Refuse(503); 5]).await;
    let report = client.submit(corrections(2)).send().await?;
    assert!(
        report
            .items()
            .all(|i| matches!(i.outcome, Outcome::Rejected(_))),
        "{report:?}"
    );
    assert!(booked(&state).is_empty());
    Ok(())
}

#[tokio::test]
async fn the_same_correction_sent_again_is_recognised_by_its_content() -> TestResult {
    let (client, server, state) = stub(&[]).await;
    let ledger = Arc::new(MemoryLedger::default());
    let first = corrections(2);
    let again = first.clone();
    client
        .submit(first)
        .with_ledger(ledger.clone())
        .send()
        .await?
        .ensure_accepted()?;
    let report = client
        .submit(again)
        .with_ledger(ledger.clone())
        .send()
        .await?;
    assert!(
        report
            .items()
            .all(|i| i.outcome == Outcome::AlreadyAccepted),
        "{report:?}"
    );
    assert_eq!(posts(&server).len(), 1, "nothing sent the second time");
    assert_eq!(booked(&state).len(), 2);
    Ok(())
}

#[tokio::test]
async fn a_correction_repeated_in_one_submission_is_refused_before_sending() -> TestResult {
    let (client, server, _state) = stub(&[]).await;
    let list = vec![correction(1), correction(2), correction(1)];
    match client.submit(list).send().await {
        Err(e @ Error::DuplicateSourceId { .. }) => {
            let text = e.to_string();
            assert!(text.contains("content-derived id"), "{text}");
            assert!(text.contains("#0, #2"), "{text}");
        }
        other => panic!("expected a duplicate error, got {other:?}"),
    }
    assert!(server.requests().is_empty());

    // In a stream, the repeat is not sent and the rest is.
    let stream = futures::stream::iter(vec![correction(1), correction(1)]);
    let report = client.submit_stream(stream).send().await?;
    let outcomes: Vec<&str> = report.items().map(|i| i.outcome.name()).collect();
    assert_eq!(outcomes, ["accepted", "not_sent"]);
    let reason = not_sent_reason(report.items().nth(1).unwrap_or_else(|| panic!("two items")));
    assert!(reason.contains("content-derived id"), "{reason}");
    Ok(())
}

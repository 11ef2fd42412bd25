//! What the sandbox cannot do, with plain mock servers: redirects to another host, a
//! repeating page cursor, odd answers.

mod common;

use std::sync::Arc;

use amili_payments::batches::BatchFilter;
use amili_payments::report::{Outcome, RequestResult};
use amili_payments::{Client, Environment, Error, RetryPolicy, report::SubmitReport};
use bytes::Bytes;
use common::*;
use futures::StreamExt;
use serde_json::json;
use uuid::Uuid;

const ORG: Uuid = Uuid::from_u128(0x3fa85f64_5717_4562_b3fc_2c963f66afa6);
const TOKEN: &str = "static-bearer-TOKEN-value";

fn client_at(origin: &str) -> amili_payments::ClientBuilder {
    Client::builder()
        .environment(Environment::custom(format!("{origin}/collection/v1"), ""))
        .organization_id(ORG)
        .bearer_token(TOKEN)
        .retry_policy(RetryPolicy::none())
}

/// The error a one-request submission was rejected with.
fn rejection(report: &SubmitReport) -> Error {
    match &only_request(report).result {
        RequestResult::Rejected(err) => err.clone(),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn accepted() -> Handler {
    Arc::new(|_, _| {
        Box::pin(async {
            let id = Uuid::new_v4();
            respond(
                202,
                &[("content-type", "application/json".into())],
                json!({"summary": {"status": "SUCCESS"},
                       "data": {"batchId": id, "batchUrl": format!("https://elsewhere/batches/{id}")}})
                .to_string(),
            )
        })
    })
}

/// Answers every request with a 307 to the same path on `target`.
fn redirect_to(target: String) -> Handler {
    Arc::new(move |seen: Seen, _| {
        let location = format!("{target}{}", seen.path);
        Box::pin(async move { respond(307, &[("location", location)], Bytes::new()) })
    })
}

#[tokio::test]
async fn a_redirect_to_another_host_never_carries_the_token() -> TestResult {
    let (listener, _) = bind().await;
    let elsewhere = serve(listener, accepted());
    let (listener, _) = bind().await;
    let api = serve(listener, redirect_to(elsewhere.origin.clone()));

    // The client's own HTTP client does not follow it at all.
    let client = client_at(&api.origin).build()?;
    let report = client.submit(vec![payment(1)]).send().await?;
    let err = rejection(&report);
    assert_eq!(err.status(), Some(307), "{err}");
    assert!(
        err.to_string()
            .contains("redirect to another host was not followed"),
        "{err}"
    );
    assert!(elsewhere.requests().is_empty());
    assert_eq!(
        api.requests()[0].authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str()),
        "the API host itself gets the token"
    );

    // A caller's reqwest client follows it, and reqwest drops Authorization across hosts.
    let client = client_at(&api.origin)
        .http_client(amili_api::tls::client_builder().build()?)
        .build()?;
    client
        .submit(vec![payment(1)])
        .send()
        .await?
        .ensure_accepted()?;
    let forwarded = elsewhere.requests();
    assert_eq!(forwarded.len(), 1);
    assert_eq!(forwarded[0].authorization, None);
    Ok(())
}

#[tokio::test]
async fn a_repeating_cursor_ends_the_listing_with_an_error() -> TestResult {
    let handler: Handler = Arc::new(|_, _| {
        Box::pin(async {
            respond(
                200,
                &[("content-type", "application/json".into())],
                json!({"summary": {"status": "SUCCESS", "nextPageToken": "same-cursor"},
                       "data": [{"batchId": Uuid::new_v4(), "status": "RUNNING", "type": "PAYMENT",
                                 "newField": {"nested": true}}]})
                .to_string(),
            )
        })
    });
    let (listener, _) = bind().await;
    let server = serve(listener, handler);
    let client = client_at(&server.origin).build()?;
    let items: Vec<Result<amili_payments::batches::Batch, Error>> =
        client.batches(BatchFilter::default()).collect().await;
    assert_eq!(items.len(), 3, "{items:?}");
    assert!(items[0].is_ok() && items[1].is_ok());
    let err = items[2]
        .as_ref()
        .err()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(err.contains("repeated the page cursor"), "{err}");
    assert_eq!(server.requests().len(), 2);
    // Statuses this version does not know are kept, and taken as not terminal.
    let first = items[0].as_ref().map_err(|e| e.to_string())?;
    assert_eq!(first.status.as_str(), "RUNNING");
    assert!(!first.is_terminal());
    Ok(())
}

#[tokio::test]
async fn error_bodies_retry_after_dates_and_odd_successes() -> TestResult {
    let handler: Handler = Arc::new(|seen: Seen, _| {
        Box::pin(async move {
            match seen.path.rsplit('/').next() {
                Some("payments") => respond(
                    429,
                    &[
                        ("content-type", "application/json".into()),
                        ("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT".into()),
                        ("x-request-id", "req-42".into()),
                    ],
                    json!({"summary": {"status": "ERROR"}, "message": "slow down",
                           "errors": [{"item": 0, "field": "amount", "message": "too much"}]})
                    .to_string(),
                ),
                _ => respond(
                    200,
                    &[("content-type", "application/json".into())],
                    "{\"data\": 5}",
                ),
            }
        })
    });
    let (listener, _) = bind().await;
    let server = serve(listener, handler);
    let client = client_at(&server.origin).build()?;

    let report = client.submit(vec![payment(1)]).send().await?;
    let err = rejection(&report);
    assert_eq!(err.status(), Some(429));
    assert_eq!(err.request_id(), Some("req-42"));
    assert_eq!(
        err.retry_after(),
        Some(std::time::Duration::ZERO),
        "a date in the past"
    );
    assert_eq!(
        err.as_api().and_then(|a| a.message()),
        Some("slow down; payments[0].amount: too much")
    );
    // The payment's reason says the same, for a person.
    match &report.items().next().map(|i| &i.outcome) {
        Some(Outcome::Rejected(reason)) => {
            assert!(reason.as_str().contains("429"), "{reason}");
            assert!(reason.as_str().contains("slow down"), "{reason}");
            assert!(reason.as_str().contains("req-42"), "{reason}");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }

    let err = client
        .batch(Uuid::new_v4())
        .await
        .err()
        .unwrap_or_else(|| panic!("read"));
    assert!(matches!(err, Error::InvalidResponse { .. }), "{err}");
    assert!(err.to_string().contains("not the documented JSON"), "{err}");
    Ok(())
}

#[tokio::test]
async fn plain_http_is_refused_except_on_loopback() {
    for (api, ok) in [
        ("http://api.amili.no/collection/v1", false),
        ("http://192.168.1.10/collection/v1", false),
        ("http://localhost:1/collection/v1", true),
        ("http://127.0.0.1:1/collection/v1", true),
        ("http://[::1]:1/collection/v1", true),
        ("https://api.amili.no/collection/v1", true),
    ] {
        let built = client_at("unused")
            .environment(Environment::custom(api, ""))
            .build();
        assert_eq!(built.is_ok(), ok, "{api}: {built:?}");
        if let Err(e) = built {
            assert!(e.to_string().contains("https is required"), "{e}");
        }
    }
    // The token URL too.
    let built = Client::builder()
        .organization_id(ORG)
        .client_credentials("id", "secret")
        .environment(Environment::custom(
            "https://api.amili.no/collection/v1",
            "http://auth.amili.no/token",
        ))
        .build();
    assert!(built.is_err());
}

#[tokio::test]
async fn a_success_status_the_spec_does_not_list_is_looked_up_and_never_called_rejected()
-> TestResult {
    // `200` instead of `202` on a write: it may have been processed. The batch is looked up by
    // the request's key; this server lists none, and no retry is left: unknown.
    let handler: Handler = Arc::new(|seen: Seen, _| {
        Box::pin(async move {
            let body = if seen.method == "POST" {
                json!({"summary": {"status": "SUCCESS"},
                       "data": {"batchId": Uuid::new_v4(), "batchUrl": "https://elsewhere/b"}})
            } else {
                json!({"summary": {"status": "SUCCESS"}, "data": []})
            };
            respond(
                200,
                &[("content-type", "application/json".into())],
                body.to_string(),
            )
        })
    });
    let (listener, _) = bind().await;
    let server = serve(listener, handler);
    let client = client_at(&server.origin).build()?;
    let report = client.submit(vec![payment(1)]).send().await?;
    let request = only_request(&report);
    match &request.result {
        RequestResult::Unknown(err) => {
            assert!(
                err.to_string().contains("unexpected success status"),
                "{err}"
            )
        }
        other => panic!("expected unknown, got {other:?}"),
    }
    let seen = server.requests();
    assert_eq!(seen.len(), 2, "{seen:?}");
    let key = request.idempotency_key.as_ref().map(ToString::to_string);
    assert_eq!(seen[0].idempotency_key, key);
    assert!(
        seen[1]
            .query
            .as_deref()
            .zip(key.as_deref())
            .is_some_and(|(q, k)| q.contains(k)),
        "looked up by the request's key: {seen:?}"
    );
    Ok(())
}

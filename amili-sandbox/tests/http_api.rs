//! The sandbox's API over real HTTP: tokens, authorization, CreatePayments, batches, lists.

mod common;

use std::time::Duration;

use amili_sandbox::{DEMO_INVOICES, Sandbox, TestOrganization, reason};
use common::{
    Api, Sent, body, client, has_error, one, own_token_answer, payment, token_answer, token_for,
};
use serde_json::{Value, json};
use uuid::Uuid;

fn unknown_invoice() -> Uuid {
    Uuid::from_u128(0x00000000_dead_4000_8000_000000000001)
}

// ---------------------------------------------------------------- token endpoint

#[tokio::test]
async fn token_answer_has_the_documented_numeric_fields() {
    let sandbox = Sandbox::start().await.unwrap();
    let http = client();
    let response = own_token_answer(&http, &sandbox).await;
    assert_eq!(response.status(), 200);
    let token: Value = response.json().await.unwrap();
    assert!(
        token["access_token"]
            .as_str()
            .is_some_and(|t| t.split('.').count() == 3)
    );
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 3600);
    let not_before = token["not_before"]
        .as_i64()
        .expect("not_before is a number");
    let expires_on = token["expires_on"]
        .as_i64()
        .expect("expires_on is a number");
    assert_eq!(expires_on - not_before, 3600);
    assert!(
        token["resource"]
            .as_str()
            .is_some_and(|r| Uuid::try_parse(r).is_ok())
    );
    assert_eq!(sandbox.stats().token_requests, 1);
}

#[tokio::test]
async fn token_times_can_be_sent_as_strings() {
    let sandbox = Sandbox::builder()
        .token_times_as_strings(true)
        .token_lifetime(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let token: Value = token_answer(
        &client(),
        &sandbox,
        sandbox.client_id(),
        sandbox.client_secret(),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(token["expires_in"], "60");
    assert!(
        token["expires_on"]
            .as_str()
            .is_some_and(|s| s.parse::<i64>().is_ok())
    );
    assert!(
        token["not_before"]
            .as_str()
            .is_some_and(|s| s.parse::<i64>().is_ok())
    );
}

#[tokio::test]
async fn wrong_credentials_get_401_with_an_error_body() {
    let sandbox = Sandbox::start().await.unwrap();
    let http = client();
    for (id, secret) in [
        (sandbox.client_id(), "wrong"),
        ("nobody", sandbox.client_secret()),
        (sandbox.client_id(), ""),
    ] {
        let response = token_answer(&http, &sandbox, id, secret).await;
        assert_eq!(response.status(), 401);
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"], "invalid_client");
        assert!(error["error_description"].is_string());
        assert!(error.get("access_token").is_none());
    }
    assert_eq!(sandbox.stats().token_requests, 3);
}

#[tokio::test]
async fn token_endpoint_checks_grant_type_and_content_type() {
    let sandbox = Sandbox::start().await.unwrap();
    let http = client();
    let missing = http
        .post(sandbox.token_url())
        .form(&[
            ("client_id", sandbox.client_id()),
            ("client_secret", sandbox.client_secret()),
        ])
        .answer()
        .await;
    assert_eq!(missing.status(), 400);
    assert_eq!(
        missing.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );
    let password = http
        .post(sandbox.token_url())
        .form(&[
            ("grant_type", "password"),
            ("client_id", sandbox.client_id()),
        ])
        .answer()
        .await;
    assert_eq!(password.status(), 400);
    assert_eq!(
        password.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
    let json_body = http
        .post(sandbox.token_url())
        .json(&json!({"grant_type": "client_credentials"}))
        .answer()
        .await;
    assert_eq!(json_body.status(), 415);
}

// ---------------------------------------------------------------- authorization

#[tokio::test]
async fn missing_or_invalid_tokens_get_401() {
    let api = Api::default().await;
    let no_token = api
        .http
        .post(api.payments_url())
        .json(&one("p1"))
        .answer()
        .await;
    assert_eq!(no_token.status(), 401);
    assert!(no_token.headers().contains_key("www-authenticate"));
    let error: Value = no_token.json().await.unwrap();
    assert_eq!(error["summary"]["status"], "ERROR");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("missing"))
    );

    let mut tampered = api.token.clone();
    tampered.insert(tampered.len() - 2, 'x');
    for bad in ["garbage", "a.b.c", tampered.as_str()] {
        let response = api
            .http
            .get(api.batches_url())
            .bearer_auth(bad)
            .answer()
            .await;
        assert_eq!(response.status(), 401, "token {bad}");
    }
    // A token from another sandbox is not valid here either.
    let other = Sandbox::start().await.unwrap();
    let foreign = token_for(&api.http, &other, other.client_id(), other.client_secret()).await;
    let response = api
        .http
        .get(api.batches_url())
        .bearer_auth(foreign)
        .answer()
        .await;
    assert_eq!(response.status(), 401);
    assert_eq!(api.sandbox.batch_count(), 0);
}

#[tokio::test]
async fn expired_tokens_get_401() {
    let api = Api::start(Sandbox::builder().token_lifetime(Duration::ZERO)).await;
    let response = api.get(&api.batches_url()).await;
    assert_eq!(response.status(), 401);
    let error: Value = response.json().await.unwrap();
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("expired"))
    );
}

#[tokio::test]
async fn expire_tokens_revokes_every_issued_token() {
    let api = Api::default().await;
    assert_eq!(api.get(&api.batches_url()).await.status(), 200);
    api.sandbox.expire_tokens();
    assert_eq!(api.get(&api.batches_url()).await.status(), 401);
    let fresh = token_for(
        &api.http,
        &api.sandbox,
        api.sandbox.client_id(),
        api.sandbox.client_secret(),
    )
    .await;
    let response = api
        .http
        .get(api.batches_url())
        .bearer_auth(fresh)
        .answer()
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_token_for_another_organization_gets_403() {
    let api = Api::immediate().await;
    let (batch_id, batch_url) = api.accepted(&one("p1"), None).await;
    let other: TestOrganization = api.sandbox.other_organization();
    let other_token = api.other_token().await;
    let post = api
        .http
        .post(api.payments_url())
        .bearer_auth(&other_token)
        .json(&one("p2"))
        .answer()
        .await;
    assert_eq!(post.status(), 403);
    assert_eq!(
        post.json::<Value>().await.unwrap()["summary"]["status"],
        "ERROR"
    );
    for url in [api.batches_url(), batch_url] {
        let response = api.http.get(&url).bearer_auth(&other_token).answer().await;
        assert_eq!(response.status(), 403, "{url}");
    }
    // The other organization's own path works, but the main organization's batch is not there.
    let foreign = format!(
        "{}/orgs/{}/batches/{batch_id}",
        api.sandbox.api_url(),
        other.organization_id
    );
    let response = api
        .http
        .get(&foreign)
        .bearer_auth(&other_token)
        .answer()
        .await;
    assert_eq!(response.status(), 404);
    assert_eq!(api.sandbox.ledger().len(), 1);
}

#[tokio::test]
async fn an_organization_id_that_is_not_a_uuid_is_400() {
    let api = Api::default().await;
    let url = format!("{}/orgs/not-a-uuid/payments", api.sandbox.api_url());
    let response = api
        .http
        .post(url)
        .header("Authorization", api.bearer())
        .json(&one("p1"))
        .answer()
        .await;
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["errors"][0]["field"], "organizationId");
}

// ---------------------------------------------------------------- CreatePayments

#[tokio::test]
async fn payments_are_accepted_with_an_absolute_batch_url() {
    let api = Api::default().await;
    let response = api.post_payments(&one("p1"), None).await;
    assert_eq!(response.status(), 202);
    assert!(
        response
            .headers()
            .contains_key(amili_sandbox::REQUEST_ID_HEADER)
    );
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["summary"]["status"], "SUCCESS");
    let batch_id = Uuid::try_parse(answer["data"]["batchId"].as_str().unwrap()).unwrap();
    let batch_url = answer["data"]["batchUrl"].as_str().unwrap();
    assert_eq!(batch_url, api.sandbox.batch_url(batch_id));
    assert_eq!(
        batch_url,
        format!(
            "http://{}/collection/v1/orgs/{}/batches/{batch_id}",
            api.sandbox.addr(),
            api.sandbox.organization_id()
        )
    );
    let batch = api.wait_terminal(batch_url).await;
    assert_eq!(batch["batchId"], batch_id.to_string());
    assert_eq!(api.sandbox.stats().payment_requests, 1);
}

#[tokio::test]
async fn schema_violations_are_422_naming_item_and_field() {
    let api = Api::default().await;
    let mut bad_amount = payment(DEMO_INVOICES[1], "p2");
    bad_amount["amount"] = json!("abc");
    let mut no_currency = payment(DEMO_INVOICES[1], "p3");
    no_currency.as_object_mut().unwrap().remove("currency");
    let mut bad_date = payment(DEMO_INVOICES[1], "p4");
    bad_date["date"] = json!("yesterday");
    let request = body(vec![
        payment(DEMO_INVOICES[1], "p1"),
        bad_amount,
        no_currency,
        bad_date,
    ]);
    let response = api.post_payments(&request, None).await;
    assert_eq!(response.status(), 422);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["summary"]["status"], "ERROR");
    let has = |item: u64, field: &str, text: &str| has_error(&error, item, field, text);
    assert!(
        has(
            1,
            "amount",
            r#"payments[1].amount: "abc" is not of type "number""#
        ),
        "{error}"
    );
    assert!(has(2, "currency", "payments[2].currency"), "{error}");
    assert!(has(3, "date", "payments[3].date"), "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("payments[1].amount")
    );
    for wrong in [
        json!({}),
        json!({"payments": []}),
        json!({"payments": [{"type": 1}]}),
        json!([]),
    ] {
        assert_eq!(
            api.post_payments(&wrong, None).await.status(),
            422,
            "{wrong}"
        );
    }
    assert_eq!(api.sandbox.batch_count(), 0);
}

#[tokio::test]
async fn an_unknown_payment_type_is_accepted_then_fails_in_the_batch() {
    // PaymentType is an open enum in the spec: the request passes, the item fails.
    let api = Api::default().await;
    let mut unknown_type = payment(DEMO_INVOICES[1], "p5");
    unknown_type["type"] = json!("CARD");
    let response = api.post_payments(&body(vec![unknown_type]), None).await;
    assert_eq!(response.status(), 202);
    let created: Value = response.json().await.unwrap();
    api.sandbox.finish_batches();
    let url = created["data"]["batchUrl"].as_str().unwrap().to_owned();
    let (_, batch) = api.get_json(&url).await;
    assert_eq!(batch["data"]["status"], "FAILED");
    assert_eq!(
        batch["data"]["failed"][0]["reason"],
        "UNSUPPORTED_PAYMENT_TYPE"
    );
    assert!(api.sandbox.ledger().is_empty());
}

#[tokio::test]
async fn malformed_json_is_400() {
    let api = Api::default().await;
    for text in ["{\"payments\": [", "not json", ""] {
        let response = api
            .http
            .post(api.payments_url())
            .header("Authorization", api.bearer())
            .header("Content-Type", "application/json")
            .body(text)
            .answer()
            .await;
        assert_eq!(response.status(), 400, "{text:?}");
        let error: Value = response.json().await.unwrap();
        assert!(error["message"].as_str().unwrap().contains("JSON"));
    }
    assert_eq!(api.sandbox.batch_count(), 0);
}

#[tokio::test]
async fn a_wrong_content_type_is_415() {
    let api = Api::default().await;
    let text = serde_json::to_string(&one("p1")).unwrap();
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let response = api
            .http
            .post(api.payments_url())
            .header("Authorization", api.bearer())
            .header("Content-Type", content_type)
            .body(text.clone())
            .answer()
            .await;
        assert_eq!(response.status(), 415);
        assert_eq!(
            response.json::<Value>().await.unwrap()["summary"]["status"],
            "ERROR"
        );
    }
    let no_type = api
        .http
        .post(api.payments_url())
        .header("Authorization", api.bearer())
        .body(text)
        .answer()
        .await;
    assert_eq!(no_type.status(), 415);
    // JSON with parameters is still JSON.
    let response = api
        .http
        .post(api.payments_url())
        .header("Authorization", api.bearer())
        .header("Content-Type", "application/json; charset=utf-8")
        .body(serde_json::to_string(&one("p2")).unwrap())
        .answer()
        .await;
    assert_eq!(response.status(), 202);
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let api = Api::start(Sandbox::builder().max_body_bytes(2048)).await;
    let payments: Vec<Value> = (0..40)
        .map(|i| payment(DEMO_INVOICES[1], &format!("p{i}")))
        .collect();
    let big = body(payments);
    assert!(serde_json::to_vec(&big).unwrap().len() > 2048);
    let response = api.post_payments(&big, None).await;
    assert_eq!(response.status(), 413);
    assert_eq!(
        response.json::<Value>().await.unwrap()["summary"]["status"],
        "ERROR"
    );
    // Chunked (no Content-Length) is cut at the limit too.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![Ok(serde_json::to_vec(&big).unwrap())];
    let response = api
        .http
        .post(api.payments_url())
        .header("Authorization", api.bearer())
        .header("Content-Type", "application/json")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .answer()
        .await;
    assert_eq!(response.status(), 413);
    assert_eq!(api.post_payments(&one("small"), None).await.status(), 202);
    assert_eq!(api.sandbox.batch_count(), 1);
}

#[tokio::test]
async fn unknown_routes_are_404_json_and_wrong_methods_405() {
    let api = Api::default().await;
    let base = format!("http://{}", api.sandbox.addr());
    for path in [
        "/",
        "/nope",
        "/collection/v1/orgs",
        "/collection/v1/batches/x",
        "/token/x",
    ] {
        let response = api.get(&format!("{base}{path}")).await;
        assert_eq!(response.status(), 404, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["summary"]["status"], "ERROR");
    }
    let response = api.http.delete(api.payments_url()).answer().await;
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    assert_eq!(
        response.json::<Value>().await.unwrap()["summary"]["status"],
        "ERROR"
    );
    let response = api.http.get(api.sandbox.token_url()).answer().await;
    assert_eq!(response.status(), 405);
    assert_eq!(api.sandbox.stats().other_requests, 7);
}

#[tokio::test]
async fn an_idempotency_key_returns_the_same_batch_and_books_once() {
    let api = Api::default().await;
    let request = one("pay-once");
    let (first_id, first_url) = api.accepted(&request, Some("key-1")).await;
    let (second_id, second_url) = api.accepted(&request, Some("key-1")).await;
    assert_eq!(first_id, second_id);
    assert_eq!(first_url, second_url);
    api.wait_terminal(&first_url).await;
    let (third_id, _) = api.accepted(&request, Some("key-1")).await;
    assert_eq!(third_id, first_id);
    assert_eq!(api.sandbox.batch_count(), 1);
    assert_eq!(api.sandbox.times_booked("pay-once"), 1);
    let ledger = api.sandbox.ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].idempotency_key.as_deref(), Some("key-1"));
    assert_eq!(ledger[0].batch_id.to_string(), first_id);
    assert_eq!(ledger[0].amount, rust_decimal::Decimal::new(450050, 2));
    assert_eq!(ledger[0].currency, "NOK");
    assert_eq!(ledger[0].organization_id, api.sandbox.organization_id());

    // The same key with another body is a conflict; an empty key is malformed.
    let response = api
        .post_payments(&one("something-else"), Some("key-1"))
        .await;
    assert_eq!(response.status(), 409);
    assert_eq!(api.post_payments(&one("x"), Some("")).await.status(), 400);
    let long = "k".repeat(256);
    assert_eq!(
        api.post_payments(&one("x"), Some(&long)).await.status(),
        400
    );
    // Without a key, the same body makes a new batch (whose payment is then a duplicate).
    let (other_id, other_url) = api.accepted(&request, None).await;
    assert_ne!(other_id, first_id);
    let batch = api.wait_terminal(&other_url).await;
    assert_eq!(batch["status"], "FAILED");
    assert_eq!(api.sandbox.times_booked("pay-once"), 1);
}

// ---------------------------------------------------------------- batches

#[tokio::test]
async fn a_batch_is_queued_until_processed() {
    let api = Api::start(Sandbox::builder().batch_delay(Duration::MAX)).await;
    let (_, url) = api.accepted(&one("p1"), None).await;
    let (status, queued) = api.get_json(&url).await;
    assert_eq!(status, 200);
    let data = &queued["data"];
    assert_eq!(data["status"], "QUEUED");
    assert_eq!(data["finishedAt"], Value::Null);
    assert_eq!(data["succeeded"], json!([]));
    assert_eq!(data["type"], "PAYMENT");
    assert_eq!(
        data["organizationId"],
        api.sandbox.organization_id().to_string()
    );
    assert!(api.sandbox.ledger().is_empty());
    api.sandbox.finish_batches();
    let (_, done) = api.get_json(&url).await;
    assert_eq!(done["data"]["status"], "SUCCESS");
    assert!(done["data"]["finishedAt"].is_string());
    assert_eq!(api.sandbox.ledger().len(), 1);
}

#[tokio::test]
async fn a_batch_turns_terminal_after_the_delay() {
    let api = Api::start(Sandbox::builder().batch_delay(Duration::from_millis(100))).await;
    let (_, url) = api.accepted(&one("p1"), None).await;
    let batch = api.wait_terminal(&url).await;
    assert_eq!(batch["status"], "SUCCESS");
    assert_eq!(batch["succeeded"][0]["uniqueSourcePaymentId"], "p1");
    assert_eq!(
        batch["succeeded"][0]["invoiceId"],
        DEMO_INVOICES[1].to_string()
    );
}

#[tokio::test]
async fn batch_status_follows_the_rules() {
    let api = Api::immediate().await;
    let (_, all_good) = api
        .accepted(
            &body(vec![
                payment(DEMO_INVOICES[1], "a1"),
                payment(DEMO_INVOICES[2], "a2"),
            ]),
            None,
        )
        .await;
    let (_, mixed) = api
        .accepted(
            &body(vec![
                payment(DEMO_INVOICES[3], "b1"),
                payment(unknown_invoice(), "b2"),
            ]),
            None,
        )
        .await;
    let mut zero = payment(DEMO_INVOICES[4], "c2");
    zero["amount"] = json!(0);
    let (_, all_bad) = api
        .accepted(&body(vec![payment(unknown_invoice(), "c1"), zero]), None)
        .await;

    let good = api.wait_terminal(&all_good).await;
    assert_eq!(good["status"], "SUCCESS");
    assert_eq!(good["succeeded"].as_array().unwrap().len(), 2);
    assert_eq!(good["failed"], json!([]));

    let partial = api.wait_terminal(&mixed).await;
    assert_eq!(partial["status"], "PARTIAL");
    assert_eq!(partial["succeeded"][0]["uniqueSourcePaymentId"], "b1");
    let failed = &partial["failed"][0];
    assert_eq!(failed["uniqueSourcePaymentId"], "b2");
    assert_eq!(failed["invoiceId"], unknown_invoice().to_string());
    assert_eq!(failed["reason"], reason::UNKNOWN_INVOICE);
    assert!(
        failed["message"]
            .as_str()
            .unwrap()
            .contains("unknown invoice")
    );

    let bad = api.wait_terminal(&all_bad).await;
    assert_eq!(bad["status"], "FAILED");
    assert_eq!(bad["failed"][1]["reason"], reason::INVALID_AMOUNT);
    let booked: Vec<String> = api
        .sandbox
        .ledger()
        .into_iter()
        .map(|p| p.unique_source_payment_id)
        .collect();
    assert_eq!(booked, ["a1", "a2", "b1"]);
}

#[tokio::test]
async fn a_source_payment_id_is_booked_once_per_organization() {
    let api = Api::immediate().await;
    let (_, first) = api
        .accepted(
            &body(vec![
                payment(DEMO_INVOICES[1], "dup"),
                payment(DEMO_INVOICES[2], "dup"),
            ]),
            None,
        )
        .await;
    let batch = api.wait_terminal(&first).await;
    assert_eq!(batch["status"], "PARTIAL");
    assert_eq!(batch["failed"][0]["reason"], reason::DUPLICATE_PAYMENT);
    assert!(
        batch["failed"][0]["message"]
            .as_str()
            .unwrap()
            .contains("duplicate")
    );
    let (_, again) = api.accepted(&one("dup"), None).await;
    let batch = api.wait_terminal(&again).await;
    assert_eq!(batch["status"], "FAILED");
    assert_eq!(batch["failed"][0]["reason"], reason::DUPLICATE_PAYMENT);
    assert_eq!(api.sandbox.times_booked("dup"), 1);

    // Another organization has its own ledger of source ids.
    let response = api.post_payments_as_other_org(&one("dup")).await;
    assert_eq!(response.status(), 202);
    assert_eq!(api.sandbox.times_booked("dup"), 2);
}

#[tokio::test]
async fn seeding_an_invoice_makes_its_payments_succeed() {
    let api = Api::start(
        Sandbox::builder()
            .batch_delay(Duration::ZERO)
            .demo_invoices(false),
    )
    .await;
    let invoice = Uuid::new_v4();
    let (_, before) = api
        .accepted(&body(vec![payment(invoice, "s1")]), None)
        .await;
    assert_eq!(api.wait_terminal(&before).await["status"], "FAILED");
    api.sandbox.seed_invoices([invoice]);
    let (_, after) = api
        .accepted(&body(vec![payment(invoice, "s2")]), None)
        .await;
    assert_eq!(api.wait_terminal(&after).await["status"], "SUCCESS");
    // With the demo invoices off, they are unknown.
    let (_, demo) = api.accepted(&one("s3"), None).await;
    assert_eq!(
        api.wait_terminal(&demo).await["failed"][0]["reason"],
        reason::UNKNOWN_INVOICE
    );
}

#[tokio::test]
async fn unknown_and_malformed_batch_ids() {
    let api = Api::default().await;
    let unknown = format!("{}/{}", api.batches_url(), Uuid::new_v4());
    let (status, error) = api.get_json(&unknown).await;
    assert_eq!(status, 404);
    assert_eq!(error["summary"]["status"], "ERROR");
    let (status, error) = api
        .get_json(&format!("{}/not-a-uuid", api.batches_url()))
        .await;
    assert_eq!(status, 400);
    assert_eq!(error["errors"][0]["field"], "batchId");
    assert_eq!(api.sandbox.stats().batch_gets, 2);
}

// ---------------------------------------------------------------- lists

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["batchId"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn list_filters() {
    let api = Api::start(Sandbox::builder().batch_delay(Duration::MAX)).await;
    let (success, _) = api.accepted(&one("f1"), Some("k1")).await;
    let (failed, _) = api
        .accepted(&body(vec![payment(unknown_invoice(), "f2")]), Some("k2"))
        .await;
    let (partial, _) = api
        .accepted(
            &body(vec![
                payment(DEMO_INVOICES[5], "f3"),
                payment(unknown_invoice(), "f4"),
            ]),
            None,
        )
        .await;
    api.sandbox.finish_batches();
    let (queued, _) = api.accepted(&one("f5"), None).await;
    // Another organization's batch never shows up.
    let response = api.post_payments_as_other_org(&one("f6")).await;
    assert_eq!(response.status(), 202);

    let list = |query: &str| {
        let url = format!("{}?{query}", api.batches_url());
        let api = &api;
        async move { api.get_json(&url).await }
    };
    let (status, all) = list("").await;
    assert_eq!(status, 200);
    assert_eq!(
        ids(&all),
        [
            queued.as_str(),
            partial.as_str(),
            failed.as_str(),
            success.as_str()
        ]
    );
    assert!(all["summary"].get("nextPageToken").is_none());
    assert_eq!(ids(&list("State=SUCCESS").await.1), [success.as_str()]);
    assert_eq!(ids(&list("State=FAILED").await.1), [failed.as_str()]);
    assert_eq!(ids(&list("State=PARTIAL").await.1), [partial.as_str()]);
    assert_eq!(ids(&list("State=QUEUED").await.1), [queued.as_str()]);
    assert_eq!(ids(&list("IdempotencyKey=k2").await.1), [failed.as_str()]);
    assert!(ids(&list("IdempotencyKey=nope").await.1).is_empty());
    assert_eq!(ids(&list("Type=PAYMENT").await.1).len(), 4);
    assert!(ids(&list("Type=INVOICE").await.1).is_empty());
    assert_eq!(ids(&list("SubjectId=f4").await.1), [partial.as_str()]);
    assert_eq!(
        ids(&list(&format!("SubjectId={}", unknown_invoice())).await.1),
        [partial.as_str(), failed.as_str()]
    );
    assert_eq!(
        ids(&list("State=PARTIAL&SubjectId=f1").await.1),
        Vec::<String>::new()
    );
    assert_eq!(
        ids(&list("SortDirection=ASC").await.1),
        [
            success.as_str(),
            failed.as_str(),
            partial.as_str(),
            queued.as_str()
        ]
    );
    for bad in [
        "State=DONE",
        "Type=OTHER",
        "PageSize=0",
        "PageSize=x",
        "PageSize=3000000000",
        "SortDirection=UP",
    ] {
        let (status, error) = list(bad).await;
        assert_eq!(status, 400, "{bad}");
        let field = bad.split('=').next().unwrap();
        assert_eq!(error["errors"][0]["field"], field, "{bad}");
    }
    assert_eq!(api.sandbox.stats().batch_lists, 19);
}

#[tokio::test]
async fn list_pages_with_a_cursor() {
    let api = Api::immediate().await;
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(api.accepted(&one(&format!("page-{i}")), None).await.0);
    }
    for (direction, expected) in [
        ("ASC", created.clone()),
        ("DESC", created.iter().rev().cloned().collect::<Vec<_>>()),
    ] {
        let mut seen = Vec::new();
        let mut sizes = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut url = format!("{}?PageSize=3&SortDirection={direction}", api.batches_url());
            if let Some(token) = &token {
                url.push_str(&format!("&PageToken={token}"));
            }
            let (status, page) = api.get_json(&url).await;
            assert_eq!(status, 200, "{page}");
            sizes.push(page["data"].as_array().unwrap().len());
            seen.extend(ids(&page));
            match page["summary"]["nextPageToken"].as_str() {
                Some(next) => {
                    assert_ne!(Some(next), token.as_deref(), "cursor repeated");
                    token = Some(next.to_owned());
                }
                None => break,
            }
            assert!(sizes.len() < 10, "too many pages");
        }
        assert_eq!(sizes, [3, 3, 1], "{direction}");
        assert_eq!(seen, expected, "{direction}");
    }
    // A cursor is tied to its sort direction; garbage is refused.
    let (_, first) = api
        .get_json(&format!(
            "{}?PageSize=2&SortDirection=ASC",
            api.batches_url()
        ))
        .await;
    let next = first["summary"]["nextPageToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = api
        .get_json(&format!(
            "{}?PageSize=2&SortDirection=DESC&PageToken={next}",
            api.batches_url()
        ))
        .await;
    assert_eq!(status, 400);
    for bad in ["garbage", "%%%", "YWJj"] {
        let (status, error) = api
            .get_json(&format!("{}?PageToken={bad}", api.batches_url()))
            .await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(error["errors"][0]["field"], "PageToken");
    }
    // PageSize above the maximum is served as the maximum; an empty PageToken is the first page.
    let (status, page) = api
        .get_json(&format!("{}?PageSize=100000&PageToken=", api.batches_url()))
        .await;
    assert_eq!(status, 200);
    assert_eq!(ids(&page).len(), 7);
}

// ---------------------------------------------------------------- the spec, checked directly

fn validator(component: &str) -> jsonschema::Validator {
    let schema = amili_sandbox::spec::component_schema(component).unwrap();
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn assert_conforms(validator: &jsonschema::Validator, value: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?} in {value}");
}

#[tokio::test]
async fn answers_conform_to_the_spec_schemas() {
    // The default, undocumented batch type PAYMENT must conform: the spec's enums are open.
    let api = Api::start(Sandbox::builder().batch_delay(Duration::MAX)).await;
    let created = api.post_payments(&one("c1"), Some("key")).await;
    let created: Value = created.json().await.unwrap();
    assert_conforms(&validator("CreatePaymentsResponse"), &created);
    let url = created["data"]["batchUrl"].as_str().unwrap().to_owned();
    api.accepted(&body(vec![payment(unknown_invoice(), "c2")]), None)
        .await;
    let batch = validator("BatchResponse");
    let list = validator("BatchListResponse");
    let error = validator("ErrorBody");
    assert_conforms(&batch, &api.get_json(&url).await.1);
    assert_conforms(
        &list,
        &api.get_json(&format!("{}?PageSize=1", api.batches_url()))
            .await
            .1,
    );
    api.sandbox.finish_batches();
    assert_conforms(&batch, &api.get_json(&url).await.1);
    assert_conforms(&list, &api.get_json(&api.batches_url()).await.1);
    let response = api.post_payments(&json!({"payments": [{}]}), None).await;
    assert_conforms(&error, &response.json().await.unwrap());
    assert_conforms(
        &error,
        &api.get_json(&format!("{}/{}", api.batches_url(), Uuid::new_v4()))
            .await
            .1,
    );
}

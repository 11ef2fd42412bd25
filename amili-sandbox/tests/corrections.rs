//! CreateCorrections over loopback HTTP: 202 and a followed batch, the ledger adjusted,
//! idempotent replays, refusals naming the item and field, per-item rules, faults.

mod common;

use amili_sandbox::{DEMO_INVOICES, Fault, Route, reason};
use common::{Api, Sent, body, conforms, has_error, payment};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use uuid::Uuid;

fn corrections_url(api: &Api) -> String {
    format!(
        "{}/orgs/{}/corrections",
        api.sandbox.api_url(),
        api.sandbox.organization_id()
    )
}

fn correction(invoice: Uuid, amount: Value) -> Value {
    json!({
        "invoiceId": invoice,
        "amount": amount,
        "currency": "NOK",
        "date": "2025-03-10T08:00:00Z",
        "description": "reported too much",
    })
}

async fn post(api: &Api, body: &Value, key: Option<&str>) -> reqwest::Response {
    let mut request = api
        .http
        .post(corrections_url(api))
        .header("Authorization", api.bearer())
        .json(body);
    if let Some(key) = key {
        request = request.header("IdempotencyKey", key);
    }
    request.answer().await
}

#[tokio::test]
async fn a_correction_is_accepted_followed_booked_and_replayed_by_key() {
    let api = Api::immediate().await;
    let (_, url) = api
        .accepted(&body(vec![payment(DEMO_INVOICES[1], "p1")]), None)
        .await;
    api.wait_terminal(&url).await;
    assert_eq!(
        api.sandbox.paid_on(DEMO_INVOICES[1]),
        Decimal::new(450050, 2)
    );

    let request = json!({"corrections": [correction(DEMO_INVOICES[1], json!(-500.25))]});
    let response = post(&api, &request, Some("c-1")).await;
    assert_eq!(response.status(), 202);
    let answer: Value = response.json().await.unwrap();
    conforms("CreateCorrectionsResponse", &answer);
    let batch_url = answer["data"]["batchUrl"].as_str().unwrap().to_owned();
    let batch = api.wait_terminal(&batch_url).await;
    conforms("Batch", &batch);
    assert_eq!(batch["status"], "SUCCESS", "{batch}");
    assert_eq!(batch["type"], "CORRECTION");
    assert_eq!(batch["succeeded"][0]["invoiceId"], json!(DEMO_INVOICES[1]));
    assert_eq!(batch["idempotencyKey"], "c-1");

    let booked = api.sandbox.corrections();
    assert_eq!(booked.len(), 1);
    assert_eq!(booked[0].amount, Decimal::new(-50025, 2));
    assert_eq!(booked[0].idempotency_key.as_deref(), Some("c-1"));
    // The ledger shows both: the payment unchanged, the correction beside it.
    assert_eq!(api.sandbox.ledger().len(), 1);
    assert_eq!(
        api.sandbox.paid_on(DEMO_INVOICES[1]),
        Decimal::new(400025, 2)
    );

    // Same key, same body: the same batch, nothing booked again.
    let replay: Value = post(&api, &request, Some("c-1"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(replay["data"]["batchId"], answer["data"]["batchId"]);
    assert_eq!(api.sandbox.corrections().len(), 1);
    // Same key, another body: 409.
    let other = json!({"corrections": [correction(DEMO_INVOICES[1], json!(-1))]});
    assert_eq!(post(&api, &other, Some("c-1")).await.status(), 409);
    assert_eq!(api.sandbox.corrections().len(), 1);

    // Listed among the batches, filterable by its type.
    let (status, list) = api
        .get_json(&format!("{}?Type=CORRECTION", api.batches_url()))
        .await;
    assert_eq!(status, 200);
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_bad_correction_is_refused_naming_item_and_field() {
    let api = Api::default().await;
    let mut no_description = correction(DEMO_INVOICES[1], json!(-1));
    no_description
        .as_object_mut()
        .unwrap()
        .remove("description");
    let mut text_amount = correction(DEMO_INVOICES[1], json!(-1));
    text_amount["amount"] = json!("-1");
    let request = json!({"corrections": [
        correction(DEMO_INVOICES[1], json!(-1)),
        no_description,
        text_amount,
    ]});
    let response = post(&api, &request, None).await;
    assert_eq!(response.status(), 422);
    let error: Value = response.json().await.unwrap();
    conforms("ErrorBody", &error);
    let has = |item: u64, field: &str, text: &str| has_error(&error, item, field, text);
    assert!(
        has(1, "description", "corrections[1].description"),
        "{error}"
    );
    assert!(has(2, "amount", "corrections[2].amount"), "{error}");
    for wrong in [
        json!({}),
        json!({"corrections": []}),
        json!({"payments": []}),
    ] {
        assert_eq!(post(&api, &wrong, None).await.status(), 422, "{wrong}");
    }
    let unauthenticated = api
        .http
        .post(corrections_url(&api))
        .json(&request)
        .answer()
        .await;
    assert_eq!(unauthenticated.status(), 401);
    assert_eq!(api.sandbox.batch_count(), 0);
}

#[tokio::test]
async fn corrections_fail_per_item_by_rule() {
    let api = Api::immediate().await;
    let mut yen = correction(DEMO_INVOICES[1], json!(-1.5));
    yen["currency"] = json!("JPY");
    let mut no_currency = correction(DEMO_INVOICES[1], json!(-1));
    no_currency["currency"] = json!("string");
    let request = json!({"corrections": [
        correction(DEMO_INVOICES[1], json!(12.5)),
        correction(DEMO_INVOICES[1], json!(0)),
        correction(Uuid::new_v4(), json!(-1)),
        yen,
        no_currency,
    ]});
    let answer: Value = post(&api, &request, None).await.json().await.unwrap();
    let batch = api
        .wait_terminal(answer["data"]["batchUrl"].as_str().unwrap())
        .await;
    assert_eq!(batch["status"], "PARTIAL", "{batch}");
    assert_eq!(batch["succeeded"].as_array().unwrap().len(), 1);
    let reasons: Vec<&str> = batch["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            reason::INVALID_AMOUNT,
            reason::UNKNOWN_INVOICE,
            reason::INVALID_AMOUNT,
            reason::INVALID_CURRENCY
        ]
    );
    assert_eq!(api.sandbox.paid_on(DEMO_INVOICES[1]), Decimal::new(125, 1));
}

#[tokio::test]
async fn faults_apply_to_corrections_and_a_retry_with_the_key_books_once() {
    let api = Api::immediate().await;
    api.fault(Route::CreateCorrections, Fault::DropAfterProcessing);
    let request = json!({"corrections": [correction(DEMO_INVOICES[2], json!(-3))]});
    let mut send = api
        .http
        .post(corrections_url(&api))
        .header("Authorization", api.bearer())
        .header("IdempotencyKey", "retry-1")
        .json(&request);
    assert!(send.send().await.is_err(), "the connection was dropped");
    send = api
        .http
        .post(corrections_url(&api))
        .header("Authorization", api.bearer())
        .header("IdempotencyKey", "retry-1")
        .json(&request);
    let answer: Value = send.json_answer().await;
    api.wait_terminal(answer["data"]["batchUrl"].as_str().unwrap())
        .await;
    assert_eq!(api.sandbox.batch_count(), 1);
    assert_eq!(api.sandbox.corrections().len(), 1);
    let stats = api.sandbox.stats();
    assert_eq!(stats.correction_requests, 2);
    assert_eq!(stats.faults_applied, 1);
    assert_eq!(
        "create-corrections".parse::<Route>(),
        Ok(Route::CreateCorrections)
    );
}

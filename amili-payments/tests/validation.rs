//! Invalid payments are named field by field, and nothing reaches the sandbox.

mod common;

use amili_payments::report::{Outcome, RequestResult};
use amili_payments::validation::validate_all;
use amili_payments::{Decimal, Error, Payment, PaymentInput, PaymentType, Utc};
use amili_sandbox::DEMO_INVOICES;
use common::*;
use serde_json::{Value, json};

fn good_row(id: &str) -> Value {
    json!({
        "invoiceId": DEMO_INVOICES[1],
        "type": "DIRECT_PAYMENT",
        "amount": 4500.10,
        "currency": "NOK",
        "date": "2025-03-09T14:30:00Z",
        "description": "Bank transfer",
        "uniqueSourcePaymentId": id,
    })
}

fn with(id: &str, field: &str, value: Value) -> Value {
    let mut row = good_row(id);
    match value {
        Value::Null => {
            row.as_object_mut().map(|o| o.remove(field));
        }
        value => row[field] = value,
    }
    row
}

/// One row per kind of invalid field: (the row, the field the error must name, a word the
/// message must contain).
fn invalid_rows() -> Vec<(Value, &'static str, &'static str)> {
    let future = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    vec![
        (
            with("R-0", "invoiceId", json!("INV-1")),
            "invoiceId",
            "not a UUID",
        ),
        (
            with("R-1", "invoiceId", Value::Null),
            "invoiceId",
            "required",
        ),
        (
            with("R-2", "type", json!("direct payment")),
            "type",
            "DIRECT_PAYMENT",
        ),
        (with("R-3", "amount", json!(0)), "amount", "not positive"),
        (
            with("R-4", "amount", json!(-12.5)),
            "amount",
            "not positive",
        ),
        (
            with("R-5", "amount", json!("12.345")),
            "amount",
            "3 decimals, NOK allows 2",
        ),
        (
            with("R-6", "amount", json!("4,500")),
            "amount",
            "a JSON amount is a number or a decimal string",
        ),
        (
            with("R-7", "amount", json!("1234567890123456.5")),
            "amount",
            "significant digits",
        ),
        (
            with("R-8", "currency", json!("kr")),
            "currency",
            "three upper-case letters",
        ),
        (
            with("R-9", "currency", json!("ABC")),
            "currency",
            "not an ISO 4217",
        ),
        (
            with("R-10", "currency", json!("XAU")),
            "currency",
            "no minor units",
        ),
        (
            with("R-11", "date", json!("09/03/2025")),
            "date",
            "RFC 3339",
        ),
        (with("R-12", "date", json!(future)), "date", "in the future"),
        (
            with("R-13", "description", json!("two\nlines")),
            "description",
            "control character",
        ),
        (
            with("R-14", "description", json!("x".repeat(501))),
            "description",
            "at most 500",
        ),
        (
            with("R-15", "uniqueSourcePaymentId", json!("  ")),
            "uniqueSourcePaymentId",
            "empty",
        ),
        (
            with("R-16", "uniqueSourcePaymentId", json!(" R-16")),
            "uniqueSourcePaymentId",
            "whitespace",
        ),
        (
            with("R-17", "uniqueSourcePaymentId", json!("x".repeat(256))),
            "uniqueSourcePaymentId",
            "at most 255",
        ),
        (
            with("R-18", "uniqueSourcePaymentId", Value::Null),
            "uniqueSourcePaymentId",
            "required",
        ),
        (
            with("R-19", "amount", json!("1_000")),
            "amount",
            "a JSON amount is a number or a decimal string",
        ),
        (
            with("R-20", "amount", json!("+100")),
            "amount",
            "a JSON amount is a number or a decimal string",
        ),
        (
            with("R-21", "amount", json!("1.000.000,5")),
            "amount",
            "not an amount",
        ),
        (
            with("R-21b", "amount", json!("12,50")),
            "amount",
            "a JSON amount is a number or a decimal string",
        ),
        (
            with("R-21c", "date", json!("2016-12-31T23:59:60Z")),
            "date",
            "leap second",
        ),
        (
            with("R-22", "date", json!("0000-01-01T00:00:00Z")),
            "date",
            "before 2000-01-01",
        ),
        (
            with("R-23", "date", json!("1999-12-31")),
            "date",
            "before 2000-01-01",
        ),
        (
            good_row("R-0"),
            "uniqueSourcePaymentId",
            "repeats the id of payment #1",
        ),
    ]
}

#[tokio::test]
async fn every_invalid_field_is_named_and_nothing_is_sent() -> TestResult {
    let (sandbox, client) = sandbox_and_client().await;
    let cases = invalid_rows();
    let mut rows: Vec<PaymentInput> = vec![serde_json::from_value(good_row("OK-1"))?];
    for (row, _, _) in &cases {
        rows.push(serde_json::from_value(row.clone())?);
    }

    // The way a caller gets payments from rows: all or nothing, so nothing can be sent.
    let result = validate_all(rows).map_err(Error::from);
    let errors = match result {
        Ok(_) => panic!("invalid rows validated"),
        Err(Error::Validation(errors)) => errors,
        Err(other) => panic!("unexpected error {other}"),
    };
    assert_eq!(errors.len(), cases.len(), "{errors}");
    for (item, (row, field, needle)) in errors.iter().zip(&cases) {
        let named = item
            .errors
            .iter()
            .find(|e| e.field == *field)
            .unwrap_or_else(|| panic!("{row} should name {field}: {item}"));
        assert!(named.message.contains(needle), "{row}: {named}");
    }
    let text = errors.to_string();
    assert!(
        text.contains("payment #1 (R-0): invoiceId: \"INV-1\" is not a UUID"),
        "{text}"
    );
    assert!(
        text.contains("payment #6 (R-5): amount: 12.345 has 3 decimals, NOK allows 2"),
        "{text}"
    );

    assert!(sandbox.ledger().is_empty());
    assert_eq!(sandbox.stats().payment_requests, 0);
    assert_eq!(sandbox.stats().token_requests, 0);
    drop(client);
    Ok(())
}

#[tokio::test]
async fn every_problem_of_one_payment_at_once() {
    let row: PaymentInput = match serde_json::from_value(json!({
        "invoiceId": "x", "type": "card payment", "amount": "-1", "currency": "kr",
        "date": "tomorrow", "description": "\u{0}", "uniqueSourcePaymentId": ""
    })) {
        Ok(row) => row,
        Err(e) => panic!("{e}"),
    };
    let errors = Payment::from_input(row).err().unwrap_or_default();
    let fields: Vec<&str> = errors.iter().map(|e| e.field).collect();
    // Every field, once, in the documented order.
    assert_eq!(fields, PaymentInput::FIELDS, "{errors:?}");
}

#[tokio::test]
async fn a_repeated_source_id_stops_the_whole_submission() -> TestResult {
    let (sandbox, client) = sandbox_and_client().await;
    let mut input = payments(0..5);
    input.push(payment_with_id(7, "P-000002"));
    input.push(payment_with_id(8, "P-000004"));
    let err = client
        .submit(input.clone())
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("duplicates accepted"));
    match &err {
        Error::DuplicateSourceId { duplicates, .. } => {
            assert_eq!(duplicates.len(), 2);
            assert_eq!(duplicates[0].source_id, "P-000002");
            assert_eq!(duplicates[0].indexes, [2, 5]);
        }
        other => panic!("unexpected {other}"),
    }
    assert!(err.is_validation());
    assert!(err.to_string().contains("P-000002 at #2, #5"), "{err}");
    // `stream()` refuses it the same way, before anything is sent.
    let streamed = client.submit(input).stream().err();
    assert!(
        matches!(streamed, Some(Error::DuplicateSourceId { .. })),
        "{streamed:?}"
    );
    // Even with a caller's key, and in one request.
    let twice = client
        .submit(vec![payment(1), payment(1)])
        .with_idempotency_key(amili_payments::IdempotencyKey::random())
        .send()
        .await;
    assert!(
        matches!(twice, Err(Error::DuplicateSourceId { .. })),
        "{twice:?}"
    );
    assert_eq!(sandbox.stats().payment_requests, 0);
    assert_eq!(sandbox.stats().token_requests, 0);
    assert!(sandbox.ledger().is_empty());
    Ok(())
}

#[tokio::test]
async fn a_repeated_source_id_in_a_stream_is_not_sent() -> TestResult {
    let (sandbox, client) = sandbox_and_client().await;
    // A stream cannot be checked up front: the first one is sent, the repeats are not.
    let input = vec![
        payment(0),
        payment(1),
        payment_with_id(2, "P-000000"),
        payment(3),
        payment_with_id(4, "P-000001"),
        payment_with_id(5, "P-000000"),
    ];
    let report = client
        .submit_stream(futures::stream::iter(input))
        .with_chunk_size(2)
        .send()
        .await?;
    let items: Vec<_> = report.items().collect();
    assert_eq!(items.len(), 6);
    for &repeat in &[2, 4, 5] {
        repeat_reason(items[repeat]);
    }
    for &first in &[0, 1, 3] {
        assert_eq!(
            items[first].outcome,
            Outcome::Accepted,
            "{:?}",
            items[first]
        );
    }
    // The repeats' requests carried only the first payments.
    assert_eq!(sandbox.stats().payment_requests, 2, "{report:?}");
    sandbox.finish_batches();
    assert_eq!(sandbox.ledger().len(), 3);
    assert_eq!(sandbox.times_booked("P-000000"), 1);
    Ok(())
}

#[tokio::test]
async fn an_undocumented_payment_type_is_sent_and_its_failure_reported() -> TestResult {
    // The payment type is open: a value this version does not know is sent as is, and the
    // batch's verdict on it comes back to the payment.
    let (_sandbox, client) = sandbox_and_client().await;
    let card = Payment::builder()
        .invoice_id(DEMO_INVOICES[0])
        .payment_type(PaymentType::Unknown("CARD".into()))
        .amount(Decimal::new(1, 0))
        .currency("NOK")
        .date(Utc::now())
        .unique_source_payment_id("P-card")
        .build()?;
    let mut report = client.submit(vec![card, payment(1)]).send().await?;
    quick_poller(&client).follow_all(&mut report).await?;
    let items: Vec<_> = report.items().collect();
    match &items[0].outcome {
        Outcome::Failed(failure) => {
            assert_eq!(
                failure.code(),
                Some("UNSUPPORTED_PAYMENT_TYPE"),
                "{failure}"
            )
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert_eq!(items[1].outcome, Outcome::Succeeded);
    Ok(())
}

#[tokio::test]
async fn a_refusal_comes_back_with_amili_message_and_request_id() -> TestResult {
    let (sandbox, client) = sandbox_and_client().await;
    sandbox
        .faults()
        .push(amili_sandbox::Route::CreatePayments, status(422));
    let report = client
        .submit(payments(0..4))
        .with_chunk_size(2)
        .with_concurrency(1)
        .send()
        .await?;
    let items: Vec<_> = report.items().collect();
    for item in &items[..2] {
        match &item.outcome {
            Outcome::Rejected(reason) => {
                let reason = reason.as_str();
                assert!(reason.contains("422 Unprocessable Entity"), "{reason}");
                assert!(
                    reason.contains("injected fault"),
                    "Amili's message: {reason}"
                );
                assert!(reason.contains("request id"), "{reason}");
            }
            other => panic!("expected a rejection, got {other:?}"),
        }
        assert!(item.outcome.is_safe_to_resend());
    }
    // A 422 is about that request: the next one is still sent.
    assert_eq!(report.counts().accepted, 2);

    sandbox
        .faults()
        .push(amili_sandbox::Route::CreatePayments, status(422));
    let report = client.submit(payments(10..11)).send().await?;
    let err = match &only_request(&report).result {
        RequestResult::Rejected(err) => err.clone(),
        other => panic!("expected a rejection, got {other:?}"),
    };
    let api = err
        .as_api()
        .unwrap_or_else(|| panic!("not an API error: {err}"));
    assert_eq!(api.status(), 422);
    assert!(api.request_id().is_some());
    assert!(api.message().is_some_and(|m| m.contains("injected fault")));
    assert!(api.body_text().is_some_and(|b| b.contains("errors")));
    assert!(!err.is_retryable());
    assert_eq!(sandbox.stats().payment_requests, 3, "a 422 is not retried");
    Ok(())
}

#[tokio::test]
async fn amounts_and_days_that_read_one_way_arrive_exactly() -> TestResult {
    let (sandbox, client) = sandbox_and_client().await;
    let cases = [
        (
            "A-0",
            json!("4500.10"),
            json!("2025-03-09T14:30:00Z"),
            Decimal::new(450010, 2),
            "2025-03-09T14:30:00Z",
        ),
        (
            "A-1",
            json!(4500.10),
            json!("09.03.2025"),
            Decimal::new(450010, 2),
            "2025-03-08T23:00:00Z",
        ),
        (
            "A-2",
            json!(" 4500.10 "),
            json!("2025-07-01"),
            Decimal::new(450010, 2),
            "2025-06-30T22:00:00Z",
        ),
        (
            "A-3",
            json!("12.50"),
            json!("2025-03-09T15:30:00+01:00"),
            Decimal::new(1250, 2),
            "2025-03-09T14:30:00Z",
        ),
        (
            "A-4",
            json!(0.1),
            json!("2025-03-09T14:30:00Z"),
            Decimal::new(1, 1),
            "2025-03-09T14:30:00Z",
        ),
    ];
    let mut rows: Vec<PaymentInput> = Vec::new();
    for (id, amount, date, _, _) in &cases {
        let mut row = with(id, "amount", amount.clone());
        row["date"] = date.clone();
        rows.push(serde_json::from_value(row)?);
    }
    let payments = validate_all(rows)?;
    for (payment, (id, _, _, amount, date)) in payments.iter().zip(&cases) {
        assert_eq!(payment.amount(), *amount, "{id}");
        assert_eq!(
            payment
                .date()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            *date,
            "{id}"
        );
    }
    client.submit(payments).send().await?.ensure_accepted()?;
    sandbox.finish_batches();
    let ledger = sandbox.ledger();
    for (id, _, _, amount, _) in &cases {
        let booked = ledger
            .iter()
            .find(|b| b.unique_source_payment_id == *id)
            .ok_or("not booked")?;
        assert_eq!(booked.amount, *amount, "{id}");
    }
    Ok(())
}

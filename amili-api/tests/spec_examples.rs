//! Every `example` in the spec is checked twice: against its own schema (JSON Schema, through
//! an OpenAPI → JSON Schema conversion independent of the generated code) and by
//! deserializing it into the generated types. The seed's examples must also serialize back
//! unchanged, and unknown enum values must land in `Unknown`.

use amili_api::types;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

mod support;
use support::{Spec, SpecExample};

fn spec() -> Spec {
    match Spec::load() {
        Ok(spec) => spec,
        Err(e) => panic!("{e}"),
    }
}

/// Deserializes `value` as `T` and returns it serialized again.
fn through<T: DeserializeOwned + serde::Serialize>(value: &Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(&typed).map_err(|e| e.to_string())
}

/// The generated (or replacement) Rust type each example must deserialize into.
fn reserialize(example: &SpecExample) -> Option<Result<Value, String>> {
    let v = &example.value;
    Some(match example.location.as_str() {
        "CreatePayments request" => through::<types::CreatePaymentsRequest>(v),
        "CreatePayments 202" => through::<types::CreatePaymentsResponse>(v),
        "GetBatchById 200" => through::<types::BatchResponse>(v),
        "GetBatchesByOrganization 200" => through::<types::BatchListResponse>(v),
        "CreatePayments parameter IdempotencyKey" => {
            through::<types::CreatePaymentsIdempotencyKey>(v)
        }
        "CreateCorrections request" => through::<types::CreateCorrectionsRequest>(v),
        "CreateCorrections 202" => through::<types::CreateCorrectionsResponse>(v),
        "CreateCorrections parameter IdempotencyKey" => {
            through::<types::CreateCorrectionsIdempotencyKey>(v)
        }
        "GetInvoicesByOrganization 200" => through::<types::InvoiceListResponse>(v),
        "GetInvoiceById 200" => through::<types::InvoiceResponse>(v),
        "GetSettlements 200" => through::<types::SettlementListResponse>(v),
        "GetSettlementById 200" => through::<types::SettlementResponse>(v),
        "schema Amount" | "schema SignedAmount" => through::<amili_api::Amount>(v),
        "schema InvoiceStatus" => through::<amili_api::InvoiceStatus>(v),
        "schema InvoiceType" => through::<amili_api::InvoiceType>(v),
        "schema CollectionType" => through::<amili_api::CollectionType>(v),
        "schema Currency" => through::<types::Currency>(v),
        "schema PaymentType" => through::<amili_api::PaymentType>(v),
        _ => return None,
    })
}

#[test]
fn the_spec_has_the_documented_examples() {
    let locations: Vec<String> = spec().examples().into_iter().map(|e| e.location).collect();
    for expected in [
        "CreatePayments request",
        "CreatePayments 202",
        "GetBatchById 200",
        "GetBatchesByOrganization 200",
        "CreateCorrections request",
        "CreateCorrections 202",
        "GetInvoicesByOrganization 200",
        "GetInvoiceById 200",
        "GetSettlements 200",
        "GetSettlementById 200",
    ] {
        assert!(
            locations.iter().any(|l| l == expected),
            "{expected} missing: {locations:?}"
        );
    }
}

#[test]
fn every_example_validates_against_its_own_schema() {
    let spec = spec();
    let mut problems = Vec::new();
    for example in spec.examples() {
        if let Err(errors) = spec.validate(&example.schema, &example.value) {
            problems.push(format!("{}: {}", example.location, errors.join("; ")));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn every_example_deserializes_into_the_generated_types() {
    let mut problems = Vec::new();
    for example in spec().examples() {
        match reserialize(&example) {
            None => problems.push(format!(
                "{}: no Rust type is mapped in this test",
                example.location
            )),
            Some(Err(e)) => problems.push(format!("{}: {e}", example.location)),
            Some(Ok(_)) => {}
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_seed_examples_serialize_back_unchanged() {
    for location in ["CreatePayments request", "CreatePayments 202"] {
        let example = spec()
            .examples()
            .into_iter()
            .find(|e| e.location == location);
        let Some(example) = example else {
            panic!("{location} example missing");
        };
        let back = reserialize(&example).map(|r| r.unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(back.as_ref(), Some(&example.value), "{location}");
    }
}

#[test]
fn the_seed_request_matches_the_doc_page_byte_for_byte_as_json() {
    // The body of the seed's curl example, as printed on Amili's CreatePayments page.
    let seed = json!({
        "payments": [{
            "invoiceId": "4f163819-178d-470c-a246-d6768476a6ec",
            "type": "DIRECT_PAYMENT",
            "amount": 0,
            "currency": "string",
            "date": "2019-08-24T14:15:22.123Z",
            "description": "string",
            "uniqueSourcePaymentId": "string"
        }]
    });
    assert_eq!(
        through::<types::CreatePaymentsRequest>(&seed),
        Ok(seed.clone())
    );
    // The spec carries exactly this body as its request example (other tests reuse it).
    let example = spec()
        .examples()
        .into_iter()
        .find(|e| e.location == "CreatePayments request")
        .map(|e| e.value);
    assert_eq!(example, Some(seed));
}

#[test]
fn unknown_status_and_type_values_land_in_unknown() -> Result<(), serde_json::Error> {
    let body = json!({
        "summary": {"status": "SUCCESS"},
        "data": {
            "batchId": "ae257e86-dc53-4865-9c97-5b125a3a5ac2",
            "type": "PAYMENT",
            "status": "PROCESSING",
            "succeeded": [{"uniqueSourcePaymentId": "P-1", "somethingNew": {"x": 1}}],
            "failed": []
        }
    });
    let batch: types::BatchResponse = serde_json::from_value(body)?;
    assert_eq!(
        batch.data.status,
        amili_api::BatchStatus::Unknown("PROCESSING".into())
    );
    assert_eq!(
        batch.data.type_,
        Some(amili_api::BatchType::Unknown("PAYMENT".into()))
    );
    assert_eq!(
        batch.data.succeeded[0].fields()["somethingNew"],
        json!({"x": 1})
    );

    let payment: types::Payment = serde_json::from_value(json!({
        "invoiceId": "4f163819-178d-470c-a246-d6768476a6ec",
        "type": "CARD_PAYMENT",
        "amount": 12.5,
        "currency": "NOK",
        "date": "2019-08-24T14:15:22Z",
        "description": "x",
        "uniqueSourcePaymentId": "P-1"
    }))?;
    assert_eq!(
        payment.type_,
        amili_api::PaymentType::Unknown("CARD_PAYMENT".into())
    );
    Ok(())
}

#[test]
fn invoices_and_settlements_keep_unknown_fields_and_enum_values() -> Result<(), serde_json::Error> {
    let page: types::InvoiceListResponse = serde_json::from_value(json!({
        "summary": {"status": "SUCCESS", "nextPageToken": "p2"},
        "data": [{
            "id": "4f163819-178d-470c-a246-d6768476a6ec",
            "organization": {"id": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "vatNumber": "NO1"},
            "invoiceNumber": "INV-1",
            "type": "DEBT_COLLECTION",
            "status": "PAID",
            "originalInvoiceAmount": 1234.56,
            "debtor": {"name": "Kari"}
        }]
    }))?;
    let invoice = &page.data[0];
    assert_eq!(
        invoice.status,
        Some(amili_api::InvoiceStatus::Unknown("PAID".into()))
    );
    assert_eq!(
        invoice.type_,
        Some(amili_api::InvoiceType::Unknown("DEBT_COLLECTION".into()))
    );
    assert_eq!(invoice.extra["debtor"], json!({"name": "Kari"}));
    assert_eq!(
        invoice.organization.as_ref().map(|o| &o.extra["vatNumber"]),
        Some(&json!("NO1"))
    );
    assert_eq!(
        invoice
            .original_invoice_amount
            .map(amili_api::Amount::value),
        Some(rust_decimal::Decimal::new(123456, 2))
    );

    let settlement: types::SettlementResponse = serde_json::from_value(json!({
        "data": {"collectionType": "LEGAL", "exchangeRate": 1.0, "amount": -0.1}
    }))?;
    assert_eq!(
        settlement.data.collection_type,
        Some(amili_api::CollectionType::Unknown("LEGAL".into()))
    );
    assert_eq!(settlement.data.extra["exchangeRate"], json!(1.0));
    assert_eq!(
        settlement.data.amount.map(amili_api::Amount::value),
        Some(rust_decimal::Decimal::new(-1, 1))
    );
    Ok(())
}

#[test]
fn a_correction_with_a_negative_amount_is_written_exactly() -> Result<(), serde_json::Error> {
    let body = json!({"corrections": [{
        "invoiceId": "4f163819-178d-470c-a246-d6768476a6ec",
        "amount": -500.25,
        "currency": "NOK",
        "date": "2025-03-09T14:30:00Z",
        "description": "reported twice"
    }]});
    let request: types::CreateCorrectionsRequest = serde_json::from_value(body.clone())?;
    assert_eq!(serde_json::to_string(&request)?, body.to_string());
    Ok(())
}

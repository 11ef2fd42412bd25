//! Amili's documented webhook examples (fixed to valid JSON) parse into typed events; other
//! shapes are open or refused; no input makes parsing panic.

use amili_webhooks::{
    BatchStatus, CaseStatus, CaseType, Decimal, Event, EventType, NaiveDate, ParseError, Source,
    Uuid,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

type TestResult = Result<(), Box<dyn std::error::Error>>;

// The examples of https://docs.amili.dev/webhooks-361430m0, fixed: the `// SUCCESS, …`
// comment removed and the comma after `caseNumber` added.
const BATCH_COMPLETED: &str = r#"{
  "id": "897e1f80-ceb5-4b58-a2aa-c895aff6ce3e",
  "type": "BATCH_COMPLETED",
  "source": "COLLECTION",
  "timeStamp": "2025-08-15T11:42:00Z",
  "data": {
    "batchId": "db6a7ff4-3a20-4042-b271-a9485ded6333",
    "organizationId": "db6a7ff4-3a20-4042-b271-a9485ded6334",
    "status": "SUCCESS"
  }
}"#;

const SETTLEMENT_CREATED: &str = r#"{
  "id": "897e1f80-ceb5-4b58-a2aa-c895aff6ce3e",
  "type": "SETTLEMENT_CREATED",
  "source": "COLLECTION",
  "timeStamp": "2025-08-15T11:42:00Z",
  "data": {
    "settlementId": "db6a7ff4-3a20-4042-b271-a9485ded6333",
    "organizationId": "db6a7ff4-3a20-4042-b271-a9485ded6334",
    "settlementDate": "2025-08-15",
    "invoiceId": "425284ba-ce41-48cc-9407-f851dccdb8ad",
    "invoiceNumber": "1234567",
    "caseNumber": "1234567"
  }
}"#;

const CASE: &str = r#"{
  "id": "897e1f80-ceb5-4b58-a2aa-c895aff6ce3e",
  "eventType": "CASE",
  "source": "COLLECTION",
  "timeStamp": "2025-08-15T11:42:00Z",
  "data": {
    "orgId": "db6a7ff4-3a20-4042-b271-a9485ded6334",
    "caseId": "db6a7ff4-3a20-4042-b271-a9485ded6333",
    "caseNumber": "5000001",
    "type": "COLLECTION_NOTICE",
    "status": "OPEN",
    "invoices": [
      "4a86b85e-a3c3-4299-b9e6-202d1096b990",
      "fc6615cf-2d29-49da-85ec-3af55c805bde"
    ]
  }
}"#;

const CASE_UPDATED: &str = r#"{
  "id": "897e1f80-ceb5-4b58-a2aa-c895aff6ce3e",
  "eventType": "CASE_UPDATED",
  "source": "COLLECTION",
  "timeStamp": "2025-08-15T11:42:00Z",
  "data": {
    "orgId": "db6a7ff4-3a20-4042-b271-a9485ded6334",
    "caseId": "db6a7ff4-3a20-4042-b271-a9485ded6333",
    "caseNumber": "5000001",
    "type": "COLLECTION_NOTICE",
    "status": "PAUSED",
    "invoices": [
      "4a86b85e-a3c3-4299-b9e6-202d1096b990",
      "fc6615cf-2d29-49da-85ec-3af55c805bde"
    ],
    "fields": ["amounts", "status", "type", "description"]
  }
}"#;

const EXAMPLES: [&str; 4] = [BATCH_COMPLETED, SETTLEMENT_CREATED, CASE, CASE_UPDATED];

fn uuid(text: &str) -> Uuid {
    Uuid::try_parse(text).unwrap_or_default()
}

#[test]
fn batch_completed_example() -> TestResult {
    let Event::BatchCompleted(event) = Event::parse(BATCH_COMPLETED.as_bytes())? else {
        return Err("not BATCH_COMPLETED".into());
    };
    assert_eq!(event.id, uuid("897e1f80-ceb5-4b58-a2aa-c895aff6ce3e"));
    assert_eq!(event.source, Some(Source::Collection));
    assert_eq!(event.time_stamp.to_rfc3339(), "2025-08-15T11:42:00+00:00");
    assert_eq!(
        event.data.batch_id,
        uuid("db6a7ff4-3a20-4042-b271-a9485ded6333")
    );
    assert_eq!(
        event.data.organization_id,
        Some(uuid("db6a7ff4-3a20-4042-b271-a9485ded6334"))
    );
    assert_eq!(event.data.status, BatchStatus::Success);
    assert!(event.data.extra.is_empty());
    Ok(())
}

#[test]
fn settlement_created_example() -> TestResult {
    let Event::SettlementCreated(event) = Event::parse(SETTLEMENT_CREATED.as_bytes())? else {
        return Err("not SETTLEMENT_CREATED".into());
    };
    let data = &event.data;
    assert_eq!(
        data.settlement_id,
        uuid("db6a7ff4-3a20-4042-b271-a9485ded6333")
    );
    assert_eq!(data.settlement_date, NaiveDate::from_ymd_opt(2025, 8, 15));
    assert_eq!(
        data.invoice_id,
        Some(uuid("425284ba-ce41-48cc-9407-f851dccdb8ad"))
    );
    assert_eq!(data.invoice_number.as_deref(), Some("1234567"));
    assert_eq!(data.case_number.as_deref(), Some("1234567"));
    Ok(())
}

#[test]
fn case_examples_use_event_type() -> TestResult {
    let Event::Case(case) = Event::parse(CASE.as_bytes())? else {
        return Err("not CASE".into());
    };
    assert_eq!(
        case.data.case_id,
        uuid("db6a7ff4-3a20-4042-b271-a9485ded6333")
    );
    assert_eq!(
        case.data.org_id,
        Some(uuid("db6a7ff4-3a20-4042-b271-a9485ded6334"))
    );
    assert_eq!(case.data.case_number.as_deref(), Some("5000001"));
    assert_eq!(case.data.case_type, Some(CaseType::CollectionNotice));
    assert_eq!(case.data.status, Some(CaseStatus::Open));
    assert_eq!(case.data.invoices.len(), 2);
    assert!(case.data.fields.is_empty());

    let Event::CaseUpdated(updated) = Event::parse(CASE_UPDATED.as_bytes())? else {
        return Err("not CASE_UPDATED".into());
    };
    assert_eq!(updated.data.status, Some(CaseStatus::Paused));
    assert_eq!(
        updated.data.fields,
        ["amounts", "status", "type", "description"]
    );
    Ok(())
}

#[test]
fn the_documented_examples_as_published_are_not_json() {
    // The docs' BATCH_COMPLETED carries a `//` comment: refused as not JSON, not a panic.
    let published = BATCH_COMPLETED.replace("\"SUCCESS\"", "\"SUCCESS\" // SUCCESS, PARTIAL");
    assert!(matches!(
        Event::parse(published.as_bytes()),
        Err(ParseError::NotJson(_))
    ));
}

#[test]
fn every_example_round_trips_through_its_wire_shape() -> TestResult {
    for example in EXAMPLES {
        let event = Event::parse(example.as_bytes())?;
        let written = serde_json::to_string(&event)?;
        assert_eq!(Event::parse(written.as_bytes())?, event, "{written}");
        let as_sent: serde_json::Value = serde_json::from_str(example)?;
        let as_written: serde_json::Value = serde_json::from_str(&written)?;
        assert_eq!(as_written, as_sent, "the wire shape changed");
    }
    Ok(())
}

#[test]
fn unknown_types_and_values_are_kept_not_refused() -> TestResult {
    let body = BATCH_COMPLETED
        .replace("BATCH_COMPLETED", "INVOICE_PAID")
        .replace("\"COLLECTION\"", "\"LEDGER\"");
    let event = Event::parse(body.as_bytes())?;
    assert!(event.is_unknown());
    assert_eq!(event.event_type(), "INVOICE_PAID");
    assert_eq!(
        event.id(),
        Some(uuid("897e1f80-ceb5-4b58-a2aa-c895aff6ce3e"))
    );
    let Event::Unknown { raw, .. } = &event else {
        return Err("not unknown".into());
    };
    assert_eq!(raw["data"]["status"], "SUCCESS");
    assert_eq!(serde_json::to_value(&event)?, *raw);

    let body = BATCH_COMPLETED
        .replace("\"SUCCESS\"", "\"RETRYING\"")
        .replace("\"COLLECTION\"", "\"LEDGER\"");
    let Event::BatchCompleted(event) = Event::parse(body.as_bytes())? else {
        return Err("not BATCH_COMPLETED".into());
    };
    assert_eq!(event.data.status, BatchStatus::from("RETRYING"));
    assert_eq!(event.source, Some(Source::Unknown("LEDGER".into())));
    assert_eq!(EventType::from("RETRYING").as_str(), "RETRYING");
    Ok(())
}

#[test]
fn undocumented_fields_are_kept_and_money_is_exact() -> TestResult {
    let body = SETTLEMENT_CREATED.replace(
        "\"caseNumber\": \"1234567\"",
        "\"caseNumber\": 1234567, \"amount\": 4500.10, \"fee\": \"0.1\", \"currency\": \"NOK\"",
    );
    let Event::SettlementCreated(event) = Event::parse(body.as_bytes())? else {
        return Err("not SETTLEMENT_CREATED".into());
    };
    let extra = &event.data.extra;
    assert_eq!(event.data.case_number.as_deref(), Some("1234567"));
    assert_eq!(extra.decimal("amount"), Some(Decimal::new(450010, 2)));
    assert_eq!(extra.decimal("fee"), Some(Decimal::new(1, 1)));
    assert_eq!(extra.decimal("currency"), None);
    assert_eq!(extra.get("currency"), Some(&serde_json::json!("NOK")));
    let written = serde_json::to_value(&event_of(&body)?)?;
    assert_eq!(written["data"]["amount"], serde_json::json!(4500.10));
    Ok(())
}

fn event_of(body: &str) -> Result<Event, ParseError> {
    Event::parse(body.as_bytes())
}

#[test]
fn type_from_the_header_when_the_body_names_none() -> TestResult {
    let body = BATCH_COMPLETED.replace("\"type\": \"BATCH_COMPLETED\",", "");
    assert_eq!(Event::parse(body.as_bytes()), Err(ParseError::MissingType));
    let event = Event::parse_with_type_hint(body.as_bytes(), Some("BATCH_COMPLETED"))?;
    assert_eq!(event.event_type(), "BATCH_COMPLETED");
    // The body's own type wins over the header.
    let event = Event::parse_with_type_hint(CASE.as_bytes(), Some("BATCH_COMPLETED"))?;
    assert_eq!(event.event_type(), "CASE");
    Ok(())
}

#[test]
fn lenient_where_dotnet_differs_strict_where_it_matters() -> TestResult {
    // A time stamp without an offset (UTC) and with seven fractional digits.
    let body = BATCH_COMPLETED.replace("2025-08-15T11:42:00Z", "2025-08-15T11:42:00.1234567");
    let event = Event::parse(body.as_bytes())?;
    assert_eq!(
        event.time_stamp().map(|t| t.timestamp()),
        Some(1_755_258_120)
    );
    for (from, to) in [
        ("db6a7ff4-3a20-4042-b271-a9485ded6333", "not-a-uuid"),
        ("2025-08-15T11:42:00Z", "yesterday"),
        ("\"SUCCESS\"", "42"),
    ] {
        let body = BATCH_COMPLETED.replacen(from, to, 1);
        assert!(
            matches!(
                Event::parse(body.as_bytes()),
                Err(ParseError::Invalid { .. })
            ),
            "{to}"
        );
    }
    assert_eq!(Event::parse(b"[1,2]"), Err(ParseError::NotAnObject));
    assert!(matches!(Event::parse(b""), Err(ParseError::NotJson(_))));
    Ok(())
}

fn mutate(rng: &mut StdRng, seed: &[u8]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    let tokens: [&[u8]; 16] = [
        b"null",
        b"{",
        b"}",
        b"[",
        b"]",
        b"\"",
        b",",
        b":",
        b"1e999999",
        b"-0",
        b"\\u0000",
        b"\"BATCH_COMPLETED\"",
        b"\"eventType\"",
        b"99999999999999999999999999999999",
        b"\"2025-02-30T25:61:61Z\"",
        b"\xff\xfe",
    ];
    for _ in 0..rng.random_range(1..6) {
        let at = rng.random_range(0..=bytes.len());
        match rng.random_range(0..5) {
            0 if !bytes.is_empty() => {
                let i = rng.random_range(0..bytes.len());
                bytes[i] ^= 1 << rng.random_range(0..8);
            }
            1 => {
                let token = tokens[rng.random_range(0..tokens.len())];
                bytes.splice(at..at, token.iter().copied());
            }
            2 if at < bytes.len() => {
                let end = rng.random_range(at..=bytes.len());
                bytes.drain(at..end);
            }
            3 => bytes.truncate(at),
            _ => bytes.insert(at, rng.random()),
        }
    }
    bytes
}

/// Everything a caller may do with a parsed event, so that a panic anywhere shows.
fn exercise(body: &[u8], hint: Option<&str>) {
    if let Ok(event) = Event::parse_with_type_hint(body, hint) {
        let _ = (event.id(), event.time_stamp(), event.batch_id());
        let _ = event.event_type().len();
        if let Ok(written) = serde_json::to_vec(&event) {
            let _ = Event::parse(&written);
        }
        if let Event::SettlementCreated(e) = &event {
            for key in e.data.extra.as_map().keys() {
                let _ = (e.data.extra.decimal(key), e.data.extra.date_time(key));
            }
        }
    }
}

#[test]
fn no_input_makes_parsing_panic() {
    let mut rng = StdRng::seed_from_u64(0x00A3_11E7);
    for round in 0..20_000 {
        let seed = EXAMPLES[round % EXAMPLES.len()].as_bytes();
        let body = if round % 10 == 0 {
            (0..rng.random_range(0..64)).map(|_| rng.random()).collect()
        } else {
            mutate(&mut rng, seed)
        };
        let hint = ["BATCH_COMPLETED", "CASE", ""][round % 3];
        exercise(&body, Some(hint).filter(|h| !h.is_empty()));
    }
    // Deep nesting is refused (serde_json's recursion limit), not a stack overflow.
    let deep = format!(
        "{{\"type\":\"X\",\"data\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    exercise(deep.as_bytes(), None);
    // Extreme numbers in money and dates in every documented field.
    for value in [
        "1e999999999",
        "-1e-999999999",
        "79228162514264337593543950336",
        "\"+262144-01-01T00:00:00Z\"",
        "\"9999-12-31T23:59:60Z\"",
        "[]",
        "{}",
    ] {
        for field in ["settlementDate", "invoiceNumber", "amount", "settlementId"] {
            let body = SETTLEMENT_CREATED.replacen(
                "\"caseNumber\": \"1234567\"",
                &format!("\"caseNumber\": \"1\", \"{field}\": {value}"),
                1,
            );
            exercise(body.as_bytes(), None);
        }
        let body = BATCH_COMPLETED.replacen("\"2025-08-15T11:42:00Z\"", value, 1);
        exercise(body.as_bytes(), None);
    }
}

//! Invoice and settlement reads against a small stub that pages its answers two items at a
//! time and can repeat a cursor (which the sandbox never does): listings follow every page and
//! stop on a repeated cursor, unknown fields are kept, money arrives exact. The resolver and
//! settlements of booked payments run against the sandbox in
//! `tests/tests/invoices_settlements.rs`.

mod common;

use std::sync::Arc;

use amili_payments::invoices::InvoiceFilter;
use amili_payments::{Client, Decimal, Environment, Error, NaiveDate, Uuid};
use common::*;
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

const ORG: Uuid = Uuid::from_u128(0x3fa8_5f64_5717_4562_b3fc_2c96_3f66_afa6);
const PAGE: usize = 2;

fn invoice_id(n: u128) -> Uuid {
    Uuid::from_u128(0xA000 + n)
}

/// Five invoices: `INV-2` is the number of two of them.
fn invoices() -> Vec<Value> {
    [
        (1, "INV-1", "src-1"),
        (2, "INV-2", "src-2"),
        (3, "INV-2", "src-3"),
        (4, "INV-4", "src-4"),
        (5, "INV-5", "src-5"),
    ]
    .iter()
    .map(|(n, number, source)| {
        json!({"id": invoice_id(*n), "invoiceNumber": number, "uniqueSourceInvoiceId": source,
               "status": "OPEN", "type": "NOTICE", "originalInvoiceAmount": 1234.56,
               "somethingNew": {"kept": true}})
    })
    .collect()
}

fn settlements() -> Vec<Value> {
    (0..5)
        .map(|n| {
            json!({"id": Uuid::from_u128(0xB000 + n), "caseNumber": format!("C-{n}"),
                   "collectionType": "REMINDER", "currency": "NOK",
                   "amount": format!("1000.1{n}").parse::<f64>().unwrap_or_default(),
                   "settlementDate": "2025-03-15"})
        })
        .collect()
}

fn query(seen: &Seen, name: &str) -> Option<String> {
    seen.query.as_deref()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| v.replace("%20", " "))
    })
}

/// The page at `token` (an offset) of `items`; `loop` as a cursor repeats itself.
fn page(items: Vec<Value>, token: Option<String>, repeat: bool) -> Value {
    let start: usize = token.as_deref().and_then(|t| t.parse().ok()).unwrap_or(0);
    let end = (start + PAGE).min(items.len());
    let next = if repeat {
        Some("same-cursor".to_owned())
    } else {
        (end < items.len()).then(|| end.to_string())
    };
    json!({"summary": {"status": "SUCCESS", "nextPageToken": next},
           "data": items[start.min(end)..end]})
}

fn handler(seen: Seen) -> hyper::Response<http_body_util::Full<bytes::Bytes>> {
    let ok = |body: Value| {
        respond(
            200,
            &[("content-type", "application/json".into())],
            body.to_string(),
        )
    };
    let not_found = || {
        respond(
            404,
            &[("content-type", "application/json".into())],
            json!({"message": "not found"}).to_string(),
        )
    };
    if seen.path.ends_with("/invoices") {
        let matching: Vec<Value> = invoices()
            .into_iter()
            .filter(|i| {
                query(&seen, "InvoiceNumber").is_none_or(|n| i["invoiceNumber"] == n.as_str())
                    && query(&seen, "UniqueSourceInvoiceId")
                        .is_none_or(|s| i["uniqueSourceInvoiceId"] == s.as_str())
            })
            .collect();
        let repeat = query(&seen, "CustomerNumber").as_deref() == Some("LOOP");
        return ok(page(matching, query(&seen, "PageToken"), repeat));
    }
    if let Some(id) = seen.path.rsplit_once("/invoices/").map(|(_, id)| id) {
        return match invoices().into_iter().find(|i| i["id"] == id) {
            Some(invoice) => ok(json!({"data": invoice})),
            None => not_found(),
        };
    }
    if seen.path.ends_with("/settlements") {
        let repeat = query(&seen, "fromDate").as_deref() == Some("2000-01-01");
        return ok(page(settlements(), query(&seen, "pageToken"), repeat));
    }
    if let Some(id) = seen.path.rsplit_once("/settlements/").map(|(_, id)| id) {
        return match settlements().into_iter().find(|s| s["id"] == id) {
            Some(settlement) => ok(json!({"data": settlement})),
            None => not_found(),
        };
    }
    not_found()
}

async fn stub() -> (Client, TestServer) {
    let handler: Handler = Arc::new(|seen, _| {
        let response = handler(seen);
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
    (client, server)
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn the_invoice_listing_follows_every_page_and_keeps_unknown_fields() -> TestResult {
    let (client, server) = stub().await;
    let all: Vec<_> = client
        .invoices(InvoiceFilter::default())
        .try_collect()
        .await?;
    let ids: Vec<Uuid> = all.iter().map(|i| i.id).collect();
    assert_eq!(ids, (1..=5).map(invoice_id).collect::<Vec<_>>());
    assert_eq!(server.requests().len(), 3, "three pages of two");
    assert_eq!(
        all[0].original_invoice_amount,
        Some(Decimal::new(123456, 2))
    );
    assert_eq!(all[0].extra["somethingNew"], json!({"kept": true}));

    let one = client.invoice(invoice_id(4)).await?;
    assert_eq!(one.invoice_number.as_deref(), Some("INV-4"));
    let missing = client.invoice(invoice_id(99)).await;
    assert!(
        matches!(&missing, Err(e) if e.status() == Some(404)),
        "{missing:?}"
    );
    assert_eq!(client.find_invoices_by_number("INV-2").await?.len(), 2);
    let by_source = client.find_invoices_by_source_id("src-5").await?;
    assert_eq!(
        by_source.iter().map(|i| i.id).collect::<Vec<_>>(),
        [invoice_id(5)]
    );
    Ok(())
}

#[tokio::test]
async fn a_repeated_cursor_ends_a_listing_with_an_error_not_a_loop() -> TestResult {
    let (client, _server) = stub().await;
    let items: Vec<Result<_, Error>> = client
        .invoices(InvoiceFilter::default().with_customer_number("LOOP"))
        .collect()
        .await;
    // The first page's cursor is new, the second's repeats it: two pages, then the error.
    assert_eq!(items.len(), 5, "{items:?}");
    assert!(items[..4].iter().all(Result::is_ok));
    let last = format!("{:?}", items[4]);
    assert!(last.contains("repeated the page cursor"), "{last}");

    let settled: Vec<Result<_, Error>> = client
        .settlements(day("2000-01-01"), day("2000-12-31"))
        .collect()
        .await;
    assert!(
        matches!(settled.last(), Some(Err(Error::InvalidResponse { .. }))),
        "{settled:?}"
    );
    Ok(())
}

#[tokio::test]
async fn settlements_follow_every_page_with_exact_money() -> TestResult {
    let (client, server) = stub().await;
    let all: Vec<_> = client
        .settlements(day("2025-03-01"), day("2025-03-31"))
        .try_collect()
        .await?;
    assert_eq!(all.len(), 5);
    assert_eq!(all[3].amount, Some(Decimal::new(100013, 2)));
    assert_eq!(all[0].settlement_date, Some(day("2025-03-15")));
    let pages = server.requests();
    assert_eq!(pages.len(), 3);
    // The lowercase query names Amili documents for this operation.
    assert!(
        pages[0]
            .query
            .as_deref()
            .is_some_and(|q| q.contains("fromDate=2025-03-01") && q.contains("toDate=2025-03-31")),
        "{:?}",
        pages[0].query
    );
    let id = all[2].id.unwrap_or_default();
    assert_eq!(
        client.settlement(id).await?.case_number.as_deref(),
        Some("C-2")
    );
    Ok(())
}

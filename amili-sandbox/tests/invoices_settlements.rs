//! Invoice lookups and settlements over loopback HTTP: filters, paging, errors naming the
//! parameter, answers conforming to the spec, faults, and seeding invoices from a CSV file.

mod common;

use std::time::Duration;

use amili_sandbox::cli::Args;
use amili_sandbox::{
    DEMO_INVOICES, Fault, INVOICE_PAGE_SIZE, Route, SETTLEMENT_PAGE_SIZE, Sandbox, SeedInvoice,
};
use chrono::NaiveDate;
use clap::Parser;
use common::{Api, Sent, body, conforms, payment};
use serde_json::{Value, json};
use uuid::Uuid;

fn invoices_url(api: &Api) -> String {
    format!(
        "{}/orgs/{}/invoices",
        api.sandbox.api_url(),
        api.sandbox.organization_id()
    )
}

fn settlements_url(api: &Api) -> String {
    format!(
        "{}/orgs/{}/settlements",
        api.sandbox.api_url(),
        api.sandbox.organization_id()
    )
}

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Every page of `url` (which already has a query), following `cursor_param`; each page is
/// checked against `component`. Returns the pages.
async fn all_pages(api: &Api, url: &str, cursor_param: &str, component: &str) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let page_url = match &next {
            None => url.to_owned(),
            Some(token) => format!("{url}&{cursor_param}={token}"),
        };
        let (status, page) = api.get_json(&page_url).await;
        assert_eq!(status, 200, "{page}");
        conforms(component, &page);
        let token = page["summary"]["nextPageToken"].as_str().map(str::to_owned);
        pages.push(page);
        assert!(pages.len() < 50, "paging does not end");
        match token {
            Some(token) => {
                assert_ne!(next.as_deref(), Some(token.as_str()), "a cursor repeated");
                next = Some(token);
            }
            None => return pages,
        }
    }
}

/// The demo invoices' ids matching `query`, following every page.
async fn find(api: &Api, query: &str) -> Vec<String> {
    let url = format!("{}?{query}", invoices_url(api));
    all_pages(api, &url, "PageToken", "InvoiceListResponse")
        .await
        .iter()
        .flat_map(ids)
        .collect()
}

fn demo(indices: &[usize]) -> Vec<String> {
    indices
        .iter()
        .map(|&i| DEMO_INVOICES[i].to_string())
        .collect()
}

#[tokio::test]
async fn invoices_are_found_by_number_source_id_and_filters() {
    let api = Api::default().await;
    assert_eq!(find(&api, "InvoiceNumber=INV-2025-003").await, demo(&[2]));
    assert_eq!(
        find(&api, "UniqueSourceInvoiceId=erp-order-9985").await,
        demo(&[4])
    );
    assert_eq!(find(&api, "InvoiceNumber=INV-404").await, demo(&[]));
    assert_eq!(
        find(&api, "CustomerNumber=10001").await,
        demo(&[0, 3, 6, 9, 12])
    );
    assert_eq!(find(&api, "Type=NOTICE").await, demo(&[2, 5, 8, 11]));
    assert_eq!(
        find(&api, "Status=OPEN&Type=NOTICE&CustomerNumber=10003").await,
        demo(&[2, 5, 8, 11])
    );
    assert_eq!(find(&api, "Status=PAID").await, demo(&[]));
    // createdAt is one day apart from 2025-03-01T09:00:00Z; From inclusive, To exclusive.
    assert_eq!(
        find(
            &api,
            "From=2025-03-03T09:00:00Z&To=2025-03-05T09:00:00%2B00:00"
        )
        .await,
        demo(&[2, 3])
    );

    let (status, one) = api
        .get_json(&format!("{}/{}", invoices_url(&api), DEMO_INVOICES[0]))
        .await;
    assert_eq!(status, 200);
    conforms("InvoiceResponse", &one);
    assert_eq!(one["data"]["invoiceNumber"], "INV-2025-001");
    assert_eq!(one["data"]["uniqueSourceInvoiceId"], "erp-order-9981");
    assert_eq!(
        one["data"]["organization"]["id"],
        json!(api.sandbox.organization_id())
    );
}

#[tokio::test]
async fn bad_invoice_requests_name_the_parameter() {
    let api = Api::default().await;
    for (query, field) in [
        ("From=yesterday", "From"),
        ("To=2025-03-01", "To"),
        ("PageToken=garbage", "PageToken"),
    ] {
        let (status, answer) = api
            .get_json(&format!("{}?{query}", invoices_url(&api)))
            .await;
        assert_eq!(status, 400, "{query}: {answer}");
        conforms("ErrorBody", &answer);
        assert_eq!(answer["errors"][0]["field"], field, "{answer}");
    }
    let (status, answer) = api
        .get_json(&format!("{}/{}", invoices_url(&api), Uuid::new_v4()))
        .await;
    assert_eq!(status, 404);
    conforms("ErrorBody", &answer);
    let (status, answer) = api
        .get_json(&format!("{}/not-a-uuid", invoices_url(&api)))
        .await;
    assert_eq!(status, 400);
    assert_eq!(answer["errors"][0]["field"], "invoiceId");
    let anonymous = api.http.get(invoices_url(&api)).answer().await;
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn invoice_paging_follows_every_page_in_seeding_order() {
    let extra: Vec<SeedInvoice> = (0..3)
        .map(|n| SeedInvoice::new(Uuid::new_v4(), format!("X-{n}")))
        .collect();
    let api = Api::start(Sandbox::builder().seed_invoice_records(extra.clone())).await;
    let pages = all_pages(
        &api,
        &format!("{}?Status=OPEN", invoices_url(&api)),
        "PageToken",
        "InvoiceListResponse",
    )
    .await;
    // An empty cursor is the first page.
    let (_, first) = api
        .get_json(&format!("{}?PageToken=", invoices_url(&api)))
        .await;
    assert_eq!(ids(&first), ids(&pages[0]));
    let total = DEMO_INVOICES.len() + extra.len();
    assert_eq!(pages.len(), total.div_ceil(INVOICE_PAGE_SIZE));
    assert!(pages.len() >= 3);
    let mut expected = demo(&(0..DEMO_INVOICES.len()).collect::<Vec<_>>());
    expected.extend(extra.iter().map(|i| i.id.to_string()));
    assert_eq!(pages.iter().flat_map(ids).collect::<Vec<_>>(), expected);
}

#[tokio::test]
async fn a_number_matching_two_invoices_returns_both_and_both_take_payments() {
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let api = Api::start(
        Sandbox::builder()
            .batch_delay(Duration::ZERO)
            .seed_invoice_records([
                SeedInvoice::new(a, "DUP-1").unique_source_invoice_id("erp-a"),
                SeedInvoice::new(b, "DUP-1").unique_source_invoice_id("erp-b"),
            ]),
    )
    .await;
    assert_eq!(
        find(&api, "InvoiceNumber=DUP-1").await,
        vec![a.to_string(), b.to_string()]
    );
    assert_eq!(
        find(&api, "UniqueSourceInvoiceId=erp-b").await,
        vec![b.to_string()]
    );
    let (_, url) = api
        .accepted(&body(vec![payment(a, "pa"), payment(b, "pb")]), None)
        .await;
    assert_eq!(api.wait_terminal(&url).await["status"], "SUCCESS");

    // Seeding at run time: known by id only, then described.
    let c = Uuid::new_v4();
    api.sandbox.seed_invoices([c]);
    let (status, known) = api.get_json(&format!("{}/{c}", invoices_url(&api))).await;
    assert_eq!(status, 200);
    assert_eq!(known["data"].get("invoiceNumber"), None);
    api.sandbox
        .seed_invoice_records([SeedInvoice::new(c, "DUP-1")]);
    assert_eq!(find(&api, "InvoiceNumber=DUP-1").await.len(), 3);
}

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

#[tokio::test]
async fn settlements_sum_booked_payments_per_invoice_and_page_by_date() {
    let api = Api::immediate().await;
    let mut first = payment(DEMO_INVOICES[1], "s1");
    first["amount"] = json!(100.10);
    let mut second = payment(DEMO_INVOICES[1], "s2");
    second["amount"] = json!(0.2);
    let (_, url) = api
        .accepted(
            &body(vec![first, second, payment(DEMO_INVOICES[2], "s3")]),
            None,
        )
        .await;
    api.wait_terminal(&url).await;
    let march = api.sandbox.settle(day("2025-03-31"));
    assert_eq!(march.len(), 2);
    let on_1 = march
        .iter()
        .find(|s| s.invoice_id == DEMO_INVOICES[1])
        .unwrap();
    assert_eq!(on_1.amount.normalize().to_string(), "100.3");
    assert_eq!(on_1.payments, vec!["s1", "s2"]);
    assert!(
        api.sandbox.settle(day("2025-04-01")).is_empty(),
        "settled twice"
    );

    // The admin route settles what was booked since, on the day given.
    for (n, invoice) in DEMO_INVOICES.iter().enumerate().take(5) {
        let (_, url) = api
            .accepted(&body(vec![payment(*invoice, &format!("a{n}"))]), None)
            .await;
        api.wait_terminal(&url).await;
    }
    let answer = api.admin_settle("2025-04-30").await;
    assert_eq!(answer["data"].as_array().unwrap().len(), 5);
    let bad = api
        .http
        .post(api.admin_settle_url("2025-04-30x"))
        .answer()
        .await;
    assert_eq!(bad.status(), 400);

    let url = settlements_url(&api);
    let everything = all_pages(
        &api,
        &format!("{url}?fromDate=2025-01-01"),
        "pageToken",
        "SettlementListResponse",
    )
    .await;
    assert_eq!(everything.len(), 7_usize.div_ceil(SETTLEMENT_PAGE_SIZE));
    let all_ids: Vec<String> = everything.iter().flat_map(ids).collect();
    assert_eq!(all_ids.len(), 7);
    let settled = |query: &'static str| {
        let api = &api;
        let url = format!("{url}?{query}");
        async move {
            all_pages(api, &url, "pageToken", "SettlementListResponse")
                .await
                .iter()
                .flat_map(ids)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(settled("pageSize=1").await, all_ids);
    assert_eq!(
        settled("fromDate=2025-03-31&toDate=2025-03-31&pageSize=10")
            .await
            .len(),
        2
    );
    assert_eq!(settled("fromDate=2025-04-01").await.len(), 5);
    assert!(settled("toDate=2025-03-30").await.is_empty());

    let (status, one) = api.get_json(&format!("{url}/{}", on_1.id)).await;
    assert_eq!(status, 200);
    conforms("SettlementResponse", &one);
    assert_eq!(one["data"]["amount"], json!(100.3));
    assert_eq!(one["data"]["invoiceNumber"], "INV-2025-002");
    assert_eq!(one["data"]["settlementDate"], "2025-03-31");
    assert_eq!(api.sandbox.settlements().len(), 7);
}

#[tokio::test]
async fn bad_settlement_requests_name_the_parameter_and_other_orgs_see_nothing() {
    let api = Api::immediate().await;
    let (_, url) = api.accepted(&common::one("o1"), None).await;
    api.wait_terminal(&url).await;
    let settled = api.sandbox.settle(day("2025-03-31"));
    let url = settlements_url(&api);
    for (query, field) in [
        ("fromDate=2025-13-01", "fromDate"),
        ("toDate=31.03.2025", "toDate"),
        ("pageSize=0", "pageSize"),
        ("pageSize=x", "pageSize"),
        ("pageToken=nope", "pageToken"),
    ] {
        let (status, answer) = api.get_json(&format!("{url}?{query}")).await;
        assert_eq!(status, 400, "{query}: {answer}");
        conforms("ErrorBody", &answer);
        assert_eq!(answer["errors"][0]["field"], field, "{answer}");
    }
    let (status, _) = api.get_json(&format!("{url}/{}", Uuid::new_v4())).await;
    assert_eq!(status, 404);

    let token = api.other_token().await;
    let other_url = api.other_org_url("settlements");
    let list: Value = api
        .http
        .get(&other_url)
        .bearer_auth(&token)
        .json_answer()
        .await;
    assert_eq!(list["data"], json!([]));
    let one = api
        .http
        .get(format!("{other_url}/{}", settled[0].id))
        .bearer_auth(&token)
        .answer()
        .await;
    assert_eq!(one.status(), 404);
}

#[tokio::test]
async fn faults_apply_to_the_invoice_and_settlement_routes() {
    let api = Api::default().await;
    api.fault(
        Route::ListInvoices,
        Fault::Status {
            status: 503,
            retry_after: Some(Duration::from_secs(1)),
        },
    );
    api.fault(Route::GetSettlement, Fault::HtmlError { status: 502 });
    let first = api.get(&invoices_url(&api)).await;
    assert_eq!(first.status(), 503);
    assert_eq!(first.headers()["retry-after"], "1");
    assert_eq!(api.get(&invoices_url(&api)).await.status(), 200);
    let html = api
        .get(&format!("{}/{}", settlements_url(&api), Uuid::new_v4()))
        .await;
    assert_eq!(html.status(), 502);
    assert!(html.text().await.unwrap().contains("<html>"));
    let stats = api.sandbox.stats();
    assert_eq!(stats.invoice_reads, 2);
    assert_eq!(stats.settlement_reads, 1);
    assert_eq!(stats.faults_applied, 2);
    for name in [
        "get-invoice",
        "list-invoices",
        "get-settlement",
        "list-settlements",
    ] {
        let route: Route = name.parse().unwrap();
        assert_eq!(route.name(), name);
    }
    assert!(
        "list-invoice"
            .parse::<Route>()
            .unwrap_err()
            .contains("list-invoices")
    );
}

#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    args: Args,
}

#[tokio::test]
async fn invoices_are_seeded_from_a_csv_file_and_bad_files_are_named() {
    let dir = std::env::temp_dir().join(format!("amili-sandbox-csv-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("invoices.csv");
    let id = Uuid::new_v4();
    std::fs::write(
        &good,
        format!("invoiceId,invoiceNumber,uniqueSourceInvoiceId,customerNumber\n{id},CSV-1,erp-csv-1,777\n"),
    )
    .unwrap();
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "invoiceId,invoiceNumber\nnope,CSV-2\n").unwrap();
    let args = |file: &std::path::Path| {
        Cli::try_parse_from([
            "amili-sandbox",
            "--addr",
            "127.0.0.1:0",
            "--no-demo-invoices",
            "--seed-invoices-csv",
            file.to_str().unwrap(),
        ])
        .unwrap()
        .args
    };
    let sandbox = args(&good).start().await.unwrap();
    let api = Api {
        http: common::client(),
        token: common::token_for(
            &common::client(),
            &sandbox,
            sandbox.client_id(),
            sandbox.client_secret(),
        )
        .await,
        sandbox,
    };
    assert_eq!(find(&api, "").await, vec![id.to_string()]);
    assert_eq!(find(&api, "CustomerNumber=777").await, vec![id.to_string()]);
    let error = args(&bad)
        .start()
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        error.contains("bad.csv: line 2: invoiceId \"nope\""),
        "{error}"
    );
    let missing = args(&dir.join("missing.csv"))
        .start()
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(missing.contains("missing.csv: cannot read"), "{missing}");
    let _ = std::fs::remove_dir_all(&dir);
}

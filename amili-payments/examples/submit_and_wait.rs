//! Submits payments to a local Amili sandbox and follows the batches.
//!
//! ```sh
//! cargo run -p amili-payments --example submit_and_wait
//! RUST_LOG=amili_payments=debug cargo run -p amili-payments --example submit_and_wait
//! ```
//!
//! It starts an in-process `amili_sandbox::Sandbox` on a free loopback port, reports 2,500
//! payments (in requests of 500, 4 at a time, remembered in a ledger), one of them for an
//! invoice Amili does not know, prints each request as it ends, then follows the batches and
//! prints what happened to each payment. Submitting the same payments again sends nothing.

use std::sync::Arc;
use std::time::Duration;

use amili_payments::ledger::MemoryLedger;
use amili_payments::report::{Outcome, RequestResult};
use amili_payments::{
    Backoff, Client, Currency, Decimal, Environment, Payment, Utc, Uuid, report::SubmitReport,
};
use amili_sandbox::{DEMO_INVOICES, Sandbox};
use futures::StreamExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();

    let sandbox = Sandbox::builder()
        .batch_delay(Duration::from_millis(100))
        .start()
        .await?;
    println!("sandbox listening at {}", sandbox.api_url());

    let client = Client::builder()
        .environment(Environment::custom(sandbox.api_url(), sandbox.token_url()))
        .organization_id(sandbox.organization_id())
        .client_credentials(sandbox.client_id(), sandbox.client_secret())
        .build()?;
    println!("{client:?}");

    let now = Utc::now();
    let mut payments = Vec::new();
    for i in 0..2_500 {
        let invoice = if i == 1_234 {
            Uuid::new_v4() // unknown to Amili: this one will fail
        } else {
            DEMO_INVOICES[i % DEMO_INVOICES.len()]
        };
        payments.push(
            Payment::builder()
                .invoice_id(invoice)
                .amount(Decimal::new(10_000 + i as i64, 2))
                .currency(Currency::NOK)
                .date(now - chrono::Duration::minutes(i as i64))
                .description(format!("Bank transfer {i}"))
                .unique_source_payment_id(format!("ERP-{i:05}"))
                .build()?,
        );
    }

    // A real integration would use a ledger that survives the process (the CLI's SQLite
    // store); in memory it still keeps this process from sending anything twice.
    let ledger = Arc::new(MemoryLedger::default());

    // `stream()` yields each request's report as soon as it ends (`send()` would wait for all).
    let requests = client
        .submit(payments.clone())
        .with_chunk_size(500)
        .with_concurrency(4)
        .with_ledger(ledger.clone())
        .stream()?;
    let mut requests = std::pin::pin!(requests);
    let mut report = SubmitReport::default();
    while let Some(request) = requests.next().await {
        // An `Err` is the answer that stopped the submission (credentials, organization).
        let request = request?;
        let key = request
            .idempotency_key
            .as_ref()
            .map_or_else(|| "(none)".to_owned(), ToString::to_string);
        match &request.result {
            RequestResult::Accepted {
                batch_id,
                recovered,
            } => println!(
                "{} payments with key {key}: queued as batch {batch_id}{}",
                request.items.len(),
                if *recovered { " (found by key)" } else { "" }
            ),
            RequestResult::Rejected(e) => println!("key {key}: refused: {e}"),
            RequestResult::Unknown(e) => println!("key {key}: OUTCOME UNKNOWN: {e}"),
            other => println!("key {key}: {other:?}"),
        }
        report.requests.push(request);
    }
    println!("submitted: {:?}", report.counts());

    let poller = client
        .poller()
        .with_timeout(Duration::from_secs(60))
        .with_backoff(Backoff::new(
            Duration::from_millis(100),
            Duration::from_secs(2),
        ));
    poller.follow_all(&mut report).await?;
    println!("processed: {:?}", report.counts());
    for item in report.items() {
        if let Outcome::Failed(reason) = &item.outcome {
            println!(
                "{} failed: {}",
                item.id,
                reason.as_ref().map_or("no reason given", |r| r.as_str())
            );
        }
    }

    // The same payments again: the ledger knows them all, nothing is sent.
    let again = client.submit(payments).with_ledger(ledger).send().await?;
    println!("submitted again: {:?}", again.counts());
    println!(
        "booked in the sandbox: {} ({} payment requests)",
        sandbox.ledger().len(),
        sandbox.stats().payment_requests
    );
    sandbox.shutdown().await;
    Ok(())
}

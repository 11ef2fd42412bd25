//! Submits payments to a local Amili sandbox and waits for the batches.
//!
//! ```sh
//! cargo run -p amili-payments --example submit_and_wait
//! RUST_LOG=amili_payments=debug cargo run -p amili-payments --example submit_and_wait
//! ```
//!
//! It starts an in-process `amili_sandbox::Sandbox` on a free loopback port, reports 2,500
//! payments (in requests of 500, 4 at a time), one of them for an invoice Amili does not know,
//! then follows the batches and prints what happened to each payment.

use std::sync::Arc;
use std::time::Duration;

use amili_payments::{
    ChunkResult, Client, Currency, Environment, IdempotencyKey, OutcomeState, Payment,
    SubmitObserver, SubmitOptions, WaitOptions,
};
use amili_sandbox::{DEMO_INVOICES, Sandbox};
use rust_decimal::Decimal;

/// Prints each request as it is planned and as it ends (a real integration would journal
/// the idempotency keys here, before anything is sent).
struct Printer;

impl SubmitObserver for Printer {
    fn chunk_planned(
        &self,
        key: &IdempotencyKey,
        source_ids: &[String],
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        println!("sending {} payments with key {key}", source_ids.len());
        Ok(())
    }

    fn chunk_finished(&self, key: &IdempotencyKey, result: &ChunkResult) {
        match result {
            ChunkResult::Accepted(receipt) => {
                println!("  {key}: queued as batch {}", receipt.batch_id)
            }
            ChunkResult::Rejected(e) => println!("  {key}: refused: {e}"),
            ChunkResult::Unknown(e) => println!("  {key}: OUTCOME UNKNOWN: {e}"),
            ChunkResult::NotSent { reason } => println!("  {key}: not sent: {reason}"),
            _ => println!("  {key}: {result:?}"),
        }
    }
}

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
        .max_payments_per_request(500)
        .concurrency(4)
        .build()?;
    println!("{client:?}");

    let now = chrono::Utc::now();
    let mut payments = Vec::new();
    for i in 0..2_500 {
        let invoice = if i == 1_234 {
            uuid::Uuid::new_v4() // unknown to Amili: this one will fail
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

    let options = SubmitOptions::default().with_observer(Arc::new(Printer));
    let mut report = client.submit(payments, options).await?;
    println!("submitted: {:?}", report.counts());

    let wait = WaitOptions::default()
        .with_timeout(Duration::from_secs(60))
        .with_interval(Duration::from_millis(100), Duration::from_secs(2));
    client.follow(&mut report, wait).await?;
    println!("processed: {:?}", report.counts());
    for outcome in &report.outcomes {
        if let OutcomeState::Failed { reason } = &outcome.state {
            println!(
                "{} failed: {}",
                outcome.unique_source_payment_id,
                reason.as_deref().unwrap_or("no reason given")
            );
        }
    }
    println!("booked in the sandbox: {}", sandbox.ledger().len());
    sandbox.shutdown().await;
    Ok(())
}

//! Shared by the end-to-end tests: a client for a sandbox, payments, a receiver served on
//! loopback, and waiting for a condition (with a generous bound, so a bug fails instead of
//! hanging; nothing asserts on time).

#![allow(dead_code)]

use std::time::Duration;

use amili_payments::{Client, Currency, Decimal, Environment, Payment, Utc, Uuid};
use amili_sandbox::{DEMO_INVOICES, Sandbox};
use amili_webhooks::Receiver;

pub type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

pub const SECRET: &str = "e2e-webhook-secret";

/// An invoice the sandbox does not know: its payments fail with `UNKNOWN_INVOICE`.
pub const UNKNOWN_INVOICE: Uuid = Uuid::from_u128(0x0bad0000_0000_4000_8000_000000000001);

/// A client of the sandbox's main organization, one payment per request.
pub fn client(sandbox: &Sandbox) -> Result<Client, amili_payments::Error> {
    Client::builder()
        .environment(Environment::custom(sandbox.api_url(), sandbox.token_url()))
        .organization_id(sandbox.organization_id())
        .client_credentials(sandbox.client_id(), sandbox.client_secret())
        .max_payments_per_request(1)
        .concurrency(8)
        .build()
}

/// `n` payments with ids `{prefix}-{i}`; those listed in `failing` are for an unknown invoice.
pub fn payments(
    prefix: &str,
    n: usize,
    failing: &[usize],
) -> Result<Vec<Payment>, amili_payments::validation::ValidationErrors> {
    (0..n)
        .map(|i| {
            let invoice = if failing.contains(&i) {
                UNKNOWN_INVOICE
            } else {
                DEMO_INVOICES[i % DEMO_INVOICES.len()]
            };
            Payment::builder()
                .invoice_id(invoice)
                .amount(Decimal::new(10_000 + i64::try_from(i).unwrap_or(0), 2))
                .currency(Currency::NOK)
                .date(Utc::now() - chrono::Duration::hours(1))
                .description(format!("payment {i}"))
                .unique_source_payment_id(format!("{prefix}-{i}"))
                .build()
        })
        .collect()
}

/// A receiver served on `127.0.0.1:0` until dropped: the receiver tests' own.
#[path = "../loopback/mod.rs"]
mod loopback;
pub use loopback::Served;

pub async fn serve(receiver: Receiver) -> Result<Served, std::io::Error> {
    Served::start(receiver).await
}

/// Waits until `condition` holds; an error naming `what` if it does not within a minute.
pub async fn wait_until(
    what: &str,
    mut condition: impl FnMut() -> bool,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    for _ in 0..3000 {
        if condition() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(format!("gave up waiting: {what}").into())
}

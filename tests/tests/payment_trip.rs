//! One payment's trip under a storm of seeded faults: every payment ends booked exactly once
//! and reported succeeded — nothing lost, nothing doubled.

use std::collections::HashMap;
use std::time::Duration;

use amili_payments::{
    Client, Environment, OutcomeState, Payment, RetryPolicy, SubmitOptions, WaitOptions,
};
use amili_sandbox::{DEMO_INVOICES, Fault, Route, Sandbox};
use rust_decimal::Decimal;

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

const PAYMENTS: usize = 600;

fn payments() -> Result<Vec<Payment>, amili_payments::ValidationErrors> {
    (0..PAYMENTS)
        .map(|n| {
            Payment::builder()
                .invoice_id(DEMO_INVOICES[n % DEMO_INVOICES.len()])
                .amount(Decimal::new(100 + n as i64, 2))
                .currency("NOK")
                .date(chrono::Utc::now() - chrono::Duration::hours(2))
                .description(format!("innbetaling {n}"))
                .unique_source_payment_id(format!("E2E-{n:05}"))
                .build()
        })
        .collect()
}

#[tokio::test]
async fn every_payment_is_booked_exactly_once_through_a_fault_storm() -> TestResult {
    let sandbox = Sandbox::builder()
        .batch_delay(Duration::from_millis(5))
        .fault_seed(20261124)
        .start()
        .await?;
    // Sent requests fail every way the sandbox knows, reproducibly for the seed: refused with
    // Retry-After, dropped before or after being processed, or answered with a cut body.
    let faults = sandbox.faults();
    let retry_after = Some(Duration::from_millis(5));
    // One of each for certain, then a seeded random mix.
    for fault in [
        Fault::DropBeforeProcessing,
        Fault::DropAfterProcessing,
        Fault::TruncatedBody,
        Fault::Status {
            status: 503,
            retry_after,
        },
    ] {
        faults.push(Route::CreatePayments, fault);
    }
    faults.random(
        Route::CreatePayments,
        Fault::Status {
            status: 503,
            retry_after,
        },
        0.15,
    );
    faults.random(
        Route::CreatePayments,
        Fault::Status {
            status: 429,
            retry_after,
        },
        0.1,
    );
    faults.random(Route::CreatePayments, Fault::DropBeforeProcessing, 0.1);
    faults.random(Route::CreatePayments, Fault::DropAfterProcessing, 0.1);
    faults.random(Route::CreatePayments, Fault::TruncatedBody, 0.1);
    faults.random(
        Route::Token,
        Fault::Status {
            status: 503,
            retry_after,
        },
        0.3,
    );

    let client = Client::builder()
        .environment(Environment::custom(sandbox.api_url(), sandbox.token_url()))
        .organization_id(sandbox.organization_id())
        .client_credentials(sandbox.client_id(), sandbox.client_secret())
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(12)
                .with_backoff(Duration::from_millis(1), Duration::from_millis(10))
                .without_jitter()
                .with_max_retry_after(Duration::from_millis(20))
                .with_deadline(Some(Duration::from_secs(60))),
        )
        .max_payments_per_request(25)
        // One request at a time: with the seed, the faults each request meets are the same
        // on every run.
        .concurrency(1)
        .build()?;

    let mut report = client.submit(payments()?, SubmitOptions::default()).await?;
    assert!(report.all_accepted(), "{:?}", report.counts());

    // The storm really happened: every kind of fault hit at least one request.
    let applied = faults.applied();
    for kind in [
        "Status",
        "DropBeforeProcessing",
        "DropAfterProcessing",
        "TruncatedBody",
    ] {
        assert!(
            applied
                .iter()
                .any(|(route, f)| *route == Route::CreatePayments
                    && format!("{f:?}").starts_with(kind)),
            "no {kind} fault was applied: {applied:?}"
        );
    }

    faults.clear();
    client
        .follow(
            &mut report,
            WaitOptions::default()
                .with_timeout(Duration::from_secs(30))
                .with_interval(Duration::from_millis(5), Duration::from_millis(50)),
        )
        .await?;
    assert!(
        report
            .outcomes
            .iter()
            .all(|o| o.state == OutcomeState::Succeeded),
        "{:?}",
        report.counts()
    );

    // Booked exactly once each, under the key of the request that carried it.
    let ledger = sandbox.ledger();
    let mut times: HashMap<&str, usize> = HashMap::new();
    for booked in &ledger {
        *times
            .entry(booked.unique_source_payment_id.as_str())
            .or_default() += 1;
    }
    assert_eq!(ledger.len(), PAYMENTS);
    assert!(times.values().all(|n| *n == 1), "booked twice: {times:?}");
    let key_of: HashMap<&str, String> = report
        .outcomes
        .iter()
        .filter_map(|o| {
            Some((
                o.unique_source_payment_id.as_str(),
                o.idempotency_key.as_ref()?.to_string(),
            ))
        })
        .collect();
    for booked in &ledger {
        assert_eq!(
            booked.idempotency_key.as_deref(),
            key_of
                .get(booked.unique_source_payment_id.as_str())
                .map(String::as_str)
        );
    }
    sandbox.shutdown().await;
    Ok(())
}

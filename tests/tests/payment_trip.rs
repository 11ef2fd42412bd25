//! One payment's trip under a storm of seeded faults: every payment ends booked exactly once
//! and reported succeeded — nothing lost, nothing doubled.

use std::collections::HashMap;
use std::time::Duration;

use amili_payments::report::{Outcome, RequestResult};
use amili_payments::{Backoff, Client, Decimal, Environment, Payment, RetryPolicy, Utc};
use amili_sandbox::{DEMO_INVOICES, Fault, Route, Sandbox};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

const PAYMENTS: usize = 600;

fn payments() -> Result<Vec<Payment>, amili_payments::validation::ValidationErrors> {
    (0..PAYMENTS)
        .map(|n| {
            Payment::builder()
                .invoice_id(DEMO_INVOICES[n % DEMO_INVOICES.len()])
                .amount(Decimal::new(100 + n as i64, 2))
                .currency("NOK")
                .date(Utc::now() - chrono::Duration::hours(2))
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
    // Retry-After, a gateway error, dropped before or after being processed, or answered with
    // a cut body.
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
    // Gateway errors: the request may have been processed, so each is looked up by key.
    faults.random(
        Route::CreatePayments,
        Fault::Status {
            status: 500,
            retry_after: None,
        },
        0.05,
    );
    faults.random(
        Route::CreatePayments,
        Fault::HtmlError { status: 504 },
        0.05,
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
        .build()?;

    let mut report = client
        .submit(payments()?)
        .with_chunk_size(25)
        // One request at a time: with the seed, the faults each request meets are the same
        // on every run.
        .with_concurrency(1)
        .send()
        .await?;
    assert!(report.all_accepted(), "{:?}", report.counts());
    assert_eq!(report.requests.len(), PAYMENTS / 25);
    // Some answers were lost after the request was processed, and found again by key.
    assert!(
        report.requests.iter().any(|r| matches!(
            r.result,
            RequestResult::Accepted {
                recovered: true,
                ..
            }
        )),
        "no request was recovered by key"
    );

    // The storm really happened: every kind of fault hit at least one request.
    let applied = faults.applied();
    for kind in [
        "Status",
        "HtmlError",
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
        .poller()
        .with_timeout(Duration::from_secs(30))
        .with_backoff(Backoff::new(
            Duration::from_millis(5),
            Duration::from_millis(50),
        ))
        .follow_all(&mut report)
        .await?;
    assert!(
        report.items().all(|i| i.outcome == Outcome::Succeeded),
        "{:?}",
        report.counts()
    );
    assert_eq!(report.items().count(), PAYMENTS);

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
        .requests
        .iter()
        .flat_map(|r| {
            let key = r.idempotency_key.as_ref().map(ToString::to_string);
            r.items.iter().map(move |i| (i.id.as_str(), key.clone()))
        })
        .filter_map(|(id, key)| Some((id, key?)))
        .collect();
    assert_eq!(key_of.len(), PAYMENTS);
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

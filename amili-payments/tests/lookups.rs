//! The resolver's look-ups against the sandbox when they fail: the circuit breaker stops
//! looking up once look-ups fail in a row, and an over-long reference is never sent.

mod common;

use amili_payments::invoices::{InvoiceRef, MAX_REFERENCE_CHARS, Unresolved};
use amili_sandbox::{DEMO_INVOICES, Route};
use common::*;

fn numbers(n: usize) -> Vec<InvoiceRef> {
    (0..n)
        .map(|i| InvoiceRef::Number(format!("INV-{i}")))
        .collect()
}

#[tokio::test]
async fn look_ups_failing_in_a_row_trip_the_breaker_and_the_rest_are_not_sent() -> TestResult {
    let (sandbox, client) = sandbox_and_client().await;
    sandbox
        .faults()
        .random(Route::ListInvoices, status(503), 1.0);
    let resolver = client
        .invoice_resolver()
        .with_concurrency(1)
        .with_circuit_breaker(3);
    let answers = resolver.resolve(numbers(30)).await;
    let failed = answers
        .iter()
        .filter(|a| matches!(a, Err(Unresolved::Failed { .. })))
        .count();
    let skipped = answers
        .iter()
        .filter(|a| matches!(a, Err(Unresolved::NotLookedUp { .. })))
        .count();
    assert_eq!((failed, skipped), (3, 27));
    assert!(
        answers
            .iter()
            .all(|a| matches!(a, Err(e) if e.is_look_up_failure()))
    );
    // Three look-ups of 5 attempts each; none for the other 27.
    assert_eq!(sandbox.stats().invoice_reads, 3 * 5);
    assert_eq!(resolver.cached(), 0, "no failure is cached");

    // Once Amili answers, the same references are looked up again; 0 never stops.
    sandbox.faults().clear();
    let answers = resolver
        .clone()
        .with_circuit_breaker(0)
        .resolve([InvoiceRef::Number("INV-2025-001".into())])
        .await;
    assert_eq!(answers[0].as_ref().ok(), Some(&DEMO_INVOICES[0]));
    Ok(())
}

#[tokio::test]
async fn an_over_long_reference_is_not_looked_up() -> TestResult {
    let (sandbox, client) = sandbox_and_client().await;
    let long = InvoiceRef::SourceId("é".repeat(MAX_REFERENCE_CHARS + 1));
    let longest = InvoiceRef::SourceId("x".repeat(MAX_REFERENCE_CHARS));
    let answers = client
        .invoice_resolver()
        .resolve([long.clone(), longest])
        .await;
    let Err(invalid @ Unresolved::Invalid { reason, .. }) = &answers[0] else {
        panic!("{:?}", answers[0]);
    };
    assert_eq!(reason, "256 characters, at most 255 are allowed");
    assert!(invalid.to_string().len() < 200, "{invalid}");
    assert!(matches!(answers[1], Err(Unresolved::NotFound(_))));
    assert_eq!(
        sandbox.stats().invoice_reads,
        1,
        "only the one of 255 characters"
    );
    Ok(())
}

//! Corrections against the sandbox, beyond the fault matrix they share with payments
//! (`faults.rs`, `corrections::…`): the sandbox's ledger reflects them, the same correction
//! sent again is recognised by its content, and a repeat within one submission is refused.

mod common;

use std::sync::Arc;

use amili_payments::ledger::MemoryLedger;
use amili_payments::report::Outcome;
use amili_payments::{Correction, Decimal, Error};
use amili_sandbox::DEMO_INVOICES;
use common::*;

#[tokio::test]
async fn a_correction_changes_what_the_sandbox_holds_as_paid() -> TestResult {
    let (sandbox, client) = sandbox_and_client().await;
    let invoice = DEMO_INVOICES[0];
    let mut paid = client.submit(vec![payment(0)]).send().await?;
    quick_poller(&client).follow_all(&mut paid).await?;
    assert_eq!(sandbox.paid_on(invoice), Decimal::new(10_000, 2));

    // correction(0) takes 100.00 off invoice 0.
    let mut report = client.submit(vec![correction(0)]).send().await?;
    quick_poller(&client).follow_all(&mut report).await?;
    assert!(report.all_succeeded(), "{report:?}");
    assert_eq!(sandbox.paid_on(invoice), Decimal::ZERO);
    let booked = sandbox.corrections();
    assert_eq!(booked.len(), 1);
    assert_eq!(booked[0].amount, Decimal::new(-10_000, 2));
    assert_eq!(booked[0].description, "K-000000");
    // The report names it by its content-derived id.
    let item = report.items().next().unwrap_or_else(|| panic!("one item"));
    assert_eq!(item.id, correction(0).id());
    assert_eq!(item.invoice_id, invoice);
    Ok(())
}

#[tokio::test]
async fn the_same_correction_sent_again_is_recognised_by_its_content() -> TestResult {
    let (sandbox, client) = sandbox_and_client().await;
    let ledger = Arc::new(MemoryLedger::default());
    client
        .submit(Correction::items(0..2))
        .with_ledger(ledger.clone())
        .send()
        .await?
        .ensure_accepted()?;
    let report = client
        .submit(Correction::items(0..2))
        .with_ledger(ledger.clone())
        .send()
        .await?;
    assert!(
        report
            .items()
            .all(|i| i.outcome == Outcome::AlreadyAccepted),
        "{report:?}"
    );
    assert_eq!(sandbox.stats().correction_requests, 1, "nothing sent again");
    sandbox.finish_batches();
    assert_eq!(sandbox.corrections().len(), 2);
    Ok(())
}

#[tokio::test]
async fn a_correction_repeated_in_one_submission_is_refused_before_sending() -> TestResult {
    let (sandbox, client) = sandbox_and_client().await;
    let list = vec![correction(1), correction(2), correction(1)];
    match client.submit(list).send().await {
        Err(e @ Error::DuplicateSourceId { .. }) => {
            let text = e.to_string();
            assert!(text.contains("content-derived id"), "{text}");
            assert!(text.contains("#0, #2"), "{text}");
        }
        other => panic!("expected a duplicate error, got {other:?}"),
    }
    assert_eq!(sandbox.stats().correction_requests, 0);

    // In a stream, the repeat is invalid (never sent) and the first one is sent.
    let stream = futures::stream::iter(vec![correction(1), correction(1)]);
    let report = client.submit_stream(stream).send().await?;
    let outcomes: Vec<&str> = report.items().map(|i| i.outcome.name()).collect();
    assert_eq!(outcomes, ["accepted", "invalid"]);
    let second = report.items().nth(1).unwrap_or_else(|| panic!("two items"));
    assert!(
        repeat_reason(second).contains("content-derived id"),
        "{second:?}"
    );
    Ok(())
}

//! The ledger learns what Amili did with each payment: a poller built with the ledger
//! records each batch's outcomes; a later submission reports them (a failed payment is not
//! `AlreadyAccepted`), does not resend a failed payment unchanged, and sends its fix under the
//! same id; a status report finishes what a run left unknown.

mod common;

use std::sync::Arc;
use std::time::Duration;

use amili_payments::ledger::{Ledger, MemoryLedger, Processed};
use amili_payments::report::{Outcome, RequestReport, SubmitReport};
use amili_payments::{Payment, Uuid};
use amili_sandbox::{DEMO_INVOICES, Sandbox};
use common::*;
use futures::StreamExt as _;

/// P-1 on a known invoice, and P-2 on `invoice`; the same content on every call.
fn file(invoice: Uuid) -> Vec<Payment> {
    let payment = |id: &str, invoice: Uuid, cents: i64| {
        let date = chrono::DateTime::parse_from_rfc3339("2025-06-01T12:00:00Z")
            .map(|d| d.with_timezone(&amili_payments::Utc))
            .unwrap_or_else(|e| panic!("{e}"));
        Payment::builder()
            .invoice_id(invoice)
            .amount(amili_payments::Decimal::new(cents, 2))
            .currency("NOK")
            .date(date)
            .description(format!("payment {id}"))
            .unique_source_payment_id(id)
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    vec![
        payment("P-1", DEMO_INVOICES[1], 10_000),
        payment("P-2", invoice, 20_000),
    ]
}

fn item<'r>(report: &'r SubmitReport, id: &str) -> &'r amili_payments::report::ItemOutcome {
    report
        .items()
        .find(|i| i.id == id)
        .unwrap_or_else(|| panic!("no {id} in {report:?}"))
}

fn failure_code(outcome: &Outcome) -> Option<&str> {
    match outcome {
        Outcome::Failed(failure) => failure.code(),
        _ => None,
    }
}

#[tokio::test]
async fn a_failed_payment_is_not_resent_unchanged_and_its_fix_is_sent_once_and_booked() -> TestResult
{
    let (sandbox, client, ledger) = with_memory_ledger().await;
    let poller = quick_poller(&client).with_ledger(ledger.clone());
    let unknown = Uuid::new_v4();

    let mut first = remembered(&client, &ledger, file(unknown)).send().await?;
    poller.follow_all(&mut first).await?;
    assert_eq!(item(&first, "P-1").outcome, Outcome::Succeeded);
    assert_eq!(
        failure_code(&item(&first, "P-2").outcome),
        Some("UNKNOWN_INVOICE")
    );
    let first_batch = item(&first, "P-2").batch_id;
    let known = ledger.known(&["P-1", "P-2"]).await?;
    assert_eq!(
        known[0].as_ref().and_then(|k| k.processed.clone()),
        Some(Processed::Succeeded)
    );
    assert!(
        matches!(&known[1], Some(k) if k.batch_id == first_batch
            && k.processed.as_ref().and_then(Processed::failure).and_then(|f| f.code())
                == Some("UNKNOWN_INVOICE")),
        "{known:?}"
    );
    assert_eq!(sandbox.stats().payment_requests, 1);

    // Unchanged: nothing is sent; each payment is reported with what Amili did.
    let again = remembered(&client, &ledger, file(unknown)).send().await?;
    assert_eq!(sandbox.stats().payment_requests, 1, "{again:?}");
    assert_eq!(item(&again, "P-1").outcome, Outcome::Succeeded);
    let failed = item(&again, "P-2");
    assert_eq!(failure_code(&failed.outcome), Some("UNKNOWN_INVOICE"));
    assert!(failed.outcome.to_string().contains("UNKNOWN_INVOICE"));
    assert_eq!(failed.batch_id, first_batch);
    assert_eq!(failed.idempotency_key, None, "not sent");

    // The fix: P-2 on a known invoice is sent once more, alone, under its id, and booked.
    let mut fixed = remembered(&client, &ledger, file(DEMO_INVOICES[2]))
        .send()
        .await?;
    assert_eq!(sandbox.stats().payment_requests, 2, "{fixed:?}");
    let sent = item(&fixed, "P-2");
    assert_eq!(sent.outcome, Outcome::Accepted);
    assert!(sent.idempotency_key.is_some());
    assert_ne!(sent.batch_id, first_batch);
    assert_eq!(item(&fixed, "P-1").idempotency_key, None, "P-1 is not sent");
    poller.follow_all(&mut fixed).await?;
    assert_eq!(item(&fixed, "P-2").outcome, Outcome::Succeeded);
    assert_eq!(sandbox.times_booked("P-1"), 1);
    assert_eq!(sandbox.times_booked("P-2"), 1);
    let known = ledger.known(&["P-2"]).await?;
    assert!(
        matches!(&known[0], Some(k) if k.batch_id == item(&fixed, "P-2").batch_id
            && k.processed == Some(Processed::Succeeded)),
        "the new outcome replaced the failure: {known:?}"
    );

    // And now nothing more is sent.
    let last = remembered(&client, &ledger, file(DEMO_INVOICES[2]))
        .send()
        .await?;
    assert_eq!(sandbox.stats().payment_requests, 2);
    assert_all(&last, "succeeded");
    Ok(())
}

#[tokio::test]
async fn a_status_report_finishes_a_follow_up_that_timed_out_and_records_it() -> TestResult {
    // Batches finish only when the test says so.
    let sandbox = Sandbox::builder()
        .batch_delay(Duration::from_secs(3600))
        .start()
        .await?;
    let client = client_for(&sandbox);
    let ledger = Arc::new(MemoryLedger::default());
    let payments = file(Uuid::new_v4());

    let mut report = remembered(&client, &ledger, payments.clone())
        .send()
        .await?;
    let impatient = quick_poller(&client)
        .with_timeout(ms(30))
        .with_ledger(ledger.clone());
    assert!(impatient.follow_all(&mut report).await.is_err());
    assert_all(&report, "accepted");
    let known = ledger.known(&["P-1", "P-2"]).await?;
    assert!(
        known
            .iter()
            .all(|k| k.as_ref().is_some_and(|k| k.processed.is_none())),
        "{known:?}"
    );

    sandbox.finish_batches();
    let statuses: Vec<RequestReport> = client
        .submit(payments)
        .with_ledger(ledger.clone())
        .status()?
        .collect()
        .await;
    let poller = quick_poller(&client).with_ledger(ledger.clone());
    let mut status = SubmitReport::default();
    for mut request in statuses {
        assert!(
            request
                .items
                .iter()
                .all(|i| i.outcome == Outcome::AlreadyAccepted && i.idempotency_key.is_some()),
            "{request:?}"
        );
        poller.follow(&mut request).await?;
        status.requests.push(request);
    }
    assert_eq!(item(&status, "P-1").outcome, Outcome::Succeeded);
    assert_eq!(
        failure_code(&item(&status, "P-2").outcome),
        Some("UNKNOWN_INVOICE")
    );
    assert_eq!(
        sandbox.stats().payment_requests,
        1,
        "a status sends nothing"
    );

    // Recorded: the ledger answers without Amili now.
    let known = ledger.known(&["P-1", "P-2"]).await?;
    assert_eq!(
        known[0].as_ref().and_then(|k| k.processed.clone()),
        Some(Processed::Succeeded)
    );
    assert_eq!(
        known[1]
            .as_ref()
            .and_then(|k| k.processed.as_ref())
            .map(Processed::name),
        Some("failed")
    );
    Ok(())
}

#[tokio::test]
async fn a_status_report_needs_a_ledger_and_names_what_it_never_saw() -> TestResult {
    let (sandbox, client, ledger) = with_memory_ledger().await;
    assert!(client.submit(payments(0..1)).status().is_err());
    let reports: Vec<RequestReport> = client
        .submit(payments(0..2))
        .with_ledger(ledger)
        .status()?
        .collect()
        .await;
    let items: Vec<_> = reports.iter().flat_map(|r| &r.items).collect();
    assert_eq!(items.len(), 2);
    assert!(
        items
            .iter()
            .all(|i| matches!(i.outcome, Outcome::NotSent(_)) && i.batch_id.is_none()),
        "{items:?}"
    );
    assert_eq!(sandbox.stats().payment_requests, 0);
    Ok(())
}

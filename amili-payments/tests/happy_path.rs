//! The happy path against the sandbox: create, submit many, wait, follow, list.

mod common;

use std::collections::HashSet;

use amili_payments::{
    BatchFilter, BatchStatus, ChunkResult, OutcomeState, SubmitOptions, WaitOptions,
};
use common::*;
use futures::{StreamExt, TryStreamExt};

fn quick_wait() -> WaitOptions {
    WaitOptions::default()
        .with_timeout(std::time::Duration::from_secs(20))
        .with_interval(ms(5), ms(50))
}

#[tokio::test]
async fn create_returns_a_receipt_and_the_batch_succeeds() -> TestResult {
    let sandbox = sandbox().await;
    let client = client_for(&sandbox);
    let payments = payments(0..3);

    let receipt = client.create(&payments).await?;
    assert_eq!(receipt.source_ids, ["P-000000", "P-000001", "P-000002"]);
    assert!(!receipt.recovered);
    assert!(receipt.batch_url.contains(&receipt.batch_id.to_string()));

    let batch = client.wait(receipt.batch_id, quick_wait()).await?;
    assert_eq!(batch.status, BatchStatus::Success);
    assert_eq!(batch.succeeded.len(), 3);

    let outcomes = client.wait_receipt(&receipt, quick_wait()).await?;
    assert!(
        outcomes.iter().all(|o| o.state == OutcomeState::Succeeded),
        "{outcomes:?}"
    );

    // The booked payments carry the receipt's key; the amounts arrive exactly.
    let ledger = sandbox.ledger();
    assert_eq!(ledger.len(), 3);
    assert!(
        ledger
            .iter()
            .all(|b| b.idempotency_key.as_deref() == Some(receipt.idempotency_key.as_str()))
    );
    assert_eq!(ledger[1].amount, payments[1].amount());
    assert_eq!(sandbox.stats().token_requests, 1);

    let found = client.find_batch_by_key(&receipt.idempotency_key).await?;
    assert_eq!(found.map(|b| b.id), Some(receipt.batch_id));
    let info = client.check_token().await?;
    assert_eq!(info.kind, "client credentials");
    assert!(info.expires_at.is_some());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_ten_thousand_payments_in_chunks_and_follow_them() -> TestResult {
    let sandbox = sandbox().await;
    let client = builder_for(&sandbox)
        .max_payments_per_request(1000)
        .concurrency(4)
        .build()?;
    let all = payments(0..10_000);

    let mut report = client.submit(all, SubmitOptions::default()).await?;
    assert_eq!(report.outcomes.len(), 10_000);
    assert!(report.all_accepted());
    assert_eq!(report.receipts.len(), 10);
    assert_eq!(report.batch_ids().len(), 10);
    assert_eq!(sandbox.stats().payment_requests, 10);
    // Outcomes are in input order.
    assert!(
        report
            .outcomes
            .iter()
            .enumerate()
            .all(|(i, o)| o.index == i && o.unique_source_payment_id == format!("P-{i:06}"))
    );
    let keys: HashSet<_> = report
        .outcomes
        .iter()
        .filter_map(|o| o.idempotency_key.clone())
        .collect();
    assert_eq!(keys.len(), 10);

    client.follow(&mut report, quick_wait()).await?;
    let counts = report.counts();
    assert_eq!(counts.succeeded, 10_000, "{counts:?}");
    assert!(report.all_succeeded());
    assert_eq!(sandbox.ledger().len(), 10_000);
    assert_eq!(sandbox.times_booked("P-004242"), 1);
    Ok(())
}

#[tokio::test]
async fn submit_stream_sends_and_reports_in_order() -> TestResult {
    let sandbox = sandbox().await;
    let client = builder_for(&sandbox).max_payments_per_request(7).build()?;
    let mut input = payments(0..20);
    input.push(payment_with_id(99, "P-000003")); // a repeat: not sent
    let report = client
        .submit_stream(futures::stream::iter(input), SubmitOptions::default())
        .await?;
    assert_eq!(report.outcomes.len(), 21);
    assert_eq!(report.counts().accepted, 20);
    assert!(matches!(
        report.outcomes[20].state,
        OutcomeState::NotSent { .. }
    ));
    assert_eq!(sandbox.stats().payment_requests, 3);
    Ok(())
}

#[tokio::test]
async fn submit_stream_each_reports_request_by_request_without_draining_the_source() -> TestResult {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let sandbox = sandbox().await;
    let client = builder_for(&sandbox)
        .max_payments_per_request(10)
        .concurrency(1)
        .build()?;
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&pulled);
    // 1,000 payments, two of them repeats of earlier ids, counted as they are pulled.
    let source = futures::stream::iter(0..1000).map(move |n| {
        counter.fetch_add(1, Ordering::SeqCst);
        match n {
            500 => payment_with_id(n, "P-000001"),
            999 => payment_with_id(n, "P-000002"),
            n => payment(n),
        }
    });
    let mut reports = std::pin::pin!(client.submit_stream_each(source, SubmitOptions::default()));

    let first = reports.next().await.ok_or("no report")?;
    // The first request's report arrives while the source is still mostly unread: only the
    // requests in flight hold payments.
    assert!(pulled.load(Ordering::SeqCst) <= 30, "{pulled:?} pulled");
    assert!(matches!(first.result, ChunkResult::Accepted(_)));
    assert_eq!(first.outcomes.len(), 10);

    let mut seen = vec![0_usize; 1000];
    let mut not_sent = Vec::new();
    for chunk in std::iter::once(first).chain(reports.collect::<Vec<_>>().await) {
        for outcome in chunk.outcomes {
            seen[outcome.index] += 1;
            if let OutcomeState::NotSent { .. } = outcome.state {
                assert!(chunk.idempotency_key.is_none());
                not_sent.push(outcome.index);
            } else {
                assert_eq!(outcome.state, OutcomeState::Accepted);
                assert_eq!(outcome.idempotency_key, chunk.idempotency_key);
            }
        }
    }
    assert!(
        seen.iter().all(|n| *n == 1),
        "every payment reported exactly once"
    );
    not_sent.sort_unstable();
    assert_eq!(not_sent, [500, 999]);
    assert_eq!(sandbox.stats().payment_requests, 100);
    Ok(())
}

#[tokio::test]
async fn listing_follows_every_page() -> TestResult {
    let sandbox = sandbox().await;
    let client = builder_for(&sandbox).max_payments_per_request(1).build()?;
    let report = client
        .submit(payments(0..12), SubmitOptions::default())
        .await?;
    assert_eq!(report.batch_ids().len(), 12);

    let before = sandbox.stats().batch_lists;
    let listed: Vec<_> = client
        .batches(BatchFilter::default().with_page_size(5))
        .try_collect()
        .await?;
    assert_eq!(listed.len(), 12);
    assert_eq!(sandbox.stats().batch_lists - before, 3);
    let ids: HashSet<_> = listed.iter().map(|b| b.id).collect();
    assert_eq!(ids, report.batch_ids().into_iter().collect());
    // Unknown batch types from the server are kept.
    assert!(
        listed
            .iter()
            .all(|b| b.kind.as_ref().is_some_and(|k| k.as_str() == "PAYMENT"))
    );

    // Streams are lazy: taking 2 reads one page.
    let before = sandbox.stats().batch_lists;
    let two: Vec<_> = client
        .batches(BatchFilter::default().with_page_size(5))
        .take(2)
        .collect()
        .await;
    assert_eq!(two.len(), 2);
    assert_eq!(sandbox.stats().batch_lists - before, 1);
    Ok(())
}

#[tokio::test]
async fn failed_items_carry_amili_reasons() -> TestResult {
    let sandbox = sandbox().await;
    let client = client_for(&sandbox);
    let unknown_invoice = amili_payments::Payment::builder()
        .invoice_id(uuid::Uuid::new_v4())
        .amount(rust_decimal::Decimal::new(100, 0))
        .currency("NOK")
        .date(chrono::Utc::now())
        .unique_source_payment_id("P-unknown-invoice")
        .build()?;
    let mut report = client
        .submit(vec![payment(1), unknown_invoice], SubmitOptions::default())
        .await?;
    client.follow(&mut report, quick_wait()).await?;
    assert_eq!(report.outcomes[0].state, OutcomeState::Succeeded);
    match &report.outcomes[1].state {
        OutcomeState::Failed {
            reason: Some(reason),
        } => {
            assert!(reason.contains("UNKNOWN_INVOICE"), "{reason}")
        }
        other => panic!("expected a failure with a reason, got {other:?}"),
    }
    let batch = client.batch(report.batch_ids()[0]).await?;
    assert_eq!(batch.status, BatchStatus::Partial);
    Ok(())
}

//! The happy path against the sandbox: submit one request or many, follow, list.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use amili_payments::batches::{BatchFilter, BatchStatus};
use amili_payments::ledger::MemoryLedger;
use amili_payments::report::{Outcome, RequestResult};
use amili_payments::{Decimal, Payment, Utc, Uuid};
use common::*;
use futures::{StreamExt, TryStreamExt};

#[tokio::test]
async fn one_request_is_accepted_and_its_batch_succeeds() -> TestResult {
    let (sandbox, client) = sandbox_and_client().await;
    let payments = payments(0..3);

    let mut report = client.submit(payments.clone()).send().await?;
    report.ensure_accepted()?;
    let request = only_request(&report);
    let (batch_id, key) = match (&request.result, &request.idempotency_key) {
        (
            RequestResult::Accepted {
                batch_id,
                recovered: false,
            },
            Some(key),
        ) => (*batch_id, key.clone()),
        other => panic!("expected a fresh acceptance, got {other:?}"),
    };
    let ids: Vec<&str> = report.items().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["P-000000", "P-000001", "P-000002"]);
    assert!(report.items().all(|i| i.batch_id == Some(batch_id)
        && i.outcome == Outcome::Accepted
        && i.invoice_id == payments[i.index].invoice_id()));
    assert_eq!(report.batch_ids(), [batch_id]);

    let poller = quick_poller(&client);
    let batch = poller.until_done(batch_id).await?;
    assert_eq!(batch.status, BatchStatus::Success);
    assert_eq!(batch.succeeded.len(), 3);
    assert_eq!(poller.poll(batch_id).await?.id, batch_id);

    poller.follow_all(&mut report).await?;
    assert!(report.all_succeeded(), "{report:?}");
    assert_eq!(report.counts().succeeded, 3);

    // The booked payments carry the request's key; the amounts arrive exactly.
    let ledger = sandbox.ledger();
    assert_eq!(ledger.len(), 3);
    assert!(
        ledger
            .iter()
            .all(|b| b.idempotency_key.as_deref() == Some(key.as_str()))
    );
    assert_eq!(ledger[1].amount, payments[1].amount());
    assert_eq!(sandbox.stats().token_requests, 1);

    let found = client.find_batch_by_key(&key).await?;
    assert_eq!(found.map(|b| b.id), Some(batch_id));
    let info = client.check_token().await?;
    assert_eq!(info.kind, "client credentials");
    assert!(info.expires_at.is_some());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_ten_thousand_payments_in_requests_and_follow_them() -> TestResult {
    let sandbox = sandbox().await;
    let client = builder_for(&sandbox)
        .max_payments_per_request(1000)
        .concurrency(4)
        .build()?;
    let all = payments(0..10_000);

    let mut report = client.submit(all).send().await?;
    assert_eq!(report.items().count(), 10_000);
    assert!(report.all_accepted());
    assert_eq!(report.requests.len(), 10);
    assert_eq!(report.batch_ids().len(), 10);
    assert_eq!(sandbox.stats().payment_requests, 10);
    // Items are in input order, however the requests finished.
    assert!(
        report
            .items()
            .enumerate()
            .all(|(i, o)| o.index == i && o.id == format!("P-{i:06}"))
    );
    let keys: HashSet<_> = sent_keys(&report).into_iter().collect();
    assert_eq!(keys.len(), 10);

    quick_poller(&client)
        .with_concurrency(4)
        .follow_all(&mut report)
        .await?;
    let counts = report.counts();
    assert_eq!(counts.succeeded, 10_000, "{counts:?}");
    assert!(report.all_succeeded());
    assert_eq!(sandbox.ledger().len(), 10_000);
    assert_eq!(sandbox.times_booked("P-004242"), 1);
    Ok(())
}

#[tokio::test]
async fn chunk_size_and_concurrency_are_options_of_the_submission() -> TestResult {
    let (sandbox, client) = sandbox_and_client().await;
    let report = client
        .submit(payments(0..10))
        .with_chunk_size(3)
        .with_concurrency(2)
        .send()
        .await?;
    report.ensure_accepted()?;
    let sizes: Vec<usize> = report.requests.iter().map(|r| r.items.len()).collect();
    assert_eq!(sizes, [3, 3, 3, 1]);
    assert_eq!(sandbox.stats().payment_requests, 4);
    Ok(())
}

#[tokio::test]
async fn submit_stream_sends_and_reports_in_order() -> TestResult {
    let sandbox = sandbox().await;
    let client = builder_for(&sandbox).max_payments_per_request(7).build()?;
    let mut input = payments(0..20);
    input.push(payment_with_id(99, "P-000003")); // a repeat: not sent
    let report = client
        .submit_stream(futures::stream::iter(input))
        .send()
        .await?;
    let items: Vec<_> = report.items().collect();
    assert_eq!(items.len(), 21);
    assert!(items.iter().enumerate().all(|(i, item)| item.index == i));
    assert_eq!(report.counts().accepted, 20);
    repeat_reason(items[20]);
    assert_eq!(sandbox.stats().payment_requests, 3);
    // The first P-000003 was booked, the repeat was not.
    sandbox.finish_batches();
    assert_eq!(sandbox.times_booked("P-000003"), 1);
    Ok(())
}

#[tokio::test]
async fn ids_known_unique_leave_a_repeat_to_the_ledger_and_are_ignored_without_one() -> TestResult {
    // 20 payments and the 4th again, slipped past the caller's own check.
    let mut source = payments(0..20);
    source.push(source[3].clone());
    let input = || futures::stream::iter(source.clone());

    // With a ledger: the stream does not look for repeats, and the ledger, which holds the
    // first P-000003, keeps the repeat from being sent.
    let sandbox = sandbox().await;
    let client = builder_for(&sandbox).max_payments_per_request(7).build()?;
    let report = client
        .submit_stream(input())
        .with_ids_known_unique()
        .with_ledger(Arc::new(MemoryLedger::default()))
        .with_concurrency(1)
        .send()
        .await?;
    let items: Vec<_> = report.items().collect();
    assert_eq!(items.len(), 21);
    assert_eq!(report.counts().accepted, 20);
    // Accepted earlier in this submission (or, were it still in flight, not sent): never
    // reported invalid, never sent twice.
    assert!(
        matches!(
            items[20].outcome,
            Outcome::AlreadyAccepted | Outcome::NotSent(_)
        ),
        "{:?}",
        items[20]
    );
    assert_eq!(items[20].idempotency_key, None, "not sent");
    assert_eq!(sandbox.stats().payment_requests, 3);
    sandbox.finish_batches();
    assert_eq!(sandbox.times_booked("P-000003"), 1);

    // Without a ledger the stream still finds the repeat itself.
    let fresh = sandbox_and_client().await.0;
    let client = builder_for(&fresh).max_payments_per_request(7).build()?;
    let report = client
        .submit_stream(input())
        .with_ids_known_unique()
        .send()
        .await?;
    let items: Vec<_> = report.items().collect();
    assert_eq!(report.counts().accepted, 20);
    repeat_reason(items[20]);
    fresh.finish_batches();
    assert_eq!(fresh.times_booked("P-000003"), 1);
    Ok(())
}

#[tokio::test]
async fn the_stream_of_reports_does_not_read_the_source_ahead() -> TestResult {
    let (sandbox, client) = sandbox_and_client().await;
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
    let reports = client
        .submit_stream(source)
        .with_chunk_size(10)
        .with_concurrency(1)
        .stream()?;
    let mut reports = std::pin::pin!(reports);

    let first = reports.next().await.ok_or("no report")??;
    // The first request's report arrives while the source is still mostly unread: only the
    // requests in flight and those prepared to go next hold payments.
    let read = pulled.load(Ordering::SeqCst);
    assert!(read <= 30, "{read} pulled before the first report");
    assert!(
        matches!(first.result, RequestResult::Accepted { .. }),
        "{first:?}"
    );
    assert_eq!(first.items.len(), 10);

    let mut seen = vec![0_usize; 1000];
    let mut not_sent = Vec::new();
    let mut requests = 0;
    let rest = reports.collect::<Vec<_>>().await;
    for request in std::iter::once(Ok(first)).chain(rest) {
        let request = request?;
        requests += 1;
        for item in &request.items {
            seen[item.index] += 1;
            if let Outcome::Invalid(reason) = &item.outcome {
                assert!(reason.as_str().contains("appeared earlier"), "{reason}");
                assert_eq!(item.batch_id, None);
                not_sent.push(item.index);
            } else {
                assert_eq!(item.outcome, Outcome::Accepted);
                assert_eq!(item.batch_id, request.batch_id());
                assert!(request.idempotency_key.is_some());
            }
        }
    }
    assert_eq!(requests, 100);
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
async fn a_request_report_from_the_stream_is_followed_on_its_own() -> TestResult {
    let (_sandbox, client) = sandbox_and_client().await;
    let poller = quick_poller(&client);
    let reports = client.submit(payments(0..6)).with_chunk_size(2).stream()?;
    let mut reports = std::pin::pin!(reports);
    let mut followed = 0;
    while let Some(request) = reports.next().await {
        let mut request = request?;
        poller.follow(&mut request).await?;
        assert!(
            request
                .items
                .iter()
                .all(|i| i.outcome == Outcome::Succeeded),
            "{request:?}"
        );
        followed += 1;
    }
    assert_eq!(followed, 3);
    Ok(())
}

#[tokio::test]
async fn listing_follows_every_page() -> TestResult {
    let (sandbox, client) = sandbox_and_client().await;
    let report = client
        .submit(payments(0..12))
        .with_chunk_size(1)
        .send()
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
    let (_sandbox, client) = sandbox_and_client().await;
    let unknown_invoice = Payment::builder()
        .invoice_id(Uuid::new_v4())
        .amount(Decimal::new(100, 0))
        .currency("NOK")
        .date(Utc::now())
        .unique_source_payment_id("P-unknown-invoice")
        .build()?;
    let mut report = client
        .submit(vec![payment(1), unknown_invoice])
        .send()
        .await?;
    quick_poller(&client).follow_all(&mut report).await?;
    let items: Vec<_> = report.items().collect();
    assert_eq!(items[0].outcome, Outcome::Succeeded);
    match &items[1].outcome {
        Outcome::Failed(failure) => {
            assert_eq!(failure.code(), Some("UNKNOWN_INVOICE"), "{failure}")
        }
        other => panic!("expected a failure with a reason, got {other:?}"),
    }
    assert!(
        items[1].outcome.is_accepted(),
        "Amili has it, it failed there"
    );
    assert!(!report.all_succeeded());
    let batch = client.batch(report.batch_ids()[0]).await?;
    assert_eq!(batch.status, BatchStatus::Partial);
    Ok(())
}

#[tokio::test]
async fn an_empty_submission_sends_nothing() -> TestResult {
    let (sandbox, client) = sandbox_and_client().await;
    let report = client.submit(Vec::<Payment>::new()).send().await?;
    assert!(report.requests.is_empty());
    assert_eq!(report.counts().total(), 0);
    assert_eq!(sandbox.stats().payment_requests, 0);
    assert_eq!(sandbox.stats().token_requests, 0);
    Ok(())
}

//! Following batches by events: a poller woken by `BATCH_COMPLETED` (sandbox → receiver →
//! `BatchWakeups` → poller) ends with the same per-payment outcomes as one that polls, with
//! far fewer `GetBatchById` calls (counted at the sandbox), and it still reads every batch
//! from the API — an event alone never settles a payment.

mod common;

use std::time::Duration;

use amili_payments::{Backoff, BatchWakeups, report::Outcome, report::SubmitReport};
use amili_sandbox::Sandbox;
use amili_webhooks::{Delivery, HmacSha256Verifier, Receiver};
use common::{SECRET, TestResult, client, payments, serve, wait_until};

const BATCHES: usize = 5;
/// Payment 3 is for an unknown invoice: its batch fails, with Amili's reason.
const FAILING: [usize; 1] = [3];

fn outcomes(report: &SubmitReport) -> Vec<(String, Outcome)> {
    report
        .items()
        .map(|i| (i.id.clone(), i.outcome.clone()))
        .collect()
}

/// A pace no test waits out: without an event the poller reads a batch once and then sleeps
/// far longer than [`WOKEN_WITHIN`].
fn never() -> Backoff {
    Backoff::new(Duration::from_secs(3600), Duration::from_secs(3600)).without_jitter()
}

/// The bound after which a poller that was not woken counts as a failure (a liveness bound,
/// so a broken wake-up fails the test instead of hanging it; nothing is timed).
const WOKEN_WITHIN: Duration = Duration::from_secs(60);

async fn woken<F: std::future::Future>(
    follow: F,
) -> Result<F::Output, Box<dyn std::error::Error + Send + Sync>> {
    tokio::time::timeout(WOKEN_WITHIN, follow)
        .await
        .map_err(|_| "the poller was not woken by the event".into())
}

#[tokio::test]
async fn woken_by_events_same_outcomes_as_polling_with_far_fewer_reads() -> TestResult {
    // 1. Polling, the slow way: the batches finish only after every poller has read its batch
    //    several times.
    let polled = Sandbox::builder()
        .batch_delay(Duration::MAX)
        .start()
        .await?;
    let client = client(&polled)?;
    let mut by_polling = client
        .submit(payments("WAKE", BATCHES, &FAILING)?)
        .send()
        .await?;
    by_polling.ensure_accepted()?;
    let poller = client.poller().with_concurrency(BATCHES).with_backoff(
        Backoff::new(Duration::from_millis(5), Duration::from_millis(5)).without_jitter(),
    );
    let finish_after_reads = async {
        wait_until("five reads per batch", || {
            polled.stats().batch_gets >= 5 * BATCHES as u64
        })
        .await?;
        polled.finish_batches();
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    };
    let (followed, finished) = tokio::join!(poller.follow_all(&mut by_polling), finish_after_reads);
    followed?;
    finished?;
    let polling_reads = polled.stats().batch_gets;

    // 2. By events: the same payments on a fresh sandbox that posts BATCH_COMPLETED to a
    //    receiver waking the pollers.
    let wakeups = BatchWakeups::new();
    let receiver = Receiver::builder(HmacSha256Verifier::new(SECRET))
        .wake_pollers(wakeups.clone())
        .handler(|_delivery: Delivery| async { Ok::<_, String>(()) });
    let served = serve(receiver).await?;
    let evented = Sandbox::builder()
        .batch_delay(Duration::MAX)
        .webhook_url(&served.url)
        .webhook_secret(SECRET)
        .start()
        .await?;
    let client = common::client(&evented)?;
    let mut by_events = client
        .submit(payments("WAKE", BATCHES, &FAILING)?)
        .send()
        .await?;
    by_events.ensure_accepted()?;
    let poller = client
        .poller()
        .with_concurrency(BATCHES)
        .with_wakeups(wakeups)
        .with_fallback_backoff(never())
        .with_timeout(Duration::from_secs(7200));
    let finish_after_first_reads = async {
        wait_until("one read per batch", || {
            evented.stats().batch_gets >= BATCHES as u64
        })
        .await?;
        evented.finish_batches();
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    };
    let (followed, finished) = tokio::join!(
        woken(poller.follow_all(&mut by_events)),
        finish_after_first_reads
    );
    followed??;
    finished?;
    let event_reads = evented.stats().batch_gets;

    assert_eq!(outcomes(&by_events), outcomes(&by_polling));
    let failed: Vec<_> = outcomes(&by_events)
        .into_iter()
        .filter(|(_, o)| matches!(o, Outcome::Failed(Some(reason)) if reason.as_str().contains("UNKNOWN_INVOICE")))
        .collect();
    assert_eq!(failed.len(), 1, "{:?}", outcomes(&by_events));
    assert_eq!(
        outcomes(&by_events)
            .iter()
            .filter(|(_, o)| *o == Outcome::Succeeded)
            .count(),
        BATCHES - 1
    );
    // Each batch read twice: once before it finished, once when its event came.
    assert_eq!(event_reads, 2 * BATCHES as u64);
    assert!(
        event_reads * 3 <= polling_reads,
        "{event_reads} reads by events vs {polling_reads} by polling"
    );
    assert_eq!(evented.stats().webhooks_delivered, BATCHES as u64);
    Ok(())
}

#[tokio::test]
async fn an_event_alone_settles_nothing_the_batch_is_read_again() -> TestResult {
    let sandbox = Sandbox::builder()
        .batch_delay(Duration::MAX)
        .start()
        .await?;
    let client = client(&sandbox)?;
    let mut report = client.submit(payments("EARLY", 1, &[])?).send().await?;
    report.ensure_accepted()?;
    let batch = report.batch_ids()[0];
    let wakeups = BatchWakeups::new();
    let poller = client
        .poller()
        .with_wakeups(wakeups.clone())
        .with_fallback_backoff(never())
        .with_timeout(Duration::from_secs(7200));
    let events = async {
        wait_until("the first read", || sandbox.stats().batch_gets >= 1).await?;
        // An event for another batch does not wake this poller; one that comes too early
        // (the batch still QUEUED) makes it read again and keep waiting.
        wakeups.notify(amili_payments::Uuid::new_v4());
        wakeups.notify(batch);
        wait_until("the early event's read", || sandbox.stats().batch_gets >= 2).await?;
        sandbox.finish_batches();
        wakeups.notify(batch);
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    };
    let (followed, sent) = tokio::join!(woken(poller.follow_all(&mut report)), events);
    followed??;
    sent?;
    assert!(report.all_succeeded());
    assert_eq!(sandbox.stats().batch_gets, 3);
    Ok(())
}

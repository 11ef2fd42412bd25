//! End to end over loopback HTTP: the sandbox posts `BATCH_COMPLETED` for every batch that
//! finishes, the receiver hands each finished batch to the handler exactly once — even when
//! the sandbox delivers twice, out of order, or again after a failed first delivery — and a
//! forged signature is refused with 401 and never reaches the handler. Every settlement the
//! sandbox makes is announced with a `SETTLEMENT_CREATED` that names what `GetSettlementById`
//! reads.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amili_payments::Uuid;
use amili_payments::batches::BatchFilter;
use amili_sandbox::{Sandbox, SandboxBuilder, WebhookFault};
use amili_webhooks::{
    BatchStatus, Delivery, Envelope, Event, HmacSha256Verifier, Receiver, SettlementCreated,
};
use common::{SECRET, TestResult, client, payments, serve, wait_until};

/// What the handler was given: every call, and the batches handled successfully.
#[derive(Default)]
struct Seen {
    calls: Vec<Uuid>,
    handled: Vec<(Uuid, BatchStatus)>,
}

/// A receiver recording into `seen`; with `fail_first`, the first call for each batch fails.
fn receiver(seen: &Arc<Mutex<Seen>>, fail_first: bool) -> Receiver {
    let seen = Arc::clone(seen);
    Receiver::builder(HmacSha256Verifier::new(SECRET)).handler(move |delivery: Delivery| {
        let seen = Arc::clone(&seen);
        async move {
            let Event::BatchCompleted(event) = delivery.event else {
                return Err(format!("unexpected event {}", delivery.event.event_type()));
            };
            let mut seen = seen.lock().map_err(|e| e.to_string())?;
            let batch = event.data.batch_id;
            let earlier = seen.calls.iter().filter(|b| **b == batch).count();
            seen.calls.push(batch);
            if fail_first && earlier == 0 {
                return Err("the first handling of each batch fails".to_owned());
            }
            seen.handled.push((batch, event.data.status));
            Ok(())
        }
    })
}

fn sandbox(url: &str) -> SandboxBuilder {
    Sandbox::builder()
        // Batches finish when the test says so (all at once), not on a timer.
        .batch_delay(Duration::MAX)
        .webhook_url(url)
        .webhook_secret(SECRET)
        .webhook_retries(5, Duration::from_millis(10))
}

/// Submits `n` payments (one batch each) and returns the batches.
async fn batches(
    sandbox: &Sandbox,
    prefix: &str,
    n: usize,
    failing: &[usize],
) -> Result<Vec<Uuid>, Box<dyn std::error::Error + Send + Sync>> {
    let client = client(sandbox)?;
    let report = client.submit(payments(prefix, n, failing)?).send().await?;
    report.ensure_accepted()?;
    let batches = report.batch_ids();
    assert_eq!(batches.len(), n);
    Ok(batches)
}

fn handled_once(seen: &Seen, batches: &[Uuid]) {
    let handled: Vec<Uuid> = seen.handled.iter().map(|(b, _)| *b).collect();
    let unique: HashSet<Uuid> = handled.iter().copied().collect();
    assert_eq!(
        unique.len(),
        handled.len(),
        "a batch was handled twice: {handled:?}"
    );
    assert_eq!(unique, batches.iter().copied().collect::<HashSet<_>>());
}

#[tokio::test]
async fn delivered_twice_and_out_of_order_each_batch_is_handled_once() -> TestResult {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let served = serve(receiver(&seen, false)).await?;
    let sandbox = sandbox(&served.url)
        .webhook_fault(WebhookFault::DeliverTwice)
        .webhook_fault(WebhookFault::OutOfOrder)
        .start()
        .await?;
    let batches = batches(&sandbox, "TWICE", 6, &[4]).await?;
    sandbox.finish_batches();
    wait_until("12 deliveries acknowledged", || {
        sandbox.stats().webhooks_delivered == 12
    })
    .await?;

    {
        let seen = seen.lock().map_err(|e| e.to_string())?;
        handled_once(&seen, &batches);
        assert_eq!(seen.calls.len(), 6, "repeats never reached the handler");
        // The status came through: the batch with the failing payment is FAILED.
        let failed: Vec<_> = seen
            .handled
            .iter()
            .filter(|(_, s)| *s == BatchStatus::Failed)
            .collect();
        assert_eq!(failed.len(), 1);
    }

    // The sandbox really did misbehave: every event went out twice with one key …
    let attempts = sandbox.webhook_attempts();
    let mut copies: HashMap<&str, Vec<u32>> = HashMap::new();
    for attempt in attempts.iter().filter(|a| a.delivered()) {
        copies
            .entry(attempt.idempotency_key.as_str())
            .or_default()
            .push(attempt.copy);
    }
    assert_eq!(copies.len(), 6);
    assert!(copies.values().all(|c| c == &[1, 2]), "{copies:?}");
    // … and pairwise out of the order the batches finished in (creation order).
    let delivered: Vec<Uuid> = attempts
        .iter()
        .filter(|a| a.copy == 1)
        .map(|a| a.subject_id)
        .collect();
    let finished = finish_order(&sandbox, &batches).await?;
    let swapped: Vec<Uuid> = finished
        .chunks(2)
        .flat_map(|pair| pair.iter().rev().copied())
        .collect();
    assert_eq!(delivered, swapped);
    assert_ne!(delivered, finished);
    Ok(())
}

/// The batches in the order they were created (and so finished: the sandbox processes
/// batches oldest first), as the batch listing sorts them.
async fn finish_order(
    sandbox: &Sandbox,
    batches: &[Uuid],
) -> Result<Vec<Uuid>, Box<dyn std::error::Error + Send + Sync>> {
    let filter = BatchFilter::default()
        .with_sort_direction("ASC")
        .with_page_size(100);
    let (listed, _) = client(sandbox)?.batches_page(&filter, None).await?;
    Ok(listed
        .into_iter()
        .map(|batch| batch.id)
        .filter(|id| batches.contains(id))
        .collect())
}

#[tokio::test]
async fn a_failed_first_delivery_is_retried_and_handled_once() -> TestResult {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let served = serve(receiver(&seen, true)).await?;
    let sandbox = sandbox(&served.url).start().await?;
    let batches = batches(&sandbox, "RETRY", 3, &[]).await?;
    sandbox.finish_batches();
    wait_until("3 deliveries acknowledged", || {
        sandbox.stats().webhooks_delivered == 3
    })
    .await?;

    let seen = seen.lock().map_err(|e| e.to_string())?;
    handled_once(&seen, &batches);
    assert_eq!(
        seen.calls.len(),
        6,
        "each batch: a failed handling, then one that held"
    );
    let mut statuses: HashMap<&str, Vec<Option<u16>>> = HashMap::new();
    let attempts = sandbox.webhook_attempts();
    for attempt in &attempts {
        statuses
            .entry(attempt.idempotency_key.as_str())
            .or_default()
            .push(attempt.status);
    }
    assert_eq!(statuses.len(), 3);
    assert!(
        statuses.values().all(|s| s == &[Some(500), Some(200)]),
        "{statuses:?}"
    );
    assert_eq!(sandbox.stats().webhooks_given_up, 0);
    Ok(())
}

#[tokio::test]
async fn a_forged_signature_gets_401_and_never_reaches_the_handler() -> TestResult {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let served = serve(receiver(&seen, false)).await?;
    let sandbox = sandbox(&served.url)
        .webhook_secret("a-guessed-secret")
        .webhook_retries(2, Duration::from_millis(10))
        .start()
        .await?;
    batches(&sandbox, "FORGED", 2, &[]).await?;
    sandbox.finish_batches();
    wait_until("both deliveries given up", || {
        sandbox.stats().webhooks_given_up == 2
    })
    .await?;

    let attempts = sandbox.webhook_attempts();
    assert_eq!(attempts.len(), 4);
    assert!(
        attempts.iter().all(|a| a.status == Some(401)),
        "{attempts:?}"
    );
    let seen = seen.lock().map_err(|e| e.to_string())?;
    assert!(seen.calls.is_empty());
    Ok(())
}

#[tokio::test]
async fn batches_finish_and_are_announced_on_time_without_anybody_polling() -> TestResult {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let served = serve(receiver(&seen, false)).await?;
    let sandbox = Sandbox::builder()
        .batch_delay(Duration::from_millis(50))
        .webhook_url(&served.url)
        .webhook_secret(SECRET)
        .start()
        .await?;
    let batches = batches(&sandbox, "CLOCK", 2, &[]).await?;
    wait_until("2 batches handled", || {
        seen.lock().map(|s| s.handled.len() == 2).unwrap_or(false)
    })
    .await?;
    // Nobody read a batch: the sandbox's clock finished them.
    assert_eq!(sandbox.stats().batch_gets, 0);
    let seen = seen.lock().map_err(|e| e.to_string())?;
    handled_once(&seen, &batches);
    // The headers were the documented ones, the key stable, the request id fresh.
    let attempts = sandbox.webhook_attempts();
    let request_ids: HashSet<Uuid> = attempts.iter().map(|a| a.request_id).collect();
    assert_eq!(request_ids.len(), attempts.len());
    assert!(attempts.iter().all(|a| a.event_type == "BATCH_COMPLETED"));
    Ok(())
}

#[tokio::test]
async fn every_settlement_is_announced_once_and_names_what_get_settlement_reads() -> TestResult {
    // Records the settlements handed to the handler; batch events are acknowledged.
    let seen: Arc<Mutex<Vec<Envelope<SettlementCreated>>>> = Arc::default();
    let log = Arc::clone(&seen);
    let receiver =
        Receiver::builder(HmacSha256Verifier::new(SECRET)).handler(move |delivery: Delivery| {
            let log = Arc::clone(&log);
            async move {
                match delivery.event {
                    Event::SettlementCreated(event) => {
                        log.lock().map_err(|e| e.to_string())?.push(event);
                        Ok(())
                    }
                    Event::BatchCompleted(_) => Ok(()),
                    other => Err(format!("unexpected event {}", other.event_type())),
                }
            }
        });
    let served = serve(receiver).await?;
    let sandbox = sandbox(&served.url)
        .webhook_fault(WebhookFault::DeliverTwice)
        .start()
        .await?;
    batches(&sandbox, "SETTLE", 3, &[]).await?;
    sandbox.finish_batches();
    wait_until("3 batch events delivered twice", || {
        sandbox.stats().webhooks_delivered == 6
    })
    .await?;

    let day = amili_payments::NaiveDate::from_ymd_opt(2025, 6, 30).ok_or("a date")?;
    let made = sandbox.settle(day);
    assert_eq!(made.len(), 3, "one settlement per invoice");
    wait_until("3 settlement events delivered twice", || {
        sandbox.stats().webhooks_delivered == 12
    })
    .await?;

    let events = seen.lock().map_err(|e| e.to_string())?.clone();
    assert_eq!(events.len(), 3, "each settlement handled once: {events:?}");
    let announced: HashSet<Uuid> = events.iter().map(|e| e.data.settlement_id).collect();
    let settled: HashSet<Uuid> = made.iter().map(|s| s.id).collect();
    assert_eq!(announced, settled);
    let client = client(&sandbox)?;
    for event in &events {
        let data = &event.data;
        let read = client.settlement(data.settlement_id).await?;
        assert_eq!(read.id, Some(data.settlement_id));
        assert_eq!(read.invoice_id, data.invoice_id);
        assert_eq!(read.invoice_number, data.invoice_number);
        assert!(data.invoice_number.is_some(), "demo invoices have numbers");
        assert_eq!(read.case_number, data.case_number);
        assert_eq!(read.settlement_date, Some(day));
        assert_eq!(data.settlement_date, Some(day));
        assert_eq!(data.organization_id, Some(sandbox.organization_id()));
    }
    // The sandbox's own log: one key per settlement event, each delivered twice.
    let mut copies: HashMap<Uuid, Vec<u32>> = HashMap::new();
    for attempt in sandbox.webhook_attempts() {
        if attempt.event_type == "SETTLEMENT_CREATED" && attempt.delivered() {
            copies
                .entry(attempt.subject_id)
                .or_default()
                .push(attempt.copy);
        }
    }
    assert_eq!(copies.keys().copied().collect::<HashSet<_>>(), settled);
    assert!(copies.values().all(|c| c == &[1, 2]), "{copies:?}");

    // Nothing left to settle: no settlement, so no event.
    assert!(sandbox.settle(day).is_empty());
    Ok(())
}

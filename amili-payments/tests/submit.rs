//! Submissions that remember: the ledger (intent before the first attempt, the result after,
//! nothing accepted sent twice, a changed payment a conflict, a pending one settled by its key)
//! and a caller's own idempotency key.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use amili_payments::ledger::{
    Claim, Fingerprint, Ledger, LedgerError, LedgerItem, MemoryLedger, Settled,
};
use amili_payments::report::{Outcome, RequestResult};
use amili_payments::{Decimal, IdempotencyKey, Payment, Utc};
use amili_sandbox::{DEMO_INVOICES, Route};
use common::*;
use futures::future::BoxFuture;
use tokio::sync::Notify;

/// A journal: a ledger (in memory underneath) that writes down each claim with what the
/// server had seen of its key at that moment, every result, and can run out of disk.
#[derive(Debug)]
struct Journal {
    inner: MemoryLedger,
    /// The proxy in front of the sandbox, to check nothing was sent before the claim.
    proxy: TestServer,
    claims: Mutex<Vec<(IdempotencyKey, Vec<String>, usize)>>,
    records: Mutex<Vec<(IdempotencyKey, Settled)>>,
    refuse_after: Option<usize>,
}

/// A caller that stops the submission while a request is in flight, at a moment known by
/// what happened rather than by time: the proxy holds the `post`-th `CreatePayments` it sees
/// until the handle is stopped ([`StopWhileSending::stop_when`]).
struct StopWhileSending {
    /// Told when the held request reached the proxy.
    arrived: Arc<Notify>,
    /// Told when the held request may go on.
    release: Arc<Notify>,
}

/// What a test of a caller's stop starts with: a sandbox, a client through a proxy that holds
/// its `post`-th `CreatePayments` (counting from 1) until the gate stops the submission, that
/// proxy, an empty journal in front of it, and the gate.
async fn holding_post(
    post: usize,
) -> (
    amili_sandbox::Sandbox,
    amili_payments::Client,
    TestServer,
    Arc<Journal>,
    StopWhileSending,
) {
    let sandbox = sandbox().await;
    let gate = StopWhileSending {
        arrived: Arc::default(),
        release: Arc::default(),
    };
    let (arrived, release) = (gate.arrived.clone(), gate.release.clone());
    let seen = Arc::new(AtomicUsize::new(0));
    let hold: Hold = Arc::new(move |request| {
        let held = request.is_create_payments() && seen.fetch_add(1, Ordering::SeqCst) + 1 == post;
        let (arrived, release) = (arrived.clone(), release.clone());
        Box::pin(async move {
            if held {
                arrived.notify_one();
                release.notified().await;
            }
        })
    });
    let (listener, _) = bind().await;
    let proxy = holding_proxy(listener, origin_of(&sandbox), hold);
    let client = builder_for(&sandbox)
        .environment(through(&proxy))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let ledger = Journal::new(&proxy, None);
    (sandbox, client, proxy, ledger, gate)
}

impl StopWhileSending {
    /// The caller's handle, stopped ("not sent: the caller stopped") once the held request
    /// has arrived and `prepared` says the requests behind it were prepared; then the held
    /// request goes on. The task ends when it has stopped the handle.
    fn stop_when(
        self,
        prepared: impl Fn() -> bool + Send + 'static,
    ) -> (amili_payments::StopHandle, tokio::task::JoinHandle<()>) {
        let stop = amili_payments::StopHandle::new();
        let stopper = {
            let stop = stop.clone();
            tokio::spawn(async move {
                self.arrived.notified().await;
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
                while !prepared() {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "the requests behind the held one were never prepared"
                    );
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                }
                stop.stop("not sent: the caller stopped");
                self.release.notify_one();
            })
        };
        (stop, stopper)
    }
}

/// Whether `ledger` has seen `n` claims.
fn claims(ledger: &Arc<Journal>, n: usize) -> impl Fn() -> bool + Send + 'static {
    let ledger = ledger.clone();
    move || ledger.claims().len() >= n
}

impl Journal {
    /// An empty journal in front of `proxy` that refuses claims after `refuse_after`.
    fn new(proxy: &TestServer, refuse_after: Option<usize>) -> Arc<Journal> {
        Arc::new(Journal {
            inner: MemoryLedger::default(),
            proxy: proxy.clone(),
            claims: Mutex::default(),
            records: Mutex::default(),
            refuse_after,
        })
    }

    fn claims(&self) -> Vec<(IdempotencyKey, Vec<String>, usize)> {
        self.claims.lock().map(|c| c.clone()).unwrap_or_default()
    }

    fn records(&self) -> Vec<(IdempotencyKey, Settled)> {
        self.records.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Ledger for Journal {
    fn claim<'a>(
        &'a self,
        key: &'a IdempotencyKey,
        items: &'a [LedgerItem<'a>],
    ) -> BoxFuture<'a, Result<Vec<Claim>, LedgerError>> {
        Box::pin(async move {
            {
                let mut claims = self
                    .claims
                    .lock()
                    .map_err(|_| LedgerError::new("poisoned"))?;
                if self.refuse_after.is_some_and(|n| claims.len() >= n) {
                    return Err(LedgerError::new("the journal disk is full"));
                }
                let sent_before = self
                    .proxy
                    .payment_keys()
                    .iter()
                    .filter(|k| k.as_deref() == Some(key.as_str()))
                    .count();
                claims.push((
                    key.clone(),
                    items.iter().map(|i| i.id.to_owned()).collect(),
                    sent_before,
                ));
            }
            self.inner.claim(key, items).await
        })
    }

    fn pending<'a>(
        &'a self,
        key: &'a IdempotencyKey,
    ) -> BoxFuture<'a, Result<Vec<(String, Fingerprint)>, LedgerError>> {
        self.inner.pending(key)
    }

    fn adopt<'a>(&'a self, key: &'a IdempotencyKey) -> BoxFuture<'a, Result<bool, LedgerError>> {
        self.inner.adopt(key)
    }

    fn record<'a>(
        &'a self,
        key: &'a IdempotencyKey,
        settled: &'a Settled,
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        Box::pin(async move {
            if let Ok(mut records) = self.records.lock() {
                records.push((key.clone(), settled.clone()));
            }
            self.inner.record(key, settled).await
        })
    }

    fn record_outcomes<'a>(
        &'a self,
        batch_id: amili_payments::Uuid,
        outcomes: &'a [(&'a str, amili_payments::ledger::Processed)],
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        self.inner.record_outcomes(batch_id, outcomes)
    }

    fn known<'a>(
        &'a self,
        ids: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Vec<Option<amili_payments::ledger::Known>>, LedgerError>> {
        self.inner.known(ids)
    }

    fn release<'a>(
        &'a self,
        key: &'a IdempotencyKey,
        ids: &'a [&'a str],
        quiet: std::time::Duration,
    ) -> BoxFuture<'a, Result<bool, LedgerError>> {
        self.inner.release(key, ids, quiet)
    }
}

#[tokio::test]
async fn the_ledger_gets_each_key_before_its_request_and_can_stop_the_submission() -> TestResult {
    let sandbox = sandbox().await;
    let (client, proxy) = proxied(&sandbox).await;
    let journal = Journal::new(&proxy, Some(2));
    let report = remembered(&client, &journal, payments(0..7))
        .with_chunk_size(2)
        .with_concurrency(1)
        .send()
        .await?;

    let claims = journal.claims();
    assert_eq!(claims.len(), 2);
    assert_eq!(claims[0].1, ["P-000000", "P-000001"]);
    assert!(
        claims.iter().all(|(_, _, sent_before)| *sent_before == 0),
        "a key reached the server before the ledger had it: {claims:?}"
    );
    // The journaled keys are the keys sent, and each result was recorded.
    let sent = sent_keys(&report);
    let claimed: Vec<IdempotencyKey> = claims.iter().map(|(k, _, _)| k.clone()).collect();
    assert_eq!(sent, claimed);
    assert_eq!(
        proxy.payment_keys(),
        claimed
            .iter()
            .map(|k| Some(k.to_string()))
            .collect::<Vec<_>>()
    );
    let records = journal.records();
    assert_eq!(records.len(), 2);
    assert!(
        records
            .iter()
            .zip(report.batch_ids())
            .all(|((_, settled), batch_id)| *settled == Settled::Accepted { batch_id })
    );
    // The third claim failed: that request and the rest were not sent, saying why.
    let items: Vec<_> = report.items().collect();
    for item in &items[4..] {
        assert!(
            not_sent_reason(item).contains("the journal disk is full"),
            "{item:?}"
        );
    }
    assert_eq!(report.counts().accepted, 4);
    assert_eq!(report.counts().not_sent, 3);
    assert_eq!(sandbox.stats().payment_requests, 2);
    Ok(())
}

/// Requests are prepared (claimed) while earlier ones are sent; when the submission stops, the
/// ones claimed and never sent are given back, and a later run sends them.
#[tokio::test]
async fn claims_made_ahead_are_given_back_when_the_submission_stops() -> TestResult {
    let sandbox = sandbox().await;
    sandbox
        .faults()
        .random(Route::CreatePayments, status(403), 1.0);
    let (client, proxy) = proxied(&sandbox).await;
    let journal = Journal::new(&proxy, None);
    let report = refused(
        remembered(&client, &journal, payments(0..12))
            .with_chunk_size(1)
            .with_concurrency(2)
            .send()
            .await,
    );

    let sent = sent_keys(&report);
    assert!((1..=2).contains(&sent.len()), "{sent:?}");
    assert_eq!(proxy.payment_keys().len(), sent.len());
    let claims = journal.claims();
    assert!(
        claims.len() > sent.len(),
        "nothing was claimed ahead of its turn: {} claims, {} sent",
        claims.len(),
        sent.len()
    );
    // Every claim was settled: refused (sent) or given back (not sent): nothing is left
    // pending, and every payment is reported not booked, safe to send again.
    let records = journal.records();
    for (key, _, _) in &claims {
        assert!(
            records
                .iter()
                .any(|(k, settled)| k == key && *settled == Settled::NotBooked),
            "claim {key} was not given back: {records:?}"
        );
    }
    assert!(journal.inner.is_empty(), "{:?}", journal.inner);
    assert_eq!(report.counts().rejected, sent.len());
    assert_eq!(report.counts().not_sent, 12 - sent.len());
    assert!(report.items().all(|i| i.outcome.is_safe_to_resend()));

    // The next run, with the refusal gone, sends every payment once.
    sandbox.faults().clear();
    let again = remembered(&client, &journal, payments(0..12))
        .with_chunk_size(1)
        .with_concurrency(2)
        .send()
        .await?;
    assert_eq!(again.counts().accepted, 12, "{again:?}");
    assert_eq!(proxy.payment_keys().len(), sent.len() + 12);
    Ok(())
}

/// A caller stops the submission (Ctrl-C): the request being sent finishes and is recorded;
/// the requests prepared behind it are given back to the ledger and reported not sent with
/// the caller's reason; nothing more is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_handle_stops_the_submission_after_the_request_in_flight() -> TestResult {
    let (_sandbox, client, proxy, ledger, gate) = holding_post(1).await;
    // Stopped while [P0] is sent, once [P1] is prepared behind it.
    let (stop, stopper) = gate.stop_when(claims(&ledger, 2));
    let report = remembered(&client, &ledger, payments(0..6))
        .with_chunk_size(1)
        .with_concurrency(1)
        .with_stop_handle(stop.clone())
        .send()
        .await?;
    stopper.await?;

    assert_eq!(
        proxy.payment_keys().len(),
        1,
        "only the request in flight was sent"
    );
    assert_eq!(report.counts().accepted, 1, "{report:?}");
    assert_eq!(report.counts().not_sent, 5);
    for item in report.items().filter(|i| i.outcome != Outcome::Accepted) {
        assert_eq!(not_sent_reason(item), "not sent: the caller stopped");
    }
    // The ledger holds the one payment sent; the ones claimed ahead were given back.
    assert_eq!(ledger.inner.len(), 1, "{ledger:?}");
    assert_eq!(
        stop.reason().map(|r| r.to_string()).as_deref(),
        Some("not sent: the caller stopped")
    );
    Ok(())
}

/// A request prepared ahead whose items the ledger already knew keeps saying so when the
/// submission stops before it is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_keeps_what_the_ledger_decided_for_a_request_not_sent() -> TestResult {
    let (_sandbox, client, proxy, ledger, gate) = holding_post(2).await;
    let all = payments(0..6);
    let first = remembered(&client, &ledger, all[2..4].to_vec())
        .send()
        .await?;
    assert_eq!(first.counts().accepted, 2);
    // Requests: [P0, P1] sent (held); [P2, P3] prepared meanwhile, both already accepted;
    // then the caller stops (claims: the first run's, [P0, P1], [P2, P3]).
    let (stop, stopper) = gate.stop_when(claims(&ledger, 3));
    let report = remembered(&client, &ledger, all)
        .with_chunk_size(2)
        .with_concurrency(1)
        .with_stop_handle(stop)
        .send()
        .await?;
    stopper.await?;

    let outcome = |id: &str| {
        report
            .items()
            .find(|i| i.id == id)
            .map(|i| i.outcome.clone())
    };
    assert_eq!(outcome("P-000000"), Some(Outcome::Accepted));
    assert_eq!(outcome("P-000002"), Some(Outcome::AlreadyAccepted));
    assert_eq!(outcome("P-000003"), Some(Outcome::AlreadyAccepted));
    assert_eq!(report.counts().not_sent, 2, "{report:?}");
    assert_eq!(
        proxy.payment_keys().len(),
        2,
        "the first run's request and one more"
    );
    Ok(())
}

#[tokio::test]
async fn the_same_payments_twice_with_one_ledger_are_sent_once() -> TestResult {
    let (sandbox, client, ledger, all, first) = accepted_run(0..7, Some(3)).await?;
    assert_eq!(ledger.len(), 7);
    let requests = sandbox.stats().payment_requests;
    assert_eq!(requests, 3);

    // Again, in other chunks, as a list and as a stream: nothing is sent.
    let again = remembered(&client, &ledger, all.clone())
        .with_chunk_size(2)
        .send()
        .await?;
    let streamed = client
        .submit_stream(futures::stream::iter(all.clone()))
        .with_ledger(ledger.clone())
        .send()
        .await?;
    for report in [&again, &streamed] {
        assert!(report.all_accepted(), "{report:?}");
        assert_eq!(report.counts().already_accepted, 7, "{report:?}");
        assert!(report.requests.iter().all(|r| r.idempotency_key.is_none()));
        // Each payment points at the batch that booked it the first time.
        for (now, then) in report.items().zip(first.items()) {
            assert_eq!(now.outcome, Outcome::AlreadyAccepted);
            assert_eq!(now.batch_id, then.batch_id, "{}", now.id);
        }
    }
    let stats = sandbox.stats();
    assert_eq!(stats.payment_requests, requests, "nothing sent again");
    assert_eq!(stats.batch_lists, 0, "nothing to look up");

    // New payments among known ones: only the new ones are sent.
    let mut mixed = all;
    mixed.extend(payments(7..9));
    let report = remembered(&client, &ledger, mixed).send().await?;
    let counts = report.counts();
    assert_eq!((counts.already_accepted, counts.accepted), (7, 2));
    assert_eq!(sandbox.stats().payment_requests, requests + 1);
    sandbox.finish_batches();
    assert_eq!(sandbox.ledger().len(), 9);
    assert!(
        sandbox
            .ledger()
            .iter()
            .all(|b| sandbox.times_booked(&b.unique_source_payment_id) == 1)
    );
    Ok(())
}

#[tokio::test]
async fn a_payment_changed_after_it_was_accepted_is_a_conflict_not_a_resend() -> TestResult {
    let (sandbox, client, ledger, original, first) = accepted_run(0..2, None).await?;

    let changed = Payment::builder()
        .invoice_id(original[1].invoice_id())
        .amount(original[1].amount() + Decimal::ONE)
        .currency("NOK")
        .date(original[1].date())
        .description(original[1].description())
        .unique_source_payment_id(original[1].unique_source_payment_id())
        .build()?;
    let report = remembered(&client, &ledger, vec![original[0].clone(), changed])
        .send()
        .await?;
    let items: Vec<_> = report.items().collect();
    assert_eq!(items[0].outcome, Outcome::AlreadyAccepted);
    match &items[1].outcome {
        Outcome::Conflict(reason) => {
            assert!(reason.as_str().contains("other content"), "{reason}");
            assert!(
                reason.as_str().contains(&first.batch_ids()[0].to_string()),
                "names the batch: {reason}"
            );
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(items[1].batch_id, Some(first.batch_ids()[0]));
    assert!(!items[1].outcome.is_accepted());
    assert!(!items[1].outcome.is_safe_to_resend());
    assert!(report.ensure_accepted().is_err());
    assert_eq!(sandbox.stats().payment_requests, 1, "nothing sent again");
    Ok(())
}

#[tokio::test]
async fn an_interrupted_request_is_resumed_whole_under_its_own_key() -> TestResult {
    let (sandbox, client, ledger, sent, key) = interrupted_run(0..3).await?;
    let booked_in = sandbox.ledger()[0].batch_id;

    // The next submission holds exactly that request's payments: they are sent again under
    // the earlier key, and the server answers with the batch it made the first time.
    let mut second = remembered(&client, &ledger, sent.clone()).send().await?;
    second.ensure_accepted()?;
    assert_eq!(second.counts().accepted, 3, "{second:?}");
    let request = only_request(&second);
    assert_eq!(request.idempotency_key.as_ref(), Some(&key));
    assert_eq!(request.batch_id(), Some(booked_in));
    assert!(
        second
            .items()
            .all(|i| i.idempotency_key.as_ref() == Some(&key) && i.batch_id == Some(booked_in)),
        "{second:?}"
    );
    assert_eq!(sandbox.stats().payment_requests, 2);
    assert_eq!(sandbox.batch_count(), 1, "no second batch");
    quick_poller(&client).follow_all(&mut second).await?;
    assert!(second.all_succeeded(), "{second:?}");
    assert_booked_once(&sandbox, 0..3);

    // Recorded: the third time sends nothing and looks nothing up.
    let lists = sandbox.stats().batch_lists;
    let third = remembered(&client, &ledger, sent).send().await?;
    assert_eq!(third.counts().already_accepted, 3);
    assert_eq!(sandbox.stats().payment_requests, 2);
    assert_eq!(sandbox.stats().batch_lists, lists);
    Ok(())
}

/// An interrupted earlier request, adopted by a request prepared ahead, stays pending under
/// its key when the submission stops before resending it: a later run resumes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adopted_request_stopped_before_resending_stays_pending_under_its_key() -> TestResult {
    let (sandbox, client, proxy, ledger, gate) = holding_post(1).await;
    let all = payments(0..6);
    // Straight to the sandbox: the proxy would turn the dropped answer into a 599.
    let earlier = interrupted(&sandbox, &client_for(&sandbox), &ledger, &all[3..6]).await?;
    let booked_in = sandbox.ledger()[0].batch_id;

    // [P0, P1, P2] is sent (held); [P3, P4, P5], the interrupted request whole, is prepared
    // meanwhile (adopted under its key); then the caller stops (claims: the interrupted
    // run's, [P0, P1, P2], [P3, P4, P5]).
    let (stop, stopper) = gate.stop_when(claims(&ledger, 3));
    let second = remembered(&client, &ledger, all.clone())
        .with_chunk_size(3)
        .with_concurrency(1)
        .with_stop_handle(stop)
        .send()
        .await?;
    stopper.await?;
    assert_eq!(second.counts().accepted, 3, "{second:?}");
    assert_eq!(second.counts().not_sent, 3, "{second:?}");
    let earlier_text = Some(earlier.to_string());
    assert_eq!(proxy.payment_keys().len(), 1, "only [P0, P1, P2] was sent");
    assert!(!proxy.payment_keys().contains(&earlier_text));
    // Still pending under its own key, whole.
    assert_eq!(ledger.pending(&earlier).await?.len(), 3);

    // The next run resumes it under that key, and the server answers with its first batch.
    let third = remembered(&client, &ledger, all[3..6].to_vec())
        .send()
        .await?;
    let request = only_request(&third);
    assert_eq!(request.idempotency_key.as_ref(), Some(&earlier));
    assert_eq!(request.batch_id(), Some(booked_in));
    assert!(proxy.payment_keys().contains(&earlier_text));
    assert_booked_once(&sandbox, 3..6);
    Ok(())
}

#[tokio::test]
async fn part_of_an_interrupted_request_is_settled_by_looking_its_batch_up() -> TestResult {
    let (sandbox, client, ledger, sent, key) = interrupted_run(0..3).await?;
    let booked_in = sandbox.ledger()[0].batch_id;

    // Only two of its three payments: the earlier request's batch is looked up by its key,
    // found, and nothing is sent.
    let lists = sandbox.stats().batch_lists;
    let mut second = remembered(&client, &ledger, sent[..2].to_vec())
        .send()
        .await?;
    assert_eq!(second.counts().already_accepted, 2, "{second:?}");
    assert!(second.items().all(|i| i.batch_id == Some(booked_in)));
    let stats = sandbox.stats();
    assert_eq!(stats.payment_requests, 1, "not resent");
    assert_eq!(stats.batch_lists, lists + 1, "one look-up for the one key");
    assert!(
        sandbox
            .ledger()
            .iter()
            .all(|b| b.idempotency_key.as_deref() == Some(key.as_str()))
    );
    // Following learns what their batch did with the payments accepted earlier.
    quick_poller(&client).follow_all(&mut second).await?;
    assert_eq!(second.counts().succeeded, 2, "{second:?}");

    // The look-up settled the whole request: its third payment is known too.
    let third = remembered(&client, &ledger, sent[2..].to_vec())
        .send()
        .await?;
    assert_eq!(third.counts().already_accepted, 1, "{third:?}");
    assert_eq!(sandbox.stats().batch_lists, lists + 1);
    assert_eq!(sandbox.stats().payment_requests, 1);
    Ok(())
}

#[tokio::test]
async fn a_payment_changed_after_an_interrupted_request_is_a_conflict() -> TestResult {
    let (sandbox, client, ledger, sent, _) = interrupted_run(0..3).await?;

    let mut edited = sent.clone();
    edited[1] = Payment::builder()
        .invoice_id(sent[1].invoice_id())
        .amount(sent[1].amount() + Decimal::ONE)
        .currency("NOK")
        .date(sent[1].date())
        .description("edited after the crash")
        .unique_source_payment_id(sent[1].unique_source_payment_id())
        .build()?;
    let report = remembered(&client, &ledger, edited).send().await?;
    let items: Vec<_> = report.items().collect();
    assert_eq!(items[0].outcome, Outcome::AlreadyAccepted, "{report:?}");
    assert!(
        matches!(items[1].outcome, Outcome::Conflict(_)),
        "{report:?}"
    );
    assert_eq!(items[2].outcome, Outcome::AlreadyAccepted, "{report:?}");
    assert_eq!(sandbox.stats().payment_requests, 1, "nothing sent again");
    sandbox.finish_batches();
    assert_eq!(sandbox.times_booked("P-000001"), 1);
    Ok(())
}

#[tokio::test]
async fn a_payment_left_pending_by_a_request_that_never_arrived_is_sent_again() -> TestResult {
    let sandbox = common::sandbox().await;
    let (client, quiet) = common::short_budget_client(&sandbox);
    // An earlier run claimed the payments under a key and ended without knowing (its request
    // never reached Amili).
    let ids = ["P-000000", "P-000001", "P-000002"];
    let (ledger, stale) = left_unknown(&ids).await?;
    // Asked again, the ledger names the earlier key.
    let key = IdempotencyKey::random();
    let items = [LedgerItem {
        id: ids[0],
        fingerprint: &STALE_FINGERPRINT,
    }];
    let pending = ledger.claim(&key, &items).await?;
    assert_eq!(pending, [Claim::Pending { key: stale.clone() }]);

    // At once, Amili has no batch for it, but the request may still arrive: not sent, and
    // left pending under its key.
    let early = remembered(&client, &ledger, payments(0..3)).send().await?;
    for item in early.items() {
        assert!(
            not_sent_reason(item).contains("may still arrive"),
            "{item:?}"
        );
    }
    assert_eq!(sandbox.stats().payment_requests, 0);
    assert_eq!(ledger.pending(&stale).await?.len(), 3);

    // Once it can no longer arrive, it is released and the payments are sent.
    tokio::time::sleep(quiet).await;
    let report = remembered(&client, &ledger, payments(0..3)).send().await?;
    report.ensure_accepted()?;
    assert_eq!(report.counts().accepted, 3, "{report:?}");
    let stats = sandbox.stats();
    assert_eq!(
        stats.batch_lists, 2,
        "the stale key was looked up by each run"
    );
    assert_eq!(stats.payment_requests, 1);
    let key = only_request(&report)
        .idempotency_key
        .clone()
        .ok_or("no key")?;
    assert_ne!(key, stale);
    sandbox.finish_batches();
    for id in ids {
        assert_eq!(sandbox.times_booked(id), 1, "{id}");
    }
    assert_eq!(ledger.len(), 3);
    Ok(())
}

#[tokio::test]
async fn a_payment_another_submission_is_sending_is_not_sent() -> TestResult {
    let (sandbox, client, ledger) = with_memory_ledger().await;
    let busy = IdempotencyKey::random();
    let fingerprint: Fingerprint = [1; 32];
    ledger
        .claim(
            &busy,
            &[LedgerItem {
                id: "P-000000",
                fingerprint: &fingerprint,
            }],
        )
        .await?;
    let report = remembered(&client, &ledger, payments(0..2)).send().await?;
    let items: Vec<_> = report.items().collect();
    assert!(not_sent_reason(items[0]).contains("another submission"));
    assert_eq!(items[1].outcome, Outcome::Accepted);
    sandbox.finish_batches();
    assert_eq!(sandbox.times_booked("P-000000"), 0);
    Ok(())
}

#[tokio::test]
async fn a_rejected_request_releases_its_payments_in_the_ledger() -> TestResult {
    let (sandbox, client, ledger) = with_memory_ledger().await;
    sandbox.faults().push(Route::CreatePayments, status(422));
    let sent = payments(0..2);
    let first = remembered(&client, &ledger, sent.clone()).send().await?;
    assert_eq!(first.counts().rejected, 2);
    assert!(ledger.is_empty(), "not booked: released");
    let again = remembered(&client, &ledger, sent).send().await?;
    assert_eq!(again.counts().accepted, 2, "{again:?}");
    assert_eq!(sandbox.stats().payment_requests, 2);
    Ok(())
}

#[tokio::test]
async fn a_callers_key_covers_one_request_and_the_rest_is_not_sent() -> TestResult {
    let (sandbox, client) = sandbox_and_client().await;
    let key = IdempotencyKey::random();
    let report = send_under_key(&client, payments(0..5), Some(2), key.clone()).await?;
    assert_eq!(report.requests[0].idempotency_key.as_ref(), Some(&key));
    let items: Vec<_> = report.items().collect();
    assert!(items[..2].iter().all(|i| i.outcome == Outcome::Accepted));
    for item in &items[2..] {
        assert!(
            not_sent_reason(item).contains("caller-chosen idempotency key"),
            "{item:?}"
        );
    }
    assert_eq!(sandbox.stats().payment_requests, 1);
    sandbox.finish_batches();
    assert!(
        sandbox
            .ledger()
            .iter()
            .all(|b| b.idempotency_key.as_deref() == Some(key.as_str()))
    );
    assert_eq!(sandbox.ledger().len(), 2);
    Ok(())
}

#[tokio::test]
async fn resuming_with_the_keys_sent_before_books_nothing_twice() -> TestResult {
    let (sandbox, client) = sandbox_and_client().await;
    let all = payments(0..7);
    let first = client.submit(all.clone()).with_chunk_size(3).send().await?;
    first.ensure_accepted()?;
    let batches_before = sandbox.batch_count();

    // A process that crashed after sending, and resumes each request with its key.
    let mut again = Vec::new();
    for request in &first.requests {
        let key = request.idempotency_key.clone().ok_or("no key")?;
        let payments: Vec<Payment> = request.items.iter().map(|i| all[i.index].clone()).collect();
        let report = send_under_key(&client, payments, None, key).await?;
        report.ensure_accepted()?;
        again.extend(report.batch_ids());
    }
    assert_eq!(again, first.batch_ids(), "the same batches");
    assert_eq!(sandbox.batch_count(), batches_before);
    sandbox.finish_batches();
    assert_eq!(sandbox.ledger().len(), 7);
    Ok(())
}

#[tokio::test]
async fn an_accepted_request_reports_its_batch_on_every_item() -> TestResult {
    let (sandbox, client) = sandbox_and_client().await;
    let payment = Payment::builder()
        .invoice_id(DEMO_INVOICES[3])
        .amount(Decimal::new(123_456, 2))
        .currency("NOK")
        .date(Utc::now())
        .unique_source_payment_id("ERP-1")
        .build()?;
    let report = client.submit([payment]).send().await?;
    match &only_request(&report).result {
        RequestResult::Accepted { batch_id, .. } => {
            assert!(report.items().all(|i| i.batch_id == Some(*batch_id)));
        }
        other => panic!("expected accepted, got {other:?}"),
    }
    // The amount arrives exactly as given.
    sandbox.finish_batches();
    assert_eq!(sandbox.ledger()[0].amount, Decimal::new(123_456, 2));
    Ok(())
}

#[tokio::test]
async fn a_chunk_mixing_a_changed_pending_payment_and_new_ones_sends_them_all_once() -> TestResult {
    let sandbox = common::sandbox().await;
    let (client, quiet) = common::short_budget_client(&sandbox);
    // P-000001 was claimed by an earlier request with other content, result unknown.
    let (ledger, _) = left_unknown(&["P-000001"]).await?;
    // Until then its request might still arrive.
    tokio::time::sleep(quiet).await;

    let sent = payments(0..3);
    let first = remembered(&client, &ledger, sent.clone()).send().await?;
    assert_all(&first, "accepted");
    assert_sent_once(&sandbox, &client, &ledger, sent, 0..3).await?;
    assert_eq!(sandbox.stats().payment_requests, 1);
    Ok(())
}

#[tokio::test]
async fn an_interrupted_request_resumed_in_another_order_is_the_same_request() -> TestResult {
    // Processed, then the answer is lost and the look-up by key fails: unknown.
    let (sandbox, client, ledger, sent, _) = interrupted_run(0..3).await?;
    // The same payments in reverse order: resumed whole under the first key, same bytes.
    let mut reordered = sent;
    reordered.reverse();
    let again = remembered(&client, &ledger, reordered.clone())
        .send()
        .await?;
    assert_all(&again, "accepted");
    assert_sent_once(&sandbox, &client, &ledger, reordered, 0..3).await?;
    assert_eq!(sandbox.batch_count(), 1, "one batch for the key");
    Ok(())
}

#[tokio::test]
async fn a_resumed_request_and_new_payments_in_one_chunk_are_each_sent_once() -> TestResult {
    let (sandbox, client, ledger) = with_memory_ledger().await;
    let all = payments(0..4);
    interrupted(&sandbox, &client, &ledger, &all[..2]).await?;
    let again = remembered(&client, &ledger, all.clone()).send().await?;
    assert_all(&again, "accepted");
    // Two requests: the resumed one under its first key, the new payments under a new one.
    let keys: std::collections::BTreeSet<_> = again
        .items()
        .filter_map(|i| i.idempotency_key.clone())
        .collect();
    assert_eq!(keys.len(), 2);
    assert_sent_once(&sandbox, &client, &ledger, all, 0..4).await?;
    Ok(())
}

#[tokio::test]
async fn a_key_used_before_with_other_payments_is_unknown_not_safe_to_resend() -> TestResult {
    let (_sandbox, client) = sandbox_and_client().await;
    let key = IdempotencyKey::random();
    let first = send_under_key(&client, payments(0..2), None, key.clone()).await?;
    assert!(first.all_accepted());
    // The same key with other payments: the server answers 409.
    let second = send_under_key(&client, payments(2..4), None, key).await?;
    for item in second.items() {
        assert!(
            matches!(&item.outcome, Outcome::Unknown(reason) if reason.as_str().contains("409")),
            "{}: {}",
            item.id,
            item.outcome
        );
        assert!(!item.outcome.is_safe_to_resend());
    }
    Ok(())
}

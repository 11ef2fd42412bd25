//! Sending: the spool → the library's submission pipeline (chunking, keys, concurrency,
//! retries, the ledger, stopping) → the library's poller (`--wait`) → report rows, in file
//! order. Nothing here plans requests: it feeds payments or corrections and renders what the
//! library reports. `status` runs the same way with the pipeline's status report, which sends
//! nothing.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amili_payments::Client;
use amili_payments::ledger::Ledger;
use amili_payments::report::{Outcome, RequestReport};
use amili_payments::{BatchWakeups, StopHandle};
use futures::StreamExt as _;

use crate::kind::FileKind;
use crate::money::Money;
use crate::progress::Progress;
use crate::report::{Invoice, ReportRow};
use crate::spool::{ReadRows, Spooled};

/// Why rows left unsent after Ctrl-C were not sent.
pub const INTERRUPTED: &str =
    "not sent: interrupted before sending; run the same command again to send it";

/// Receives every row's outcome, in file order.
pub trait Sink {
    fn put(&mut self, row: ReportRow) -> anyhow::Result<()>;
}

/// How to send.
pub struct Sending {
    pub chunk_size: usize,
    pub concurrency: usize,
    /// Where what is sent is remembered (none with the embedded sandbox).
    pub ledger: Option<Arc<dyn Ledger>>,
    /// Follow every batch until processed, for at most this long per batch (`--wait`).
    pub wait: Option<Duration>,
    /// Lines of rows whose id repeats an earlier row's.
    pub repeats: HashSet<u64>,
    /// Every valid row's id was checked unique before (a file read whole, its repeats in
    /// `repeats`): the pipeline need not look for repeats again (it does without a ledger).
    pub ids_checked: bool,
    /// Rows in the file (for progress).
    pub rows: u64,
    /// Stopped on Ctrl-C (with [`INTERRUPTED`]) or by the submission itself: no new payment
    /// is handed to the pipeline from then on, and the rest are reported with its reason.
    pub stop: StopHandle,
    /// Woken by BATCH_COMPLETED webhooks (`--webhook-port`): the poller then polls slowly.
    pub wakeups: Option<BatchWakeups>,
    /// Send nothing: report what the ledger knows of each row (`status`).
    pub status_only: bool,
}

/// How many batches are followed at once (following holds their payments' outcomes only).
const FOLLOWING: usize = 32;

/// Sends the valid rows' items and hands every row's outcome to `sink` in file order.
pub async fn send_all<K: FileKind>(
    client: &Client,
    rows: ReadRows<K>,
    sending: Sending,
    progress: &Progress,
    sink: &mut dyn Sink,
) -> anyhow::Result<()> {
    let shared = Arc::new(Mutex::new(Feed {
        rows,
        order: Order::default(),
        next_index: 0,
        error: None,
        repeats: sending.repeats,
    }));
    let feeder = Arc::clone(&shared);
    let stop = sending.stop.clone();
    let items = futures::stream::iter(std::iter::from_fn(move || {
        if stop.reason().is_some() {
            return None;
        }
        lock(&feeder).next_item()
    }));
    let poller = sending.wait.map(|timeout| {
        let poller = crate::config::poller(client, timeout);
        // What the poller learns is recorded: a rerun and `status` know it.
        let poller = match &sending.ledger {
            Some(ledger) => poller.with_ledger(Arc::clone(ledger)),
            None => poller,
        };
        match &sending.wakeups {
            Some(wakeups) => poller.with_wakeups(wakeups.clone()).with_fallback_backoff(
                amili_payments::Backoff::new(Duration::from_secs(5), Duration::from_secs(60)),
            ),
            None => poller,
        }
    });
    let mut submission = client
        .submit_stream(items)
        .with_chunk_size(sending.chunk_size)
        .with_concurrency(sending.concurrency)
        .with_stop_handle(sending.stop.clone());
    if let Some(ledger) = sending.ledger {
        submission = submission.with_ledger(ledger);
    }
    if sending.ids_checked {
        submission = submission.with_ids_known_unique();
    }
    // The stream ends with the answer that stopped the submission, if one did (credentials
    // refused, the organization not allowed or unknown); its requests are reported already.
    let refusal: Arc<Mutex<Option<amili_payments::Error>>> = Arc::default();
    let refused = Arc::clone(&refusal);
    let reports = if sending.status_only {
        submission.status()?.map(Ok).boxed()
    } else {
        submission.stream()?.boxed()
    };
    let requests = reports
        .filter_map(move |request| {
            let report = match request {
                Ok(report) => Some(report),
                Err(cause) => {
                    *lock(&refused) = Some(cause);
                    None
                }
            };
            async move { report }
        })
        .map(|mut request| {
            let poller = poller.clone();
            async move {
                // A batch that cannot be followed (unreadable, timed out) leaves its payments
                // accepted (or already accepted), with why in the report; the other batches
                // go on.
                let mut note = None;
                if let Some(poller) = poller
                    && let Err(e) = poller.follow(&mut request).await
                {
                    note = Some(format!("accepted; following its batch failed: {e}"));
                }
                (request, note)
            }
        })
        .buffer_unordered(if sending.wait.is_some() { FOLLOWING } else { 1 });
    let mut requests = std::pin::pin!(requests);

    let mut done = 0u64;
    progress.start_sending(sending.rows, K::PLURAL);
    while let Some((request, note)) = requests.next().await {
        let rows = lock(&shared).settle(request, note.as_deref());
        for row in rows {
            done += 1;
            sink.put(row)?;
        }
        progress.sent(done, sending.rows);
    }
    // Stopped (Ctrl-C, or the submission stopped itself): the rest of the file is reported
    // not sent, with why.
    let unsent = sending.stop.reason().unwrap_or_else(|| INTERRUPTED.into());
    let mut feed = lock(&shared);
    if let Some(e) = feed.error.take() {
        return Err(e);
    }
    loop {
        let rows = feed.order.drain();
        for row in rows {
            done += 1;
            sink.put(row)?;
        }
        match feed.rows.next().transpose()? {
            None => break,
            Some(row) => {
                let row = unsent_row(row, &feed.repeats, &unsent);
                feed.order.push_ready(row);
            }
        }
    }
    progress.sent(done, sending.rows);
    if let Some(cause) = lock(&refusal).take() {
        eprintln!("the submission stopped: {cause}");
    }
    Ok(())
}

/// The rows being read, shared by the pipeline's source and the loop that renders reports.
struct Feed<K> {
    rows: ReadRows<K>,
    order: Order,
    next_index: usize,
    error: Option<anyhow::Error>,
    repeats: HashSet<u64>,
}

impl<K: FileKind> Feed<K> {
    /// The next item for the pipeline; rows that are not sent are queued as they are met.
    fn next_item(&mut self) -> Option<K> {
        loop {
            match self.rows.next().transpose() {
                Ok(None) => return None,
                Err(e) => {
                    self.error = Some(e);
                    return None;
                }
                Ok(Some(Spooled::Invalid { line, row })) => {
                    self.order.push_ready(invalid(line, row));
                }
                Ok(Some(Spooled::NotTaken { line, row })) => {
                    self.order.push_ready(not_taken(line, row));
                }
                Ok(Some(Spooled::Valid { line, item })) if self.repeats.contains(&line) => {
                    self.order.push_ready(item_row(
                        line,
                        &item,
                        Outcome::Invalid(K::REPEATS.into()),
                    ));
                }
                Ok(Some(Spooled::Valid { line, item })) => {
                    self.order.push_pending(self.next_index, line, item.money());
                    self.next_index += 1;
                    return Some(item);
                }
            }
        }
    }

    /// The rows now ready, in file order, after `request`'s outcomes.
    fn settle(&mut self, request: RequestReport, note: Option<&str>) -> Vec<ReportRow> {
        for item in request.items {
            let note = match item.outcome {
                Outcome::Accepted | Outcome::AlreadyAccepted => note.map(str::to_owned),
                // Known from the ledger, not sent in this run.
                Outcome::Succeeded if item.idempotency_key.is_none() => {
                    Some("succeeded earlier; not sent again".to_owned())
                }
                _ => None,
            };
            // The library finds repeats only in a file sent as it is read: said as for a
            // file read whole.
            let outcome = match item.outcome {
                Outcome::Invalid(_) => Outcome::Invalid(K::REPEATS.into()),
                outcome => outcome,
            };
            self.order.fill(item.index, |line, money| ReportRow {
                line,
                money: Some(money),
                source_id: item.id,
                invoice: Invoice::Id(item.invoice_id),
                batch_id: item.batch_id,
                idempotency_key: item.idempotency_key,
                outcome,
                note,
            });
        }
        self.order.drain()
    }
}

/// Rows in file order: a row is handed out once every row before it has its outcome.
#[derive(Default)]
struct Order {
    queue: VecDeque<Slot>,
    /// The position (counting every row) of the queue's front.
    front: u64,
    /// The position of each item handed to the pipeline and not yet drained, by its index
    /// in the submission counting from `first_index` (items are handed out in index order).
    positions: VecDeque<u64>,
    first_index: usize,
}

/// A row waiting for its outcome (with its amount, which the library's report does not
/// carry), or its report (boxed: most slots wait, and stay small).
enum Slot {
    Pending { line: u64, money: Money },
    Ready(Box<ReportRow>),
}

impl Order {
    fn push_pending(&mut self, index: usize, line: u64, money: Money) {
        let position = self.front + self.queue.len() as u64;
        if self.positions.is_empty() {
            self.first_index = index;
        }
        self.positions.push_back(position);
        self.queue.push_back(Slot::Pending { line, money });
    }

    fn push_ready(&mut self, row: ReportRow) {
        self.queue.push_back(Slot::Ready(Box::new(row)));
    }

    fn fill(&mut self, index: usize, row: impl FnOnce(u64, Money) -> ReportRow) {
        let Some(&position) = index
            .checked_sub(self.first_index)
            .and_then(|at| self.positions.get(at))
        else {
            return;
        };
        let Some(slot) = position
            .checked_sub(self.front)
            .and_then(|at| usize::try_from(at).ok())
            .and_then(|at| self.queue.get_mut(at))
        else {
            return;
        };
        if let Slot::Pending { line, money } = slot {
            let filled = row(*line, Money::clone(money));
            *slot = Slot::Ready(Box::new(filled));
        }
    }

    fn drain(&mut self) -> Vec<ReportRow> {
        let mut rows = Vec::new();
        while matches!(self.queue.front(), Some(Slot::Ready(_))) {
            if let Some(Slot::Ready(row)) = self.queue.pop_front() {
                rows.push(*row);
            }
            self.front += 1;
        }
        // Items whose rows are out of the queue need no position any more.
        while self.positions.front().is_some_and(|&p| p < self.front) {
            self.positions.pop_front();
            self.first_index += 1;
        }
        rows
    }
}

/// A row of the spool that is not sent: invalid (with its problems, or as a repeat), or not
/// sent with `why`.
pub fn unsent_row<K: FileKind>(
    row: Spooled<K>,
    repeats: &HashSet<u64>,
    why: &amili_payments::report::Reason,
) -> ReportRow {
    match row {
        Spooled::Invalid { line, row } => invalid(line, row),
        Spooled::NotTaken { line, row } => not_taken(line, row),
        Spooled::Valid { line, item } => {
            let outcome = if repeats.contains(&line) {
                Outcome::Invalid(K::REPEATS.into())
            } else {
                Outcome::NotSent(why.clone())
            };
            item_row(line, &item, outcome)
        }
    }
}

fn invalid(line: u64, row: crate::spool::InvalidRow) -> ReportRow {
    ReportRow {
        line,
        source_id: row.source_id,
        invoice: Invoice::Written(row.invoice_id),
        money: row.money,
        batch_id: None,
        idempotency_key: None,
        outcome: Outcome::Invalid(row.reason.into()),
        note: None,
    }
}

/// A bank transaction that is not a payment: `not_sent`, with why.
fn not_taken(line: u64, row: crate::spool::InvalidRow) -> ReportRow {
    ReportRow {
        outcome: Outcome::NotSent(row.reason.clone().into()),
        ..invalid(line, row)
    }
}

fn item_row<K: FileKind>(line: u64, item: &K, outcome: Outcome) -> ReportRow {
    ReportRow {
        line,
        source_id: item.id().to_owned(),
        invoice: Invoice::Id(item.invoice_id()),
        money: Some(item.money()),
        batch_id: None,
        idempotency_key: None,
        outcome,
        note: None,
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

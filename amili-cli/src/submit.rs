//! The second pass: stream the valid rows into chunks, journal each chunk, send it through
//! `amili-payments` with bounded concurrency, and hand every row's outcome to a sink in file
//! order.
//!
//! A blocking reader thread turns rows into [`Unit`]s (the invalid rows before a chunk, then
//! the chunk) and sends them over a bounded channel; the async side sends at most
//! `concurrency` chunks at once and emits their rows in order. Memory is bounded by
//! `(channel + concurrency) × chunk size` payments, whatever the file's size.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use amili_payments::{
    Client, IdempotencyKey, OutcomeState, Payment, PlannedChunk, SubmitOptions, SubmitReport,
};
use anyhow::Context as _;
use futures::StreamExt as _;
use tokio::sync::mpsc;

use crate::input::{self, Format};
use crate::journal::{ChunkState, Journal, JournalChunk, ids_digest};
use crate::output::Progress;
use crate::report::{Outcome, ReportRow};
use crate::validate::{Checked, check_row, fatal};

/// Why rows left unsent after Ctrl-C were not sent.
pub const INTERRUPTED: &str = "interrupted before sending; run the same command again to send it";

/// Receives every row's outcome, in file order.
pub trait Sink {
    fn put(&mut self, row: ReportRow) -> anyhow::Result<()>;
}

/// What the reader needs to know.
pub struct Plan {
    pub path: PathBuf,
    pub format: Format,
    pub chunk_size: usize,
    pub concurrency: usize,
    /// Valid rows whose id repeats an earlier row's (record indices): skipped as invalid.
    pub repeats: HashSet<u64>,
    /// Total valid rows (for progress).
    pub valid: u64,
}

/// The identity of a row in the report.
#[derive(Debug, Clone)]
struct RowMeta {
    line: u64,
    source_id: String,
    invoice_id: String,
}

impl RowMeta {
    fn row(
        &self,
        outcome: Outcome,
        batch_id: Option<String>,
        key: Option<&str>,
        reason: Option<String>,
    ) -> ReportRow {
        ReportRow {
            line: self.line,
            source_id: self.source_id.clone(),
            invoice_id: self.invoice_id.clone(),
            batch_id,
            idempotency_key: key.map(str::to_owned),
            outcome,
            reason,
        }
    }
}

enum Action {
    /// Send (first time, or again with the same key).
    Send(Vec<Payment>),
    /// An earlier run's chunk Amili accepted: report it, send nothing.
    AlreadyDone { batch_id: String },
    /// Not sent (interrupted).
    Skip,
}

struct Chunk {
    key: String,
    rows: Vec<RowMeta>,
    action: Action,
}

/// Rows to report before a chunk (invalid rows), then the chunk.
struct Unit {
    before: Vec<ReportRow>,
    chunk: Option<Chunk>,
}

/// How many payments were sent (or counted as done) so far.
pub struct SendStats {
    pub batches: u64,
    pub resumed_chunks: u64,
    pub sent_chunks: u64,
}

/// Runs the second pass. `interrupted` is set on Ctrl-C: chunks not yet sent are reported
/// `not_sent` from then on (the journal lets a rerun send them).
pub async fn send_all(
    client: &Client,
    plan: Plan,
    journal: Arc<Journal>,
    interrupted: Arc<AtomicBool>,
    progress: &Progress,
    sink: &mut dyn Sink,
) -> anyhow::Result<SendStats> {
    let (tx, mut rx) = mpsc::channel::<Unit>(plan.concurrency.max(1) * 2);
    let reader_journal = Arc::clone(&journal);
    let reader_interrupted = Arc::clone(&interrupted);
    let concurrency = plan.concurrency.max(1);
    let total = plan.valid;
    let reader = tokio::task::spawn_blocking(move || {
        read_units(&plan, &reader_journal, &reader_interrupted, &tx)
    });

    let units = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let mut results = units
        .map(|unit| process(client, &journal, &interrupted, unit))
        .buffered(concurrency);
    let mut stats = SendStats {
        batches: 0,
        resumed_chunks: 0,
        sent_chunks: 0,
    };
    let mut done = 0u64;
    progress.start_sending(total);
    while let Some(result) = results.next().await {
        let (rows, kind) = result?;
        match kind {
            ChunkKind::Sent { batch } => {
                stats.sent_chunks += 1;
                stats.batches += u64::from(batch);
            }
            ChunkKind::Resumed => {
                stats.resumed_chunks += 1;
                stats.batches += 1;
            }
            ChunkKind::None => {}
        }
        for row in rows {
            if row.outcome != Outcome::Invalid {
                done += 1;
            }
            sink.put(row)?;
        }
        progress.sent(done, total, stats.batches);
    }
    reader
        .await
        .context("the file reader stopped unexpectedly")??;
    Ok(stats)
}

enum ChunkKind {
    Sent { batch: bool },
    Resumed,
    None,
}

async fn process(
    client: &Client,
    journal: &Journal,
    interrupted: &AtomicBool,
    mut unit: Unit,
) -> anyhow::Result<(Vec<ReportRow>, ChunkKind)> {
    // A chunk planned ahead but not yet started when Ctrl-C came is not sent (its journal
    // entry lets a rerun send it under the same key).
    if interrupted.load(Ordering::SeqCst)
        && let Some(chunk) = &mut unit.chunk
        && matches!(chunk.action, Action::Send(_))
    {
        chunk.action = Action::Skip;
    }
    // A unit's invalid rows lie between the previous chunk's rows and the end of its own:
    // sorting by line keeps the whole output in file order.
    let (mut rows, kind) = process_unit(client, journal, unit).await?;
    rows.sort_by_key(|r| r.line);
    Ok((rows, kind))
}

async fn process_unit(
    client: &Client,
    journal: &Journal,
    unit: Unit,
) -> anyhow::Result<(Vec<ReportRow>, ChunkKind)> {
    let mut rows = unit.before;
    let Some(chunk) = unit.chunk else {
        return Ok((rows, ChunkKind::None));
    };
    match chunk.action {
        Action::AlreadyDone { batch_id } => {
            rows.extend(chunk.rows.iter().map(|m| {
                m.row(
                    Outcome::Accepted,
                    Some(batch_id.clone()),
                    Some(&chunk.key),
                    None,
                )
            }));
            Ok((rows, ChunkKind::Resumed))
        }
        Action::Skip => {
            rows.extend(
                chunk
                    .rows
                    .iter()
                    .map(|m| m.row(Outcome::NotSent, None, None, Some(INTERRUPTED.to_owned()))),
            );
            Ok((rows, ChunkKind::None))
        }
        Action::Send(payments) => {
            let key: IdempotencyKey = chunk
                .key
                .parse()
                .map_err(|e| anyhow::anyhow!("journal key {:?}: {e}", chunk.key))?;
            let planned = PlannedChunk {
                idempotency_key: key,
                payments,
            };
            let result = client
                .submit_chunks(vec![planned], SubmitOptions::default())
                .await;
            let (chunk_rows, batch) = outcome_rows(&chunk.rows, &chunk.key, result);
            record(journal, &chunk.key, &chunk_rows)?;
            rows.extend(chunk_rows);
            Ok((rows, ChunkKind::Sent { batch }))
        }
    }
}

/// Turns the library's per-payment outcomes into report rows (same order as the chunk).
fn outcome_rows(
    metas: &[RowMeta],
    key: &str,
    result: Result<SubmitReport, amili_payments::Error>,
) -> (Vec<ReportRow>, bool) {
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            let reason = format!("not sent: {e}");
            return (
                metas
                    .iter()
                    .map(|m| m.row(Outcome::NotSent, None, Some(key), Some(reason.clone())))
                    .collect(),
                false,
            );
        }
    };
    let mut by_id: BTreeMap<&str, &amili_payments::PaymentOutcome> = BTreeMap::new();
    for o in &report.outcomes {
        by_id.insert(o.unique_source_payment_id.as_str(), o);
    }
    let mut batch = false;
    let rows = metas
        .iter()
        .map(|m| {
            let Some(o) = by_id.get(m.source_id.as_str()) else {
                return m.row(
                    Outcome::Unknown,
                    None,
                    Some(key),
                    Some("the client reported no outcome for this payment".to_owned()),
                );
            };
            let batch_id = o.batch_id.map(|b| b.to_string());
            batch |= batch_id.is_some();
            let (outcome, reason) = match &o.state {
                OutcomeState::Accepted => (Outcome::Accepted, None),
                OutcomeState::Succeeded => (Outcome::Succeeded, None),
                OutcomeState::Failed { reason } => (Outcome::Failed, reason.clone()),
                OutcomeState::Unknown { reason } => (Outcome::Unknown, Some(reason.clone())),
                OutcomeState::NotSent { reason } => (Outcome::NotSent, Some(reason.clone())),
                OutcomeState::Rejected { reason } => (Outcome::Rejected, Some(reason.clone())),
                #[allow(unreachable_patterns)]
                other => (Outcome::Unknown, Some(format!("{other:?}"))),
            };
            m.row(outcome, batch_id, Some(key), reason)
        })
        .collect();
    (rows, batch)
}

/// Journals a sent chunk's outcome: `done` when accepted, `failed` when refused; nothing when
/// unknown (a rerun sends it again with the same key).
fn record(journal: &Journal, key: &str, rows: &[ReportRow]) -> anyhow::Result<()> {
    let Some(first) = rows.first() else {
        return Ok(());
    };
    if let Some(batch) = &first.batch_id
        && rows.iter().all(|r| {
            r.batch_id.as_deref() == Some(batch.as_str()) && r.outcome == Outcome::Accepted
        })
    {
        return journal.done(key, batch);
    }
    if rows
        .iter()
        .all(|r| matches!(r.outcome, Outcome::Rejected | Outcome::NotSent) && r.batch_id.is_none())
    {
        let reason = first.reason.clone().unwrap_or_default();
        return journal.failed(key, &reason);
    }
    Ok(())
}

/// The reader thread: rows → units, journaling each new chunk before it can be sent.
fn read_units(
    plan: &Plan,
    journal: &Journal,
    interrupted: &AtomicBool,
    tx: &mpsc::Sender<Unit>,
) -> anyhow::Result<()> {
    let (rows, _) =
        input::rows(input::open(&plan.path)?, plan.format).map_err(|e| fatal(&plan.path, e))?;
    let earlier: &BTreeMap<u64, JournalChunk> = journal.chunks();
    let mut before: Vec<ReportRow> = Vec::new();
    // A chunk being collected: (its journal entry if resumed, start index, metas, payments).
    let mut open: Option<Collecting> = None;
    let send = |unit: Unit| -> bool { tx.blocking_send(unit).is_ok() };

    for row in rows {
        let row = row.map_err(|e| fatal(&plan.path, e))?;
        let (line, index) = (row.line, row.index);
        let payment = match check_row(row) {
            Checked::Valid(p) if !plan.repeats.contains(&index) => p,
            Checked::Valid(p) => {
                before.push(invalid_row(
                    line,
                    p.unique_source_payment_id(),
                    &p.invoice_id().to_string(),
                    "uniqueSourcePaymentId: repeats the id of an earlier row".to_owned(),
                ));
                continue;
            }
            Checked::Invalid {
                problems,
                source_id,
                invoice_id,
            } => {
                let reason = problems
                    .iter()
                    .map(|p| match &p.field {
                        Some(f) => format!("{f}: {}", p.message),
                        None => p.message.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                before.push(invalid_row(line, &source_id, &invoice_id, reason));
                continue;
            }
        };
        // A resumed chunk starts here: close the chunk being collected first.
        if let Some(entry) = earlier.get(&index) {
            if let Some(c) = open.take() {
                let unit = c.finish(journal, interrupted, std::mem::take(&mut before))?;
                if !send(unit) {
                    return Ok(());
                }
            }
            open = Some(Collecting::resumed(entry.clone()));
        }
        let c = open.get_or_insert_with(|| Collecting::new(index, line));
        c.push(line, payment);
        if c.full(plan.chunk_size)
            && let Some(c) = open.take()
        {
            let unit = c.finish(journal, interrupted, std::mem::take(&mut before))?;
            if !send(unit) {
                return Ok(());
            }
        }
    }
    let chunk = match open.take() {
        Some(c) => c.finish(journal, interrupted, Vec::new())?.chunk,
        None => None,
    };
    if chunk.is_some() || !before.is_empty() {
        send(Unit { before, chunk });
    }
    Ok(())
}

fn invalid_row(line: u64, source_id: &str, invoice_id: &str, reason: String) -> ReportRow {
    ReportRow {
        line,
        source_id: source_id.to_owned(),
        invoice_id: invoice_id.to_owned(),
        batch_id: None,
        idempotency_key: None,
        outcome: Outcome::Invalid,
        reason: Some(reason),
    }
}

/// A chunk being filled.
struct Collecting {
    resumed: Option<JournalChunk>,
    start: u64,
    first_line: u64,
    metas: Vec<RowMeta>,
    payments: Vec<Payment>,
}

impl Collecting {
    fn new(start: u64, first_line: u64) -> Self {
        Collecting {
            resumed: None,
            start,
            first_line,
            metas: Vec::new(),
            payments: Vec::new(),
        }
    }

    fn resumed(entry: JournalChunk) -> Self {
        Collecting {
            start: entry.start,
            first_line: entry.first_line,
            resumed: Some(entry),
            metas: Vec::new(),
            payments: Vec::new(),
        }
    }

    fn push(&mut self, line: u64, payment: Payment) {
        self.metas.push(RowMeta {
            line,
            source_id: payment.unique_source_payment_id().to_owned(),
            invoice_id: payment.invoice_id().to_string(),
        });
        self.payments.push(payment);
    }

    fn full(&self, chunk_size: usize) -> bool {
        match &self.resumed {
            Some(entry) => self.payments.len() >= entry.count,
            None => self.payments.len() >= chunk_size,
        }
    }

    /// Journals a new chunk (synced) and decides what to do with it.
    fn finish(
        self,
        journal: &Journal,
        interrupted: &AtomicBool,
        before: Vec<ReportRow>,
    ) -> anyhow::Result<Unit> {
        let digest = ids_digest(self.metas.iter().map(|m| m.source_id.as_str()));
        let (key, action) = match self.resumed {
            Some(entry) => {
                if entry.ids != digest || entry.count != self.payments.len() {
                    anyhow::bail!(
                        "the journal {} does not match the file at line {} (the chunk it \
                         recorded there holds other payments); was the file edited?",
                        journal.path().display(),
                        entry.first_line
                    );
                }
                match entry.state {
                    ChunkState::Done { batch_id } => (entry.key, Action::AlreadyDone { batch_id }),
                    _ if interrupted.load(Ordering::SeqCst) => (entry.key, Action::Skip),
                    // Planned or refused before: send again with the SAME key.
                    ChunkState::Planned | ChunkState::Failed { .. } => {
                        (entry.key, Action::Send(self.payments))
                    }
                }
            }
            None if interrupted.load(Ordering::SeqCst) => (String::new(), Action::Skip),
            None => {
                let key = IdempotencyKey::random().to_string();
                journal.planned(
                    &key,
                    self.start,
                    self.first_line,
                    self.payments.len(),
                    &digest,
                )?;
                (key, Action::Send(self.payments))
            }
        };
        Ok(Unit {
            before,
            chunk: Some(Chunk {
                key,
                rows: self.metas,
                action,
            }),
        })
    }
}

/// The default journal path for an input, or the one given.
pub fn journal_path(input: &Path, flag: Option<&Path>) -> PathBuf {
    flag.map_or_else(|| Journal::default_path(input), Path::to_path_buf)
}

//! The third pass (`--wait`): follow every batch and turn `accepted` rows into `succeeded` or
//! `failed` (with Amili's reason).
//!
//! The second pass spills its rows to a temporary JSON Lines file instead of holding them;
//! this pass reads them back in order, one batch's rows at a time, waits for up to
//! `concurrency` batches at once, and hands the final rows to the sink — memory stays flat.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::time::Duration;

use amili_payments::{Batch, BatchStatus, Client, WaitOptions};
use anyhow::Context as _;
use futures::StreamExt as _;
use uuid::Uuid;

use crate::output::Progress;
use crate::report::{Outcome, ReportRow};
use crate::submit::Sink;

/// The second pass's rows, kept on disk until the batches are followed.
pub struct Spill {
    file: tempfile::NamedTempFile,
    writer: Option<BufWriter<File>>,
    batches: u64,
    last_batch: Option<String>,
}

impl Spill {
    pub fn new() -> anyhow::Result<Spill> {
        let file = tempfile::NamedTempFile::new().context("cannot create a temporary file")?;
        let writer = BufWriter::new(file.reopen()?);
        Ok(Spill {
            file,
            writer: Some(writer),
            batches: 0,
            last_batch: None,
        })
    }
}

impl Sink for Spill {
    fn put(&mut self, row: ReportRow) -> anyhow::Result<()> {
        if row.outcome == Outcome::Accepted && row.batch_id != self.last_batch {
            self.batches += 1;
            self.last_batch.clone_from(&row.batch_id);
        }
        let writer = self
            .writer
            .as_mut()
            .ok_or_else(|| anyhow::anyhow!("spill file closed"))?;
        serde_json::to_writer(&mut *writer, &row)?;
        writer.write_all(b"\n")?;
        Ok(())
    }
}

/// Rows of one batch (or one row that needs no following).
struct Group {
    batch: Option<Uuid>,
    rows: Vec<ReportRow>,
}

/// Reads the spill back as groups.
struct Groups {
    lines: std::io::Lines<BufReader<File>>,
    pending: Option<ReportRow>,
}

impl Iterator for Groups {
    type Item = anyhow::Result<Group>;

    fn next(&mut self) -> Option<Self::Item> {
        let first = match self.pending.take() {
            Some(row) => row,
            None => match self.read()? {
                Ok(row) => row,
                Err(e) => return Some(Err(e)),
            },
        };
        let batch = match (&first.outcome, &first.batch_id) {
            (Outcome::Accepted, Some(b)) => b.parse::<Uuid>().ok(),
            _ => None,
        };
        let Some(batch) = batch else {
            return Some(Ok(Group {
                batch: None,
                rows: vec![first],
            }));
        };
        let mut rows = vec![first];
        loop {
            match self.read() {
                None => break,
                Some(Err(e)) => return Some(Err(e)),
                Some(Ok(row)) => {
                    if row.outcome == Outcome::Accepted
                        && row.batch_id.as_deref().and_then(|b| b.parse().ok()) == Some(batch)
                    {
                        rows.push(row);
                    } else {
                        self.pending = Some(row);
                        break;
                    }
                }
            }
        }
        Some(Ok(Group {
            batch: Some(batch),
            rows,
        }))
    }
}

impl Groups {
    fn read(&mut self) -> Option<anyhow::Result<ReportRow>> {
        let line = self.lines.next()?;
        Some(
            line.map_err(anyhow::Error::from)
                .and_then(|l| serde_json::from_str(&l).map_err(anyhow::Error::from)),
        )
    }
}

/// Follows every batch of the spilled rows and hands the final rows to `sink`.
pub async fn follow_all(
    client: &Client,
    mut spill: Spill,
    concurrency: usize,
    timeout: Duration,
    progress: &Progress,
    sink: &mut dyn Sink,
) -> anyhow::Result<()> {
    if let Some(mut writer) = spill.writer.take() {
        writer.flush()?;
    }
    let total = spill.batches;
    let reader = BufReader::new(spill.file.reopen()?);
    let groups = Groups {
        lines: reader.lines(),
        pending: None,
    };
    let deadline = tokio::time::Instant::now() + timeout;
    progress.start_following(total);
    let mut followed = 0u64;
    let mut results = futures::stream::iter(groups)
        .map(|group| async move {
            let group = group?;
            let Some(batch_id) = group.batch else {
                return anyhow::Ok((group.rows, false));
            };
            let waited =
                tokio::time::timeout_at(deadline, client.wait(batch_id, wait_options(timeout)))
                    .await;
            let rows = match waited {
                Ok(Ok(batch)) => settle(group.rows, &batch),
                Ok(Err(e)) => {
                    still_accepted(group.rows, &format!("could not follow the batch: {e}"))
                }
                Err(_) => still_accepted(
                    group.rows,
                    &format!(
                        "batch not processed within --wait-timeout ({}s)",
                        timeout.as_secs()
                    ),
                ),
            };
            Ok((rows, true))
        })
        .buffered(concurrency.max(1));
    while let Some(result) = results.next().await {
        let (rows, was_batch) = result?;
        if was_batch {
            followed += 1;
            progress.followed(followed, total);
        }
        for row in rows {
            sink.put(row)?;
        }
    }
    Ok(())
}

fn wait_options(timeout: Duration) -> WaitOptions {
    WaitOptions::default()
        .with_timeout(timeout)
        .with_interval(Duration::from_millis(250), Duration::from_secs(5))
}

fn still_accepted(rows: Vec<ReportRow>, reason: &str) -> Vec<ReportRow> {
    rows.into_iter()
        .map(|mut r| {
            r.reason = Some(reason.to_owned());
            r
        })
        .collect()
}

/// Amili's reason for a failed item: `reason: message` when both are there.
fn item_reason(item: &amili_payments::BatchItem) -> String {
    let fields = item.fields();
    let text = |k: &str| fields.get(k).and_then(|v| v.as_str());
    match (text("reason"), text("message")) {
        (Some(r), Some(m)) if r != m => format!("{r}: {m}"),
        _ => item
            .reason()
            .map_or_else(|| "failed (no reason given)".to_owned(), str::to_owned),
    }
}

/// Maps a processed batch's items back to the rows it carried: by `uniqueSourcePaymentId`,
/// else by `invoiceId` (when the invoice appears once in the chunk); a row the batch does not
/// list takes the batch's overall status.
fn settle(rows: Vec<ReportRow>, batch: &Batch) -> Vec<ReportRow> {
    let mut by_source: HashMap<&str, Result<(), String>> = HashMap::new();
    let mut by_invoice: HashMap<String, Vec<Result<(), String>>> = HashMap::new();
    for (items, ok) in [(&batch.succeeded, true), (&batch.failed, false)] {
        for item in items {
            let verdict = if ok { Ok(()) } else { Err(item_reason(item)) };
            if let Some(id) = item.unique_source_payment_id() {
                by_source.insert(id, verdict);
            } else if let Some(invoice) = item.invoice_id() {
                by_invoice
                    .entry(invoice.to_string())
                    .or_default()
                    .push(verdict);
            }
        }
    }
    let status = &batch.status;
    rows.into_iter()
        .map(|mut row| {
            let verdict =
                by_source.get(row.source_id.as_str()).cloned().or_else(|| {
                    match by_invoice.get(&row.invoice_id).map(Vec::as_slice) {
                        Some([one]) => Some(one.clone()),
                        _ => None,
                    }
                });
            match verdict {
                Some(Ok(())) => {
                    row.outcome = Outcome::Succeeded;
                    row.reason = None;
                }
                Some(Err(reason)) => {
                    row.outcome = Outcome::Failed;
                    row.reason = Some(reason);
                }
                None => match status {
                    BatchStatus::Success => row.outcome = Outcome::Succeeded,
                    BatchStatus::Failed => {
                        row.outcome = Outcome::Failed;
                        row.reason = Some("the batch FAILED (the payment is not listed)".into());
                    }
                    other => {
                        row.outcome = Outcome::Unknown;
                        row.reason = Some(format!(
                            "the batch ended {other} without listing this payment"
                        ));
                    }
                },
            }
            row
        })
        .collect()
}

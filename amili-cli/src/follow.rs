//! The third pass (`--wait`): follow every batch and turn `accepted` rows into `succeeded` or
//! `failed` (with Amili's reason).
//!
//! The second pass spills its rows to a temporary JSON Lines file instead of holding them;
//! this pass reads them back in order, one batch's rows at a time, waits for up to
//! `concurrency` batches at once, and hands the final rows to the sink — memory stays flat.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::time::Duration;

use amili_payments::{Batch, Client, OutcomeState, WaitOptions};
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

/// Maps a processed batch's items back to the rows it carried, with `amili-payments`' own
/// matching ([`Batch::settle`]): by `uniqueSourcePaymentId`, else by an unambiguous invoice id;
/// a row the batch does not list is `unknown`, never silently `succeeded`.
fn settle(rows: Vec<ReportRow>, batch: &Batch) -> Vec<ReportRow> {
    // Rows were validated before they were sent, so their invoice ids parse.
    let invoices: Vec<Uuid> = rows
        .iter()
        .map(|r| Uuid::parse_str(&r.invoice_id).unwrap_or(Uuid::nil()))
        .collect();
    let carried: Vec<(&str, Uuid)> = rows
        .iter()
        .zip(&invoices)
        .map(|(r, invoice)| (r.source_id.as_str(), *invoice))
        .collect();
    let Some(states) = batch.settle(&carried) else {
        let status = &batch.status;
        return still_accepted(rows, &format!("the batch is still {status}"));
    };
    rows.into_iter()
        .zip(states)
        .map(|(mut row, state)| {
            (row.outcome, row.reason) = match state {
                OutcomeState::Succeeded => (Outcome::Succeeded, None),
                OutcomeState::Failed { reason } => (
                    Outcome::Failed,
                    Some(reason.unwrap_or_else(|| "failed (no reason given)".to_owned())),
                ),
                OutcomeState::Unknown { reason } => (Outcome::Unknown, Some(reason)),
                other => (
                    Outcome::Unknown,
                    Some(format!("unexpected state {other:?}")),
                ),
            };
            row
        })
        .collect()
}

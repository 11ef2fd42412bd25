//! The per-payment report (`--report FILE`), streamed row by row as outcomes are known.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

/// What happened to one row of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Amili accepted the payment into a batch (202); not yet known whether it was booked.
    Accepted,
    /// The batch finished and the payment was booked.
    Succeeded,
    /// Amili refused the payment (in the batch, or the whole request).
    Failed,
    /// Amili refused the request, or sending gave up: nothing was booked; safe to send again.
    Rejected,
    /// Sent, but whether Amili received it could not be established.
    Unknown,
    /// Never sent (for example the run was cut short, or an earlier step failed).
    NotSent,
    /// The row failed validation and was skipped (`--skip-invalid`).
    Invalid,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::Rejected => "rejected",
            Outcome::Unknown => "unknown",
            Outcome::NotSent => "not_sent",
            Outcome::Invalid => "invalid",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportRow {
    /// The physical line of the row in the input file.
    pub line: u64,
    #[serde(rename = "uniqueSourcePaymentId")]
    pub source_id: String,
    #[serde(rename = "invoiceId")]
    pub invoice_id: String,
    pub batch_id: Option<String>,
    pub idempotency_key: Option<String>,
    pub outcome: Outcome,
    /// Amili's reason for a failure, or why the outcome is unknown / the row was not sent.
    pub reason: Option<String>,
}

/// The report file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Csv,
    Json,
    Jsonl,
}

impl ReportFormat {
    /// From the file's extension: `.csv`, `.jsonl`/`.ndjson`, else JSON.
    pub fn from_path(path: &Path) -> ReportFormat {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => ReportFormat::Csv,
            Some("jsonl" | "ndjson") => ReportFormat::Jsonl,
            _ => ReportFormat::Json,
        }
    }
}

/// Writes report rows to a file as they come.
pub struct ReportWriter {
    inner: Inner,
    rows: u64,
}

enum Inner {
    Csv(Box<csv::Writer<File>>),
    Json(BufWriter<File>),
    Jsonl(BufWriter<File>),
}

impl ReportWriter {
    pub fn create(path: &Path, format: ReportFormat) -> anyhow::Result<ReportWriter> {
        let file = File::create(path)
            .with_context(|| format!("cannot create the report {}", path.display()))?;
        let inner = match format {
            ReportFormat::Csv => Inner::Csv(Box::new(csv::Writer::from_writer(file))),
            ReportFormat::Json => {
                let mut w = BufWriter::new(file);
                w.write_all(b"[")?;
                Inner::Json(w)
            }
            ReportFormat::Jsonl => Inner::Jsonl(BufWriter::new(file)),
        };
        Ok(ReportWriter { inner, rows: 0 })
    }

    pub fn write(&mut self, row: &ReportRow) -> anyhow::Result<()> {
        match &mut self.inner {
            Inner::Csv(w) => w.serialize(row)?,
            Inner::Json(w) => {
                w.write_all(if self.rows == 0 { b"\n  " } else { b",\n  " })?;
                serde_json::to_writer(&mut *w, row)?;
            }
            Inner::Jsonl(w) => {
                serde_json::to_writer(&mut *w, row)?;
                w.write_all(b"\n")?;
            }
        }
        self.rows += 1;
        Ok(())
    }

    pub fn finish(self) -> anyhow::Result<()> {
        match self.inner {
            Inner::Csv(mut w) => w.flush()?,
            Inner::Json(mut w) => {
                w.write_all(if self.rows == 0 { b"]\n" } else { b"\n]\n" })?;
                w.flush()?;
            }
            Inner::Jsonl(mut w) => w.flush()?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(n: u64, outcome: Outcome) -> ReportRow {
        ReportRow {
            line: n,
            source_id: format!("P-{n}"),
            invoice_id: "i".into(),
            batch_id: Some("b".into()),
            idempotency_key: None,
            outcome,
            reason: (outcome == Outcome::Failed).then(|| "unknown invoice, \"x\"".into()),
        }
    }

    #[test]
    fn json_and_csv_reports() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("r.json");
        let mut w = ReportWriter::create(&json, ReportFormat::from_path(&json)).unwrap();
        w.write(&row(2, Outcome::Succeeded)).unwrap();
        w.write(&row(3, Outcome::Failed)).unwrap();
        w.finish().unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(v[1]["outcome"], "failed");
        assert_eq!(v[1]["uniqueSourcePaymentId"], "P-3");
        assert_eq!(v[0]["reason"], serde_json::Value::Null);

        let csv_path = dir.path().join("r.csv");
        let mut w = ReportWriter::create(&csv_path, ReportFormat::from_path(&csv_path)).unwrap();
        w.write(&row(3, Outcome::Failed)).unwrap();
        w.finish().unwrap();
        let text = std::fs::read_to_string(&csv_path).unwrap();
        assert!(text.starts_with(
            "line,uniqueSourcePaymentId,invoiceId,batch_id,idempotency_key,outcome,reason\n"
        ));
        assert!(
            text.contains("3,P-3,i,b,,failed,\"unknown invoice, \"\"x\"\"\""),
            "{text}"
        );

        let empty = dir.path().join("e.json");
        ReportWriter::create(&empty, ReportFormat::Json)
            .unwrap()
            .finish()
            .unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&empty).unwrap()).unwrap();
        assert_eq!(v, serde_json::json!([]));
    }
}

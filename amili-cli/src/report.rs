//! The per-row report (`--report FILE`), streamed row by row as outcomes are known.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use amili_payments::report::Outcome;
use amili_payments::{IdempotencyKey, Uuid};
use anyhow::Context as _;
use serde::Serialize;

/// One line of the report: a row of the input and the library's outcome for it.
#[derive(Debug, Clone)]
pub struct ReportRow {
    /// The physical line of the row in the input file.
    pub line: u64,
    pub source_id: String,
    /// As written in the file (an invalid row's may not be a UUID).
    pub invoice_id: String,
    pub batch_id: Option<Uuid>,
    pub idempotency_key: Option<IdempotencyKey>,
    pub outcome: Outcome,
    /// What else is known when the outcome carries no reason (following its batch failed).
    pub note: Option<String>,
}

impl ReportRow {
    /// The reason column: the outcome's reason, else the note.
    pub fn reason(&self) -> Option<&str> {
        self.outcome
            .reason()
            .map(|r| r.as_str())
            .or(self.note.as_deref())
    }
}

/// A row with the name of its id column (`uniqueSourcePaymentId`, `correctionId`), as the
/// report writes it: `line`, the id, `invoiceId`, `batch_id`, `idempotency_key`, `outcome`,
/// `reason` (Amili's reason for a failure, or why the outcome is unknown / the row was not
/// sent).
struct Columns<'a> {
    row: &'a ReportRow,
    id_column: &'static str,
}

impl Serialize for Columns<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let row = self.row;
        let mut s = serializer.serialize_struct("ReportRow", 7)?;
        s.serialize_field("line", &row.line)?;
        s.serialize_field(self.id_column, &row.source_id)?;
        s.serialize_field("invoiceId", &row.invoice_id)?;
        s.serialize_field("batch_id", &row.batch_id)?;
        s.serialize_field(
            "idempotency_key",
            &row.idempotency_key.as_ref().map(IdempotencyKey::as_str),
        )?;
        s.serialize_field("outcome", row.outcome.name())?;
        s.serialize_field("reason", &row.reason())?;
        s.end()
    }
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
    id_column: &'static str,
}

enum Inner {
    Csv(Box<csv::Writer<File>>),
    Json(BufWriter<File>),
    Jsonl(BufWriter<File>),
}

impl ReportWriter {
    /// A report whose id column is called `id_column`.
    pub fn create(
        path: &Path,
        format: ReportFormat,
        id_column: &'static str,
    ) -> anyhow::Result<ReportWriter> {
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
        Ok(ReportWriter {
            inner,
            rows: 0,
            id_column,
        })
    }

    pub fn write(&mut self, row: &ReportRow) -> anyhow::Result<()> {
        let row = &Columns {
            row,
            id_column: self.id_column,
        };
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

    const ID: &str = "uniqueSourcePaymentId";

    fn row(n: u64, outcome: Outcome) -> ReportRow {
        ReportRow {
            line: n,
            source_id: format!("P-{n}"),
            invoice_id: "i".into(),
            batch_id: Some(Uuid::nil()),
            idempotency_key: None,
            outcome,
            note: None,
        }
    }

    #[test]
    fn json_and_csv_reports() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("r.json");
        let failed = Outcome::Failed(amili_payments::report::Failure::new(
            Some("unknown invoice, \"x\""),
            None,
        ));
        let mut w = ReportWriter::create(&json, ReportFormat::from_path(&json), ID).unwrap();
        w.write(&row(2, Outcome::Succeeded)).unwrap();
        w.write(&row(3, failed.clone())).unwrap();
        w.finish().unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(v[1]["outcome"], "failed");
        assert_eq!(v[1]["uniqueSourcePaymentId"], "P-3");
        assert_eq!(v[0]["reason"], serde_json::Value::Null);

        let csv_path = dir.path().join("r.csv");
        let mut w =
            ReportWriter::create(&csv_path, ReportFormat::from_path(&csv_path), ID).unwrap();
        w.write(&row(3, failed)).unwrap();
        w.finish().unwrap();
        let text = std::fs::read_to_string(&csv_path).unwrap();
        assert!(text.starts_with(
            "line,uniqueSourcePaymentId,invoiceId,batch_id,idempotency_key,outcome,reason\n"
        ));
        assert!(
            text.contains(&format!(
                "3,P-3,i,{},,failed,\"unknown invoice, \"\"x\"\"\"",
                Uuid::nil()
            )),
            "{text}"
        );

        let empty = dir.path().join("e.json");
        ReportWriter::create(&empty, ReportFormat::Json, ID)
            .unwrap()
            .finish()
            .unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&empty).unwrap()).unwrap();
        assert_eq!(v, serde_json::json!([]));
    }
}

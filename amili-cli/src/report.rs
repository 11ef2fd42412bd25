//! The per-row report (`--report FILE`), streamed row by row as outcomes are known.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use amili_payments::report::Outcome;
use amili_payments::{IdempotencyKey, Uuid};
use anyhow::Context as _;
use serde::Serialize;

use crate::money::Money;

/// One line of the report: a row of the input and the library's outcome for it.
#[derive(Debug, Clone)]
pub struct ReportRow {
    /// The physical line of the row in the input file.
    pub line: u64,
    pub source_id: String,
    pub invoice: Invoice,
    /// The row's amount and currency (an invalid row's when both could be read).
    pub money: Option<Money>,
    pub batch_id: Option<Uuid>,
    pub idempotency_key: Option<IdempotencyKey>,
    pub outcome: Outcome,
    /// What else is known when the outcome carries no reason (following its batch failed).
    pub note: Option<String>,
}

/// A row's invoice as the report writes it: the id it was sent with (formatted only when
/// written), or the text the file has (an invalid row's may not be a UUID).
#[derive(Debug, Clone)]
pub enum Invoice {
    Id(Uuid),
    Written(String),
}

impl Serialize for Invoice {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Invoice::Id(id) => id.serialize(serializer),
            Invoice::Written(text) => serializer.serialize_str(text),
        }
    }
}

impl ReportRow {
    /// The reason column: the outcome's reason, else the note.
    pub fn reason(&self) -> Option<&str> {
        self.outcome
            .reason()
            .map(|r| r.as_str())
            .or(self.note.as_deref())
    }

    /// The reason as Amili's code and the message: `(Some("UNKNOWN_INVOICE"), "unknown
    /// invoice …")` (a failure's as Amili gave them); a reason without a code is all message.
    pub fn reason_parts(&self) -> (Option<&str>, Option<&str>) {
        if let Outcome::Failed(failure) = &self.outcome
            && (failure.code().is_some() || failure.message().is_some())
        {
            return (failure.code(), failure.message());
        }
        match self.reason() {
            Some(reason) => {
                let (code, message) = split_reason(reason);
                (code, Some(message))
            }
            None => (None, None),
        }
    }
}

/// Splits `CODE: message`, where the code is an upper-case identifier (`UNKNOWN_INVOICE`),
/// into the code and the message; any other text is all message. A failure's code and
/// message come apart from the library ([`Failure`](amili_payments::report::Failure)); this
/// reads the other reasons' text.
pub fn split_reason(reason: &str) -> (Option<&str>, &str) {
    match reason.split_once(": ") {
        Some((code, message))
            if code.starts_with(|c: char| c.is_ascii_uppercase())
                && code
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_') =>
        {
            (Some(code), message)
        }
        _ => (None, reason),
    }
}

/// The category an outcome is counted and summed under: its camelCase name, as the keys of
/// the library's counts (`succeeded`, `notSent`, `alreadyAccepted`).
pub fn category(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::NotSent(_) => "notSent",
        Outcome::AlreadyAccepted => "alreadyAccepted",
        other => other.name(),
    }
}

/// A row with the name of its id column (`uniqueSourcePaymentId`, `correctionId`), as the
/// report writes it: `line`, the id, `invoiceId`, `batchId`, `idempotencyKey`, `amount`,
/// `currency`, `outcome`, `reasonCode` (Amili's code for a failure), `reasonMessage` (Amili's
/// message, or why the outcome is unknown / the row was not sent / is invalid).
struct Columns<'a> {
    row: &'a ReportRow,
    id_column: &'static str,
}

impl Serialize for Columns<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let row = self.row;
        let (reason_code, reason_message) = row.reason_parts();
        let mut s = serializer.serialize_struct("ReportRow", 10)?;
        s.serialize_field("line", &row.line)?;
        s.serialize_field(self.id_column, &row.source_id)?;
        s.serialize_field("invoiceId", &row.invoice)?;
        s.serialize_field("batchId", &row.batch_id)?;
        s.serialize_field(
            "idempotencyKey",
            &row.idempotency_key.as_ref().map(IdempotencyKey::as_str),
        )?;
        s.serialize_field("amount", &row.money.as_ref().map(Money::amount_text))?;
        s.serialize_field("currency", &row.money.as_ref().map(|m| m.currency.code()))?;
        s.serialize_field("outcome", row.outcome.name())?;
        s.serialize_field("reasonCode", &reason_code)?;
        s.serialize_field("reasonMessage", &reason_message)?;
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
            invoice: Invoice::Written("i".into()),
            money: Some(Money {
                amount: amili_payments::Decimal::new(12345, 1),
                currency: amili_payments::Currency::NOK,
            }),
            batch_id: Some(Uuid::nil()),
            idempotency_key: None,
            outcome,
            note: None,
        }
    }

    #[test]
    fn only_an_upper_case_code_is_split_off() {
        assert_eq!(
            split_reason("UNKNOWN_INVOICE: unknown invoice 7"),
            (Some("UNKNOWN_INVOICE"), "unknown invoice 7")
        );
        for whole in [
            "amount: \"x\" is not a number",
            "not sent: interrupted",
            "Unknown: x",
            ": x",
            "no code here",
        ] {
            assert_eq!(split_reason(whole), (None, whole));
        }
    }

    #[test]
    fn a_sent_rows_invoice_is_written_as_its_uuid() {
        let dir = tempfile::tempdir().unwrap();
        let invoice = Uuid::from_u128(0x4f16_3819_178d_470c_a246_d676_8476_a6ec);
        let sent = ReportRow {
            invoice: Invoice::Id(invoice),
            ..row(2, Outcome::Accepted)
        };
        for name in ["r.csv", "r.json"] {
            let path = dir.path().join(name);
            let mut w = ReportWriter::create(&path, ReportFormat::from_path(&path), ID).unwrap();
            w.write(&sent).unwrap();
            w.finish().unwrap();
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                text.contains("4f163819-178d-470c-a246-d6768476a6ec"),
                "{name}: {text}"
            );
        }
    }

    #[test]
    fn json_and_csv_reports() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("r.json");
        let failed = Outcome::Failed(amili_payments::report::Failure::new(
            Some("UNKNOWN_INVOICE"),
            Some("unknown invoice, \"x\""),
        ));
        let mut w = ReportWriter::create(&json, ReportFormat::from_path(&json), ID).unwrap();
        w.write(&row(2, Outcome::Succeeded)).unwrap();
        w.write(&row(3, failed.clone())).unwrap();
        w.finish().unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(v[1]["outcome"], "failed");
        assert_eq!(v[1]["uniqueSourcePaymentId"], "P-3");
        assert_eq!(v[1]["reasonCode"], "UNKNOWN_INVOICE");
        assert_eq!(v[1]["reasonMessage"], "unknown invoice, \"x\"");
        assert_eq!(v[1]["amount"], "1234.50");
        assert_eq!(v[1]["currency"], "NOK");
        assert_eq!(v[0]["reasonCode"], serde_json::Value::Null);
        assert_eq!(v[0]["reasonMessage"], serde_json::Value::Null);

        let csv_path = dir.path().join("r.csv");
        let mut w =
            ReportWriter::create(&csv_path, ReportFormat::from_path(&csv_path), ID).unwrap();
        w.write(&row(3, failed)).unwrap();
        w.finish().unwrap();
        let text = std::fs::read_to_string(&csv_path).unwrap();
        assert!(text.starts_with(
            "line,uniqueSourcePaymentId,invoiceId,batchId,idempotencyKey,amount,currency,outcome,\
             reasonCode,reasonMessage\n"
        ));
        assert!(
            text.contains(&format!(
                "3,P-3,i,{},,1234.50,NOK,failed,UNKNOWN_INVOICE,\"unknown invoice, \"\"x\"\"\"",
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

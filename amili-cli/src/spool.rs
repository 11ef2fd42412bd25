//! The spool: what reading the file found, row by row, in a temporary file, so that the file
//! is read and validated once and sending streams from here with flat memory.
//!
//! One framed record per row: its length (4 bytes, little-endian), the row's line (8 bytes),
//! a tag (valid or invalid), then fields — a valid item's in the compact form its kind writes
//! ([`SpoolItem::spool`]: numbers as bytes, texts length-prefixed, no JSON, no date or amount
//! text to parse again), an invalid row's three report texts and its amount if it could be
//! read. A valid item is read back through the library's builder ([`SpoolItem::unspool`]),
//! which checks every field again: the spool is a file on disk like any other input.

use std::fs::File;
use std::io::{BufReader, BufWriter, ErrorKind, Read, Write};
use std::marker::PhantomData;

use anyhow::Context as _;

use crate::money::Money;
use crate::read_ahead::read_ahead;

/// An item the spool keeps: written into its record, and read back.
pub trait SpoolItem: Sized {
    /// Writes the validated item into its record.
    fn spool(&self, record: &mut Record<'_>);

    /// Reads an item back from its record, through the library's builder (which checks
    /// every field again).
    fn unspool(fields: &mut Fields<'_>) -> anyhow::Result<Self>;
}

/// An invalid row, kept for the report.
#[derive(Debug, Clone)]
pub struct InvalidRow {
    pub source_id: String,
    pub invoice_id: String,
    pub reason: String,
    /// Its amount and currency, when both could be read.
    pub money: Option<Money>,
}

impl InvalidRow {
    fn read(fields: &mut Fields<'_>) -> anyhow::Result<InvalidRow> {
        Ok(InvalidRow {
            source_id: fields.text()?.to_owned(),
            invoice_id: fields.text()?.to_owned(),
            reason: fields.text()?.to_owned(),
            money: unspool_money(fields)?,
        })
    }
}

/// One row of the spool.
pub enum Spooled<K> {
    Valid {
        line: u64,
        item: K,
    },
    Invalid {
        line: u64,
        row: InvalidRow,
    },
    /// A bank transaction that is not a payment (its `invoice_id` the reference as written).
    NotTaken {
        line: u64,
        row: InvalidRow,
    },
}

/// A file's rows as sending reads them: from the spool, or validated as they are read.
pub type ReadRows<K> = Box<dyn Iterator<Item = anyhow::Result<Spooled<K>>> + Send>;

const VALID: u8 = 0;
const INVALID: u8 = 1;
const NOT_TAKEN: u8 = 2;

/// Writes the spool while the file is read.
pub struct SpoolWriter {
    file: tempfile::NamedTempFile,
    writer: BufWriter<File>,
    record: Vec<u8>,
}

impl SpoolWriter {
    pub fn new() -> anyhow::Result<SpoolWriter> {
        let file = tempfile::NamedTempFile::new().context("cannot create a temporary file")?;
        let writer = BufWriter::with_capacity(256 * 1024, file.reopen()?);
        Ok(SpoolWriter {
            file,
            writer,
            record: Vec::with_capacity(512),
        })
    }

    /// Writes one row.
    pub fn write<K: SpoolItem>(&mut self, row: &Spooled<K>) -> anyhow::Result<()> {
        let (line, tag, invalid) = match row {
            Spooled::Valid { line, item } => {
                self.start(*line, VALID);
                item.spool(&mut Record(&mut self.record));
                return self.finish_record();
            }
            Spooled::Invalid { line, row } => (*line, INVALID, row),
            Spooled::NotTaken { line, row } => (*line, NOT_TAKEN, row),
        };
        self.start(line, tag);
        let mut record = Record(&mut self.record);
        record.text(&invalid.source_id);
        record.text(&invalid.invoice_id);
        record.text(&invalid.reason);
        match &invalid.money {
            None => record.bytes(&[0]),
            Some(money) => {
                record.bytes(&[1]);
                record.bytes(&money.amount.mantissa().to_le_bytes());
                record.bytes(&money.amount.scale().to_le_bytes());
                record.text(money.currency.code());
            }
        }
        self.finish_record()
    }

    fn start(&mut self, line: u64, tag: u8) {
        self.record.clear();
        self.record.extend_from_slice(&line.to_le_bytes());
        self.record.push(tag);
    }

    fn finish_record(&mut self) -> anyhow::Result<()> {
        // A row is at most 64 KiB of input (`input::MAX_ROW_BYTES`): its record fits.
        let length = u32::try_from(self.record.len()).context("a spool record is too long")?;
        self.writer
            .write_all(&length.to_le_bytes())
            .and_then(|()| self.writer.write_all(&self.record))
            .context("cannot write the spool")
    }

    /// Done writing: a reader of `K`s from the first row.
    pub fn finish<K>(mut self) -> anyhow::Result<SpoolReader<K>> {
        self.writer.flush().context("cannot write the spool")?;
        let reader = BufReader::with_capacity(256 * 1024, self.file.reopen()?);
        Ok(SpoolReader {
            _file: self.file,
            reader,
            record: Vec::with_capacity(512),
            kind: PhantomData,
        })
    }
}

/// The fields of one record being written.
pub struct Record<'a>(&'a mut Vec<u8>);

impl Record<'_> {
    pub fn bytes(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }

    /// A text, prefixed with its length.
    pub fn text(&mut self, text: &str) {
        // Texts come from rows of at most 64 KiB.
        let length = u32::try_from(text.len()).unwrap_or(u32::MAX);
        self.0.extend_from_slice(&length.to_le_bytes());
        self.0.extend_from_slice(text.as_bytes());
    }
}

/// The fields of one record being read, in the order they were written.
pub struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    pub fn bytes<const N: usize>(&mut self) -> anyhow::Result<[u8; N]> {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .context("the spool is damaged: a record ends early")?;
        self.0 = rest;
        Ok(*head)
    }

    pub fn text(&mut self) -> anyhow::Result<&'a str> {
        let length = usize::try_from(u32::from_le_bytes(self.bytes()?))?;
        if self.0.len() < length {
            anyhow::bail!("the spool is damaged: a text ends early");
        }
        let (text, rest) = self.0.split_at(length);
        self.0 = rest;
        std::str::from_utf8(text).context("the spool is damaged: a text is not UTF-8")
    }
}

/// Reads the spool back in file order.
pub struct SpoolReader<K> {
    _file: tempfile::NamedTempFile,
    reader: BufReader<File>,
    record: Vec<u8>,
    kind: PhantomData<fn() -> K>,
}

impl<K: SpoolItem + Send + 'static> SpoolReader<K> {
    /// Every row, in file order, read and checked on a thread of its own (see
    /// `read_ahead.rs`); the first error ends the rows.
    pub fn read_ahead(mut self) -> anyhow::Result<ReadRows<K>> {
        let mut failed = false;
        let rows = std::iter::from_fn(move || {
            if failed {
                return None;
            }
            let row = self.next_row().transpose();
            failed = matches!(row, Some(Err(_)));
            row
        });
        let rows =
            read_ahead("amili-spool", rows).context("cannot start a thread to read the spool")?;
        Ok(Box::new(rows))
    }

    /// The next row, or `None` at the end.
    fn next_row(&mut self) -> anyhow::Result<Option<Spooled<K>>> {
        let mut length = [0u8; 4];
        match self.reader.read_exact(&mut length) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e).context("cannot read the spool"),
        }
        let length = usize::try_from(u32::from_le_bytes(length))
            .context("the spool is damaged: a record is longer than memory can hold")?;
        self.record.resize(length, 0);
        self.reader
            .read_exact(&mut self.record)
            .context("cannot read the spool")?;
        let mut fields = Fields(&self.record);
        let line = u64::from_le_bytes(fields.bytes()?);
        let [tag] = fields.bytes()?;
        Ok(Some(match tag {
            VALID => Spooled::Valid {
                line,
                item: K::unspool(&mut fields)
                    .with_context(|| format!("the spool is damaged at line {line}"))?,
            },
            INVALID => Spooled::Invalid {
                line,
                row: InvalidRow::read(&mut fields)?,
            },
            NOT_TAKEN => Spooled::NotTaken {
                line,
                row: InvalidRow::read(&mut fields)?,
            },
            other => anyhow::bail!("the spool is damaged: tag {other} at line {line}"),
        }))
    }
}

/// An invalid row's amount and currency, if it had them.
fn unspool_money(fields: &mut Fields<'_>) -> anyhow::Result<Option<Money>> {
    let [flag] = fields.bytes()?;
    if flag == 0 {
        return Ok(None);
    }
    let mantissa = i128::from_le_bytes(fields.bytes()?);
    let scale = u32::from_le_bytes(fields.bytes()?);
    let amount = amili_payments::Decimal::try_from_i128_with_scale(mantissa, scale)?;
    let currency = amili_payments::Currency::iso(fields.text()?)?;
    Ok(Some(Money { amount, currency }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use amili_payments::{Correction, Decimal, Payment, Uuid};

    #[test]
    fn rows_come_back_as_they_went_in() -> anyhow::Result<()> {
        let payment = Payment::builder()
            .invoice_id(Uuid::from_u128(7))
            .amount(Decimal::new(450_050, 2))
            .currency("NOK")
            .date("2016-12-31T23:59:59.25Z".parse()?)
            .description("a \"quoted\" text, æøå, 100 %")
            .unique_source_payment_id("P-1")
            .build()?;
        let correction = Correction::builder()
            .invoice_id(Uuid::from_u128(8))
            .amount(Decimal::new(-15, 1))
            .currency("SEK")
            .date("2025-03-10T09:00:00.123456789Z".parse()?)
            .build()?;
        let mut writer = SpoolWriter::new()?;
        let valid = |line| Spooled::Valid {
            line,
            item: payment.clone(),
        };
        writer.write(&valid(2))?;
        writer.write(&Spooled::<Payment>::Invalid {
            line: 3,
            row: InvalidRow {
                source_id: "P-2".into(),
                invoice_id: "not-a-uuid".into(),
                reason: "invoiceId: \"not-a-uuid\" is not a UUID".into(),
                money: Some(Money {
                    amount: Decimal::new(-1050, 2),
                    currency: amili_payments::Currency::SEK,
                }),
            },
        })?;
        writer.write(&valid(4))?;
        let mut reader = writer.finish::<Payment>()?;
        let Some(Spooled::Valid { line: 2, item }) = reader.next_row()? else {
            anyhow::bail!("line 2 is not the payment");
        };
        assert_eq!(item, payment);
        let Some(Spooled::Invalid { line: 3, row }) = reader.next_row()? else {
            anyhow::bail!("line 3 is not the invalid row");
        };
        assert_eq!(row.invoice_id, "not-a-uuid");
        assert_eq!(
            row.money.map(|m| m.to_string()).as_deref(),
            Some("-10.50 SEK")
        );
        assert!(matches!(
            reader.next_row()?,
            Some(Spooled::Valid { line: 4, .. })
        ));
        assert!(reader.next_row()?.is_none());

        let mut writer = SpoolWriter::new()?;
        writer.write(&Spooled::Valid {
            line: 9,
            item: correction.clone(),
        })?;
        let mut reader = writer.finish::<Correction>()?;
        let Some(Spooled::Valid { item, .. }) = reader.next_row()? else {
            anyhow::bail!("no correction");
        };
        assert_eq!(item.id(), correction.id());
        Ok(())
    }

    #[test]
    fn a_damaged_spool_is_an_error_not_a_payment() -> anyhow::Result<()> {
        // A record whose fields read but which the library refuses (the currency).
        let mut writer = SpoolWriter::new()?;
        writer.start(2, VALID);
        let mut record = Record(&mut writer.record);
        record.bytes(Uuid::from_u128(7).as_bytes());
        record.text("DIRECT_PAYMENT");
        record.bytes(&100i128.to_le_bytes());
        record.bytes(&0u32.to_le_bytes());
        record.text("nok!");
        record.bytes(&1_741_600_000i64.to_le_bytes());
        record.bytes(&0u32.to_le_bytes());
        record.text("");
        record.text("P-1");
        writer.finish_record()?;
        // And a record cut short.
        writer.start(3, VALID);
        Record(&mut writer.record).text("P-");
        writer.finish_record()?;
        let mut reader = writer.finish::<Payment>()?;
        for line in [2, 3] {
            let error = reader.next_row().err().map(|e| format!("{e:#}"));
            assert!(
                error
                    .as_deref()
                    .is_some_and(|e| e.contains(&format!("the spool is damaged at line {line}"))),
                "{error:?}"
            );
        }
        Ok(())
    }
}

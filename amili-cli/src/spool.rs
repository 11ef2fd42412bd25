//! The spool: what reading the file found, row by row, in a temporary file, so that the file
//! is read and validated once and sending streams from here with flat memory.
//!
//! One line per row: `<line>\t<item JSON>` for a valid row (a payment or a correction),
//! `<line>\t!<JSON of the invalid row>` for a row that failed validation (reported, not
//! sent). A valid item is read back with the library's own `Deserialize`, which checks it
//! again: the spool is a file on disk like any other input.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};

use std::marker::PhantomData;

use anyhow::Context as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// An invalid row, kept for the report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InvalidRow {
    pub source_id: String,
    pub invoice_id: String,
    pub reason: String,
}

/// One row of the spool.
pub enum Spooled<K> {
    Valid { line: u64, item: K },
    Invalid { line: u64, row: InvalidRow },
}

/// Writes the spool while the file is read.
pub struct SpoolWriter {
    file: tempfile::NamedTempFile,
    writer: BufWriter<File>,
    buf: Vec<u8>,
}

impl SpoolWriter {
    pub fn new() -> anyhow::Result<SpoolWriter> {
        let file = tempfile::NamedTempFile::new().context("cannot create a temporary file")?;
        let writer = BufWriter::with_capacity(256 * 1024, file.reopen()?);
        Ok(SpoolWriter {
            file,
            writer,
            buf: Vec::with_capacity(512),
        })
    }

    pub fn item(&mut self, line: u64, item: &impl Serialize) -> anyhow::Result<()> {
        self.buf.clear();
        write!(self.buf, "{line}\t")?;
        serde_json::to_writer(&mut self.buf, item)?;
        self.buf.push(b'\n');
        self.writer
            .write_all(&self.buf)
            .context("cannot write the spool")
    }

    pub fn invalid(
        &mut self,
        line: u64,
        source_id: &str,
        invoice_id: &str,
        reason: &str,
    ) -> anyhow::Result<()> {
        self.buf.clear();
        write!(self.buf, "{line}\t!")?;
        serde_json::to_writer(
            &mut self.buf,
            &InvalidRow {
                source_id: source_id.to_owned(),
                invoice_id: invoice_id.to_owned(),
                reason: reason.to_owned(),
            },
        )?;
        self.buf.push(b'\n');
        self.writer
            .write_all(&self.buf)
            .context("cannot write the spool")
    }

    /// Done writing: a reader of `K`s from the first row.
    pub fn finish<K>(mut self) -> anyhow::Result<SpoolReader<K>> {
        self.writer.flush().context("cannot write the spool")?;
        let reader = BufReader::with_capacity(256 * 1024, self.file.reopen()?);
        Ok(SpoolReader {
            _file: self.file,
            reader,
            buf: Vec::with_capacity(512),
            kind: PhantomData,
        })
    }
}

/// Reads the spool back in file order.
pub struct SpoolReader<K> {
    _file: tempfile::NamedTempFile,
    reader: BufReader<File>,
    buf: Vec<u8>,
    kind: PhantomData<fn() -> K>,
}

impl<K: DeserializeOwned> SpoolReader<K> {
    /// The next row, or `None` at the end.
    pub fn next_row(&mut self) -> anyhow::Result<Option<Spooled<K>>> {
        self.buf.clear();
        if self.reader.read_until(b'\n', &mut self.buf)? == 0 {
            return Ok(None);
        }
        let text = self.buf.strip_suffix(b"\n").unwrap_or(&self.buf);
        let tab = text
            .iter()
            .position(|b| *b == b'\t')
            .context("the spool is damaged")?;
        let line: u64 = std::str::from_utf8(&text[..tab])?.parse()?;
        let rest = &text[tab + 1..];
        Ok(Some(match rest.strip_prefix(b"!") {
            Some(json) => Spooled::Invalid {
                line,
                row: serde_json::from_slice(json).context("the spool is damaged")?,
            },
            None => Spooled::Valid {
                line,
                item: serde_json::from_slice(rest).context("the spool is damaged")?,
            },
        }))
    }
}

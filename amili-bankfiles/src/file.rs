//! Any bank file: the format told from its first bytes, read streaming or checked whole first.

use std::io::{BufRead, Seek, SeekFrom};

use crate::camt::CamtReader;
use crate::credit::Item;
use crate::error::Error;
use crate::ocr::OcrReader;

/// The kinds of bank file this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Nets OCR giro (fixed-width records starting `NY`).
    OcrGiro,
    /// ISO 20022 camt.053 or camt.054 (XML).
    Camt,
}

/// Tells the format from the first bytes (a UTF-8 byte order mark and blanks skipped), without
/// consuming them.
///
/// # Errors
///
/// [`Error::UnknownFormat`], or [`Error::Io`].
pub fn detect<R: BufRead>(reader: &mut R) -> Result<Format, Error> {
    let head = reader.fill_buf()?;
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head.iter().position(|b| !b.is_ascii_whitespace());
    match start.map(|i| &head[i..]) {
        Some(rest) if rest.starts_with(b"NY") => Ok(Format::OcrGiro),
        Some(rest) if rest.starts_with(b"<") => Ok(Format::Camt),
        _ => Err(Error::UnknownFormat),
    }
}

/// The credit view of any bank file: OCR giro or camt.
pub enum Items<R> {
    /// An OCR giro file.
    Ocr(OcrReader<R>),
    /// A camt.053 or camt.054 file (boxed: its reader is the larger).
    Camt(Box<CamtReader<R>>),
}

impl<R: BufRead> Items<R> {
    /// The format being read.
    pub fn format(&self) -> Format {
        match self {
            Items::Ocr(_) => Format::OcrGiro,
            Items::Camt(_) => Format::Camt,
        }
    }
}

impl<R: BufRead> Iterator for Items<R> {
    type Item = Result<Item, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Items::Ocr(reader) => reader.next(),
            Items::Camt(reader) => reader.next(),
        }
    }
}

/// Reads any bank file as it streams: items come as soon as they are read, and a problem
/// later in the file (a control figure, an XML error) ends the iteration with an error
/// **after** the items before it. Use [`read_checked`] to refuse such a file before taking
/// anything from it.
///
/// # Errors
///
/// [`Error::UnknownFormat`] or [`Error::Io`] when the format cannot be told.
pub fn read<R: BufRead>(mut reader: R) -> Result<Items<R>, Error> {
    Ok(match detect(&mut reader)? {
        Format::OcrGiro => Items::Ocr(OcrReader::new(reader)),
        Format::Camt => Items::Camt(Box::new(CamtReader::new(reader))),
    })
}

/// Reads the whole file once (every record, every control figure, every entry; memory stays
/// flat), then rewinds and returns its items: a file that does not add up, or breaks the
/// format anywhere, is refused whole before anything is taken from it.
///
/// # Errors
///
/// The first problem in the file (see [`Error`]).
pub fn read_checked<R: BufRead + Seek>(mut reader: R) -> Result<Items<R>, Error> {
    let start = reader.stream_position()?;
    for item in read(&mut reader)? {
        item?;
    }
    reader.seek(SeekFrom::Start(start))?;
    read(reader)
}

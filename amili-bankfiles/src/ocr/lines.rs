//! OCR giro lines: 80 characters of ISO-8859-1 each, ended by CRLF or LF (or by the end of
//! the file), read one at a time without ever holding more than one line.

use std::io::{BufRead, Read};

use crate::error::Error;

/// The fixed width of every OCR giro record.
pub const RECORD_LEN: usize = 80;

/// Reads lines of at most [`RECORD_LEN`] characters plus the line end.
pub(crate) struct Lines<R> {
    reader: R,
    buf: Vec<u8>,
    line: u64,
}

impl<R: BufRead> Lines<R> {
    pub(crate) fn new(reader: R) -> Self {
        Lines {
            reader,
            buf: Vec::with_capacity(RECORD_LEN + 2),
            line: 0,
        }
    }

    /// The next line as its 1-based number and its characters (ISO-8859-1: one byte, one
    /// character), without the line end; `None` at the end of the file. A line longer than
    /// a record is refused without reading the rest of it.
    pub(crate) fn next_line(&mut self) -> Result<Option<(u64, &[u8])>, Error> {
        self.buf.clear();
        // One byte more than a record and its CRLF tells "too long" without reading on.
        let limit = (RECORD_LEN + 3) as u64;
        let read = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.buf)?;
        if read == 0 {
            return Ok(None);
        }
        self.line += 1;
        let mut end = self.buf.len();
        if self.buf.last() == Some(&b'\n') {
            end -= 1;
            if end > 0 && self.buf[end - 1] == b'\r' {
                end -= 1;
            }
        } else if self.buf.len() as u64 == limit {
            return Err(Error::Ocr {
                line: self.line,
                record: None,
                field: "line length",
                message: format!("longer than {RECORD_LEN} characters"),
            });
        }
        Ok(Some((self.line, &self.buf[..end])))
    }
}

/// ISO-8859-1 text: each byte is the character of that code point.
pub(crate) fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

//! The record layer as a stream: every line of an OCR giro file as a record, in order.

use std::io::BufRead;

use super::lines::Lines;
use super::records::{Located, parse_record};
use crate::error::Error;

/// The record layer: every line of an OCR giro file as a [`Record`](super::records::Record), in order, without the
/// grammar or the control figures checked. Blank lines are skipped.
pub struct OcrRecords<R> {
    lines: Lines<R>,
    failed: bool,
}

impl<R: BufRead> OcrRecords<R> {
    /// Reads records from `reader` (ISO-8859-1, CRLF or LF).
    pub fn new(reader: R) -> Self {
        OcrRecords {
            lines: Lines::new(reader),
            failed: false,
        }
    }

    /// The next non-blank line's record, or the next blank line's number.
    pub(super) fn next_line(&mut self) -> Result<Option<Line>, Error> {
        let Some((line, bytes)) = self.lines.next_line()? else {
            return Ok(None);
        };
        if bytes.iter().all(|&b| b == b' ' || b == 0x1a) {
            return Ok(Some(Line::Blank(line)));
        }
        Ok(Some(Line::Record(Located {
            line,
            record: parse_record(line, bytes)?,
        })))
    }
}

pub(super) enum Line {
    Record(Located),
    Blank(u64),
}

impl<R: BufRead> Iterator for OcrRecords<R> {
    type Item = Result<Located, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.failed {
            match self.next_line() {
                Ok(Some(Line::Record(located))) => return Some(Ok(located)),
                Ok(Some(Line::Blank(_))) => {}
                Ok(None) => return None,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}

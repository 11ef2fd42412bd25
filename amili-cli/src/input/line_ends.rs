//! Line-level guards on the raw bytes: CRLF → LF, so that CSV line numbers are physical
//! whatever the line ends, and a cap on the length of a line (JSON Lines) or of a CSV record,
//! so that memory stays flat.

use std::io::{self, Read};

/// Reads `inner` with every `\r\n` turned into `\n` (a lone `\r` is kept). The CSV reader
/// counts lines by `\n` and ends records at `\r`; without this, a CRLF file's rows after the
/// first were numbered one line too low.
pub struct CrlfToLf<R> {
    inner: R,
    /// A `\r` read at the end of the last chunk, not yet known to precede `\n`.
    pending_cr: bool,
}

impl<R: Read> CrlfToLf<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            pending_cr: false,
        }
    }
}

impl<R: Read> Read for CrlfToLf<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            // Room for a held-back `\r` at the front.
            let start = usize::from(self.pending_cr);
            if start == 1 {
                buf[0] = b'\r';
            }
            let n = self.inner.read(&mut buf[start..])?;
            if n == 0 {
                // End of input: a held-back `\r` is a lone one.
                let held = std::mem::take(&mut self.pending_cr);
                return Ok(usize::from(held));
            }
            let end = start + n;
            // Most files have no `\r` at all: then there is nothing to move.
            let Some(first_cr) = memchr::memchr(b'\r', &buf[..end]) else {
                return Ok(end);
            };
            let mut out = first_cr;
            let mut i = first_cr;
            while i < end {
                let byte = buf[i];
                if byte == b'\r' && i + 1 < end && buf[i + 1] == b'\n' {
                    i += 1; // drop the `\r`, keep the `\n`
                    continue;
                }
                buf[out] = byte;
                out += 1;
                i += 1;
            }
            self.pending_cr = out > 0 && buf[out - 1] == b'\r';
            if self.pending_cr {
                out -= 1;
            }
            if out > 0 {
                return Ok(out);
            }
            // Only a held-back `\r` so far: read on.
        }
    }
}

/// Fails the read (an `InvalidData` error naming the line) once a line is longer than `max`
/// bytes, before a parser buffers it whole.
pub struct LineCap<R> {
    inner: R,
    max: usize,
    /// Bytes since the last `\n`.
    current: usize,
    /// The line being read (1-based).
    line: u64,
}

impl<R: Read> LineCap<R> {
    pub fn new(inner: R, max: usize) -> Self {
        Self {
            inner,
            max,
            current: 0,
            line: 1,
        }
    }
}

impl<R: Read> Read for LineCap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &byte in &buf[..n] {
            if byte == b'\n' {
                self.line += 1;
                self.current = 0;
            } else {
                self.current += 1;
                if self.current > self.max {
                    return Err(too_long(format!("line {}", self.line), self.max));
                }
            }
        }
        Ok(n)
    }
}

/// The error of a row over the cap: `what` names it (`line 7`).
fn too_long(what: String, max: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "{what} is longer than {max} bytes; a payment row is far shorter (is the file what \
             it should be?)"
        ),
    )
}

/// Fails the read (an `InvalidData` error naming the line) once a CSV record is longer than
/// `max` bytes, before the CSV reader buffers it whole: the reader's record buffer never
/// grows past about `max` bytes, whatever the line.
///
/// A CSV record may span lines (a quoted newline), so where a record ends is the CSV reader's
/// to say: it tells this guard after every record with [`record_ended`](Self::record_ended).
/// The count rests on the reader asking for more bytes only once it has consumed every byte
/// it was given, which a `BufReader` (the csv crate reads through one) does: the bytes handed
/// out since the last record ended are then the record being read. Blank lines before a
/// record (which the reader skips) are not part of it.
pub struct RecordCap<R> {
    inner: R,
    max: usize,
    /// Bytes handed out so far.
    given: u64,
    /// The bytes handed out last (the reader holds those after the record that ended).
    last: Vec<u8>,
    /// Where the record being read starts (past blank lines seen so far): its byte offset
    /// and line (1-based).
    start: u64,
    start_line: u64,
    /// Whether the record's first byte that is not a blank line's was seen.
    started: bool,
    /// The `\n` bytes handed out so far.
    newlines: u64,
}

impl<R: Read> RecordCap<R> {
    pub fn new(inner: R, max: usize) -> Self {
        Self {
            inner,
            max,
            given: 0,
            last: Vec::new(),
            start: 0,
            start_line: 1,
            started: false,
            newlines: 0,
        }
    }

    /// The reader has read a record whole: the next starts at byte offset `byte`, on `line`.
    pub fn record_ended(&mut self, byte: u64, line: u64) {
        self.start = byte;
        self.start_line = line;
        self.started = false;
        // What the reader holds of the next record was handed out last.
        let held = usize::try_from(self.given.saturating_sub(byte)).unwrap_or(usize::MAX);
        let from = self.last.len().saturating_sub(held);
        let last = std::mem::take(&mut self.last);
        self.skip_blank_lines(&last[from..]);
        self.last = last;
    }

    /// Moves the record's start past the blank lines that begin `bytes` (the record's next
    /// bytes), until its first byte of content.
    fn skip_blank_lines(&mut self, bytes: &[u8]) {
        if self.started {
            return;
        }
        let blank = bytes.iter().take_while(|b| **b == b'\n').count();
        self.start += blank as u64;
        self.start_line += blank as u64;
        self.started = blank < bytes.len();
    }
}

impl<R: Read> Read for RecordCap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let max = self.max as u64;
        let used = self.given.saturating_sub(self.start);
        if used > max {
            let line = self.newlines + 1;
            let what = if line == self.start_line {
                format!("line {line}")
            } else {
                format!(
                    "the record that starts on line {} (by line {line}: an unclosed quote?)",
                    self.start_line
                )
            };
            return Err(too_long(what, self.max));
        }
        // No more than the record may still take, and its terminator.
        let room = usize::try_from(max + 1 - used).unwrap_or(usize::MAX);
        let len = buf.len().min(room);
        let n = self.inner.read(&mut buf[..len])?;
        let bytes = &buf[..n];
        self.newlines += memchr::memchr_iter(b'\n', bytes).count() as u64;
        self.given += n as u64;
        self.skip_blank_lines(bytes);
        self.last.clear();
        self.last.extend_from_slice(bytes);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `text` in chunks of `size` bytes.
    struct Chunks<'a>(&'a [u8], usize);

    impl Read for Chunks<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(self.1).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_line_over_the_cap_fails_naming_it() {
        let text = format!("short\n{}\n", "x".repeat(100));
        let err = LineCap::new(text.as_bytes(), 50)
            .read_to_end(&mut Vec::new())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("line 2 is longer than 50 bytes"), "{err}");
        let mut out = Vec::new();
        LineCap::new("a\nb\n".as_bytes(), 1)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"a\nb\n");
    }

    #[test]
    fn crlf_becomes_lf_across_chunk_edges() {
        let text = b"a\r\nb\rc\r\n\r\nd\r";
        for size in 1..=text.len() {
            let mut out = Vec::new();
            CrlfToLf::new(Chunks(text, size))
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, b"a\nb\rc\n\nd\r", "chunks of {size}");
        }
    }
}

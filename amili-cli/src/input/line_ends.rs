//! Line-level guards on the raw bytes: CRLF → LF, so that CSV line numbers are physical
//! whatever the line ends, and a cap on the length of a line, so that memory stays flat.

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
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "line {} is longer than {} bytes; a payment row is far shorter (is the \
                             file what it should be?)",
                            self.line, self.max
                        ),
                    ));
                }
            }
        }
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

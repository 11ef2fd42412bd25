//! CRLF → LF on the fly, so that CSV line numbers are physical whatever the line ends.

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
            let mut out = 0;
            let mut i = 0;
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

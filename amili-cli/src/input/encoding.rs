//! Text encodings of input files: UTF-8, or the single-byte Windows-1252 and ISO-8859-1 that
//! Excel's "CSV (semikolonseparert)" and older office systems in Norway save.
//!
//! Both single-byte encodings are one table: ISO-8859-1's bytes are the Unicode code points
//! U+0000–U+00FF, and Windows-1252 differs only in 0x80–0x9F (32 entries, below). That is the
//! whole of them, so they are decoded here rather than through a general encoding library.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// How a file's bytes are read as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Encoding {
    /// UTF-8 (a byte-order mark is skipped).
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
    /// Windows-1252 (Excel's "CSV (semikolonseparert)" on Windows).
    #[value(name = "windows-1252", alias = "cp1252")]
    Windows1252,
    /// ISO-8859-1 (Latin-1).
    #[value(name = "iso-8859-1", alias = "latin1")]
    Iso88591,
}

impl std::fmt::Display for Encoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Windows1252 => "Windows-1252",
            Encoding::Iso88591 => "ISO-8859-1",
        })
    }
}

/// Windows-1252's 0x80–0x9F, from the Unicode mapping file (cp1252.txt). The five bytes it
/// leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) are the C1 controls of the same value,
/// as ISO-8859-1 and the WHATWG encoding standard read them.
const WINDOWS_1252_80_9F: [char; 32] = [
    '\u{20AC}', '\u{0081}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{02C6}', '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{008D}', '\u{017D}', '\u{008F}',
    '\u{0090}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{02DC}', '\u{2122}', '\u{0161}', '\u{203A}', '\u{0153}', '\u{009D}', '\u{017E}', '\u{0178}',
];

impl Encoding {
    /// The character a byte stands for in a single-byte encoding.
    fn char_of(self, byte: u8) -> char {
        match (self, byte) {
            (Encoding::Windows1252, 0x80..=0x9F) => WINDOWS_1252_80_9F[usize::from(byte - 0x80)],
            _ => char::from(byte),
        }
    }
}

/// Reads a single-byte encoded `inner` as UTF-8. Every byte is one character, so newlines
/// (and with them line numbers) are where they were.
pub struct ToUtf8<R> {
    inner: R,
    encoding: Encoding,
    raw: Vec<u8>,
    decoded: Vec<u8>,
    /// How much of `decoded` was handed out.
    at: usize,
}

impl<R: Read> ToUtf8<R> {
    pub fn new(inner: R, encoding: Encoding) -> Self {
        Self {
            inner,
            encoding,
            raw: vec![0; 64 * 1024],
            decoded: Vec::with_capacity(64 * 1024),
            at: 0,
        }
    }
}

impl<R: Read> Read for ToUtf8<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.decoded.len() {
            let n = self.inner.read(&mut self.raw)?;
            self.decoded.clear();
            self.at = 0;
            for &byte in &self.raw[..n] {
                if byte.is_ascii() {
                    self.decoded.push(byte);
                } else {
                    let mut utf8 = [0; 4];
                    let text = self.encoding.char_of(byte).encode_utf8(&mut utf8);
                    self.decoded.extend_from_slice(text.as_bytes());
                }
            }
        }
        let n = buf.len().min(self.decoded.len() - self.at);
        buf[..n].copy_from_slice(&self.decoded[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The block [`is_utf8`] reads at a time: small enough to stay in the core's cache while it is
/// checked (a 256 KiB block made this check cost three times as much CPU, `perf`).
const BLOCK: usize = 32 * 1024;

/// Whether the whole file at `path` is valid UTF-8 (read in blocks: memory stays flat).
pub fn is_utf8(path: &Path) -> io::Result<bool> {
    let mut file = File::open(path)?;
    let mut block = vec![0; BLOCK];
    // A character cut by the end of the last block, carried to the next.
    let mut carried = 0;
    loop {
        let n = file.read(&mut block[carried..])?;
        if n == 0 {
            return Ok(carried == 0);
        }
        let end = carried + n;
        match std::str::from_utf8(&block[..end]) {
            Ok(_) => carried = 0,
            // Only an incomplete character at the end: it may finish in the next block.
            Err(e) if e.error_len().is_none() => {
                let from = e.valid_up_to();
                block.copy_within(from..end, 0);
                carried = end - from;
            }
            Err(_) => return Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8], encoding: Encoding) -> String {
        let mut text = String::new();
        ToUtf8::new(bytes, encoding)
            .read_to_string(&mut text)
            .unwrap();
        text
    }

    #[test]
    fn windows_1252_and_latin_1_decode_exactly() {
        // "Beløp;Kr 1 500,00 – «ÆØÅ» €" as Windows-1252.
        let bytes = b"Bel\xf8p;Kr 1\xa0500,00 \x96 \xab\xc6\xd8\xc5\xbb \x80\n";
        assert_eq!(
            decode(bytes, Encoding::Windows1252),
            "Beløp;Kr 1\u{a0}500,00 – «ÆØÅ» €\n"
        );
        assert_eq!(
            decode(bytes, Encoding::Iso88591),
            "Beløp;Kr 1\u{a0}500,00 \u{96} «ÆØÅ» \u{80}\n"
        );
        // Every byte is one character; the table's ends are the right ones.
        let all: Vec<u8> = (0..=255).collect();
        let text = decode(&all, Encoding::Windows1252);
        assert_eq!(text.chars().count(), 256);
        assert_eq!(text.chars().nth(0x9F), Some('Ÿ'));
        assert_eq!(text.chars().nth(0x8A), Some('Š'));
    }

    #[test]
    fn utf8_is_told_from_windows_1252_across_blocks() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("f.csv");
        // "ø" (two bytes in UTF-8) cut by the end of the first block.
        let mut text = "x".repeat(BLOCK - 1).into_bytes();
        text.extend_from_slice("øre\n".as_bytes());
        std::fs::write(&path, &text)?;
        assert!(is_utf8(&path)?);
        text.extend_from_slice(b"Bel\xf8p\n");
        std::fs::write(&path, &text)?;
        assert!(!is_utf8(&path)?);
        // A file cut inside a character is not UTF-8.
        std::fs::write(&path, b"abc\xc3")?;
        assert!(!is_utf8(&path)?);
        Ok(())
    }
}

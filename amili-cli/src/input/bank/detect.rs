//! Telling a bank file from its content.

use std::io::Read;
use std::path::Path;

use crate::input::Format;

/// How many of a file's first bytes [`detect`] looks at.
const SNIFF_BYTES: u64 = 16 * 1024;

/// The bank-file format of the file at `path`, told from its content: OCR giro starts with
/// the start-of-transmission record `NY000010`; camt is XML naming an ISO 20022 camt.053 or
/// camt.054 namespace. `None` for anything else (or a file that cannot be read: opening it
/// later says why).
pub fn detect(path: &Path) -> Option<Format> {
    let mut start = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(SNIFF_BYTES)
        .read_to_end(&mut start)
        .ok()?;
    sniff(&start)
}

/// [`detect`] on the file's first bytes.
pub fn sniff(start: &[u8]) -> Option<Format> {
    let text = start.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(start);
    let text = &text[text.iter().position(|b| !b.is_ascii_whitespace())?..];
    let names = |needle: &[u8]| text.windows(needle.len()).any(|w| w == needle);
    if text.starts_with(b"NY000010") {
        Some(Format::Ocr)
    } else if text.starts_with(b"<")
        && (names(b"urn:iso:std:iso:20022:tech:xsd:camt.053")
            || names(b"urn:iso:std:iso:20022:tech:xsd:camt.054"))
    {
        Some(Format::Camt)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_is_told_from_the_content() {
        assert_eq!(sniff(b"NY000010000080801"), Some(Format::Ocr));
        assert_eq!(sniff(b"\xEF\xBB\xBF\r\nNY000010"), Some(Format::Ocr));
        let camt = br#"<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02">"#;
        assert_eq!(sniff(camt), Some(Format::Camt));
        assert_eq!(sniff(b"<Document xmlns=\"urn:example\">"), None);
        assert_eq!(sniff(b"NY,invoiceId\n"), None);
        assert_eq!(sniff(b"invoiceId,amount\nNY000010"), None);
        assert_eq!(sniff(b""), None);
    }
}

//! JSON Lines rows: one JSON object per line; blank lines are skipped.

use std::io::{BufRead, BufReader, Read};

use std::marker::PhantomData;

use serde::de::DeserializeOwned;

use super::{InputError, Keys, Row, parse_row};

/// Streams the lines of a JSON Lines file as rows.
pub struct JsonlRows<R: Read, I> {
    input: PhantomData<fn() -> I>,
    keys: Keys,
    reader: BufReader<R>,
    buf: Vec<u8>,
    line: u64,
    done: bool,
}

impl<R: Read, I> JsonlRows<R, I> {
    pub fn new(inner: R, keys: Keys) -> Self {
        JsonlRows {
            input: PhantomData,
            keys,
            reader: BufReader::with_capacity(64 * 1024, inner),
            buf: Vec::new(),
            line: 0,
            done: false,
        }
    }
}

impl<R: Read, I: DeserializeOwned> Iterator for JsonlRows<R, I> {
    type Item = Result<Row<I>, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            self.buf.clear();
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => self.done = true,
                Ok(_) => {
                    self.line += 1;
                    let mut text: &[u8] = &self.buf;
                    if self.line == 1 {
                        text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
                    }
                    if text.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    let row = parse_row(&self.keys, self.line, text);
                    self.done = row.is_err();
                    return Some(row);
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(InputError::Io(e)));
                }
            }
        }
        None
    }
}

/// serde_json's message without its "at line 1 column 5" suffix (the line is ours).
pub(super) fn strip_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(pos) => format!("{} (column {})", &text[..pos], e.column()),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use amili_payments::PaymentInput;

    type Row = super::Row<PaymentInput>;

    /// A payment's keys, and `ignored`.
    fn keys(ignored: &[&str]) -> Keys {
        Keys::of::<amili_payments::Payment>(&super::super::Columns {
            ignored: ignored.iter().map(|k| k.to_string()).collect(),
            ..Default::default()
        })
    }

    #[test]
    fn reads_objects_skips_blank_lines_and_keeps_bad_lines() {
        let text = "{\"a\":1}\n\n  \n{oops\n[1]\n{\"currency\":\"x\"}\n{\"amount\":true}";
        let rows: Vec<Row> = JsonlRows::<_, PaymentInput>::new(text.as_bytes(), keys(&["a"]))
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[0].line, 1);
        assert_eq!(rows[1].line, 4);
        assert!(
            rows[1]
                .input
                .as_ref()
                .unwrap_err()
                .starts_with("not a JSON object"),
            "{:?}",
            rows[1].input
        );
        assert!(
            rows[2]
                .input
                .as_ref()
                .unwrap_err()
                .contains("found an array")
        );
        assert_eq!(rows[3].line, 6);
        assert_eq!(
            rows[3].input.as_ref().unwrap().currency.as_deref(),
            Some("x")
        );
        // A field of the wrong type is named.
        let wrong = rows[4].input.as_ref().unwrap_err();
        assert!(wrong.starts_with("amount: "), "{wrong}");
    }

    #[test]
    fn a_key_that_does_not_belong_ends_the_file_naming_it() {
        let text = "{\"amount\":\"1\"}\n{\"ammount\":\"1\"}\n{\"amount\":\"2\"}\n";
        let rows: Vec<_> = JsonlRows::<_, PaymentInput>::new(text.as_bytes(), keys(&[])).collect();
        assert_eq!(rows.len(), 2);
        let err = rows[1]
            .as_ref()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.starts_with("line 2: unknown field \"ammount\" (did you mean \"amount\"?)"),
            "{err}"
        );
        let rows = JsonlRows::<_, PaymentInput>::new(text.as_bytes(), keys(&["ammount"]));
        assert!(rows.map(|r| r.map(|_| ())).all(|r| r.is_ok()));
        let payment = "{\"amount\":\"-1\",\"type\":\"DIRECT_PAYMENT\"}\n";
        let correction_keys = Keys::of::<amili_payments::Correction>(&Default::default());
        let err = JsonlRows::<_, amili_payments::CorrectionInput>::new(
            payment.as_bytes(),
            correction_keys,
        )
        .next()
        .and_then(|r| r.err())
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("use `amili payments submit`"), "{err}");
    }
}

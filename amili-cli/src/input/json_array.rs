//! Rows of one JSON array of objects, read element by element.
//!
//! A small scanner finds where each top-level element starts and ends (tracking strings and
//! nesting) and hands only that element to serde_json, so a large array never sits in memory
//! whole and each element keeps the line it starts on.

use std::io::{BufReader, Read};

use std::marker::PhantomData;

use serde::de::DeserializeOwned;

use super::{InputError, Keys, Row, parse_row};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the opening `[`.
    Start,
    /// After `[`: an element or `]`.
    FirstElement,
    /// After `,`: an element.
    Element,
    /// After an element: `,` or `]`.
    Separator,
    /// After the closing `]`: only whitespace.
    End,
    Finished,
}

/// Streams the elements of a JSON array as rows.
pub struct JsonArrayRows<R: Read, I> {
    input: PhantomData<fn() -> I>,
    keys: Keys,
    bytes: std::io::Bytes<BufReader<R>>,
    peeked: Option<u8>,
    line: u64,
    state: State,
    element: Vec<u8>,
}

impl<R: Read, I> JsonArrayRows<R, I> {
    pub fn new(inner: R, keys: Keys) -> Self {
        JsonArrayRows {
            input: PhantomData,
            keys,
            bytes: BufReader::with_capacity(64 * 1024, inner).bytes(),
            peeked: None,
            line: 1,
            state: State::Start,
            element: Vec::new(),
        }
    }

    fn bump(&mut self) -> Result<Option<u8>, InputError> {
        let byte = match self.peeked.take() {
            Some(b) => Some(b),
            None => self.bytes.next().transpose()?,
        };
        if byte == Some(b'\n') {
            self.line += 1;
        }
        Ok(byte)
    }

    fn peek(&mut self) -> Result<Option<u8>, InputError> {
        if self.peeked.is_none() {
            self.peeked = self.bytes.next().transpose()?;
        }
        Ok(self.peeked)
    }

    /// Skips whitespace (and a leading byte-order mark) and returns the next byte, unconsumed.
    fn skip_ws(&mut self) -> Result<Option<u8>, InputError> {
        loop {
            match self.peek()? {
                Some(b) if b.is_ascii_whitespace() => {
                    self.bump()?;
                }
                Some(0xEF) if self.state == State::Start => {
                    for _ in 0..3 {
                        self.bump()?;
                    }
                }
                other => return Ok(other),
            }
        }
    }

    fn syntax(&mut self, message: impl Into<String>) -> InputError {
        self.state = State::Finished;
        InputError::Syntax {
            line: self.line,
            message: message.into(),
        }
    }

    /// Reads one element into `self.element`; the first byte is not yet consumed.
    fn read_element(&mut self) -> Result<(), InputError> {
        self.element.clear();
        let start = self.line;
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        loop {
            let Some(b) = self.peek()? else {
                return Err(self.syntax(format!(
                    "the file ends inside the element that starts on line {start}"
                )));
            };
            if !in_string && depth == 0 && (b == b',' || b == b']' || b.is_ascii_whitespace()) {
                return Ok(());
            }
            self.bump()?;
            self.element.push(b);
            if self.element.len() > super::MAX_ROW_BYTES {
                return Err(self.syntax(format!(
                    "the element that starts on line {start} is longer than {} bytes; a \
                     payment is far smaller (is the file what it should be?)",
                    super::MAX_ROW_BYTES
                )));
            }
            if in_string {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return Ok(());
                    }
                }
                _ => {}
            }
        }
    }
}

impl<R: Read, I: DeserializeOwned> Iterator for JsonArrayRows<R, I> {
    type Item = Result<Row<I>, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        let result = (|| -> Result<Option<Row<I>>, InputError> {
            loop {
                match self.state {
                    State::Finished => return Ok(None),
                    State::Start => match self.skip_ws()? {
                        Some(b'[') => {
                            self.bump()?;
                            self.state = State::FirstElement;
                        }
                        None => return Err(self.syntax("the file is empty; expected a JSON array")),
                        Some(_) => {
                            return Err(self.syntax(
                                "expected a JSON array of payments (`[` … `]`); \
                                 for one object per line use --format jsonl",
                            ));
                        }
                    },
                    State::FirstElement | State::Element => match self.skip_ws()? {
                        Some(b']') if self.state == State::FirstElement => {
                            self.bump()?;
                            self.state = State::End;
                        }
                        None => return Err(self.syntax("the file ends inside the JSON array")),
                        Some(_) => {
                            let line = self.line;
                            self.read_element()?;
                            self.state = State::Separator;
                            return parse_row(&self.keys, line, &self.element).map(Some);
                        }
                    },
                    State::Separator => match self.skip_ws()? {
                        Some(b',') => {
                            self.bump()?;
                            self.state = State::Element;
                        }
                        Some(b']') => {
                            self.bump()?;
                            self.state = State::End;
                        }
                        None => return Err(self.syntax("the file ends inside the JSON array")),
                        Some(b) => {
                            return Err(self.syntax(format!(
                                "expected `,` or `]` after an element, found `{}`",
                                char::from(b)
                            )));
                        }
                    },
                    State::End => match self.skip_ws()? {
                        None => {
                            self.state = State::Finished;
                            return Ok(None);
                        }
                        Some(_) => {
                            return Err(self.syntax("unexpected text after the JSON array"));
                        }
                    },
                }
            }
        })();
        match result {
            Ok(Some(row)) => Some(Ok(row)),
            Ok(None) => None,
            Err(e) => {
                self.state = State::Finished;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use amili_payments::PaymentInput;

    type Row = super::Row<PaymentInput>;

    fn read(text: &str) -> Vec<Result<Row, InputError>> {
        let keys = Keys::of::<amili_payments::Payment>(&super::super::Columns {
            ignored: vec!["a".into(), "b".into(), "d".into()],
            ..Default::default()
        });
        JsonArrayRows::<_, PaymentInput>::new(text.as_bytes(), keys).collect()
    }

    #[test]
    fn elements_with_lines() {
        let text = "\u{feff}[\n  {\"description\": \"x]}\\\"\"},\n  {\"b\": [1, {\"c\": 2}]},\n  3,\n  {\"d\": }\n]\n";
        let rows = read(text);
        assert_eq!(rows.len(), 4, "{rows:?}");
        let rows: Vec<Row> = rows.into_iter().map(|r| r.unwrap()).collect();
        assert_eq!(rows[0].line, 2);
        assert_eq!(
            rows[0].input.as_ref().unwrap().description.as_deref(),
            Some("x]}\"")
        );
        assert_eq!(rows[1].line, 3);
        assert!(
            rows[2]
                .input
                .as_ref()
                .unwrap_err()
                .contains("found a number")
        );
        assert_eq!(rows[3].line, 5);
        assert!(rows[3].input.is_err());
    }

    #[test]
    fn empty_array_and_broken_files() {
        assert!(read("[ ]").is_empty());
        let err = read("{\"a\":1}").pop().unwrap().unwrap_err();
        assert!(err.to_string().contains("--format jsonl"), "{err}");
        let rows = read("[{\"a\":1},\n{\"b\":");
        assert!(rows[0].is_ok());
        assert!(rows[1].as_ref().unwrap_err().to_string().contains("line 2"));
        let rows = read("[{\"a\":1} {\"b\":2}]");
        assert!(
            rows[1]
                .as_ref()
                .unwrap_err()
                .to_string()
                .contains("expected `,`")
        );
        assert!(read("").pop().unwrap().is_err());
    }
}

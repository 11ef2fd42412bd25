//! CSV rows: a header row of the API's field names, then one payment per record.

use std::io::Read;

use amili_payments::PaymentInput;
use amili_payments::validation::AmountInput;

use super::{FIELDS, InputError, Row};

/// Streams the records of a CSV file as rows.
pub struct CsvRows<R: Read> {
    reader: csv::Reader<R>,
    /// For each column: the API field it holds, or `None` for an ignored column.
    columns: Vec<Option<&'static str>>,
    record: csv::ByteRecord,
    done: bool,
}

/// A header name as compared: lower case, without spaces, `_` or `-`.
fn normalized(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '\u{a0}'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The API field a header names, matched without regard to case and spaces.
fn field_of(name: &str) -> Option<&'static str> {
    let name = normalized(name);
    FIELDS.iter().copied().find(|f| normalized(f) == name)
}

/// The API field a misspelt header most likely means.
fn did_you_mean(name: &str) -> Option<&'static str> {
    let name = normalized(name);
    FIELDS
        .iter()
        .copied()
        .map(|f| (strsim::damerau_levenshtein(&name, &normalized(f)), f))
        .filter(|(distance, f)| *distance <= (f.len() / 3).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, f)| f)
}

impl<R: Read> CsvRows<R> {
    /// Reads and checks the header. Returns the rows and warnings about ignored columns.
    pub fn new(inner: R, delimiter: u8) -> Result<(Self, Vec<String>), InputError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(inner);
        let headers = reader.byte_headers().map_err(csv_fatal)?.clone();
        if headers.is_empty() || (headers.len() == 1 && headers[0].is_empty()) {
            return Err(InputError::Syntax {
                line: 1,
                message: format!(
                    "the file is empty; expected a header row: {}",
                    FIELDS.join(",")
                ),
            });
        }
        let mut warnings = Vec::new();
        let mut columns = Vec::with_capacity(headers.len());
        for raw in headers.iter() {
            let name = String::from_utf8_lossy(raw);
            let name = name.trim();
            match field_of(name) {
                Some(field) if columns.contains(&Some(field)) => {
                    return Err(InputError::Syntax {
                        line: 1,
                        message: format!("header: column \"{name}\" ({field}) appears twice"),
                    });
                }
                Some(field) => columns.push(Some(field)),
                None => {
                    let hint = did_you_mean(name)
                        .map(|f| format!(" (did you mean \"{f}\"?)"))
                        .unwrap_or_default();
                    warnings.push(format!(
                        "line 1: column \"{name}\" is not an API field and is ignored{hint}"
                    ));
                    columns.push(None);
                }
            }
        }
        let missing: Vec<&str> = FIELDS
            .iter()
            .copied()
            .filter(|f| !columns.contains(&Some(*f)))
            .collect();
        if !missing.is_empty() {
            let shown = if delimiter == b'\t' {
                "tab".to_owned()
            } else {
                format!("\"{}\"", char::from(delimiter))
            };
            return Err(InputError::Syntax {
                line: 1,
                message: format!(
                    "header: missing column{} {} (read with the delimiter {shown}; expected the \
                     API's field names: {}; pass --delimiter if the file uses another)",
                    if missing.len() == 1 { "" } else { "s" },
                    missing.join(", "),
                    FIELDS.join(",")
                ),
            });
        }
        Ok((
            CsvRows {
                reader,
                columns,
                record: csv::ByteRecord::new(),
                done: false,
            },
            warnings,
        ))
    }

    /// The record straight into the library's input type (cells trimmed).
    fn input_from_record(&self) -> Result<PaymentInput, String> {
        if self.record.len() != self.columns.len() {
            return Err(format!(
                "has {} field{}, the header has {}",
                self.record.len(),
                if self.record.len() == 1 { "" } else { "s" },
                self.columns.len()
            ));
        }
        let mut input = PaymentInput::default();
        for (column, raw) in self.columns.iter().zip(self.record.iter()) {
            let Some(field) = column else { continue };
            let text = std::str::from_utf8(raw)
                .map_err(|_| format!("{field}: is not valid UTF-8 (save the file as UTF-8)"))?
                .trim()
                .to_owned();
            let slot = match *field {
                "invoiceId" => &mut input.invoice_id,
                "type" => &mut input.payment_type,
                "currency" => &mut input.currency,
                "date" => &mut input.date,
                "description" => &mut input.description,
                "uniqueSourcePaymentId" => &mut input.unique_source_payment_id,
                _ => {
                    input.amount = Some(AmountInput::Text(text));
                    continue;
                }
            };
            *slot = Some(text);
        }
        Ok(input)
    }
}

impl<R: Read> Iterator for CsvRows<R> {
    type Item = Result<Row, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => {
                self.done = true;
                None
            }
            Ok(true) => {
                // csv reports where it started reading, which is before any blank lines it
                // skipped; the end position minus the newlines inside the fields is exact.
                let reported = self.record.position().map_or(0, |p| p.line());
                let inner_newlines: u64 = self
                    .record
                    .iter()
                    .map(|f| f.iter().filter(|b| **b == b'\n').count() as u64)
                    .sum();
                let end = self.reader.position().line();
                let line = reported.max(end.saturating_sub(inner_newlines + 1));
                Some(Ok(Row {
                    line,
                    input: self.input_from_record(),
                }))
            }
            Err(e) => {
                self.done = true;
                Some(Err(csv_fatal(e)))
            }
        }
    }
}

fn csv_fatal(e: csv::Error) -> InputError {
    let line = e.position().map_or(0, |p| p.line());
    let message = e.to_string();
    match e.into_kind() {
        csv::ErrorKind::Io(io) => InputError::Io(io),
        _ => InputError::Syntax { line, message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "invoiceId,type,amount,currency,date,description,uniqueSourcePaymentId\n";

    fn read(text: &str) -> Vec<Row> {
        let (rows, _) = CsvRows::new(text.as_bytes(), b',').unwrap();
        rows.map(|r| r.unwrap()).collect()
    }

    #[test]
    fn reads_rows_with_physical_line_numbers() {
        let text = format!(
            "{HEADER}a,DIRECT_PAYMENT,1.00,NOK,2025-01-01T00:00:00Z,\"two\nlines\",P-1\n\nb,DIRECT_PAYMENT,2.50,NOK,2025-01-01T00:00:00Z,x,P-2\n"
        );
        let rows = read(&text);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[1].line, 5);
        let f = rows[1].input.as_ref().unwrap();
        assert_eq!(f.amount, Some(AmountInput::Text("2.50".into())));
        assert_eq!(f.unique_source_payment_id.as_deref(), Some("P-2"));
        assert_eq!(
            rows[0].input.as_ref().unwrap().description.as_deref(),
            Some("two\nlines")
        );
    }

    #[test]
    fn short_record_is_a_row_error_not_fatal() {
        let text = format!("{HEADER}a,b\nc,DIRECT_PAYMENT,1,NOK,d,e,f\n");
        let rows = read(&text);
        assert_eq!(rows.len(), 2);
        assert!(rows[0].input.as_ref().unwrap_err().contains("has 2 fields"));
        assert!(rows[1].input.is_ok());
    }

    #[test]
    fn missing_column_is_fatal_and_unknown_is_a_warning() {
        let err = CsvRows::new("invoiceId,type\n".as_bytes(), b',')
            .err()
            .unwrap();
        assert!(err.to_string().contains("missing columns amount"), "{err}");
        let (_, warnings) = CsvRows::new(
            "InvoiceId, TYPE ,amount,Currency,date,description,unique_source_payment_id,ammount\n"
                .as_bytes(),
            b',',
        )
        .unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("did you mean \"amount\""),
            "{warnings:?}"
        );
    }

    #[test]
    fn crlf_and_semicolons_keep_physical_line_numbers() {
        let text = "invoiceId;type;amount;currency;date;description;uniqueSourcePaymentId\r\n\
                    a;DIRECT_PAYMENT;4 500,00;NOK;09.03.2025;\"two\r\nlines\";P-1\r\n\
                    \r\n\
                    b;DIRECT_PAYMENT;1,00;NOK;09.03.2025;x;P-2\r\n";
        let (rows, _) = CsvRows::new(
            super::super::line_ends::CrlfToLf::new(text.as_bytes()),
            b';',
        )
        .unwrap();
        let rows: Vec<Row> = rows.map(|r| r.unwrap()).collect();
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 5]);
        assert_eq!(
            rows[0].input.as_ref().unwrap().amount,
            Some(AmountInput::Text("4 500,00".into()))
        );
    }

    #[test]
    fn empty_file_is_fatal() {
        assert!(CsvRows::new("".as_bytes(), b',').is_err());
    }
}

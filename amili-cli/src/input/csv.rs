//! CSV rows: a header row of the API's field names, then one payment or correction per
//! record. The invoice may be named by an `invoiceNumber` or `uniqueSourceInvoiceId` column
//! instead of `invoiceId` (one of the three per file).

use std::io::Read;
use std::marker::PhantomData;

use amili_payments::invoices::InvoiceRef;

use super::{InputError, Row};
use crate::kind::{FileKind, REFERENCE_FIELDS};

/// Streams the records of a CSV file as rows.
pub struct CsvRows<R: Read, K: FileKind> {
    reader: csv::Reader<R>,
    /// For each column: the field it holds, or `None` for an ignored column.
    columns: Vec<Option<&'static str>>,
    record: csv::ByteRecord,
    done: bool,
    kind: PhantomData<fn() -> K>,
}

/// A header name as compared: lower case, without spaces, `_` or `-`.
fn normalized(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '\u{a0}'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The columns a file of `K` may have: the API's fields and the invoice references.
fn known<K: FileKind>() -> impl Iterator<Item = &'static str> {
    K::FIELDS.iter().chain(REFERENCE_FIELDS.iter()).copied()
}

/// The column a header names, matched without regard to case and spaces.
fn field_of<K: FileKind>(name: &str) -> Option<&'static str> {
    let name = normalized(name);
    known::<K>().find(|f| normalized(f) == name)
}

/// The column a misspelt header most likely means.
fn did_you_mean<K: FileKind>(name: &str) -> Option<&'static str> {
    let name = normalized(name);
    known::<K>()
        .map(|f| (strsim::damerau_levenshtein(&name, &normalized(f)), f))
        .filter(|(distance, f)| *distance <= (f.len() / 3).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, f)| f)
}

impl<R: Read, K: FileKind> CsvRows<R, K> {
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
                    K::FIELDS.join(",")
                ),
            });
        }
        let mut warnings = Vec::new();
        let mut columns = Vec::with_capacity(headers.len());
        for raw in headers.iter() {
            let name = String::from_utf8_lossy(raw);
            let name = name.trim();
            match field_of::<K>(name) {
                Some(field) if columns.contains(&Some(field)) => {
                    return Err(InputError::Syntax {
                        line: 1,
                        message: format!("header: column \"{name}\" ({field}) appears twice"),
                    });
                }
                Some(field) => columns.push(Some(field)),
                None => {
                    let hint = did_you_mean::<K>(name)
                        .map(|f| format!(" (did you mean \"{f}\"?)"))
                        .unwrap_or_default();
                    warnings.push(format!(
                        "line 1: column \"{name}\" is not an API field and is ignored{hint}"
                    ));
                    columns.push(None);
                }
            }
        }
        let invoice_columns: Vec<&str> = ["invoiceId"]
            .into_iter()
            .chain(REFERENCE_FIELDS)
            .filter(|f| columns.contains(&Some(*f)))
            .collect();
        if let [first, second, ..] = invoice_columns.as_slice() {
            return Err(InputError::Syntax {
                line: 1,
                message: format!(
                    "header: the invoice is named by both {first} and {second}; keep one column \
                     (invoiceId, invoiceNumber or uniqueSourceInvoiceId)"
                ),
            });
        }
        let missing: Vec<&str> = K::FIELDS
            .iter()
            .copied()
            .filter(|f| !columns.contains(&Some(*f)))
            .filter(|f| *f != "invoiceId" || invoice_columns.is_empty())
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
                    K::FIELDS.join(",")
                ),
            });
        }
        Ok((
            CsvRows {
                reader,
                columns,
                record: csv::ByteRecord::new(),
                done: false,
                kind: PhantomData,
            },
            warnings,
        ))
    }

    /// The record straight into the library's input type (cells trimmed), and the invoice
    /// reference if the file names invoices by one.
    fn input_from_record(&self) -> Result<(K::Input, Option<InvoiceRef>), String> {
        if self.record.len() != self.columns.len() {
            return Err(format!(
                "has {} field{}, the header has {}",
                self.record.len(),
                if self.record.len() == 1 { "" } else { "s" },
                self.columns.len()
            ));
        }
        let mut input = K::Input::default();
        let mut reference = None;
        for (column, raw) in self.columns.iter().zip(self.record.iter()) {
            let Some(field) = column else { continue };
            let text = std::str::from_utf8(raw)
                .map_err(|_| format!("{field}: is not valid UTF-8 (save the file as UTF-8)"))?
                .trim()
                .to_owned();
            match *field {
                "invoiceNumber" => reference = Some(InvoiceRef::Number(text)),
                "uniqueSourceInvoiceId" => reference = Some(InvoiceRef::SourceId(text)),
                field => K::set(&mut input, field, text),
            }
        }
        Ok((input, reference))
    }
}

impl<R: Read, K: FileKind> Iterator for CsvRows<R, K> {
    type Item = Result<Row<K::Input>, InputError>;

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
                let (input, reference) = match self.input_from_record() {
                    Ok((input, reference)) => (Ok(input), reference),
                    Err(e) => (Err(e), None),
                };
                Some(Ok(Row {
                    line,
                    input,
                    reference,
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
    use amili_payments::validation::AmountInput;
    use amili_payments::{Payment, PaymentInput};

    type Row = super::Row<PaymentInput>;
    type CsvRows<R> = super::CsvRows<R, Payment>;

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

    #[test]
    fn the_invoice_may_be_named_by_a_reference_column_but_by_one_only() {
        let text = "invoiceNumber,type,amount,currency,date,description,uniqueSourcePaymentId\n\
                    INV-7 ,DIRECT_PAYMENT,1,NOK,2025-01-01,x,P-1\n";
        let rows = read(text);
        assert_eq!(rows[0].reference, Some(InvoiceRef::Number("INV-7".into())));
        assert_eq!(rows[0].input.as_ref().unwrap().invoice_id, None);
        let err = CsvRows::new(
            "invoiceId,uniqueSourceInvoiceId,type,amount,currency,date,description,\
             uniqueSourcePaymentId\n"
                .as_bytes(),
            b',',
        )
        .err()
        .unwrap();
        assert!(
            err.to_string()
                .contains("named by both invoiceId and uniqueSourceInvoiceId"),
            "{err}"
        );
        // Without any invoice column, invoiceId is the one said missing.
        let err = CsvRows::new(
            "type,amount,currency,date,description,uniqueSourcePaymentId\n".as_bytes(),
            b',',
        )
        .err()
        .unwrap();
        assert!(
            err.to_string().contains("missing column invoiceId"),
            "{err}"
        );
    }

    #[test]
    fn corrections_have_their_own_columns() {
        let text = "invoiceId;amount;currency;date;description\n\
                    4f163819-178d-470c-a246-d6768476a6ec;-1 500,00;NOK;10.03.2025;x\n";
        let (rows, warnings) =
            super::CsvRows::<_, amili_payments::Correction>::new(text.as_bytes(), b';').unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        let rows: Vec<_> = rows.map(|r| r.unwrap()).collect();
        let input = rows[0].input.as_ref().unwrap();
        assert_eq!(input.amount, Some(AmountInput::Text("-1 500,00".into())));
        assert_eq!(input.description.as_deref(), Some("x"));
    }
}

//! CSV rows: a header row of the API's field names, then one payment or correction per
//! record. The invoice may be named by an `invoiceNumber` or `uniqueSourceInvoiceId` column
//! instead of `invoiceId` (one of the three per file). Other column names are read through
//! `--column`, skipped through `--ignore-column`, and otherwise refused; rows whose cells are
//! all empty (Excel's trailing `;;;;;;`) are skipped and counted.

use std::io::Read;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use amili_payments::Submittable as _;
use amili_payments::invoices::InvoiceRef;

use super::cells::Cells;
use super::columns::{Columns, accepted, did_you_mean, field_of, normalized, other_only};
use super::line_ends::RecordCap;
use super::{InputError, MAX_ROW_BYTES, Raw, Row};
use crate::kind::{FileKind, REFERENCE_FIELDS};

/// Streams the records of a CSV file as rows; a record (the header too) longer than
/// [`MAX_ROW_BYTES`] ends the file with an error naming its line.
pub struct CsvRows<R: Read, K: FileKind> {
    reader: csv::Reader<RecordCap<R>>,
    /// For each column: the field it holds, or `None` for an ignored column.
    columns: Vec<Option<&'static str>>,
    record: csv::ByteRecord,
    done: bool,
    /// Rows skipped because every cell is empty.
    empty: Arc<AtomicU64>,
    kind: PhantomData<fn() -> K>,
}

fn header_error(message: String) -> InputError {
    InputError::Syntax {
        line: 1,
        message: format!("header: {message}"),
    }
}

/// `"a", "b"`.
fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl<R: Read, K: FileKind> CsvRows<R, K> {
    /// Reads and checks the header: every field has a column (or a default in `options`),
    /// every column is a field, mapped or ignored; a column of the other kind's file names
    /// that kind's command.
    pub fn new(inner: R, delimiter: u8, options: &Columns) -> Result<Self, InputError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(RecordCap::new(inner, MAX_ROW_BYTES));
        let headers = reader.byte_headers().map_err(csv_fatal)?.clone();
        record_ended(&mut reader);
        if headers.is_empty() || (headers.len() == 1 && headers[0].is_empty()) {
            return Err(InputError::Syntax {
                line: 1,
                message: format!(
                    "the file is empty; expected a header row: {}",
                    K::FIELDS.join(",")
                ),
            });
        }
        for (name, field) in &options.renamed {
            if field_of::<K>(field).is_none() {
                return Err(header_error(format!(
                    "--column {name}={field}: {field:?} is not a column of a {} file; accepted: \
                     {}",
                    K::NAME,
                    accepted::<K>()
                )));
            }
        }
        let names: Vec<String> = headers
            .iter()
            .map(|raw| String::from_utf8_lossy(raw).trim().to_owned())
            .collect();
        for (name, field) in &options.renamed {
            if !names.iter().any(|n| normalized(n) == normalized(name)) {
                return Err(header_error(format!(
                    "--column {name}={field}: the file has no column {name:?} (its columns: {})",
                    quoted(&names)
                )));
            }
        }
        let other_only = other_only::<K>();
        let mut columns = Vec::with_capacity(names.len());
        let mut unknown = Vec::new();
        let mut of_other = Vec::new();
        for name in &names {
            let field = match options.renamed(name) {
                Some(field) => field_of::<K>(field),
                None if options.is_ignored(name) => None,
                None => match field_of::<K>(name) {
                    Some(field) => Some(field),
                    None => {
                        if other_only.iter().any(|f| normalized(f) == normalized(name)) {
                            of_other.push(name.clone());
                        } else {
                            unknown.push(name.clone());
                        }
                        None
                    }
                },
            };
            if let Some(field) = field
                && columns.contains(&Some(field))
            {
                return Err(header_error(format!(
                    "column \"{name}\" ({field}) appears twice"
                )));
            }
            columns.push(field);
        }
        if !of_other.is_empty() {
            return Err(header_error(format!(
                "{} {} of a {} file, not a {} file: use `amili {} submit` (or --ignore-column)",
                quoted(&of_other),
                if of_other.len() == 1 {
                    "is a column"
                } else {
                    "are columns"
                },
                K::Other::NAME,
                K::NAME,
                K::Other::PLURAL,
            )));
        }
        let invoice_columns: Vec<&str> = ["invoiceId"]
            .into_iter()
            .chain(REFERENCE_FIELDS)
            .filter(|f| columns.contains(&Some(*f)))
            .collect();
        if let [first, second, ..] = invoice_columns.as_slice() {
            return Err(header_error(format!(
                "the invoice is named by both {first} and {second}; keep one column \
                 (invoiceId, invoiceNumber or uniqueSourceInvoiceId)"
            )));
        }
        let missing: Vec<&str> = K::FIELDS
            .iter()
            .copied()
            .filter(|f| !columns.contains(&Some(*f)) && !options.has_default(f))
            .filter(|f| *f != "invoiceId" || invoice_columns.is_empty())
            .collect();
        if unknown.is_empty() && missing.is_empty() {
            return Ok(CsvRows {
                reader,
                columns,
                record: csv::ByteRecord::new(),
                done: false,
                empty: Arc::default(),
                kind: PhantomData,
            });
        }
        let mut said = Vec::new();
        if !unknown.is_empty() {
            let hints: Vec<String> = unknown
                .iter()
                .map(|name| match did_you_mean::<K>(name) {
                    Some(f) => format!("{name:?} (did you mean \"{f}\"?)"),
                    None => format!("{name:?}"),
                })
                .collect();
            said.push(format!(
                "unknown column{} {}",
                if unknown.len() == 1 { "" } else { "s" },
                hints.join(", ")
            ));
        }
        if !missing.is_empty() {
            said.push(format!(
                "missing column{} {}",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", ")
            ));
        }
        let mut message = format!(
            "{}. The file's columns: {}; accepted (any case): {}. Read a column as a field with \
             --column NAME=FIELD",
            said.join("; "),
            quoted(&names),
            accepted::<K>()
        );
        if !unknown.is_empty() {
            message.push_str(", or skip it with --ignore-column NAME");
        }
        for (field, flag) in [("type", "--type"), ("currency", "--currency")] {
            if missing.contains(&field) {
                message.push_str(&format!("; give every row's {field} with {flag}"));
            }
        }
        if names.len() == 1 {
            let shown = if delimiter == b'\t' {
                "tab".to_owned()
            } else {
                format!("\"{}\"", char::from(delimiter))
            };
            message.push_str(&format!(
                "; the header was read as one column with the delimiter {shown}: pass \
                 --delimiter if the file uses another"
            ));
        }
        // A file with all of the other kind's columns and only this kind's own missing is
        // most likely the other kind's.
        let own: Vec<&str> = K::FIELDS
            .iter()
            .copied()
            .filter(|f| !K::Other::FIELDS.contains(f))
            .collect();
        if unknown.is_empty()
            && !own.is_empty()
            && missing.iter().all(|f| own.contains(f))
            && own.iter().all(|f| !columns.contains(&Some(*f)))
            && K::Other::FIELDS.iter().all(|f| {
                columns.contains(&Some(*f)) || (*f == "invoiceId" && !invoice_columns.is_empty())
            })
        {
            message.push_str(&format!(
                "; if this is a file of {}, use `amili {} submit`",
                K::Other::PLURAL,
                K::Other::PLURAL
            ));
        }
        Err(header_error(message))
    }

    /// Whether the header has a column that names the invoice by a reference.
    pub fn names_references(&self) -> bool {
        self.columns
            .iter()
            .flatten()
            .any(|field| REFERENCE_FIELDS.contains(field))
    }

    /// The counter of rows skipped because every cell is empty (read it after the rows).
    pub fn empty_rows(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.empty)
    }

    /// The record's cells for the row's fields (trimmed), and the invoice reference if the
    /// file names invoices by one.
    fn cells_of_record(&self) -> Result<(Cells, Option<InvoiceRef>), String> {
        if self.record.len() != self.columns.len() {
            return Err(format!(
                "has {} field{}, the header has {}",
                self.record.len(),
                if self.record.len() == 1 { "" } else { "s" },
                self.columns.len()
            ));
        }
        let mut cells = Cells::default();
        let mut reference = None;
        // One UTF-8 check for the whole record: a cell is then its slice (on character
        // boundaries). A record that fails it is checked cell by cell, to name the cell.
        let record = std::str::from_utf8(self.record.as_slice()).ok();
        for (index, (column, raw)) in self.columns.iter().zip(self.record.iter()).enumerate() {
            let Some(field) = column else { continue };
            let text = match record.and_then(|record| record.get(self.record.range(index)?)) {
                Some(text) => text,
                None => std::str::from_utf8(raw).map_err(|_| {
                    format!(
                        "{field}: is not valid UTF-8 (pass --encoding windows-1252 for a file \
                         Excel saved as \"CSV (semikolonseparert)\")"
                    )
                })?,
            }
            .trim();
            match *field {
                "invoiceNumber" => reference = Some(InvoiceRef::Number(text.to_owned())),
                "uniqueSourceInvoiceId" => reference = Some(InvoiceRef::SourceId(text.to_owned())),
                field => cells.push(field, text),
            }
        }
        Ok((cells, reference))
    }
}

impl<R: Read, K: FileKind> Iterator for CsvRows<R, K> {
    type Item = Result<Row<Raw<K::Input>>, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let read = loop {
            let read = self.reader.read_byte_record(&mut self.record);
            if let Ok(true) = read {
                record_ended(&mut self.reader);
            }
            match read {
                Ok(true) if self.record.iter().all(|f| f.trim_ascii().is_empty()) => {
                    self.empty.fetch_add(1, Ordering::Relaxed);
                }
                read => break read,
            }
        };
        match read {
            Ok(false) => {
                self.done = true;
                None
            }
            Ok(true) => {
                // csv reports where it started reading, which is before any blank lines it
                // skipped; the end position minus the newlines inside the fields is exact.
                let reported = self.record.position().map_or(0, |p| p.line());
                let inner_newlines = self
                    .record
                    .as_slice()
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count() as u64;
                let end = self.reader.position().line();
                let line = reported.max(end.saturating_sub(inner_newlines + 1));
                let (input, reference) = match self.cells_of_record() {
                    Ok((cells, reference)) => (Ok(Raw::Cells(cells)), reference),
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

/// Tells the cap that a record was read whole: the next starts where the reader is now.
fn record_ended<R: Read>(reader: &mut csv::Reader<RecordCap<R>>) {
    let next = reader.position();
    let (byte, line) = (next.byte(), next.line());
    reader.get_mut().record_ended(byte, line);
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
    use amili_payments::validation::AmountField;
    use amili_payments::{Payment, PaymentFields, PaymentInput};

    type Row = super::Row<Raw<PaymentInput>>;
    type CsvRows<R> = super::CsvRows<R, Payment>;

    /// A row's fields, borrowed as validation reads them.
    fn fields(row: &Row) -> PaymentFields<'_> {
        row.input.as_ref().unwrap().fields::<Payment>()
    }

    const HEADER: &str = "invoiceId,type,amount,currency,date,description,uniqueSourcePaymentId\n";

    fn read(text: &str) -> Vec<Row> {
        let rows = CsvRows::new(text.as_bytes(), b',', &Columns::default()).unwrap();
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
        let f = fields(&rows[1]);
        assert_eq!(f.amount, Some(AmountField::Text("2.50")));
        assert_eq!(f.unique_source_payment_id, Some("P-2"));
        assert_eq!(fields(&rows[0]).description, Some("two\nlines"));
    }

    /// A record is checked for UTF-8 once; a cell that is not UTF-8 is still named, also where
    /// two cells together would be (a character split across a delimiter).
    #[test]
    fn a_cell_that_is_not_utf8_is_named() {
        let row = |description: &[u8], id: &[u8]| {
            let mut text = HEADER.as_bytes().to_vec();
            text.extend_from_slice(b"a,DIRECT_PAYMENT,1.00,NOK,2025-01-01T00:00:00Z,");
            text.extend_from_slice(description);
            text.push(b',');
            text.extend_from_slice(id);
            text.push(b'\n');
            let rows = CsvRows::new(text.as_slice(), b',', &Columns::default()).unwrap();
            rows.map(|r| r.unwrap()).next().unwrap()
        };
        let good = row("Blåbær".as_bytes(), b"P-1");
        assert_eq!(fields(&good).description, Some("Blåbær"));
        // "å" is C3 A5: each half alone, the two halves in two cells, or a stray byte.
        for (description, id) in [
            (&b"Bl\xC3"[..], &b"\xA5"[..]),
            (&b"\"Bl\xC3\""[..], &b"\xA5"[..]),
            (&b"Bl\xFF"[..], &b"P-1"[..]),
        ] {
            let error = row(description, id).input.unwrap_err();
            assert!(
                error.starts_with("description: is not valid UTF-8"),
                "{error}"
            );
        }
        let error = row(b"x", b"P\xC3").input.unwrap_err();
        assert!(
            error.starts_with("uniqueSourcePaymentId: is not valid"),
            "{error}"
        );
    }

    #[test]
    fn a_row_longer_than_its_inline_cells_reads_whole() {
        let long = "æ".repeat(super::super::cells::INLINE_TEXT);
        let text = format!("{HEADER}a,DIRECT_PAYMENT,1.00,NOK,2025-01-01T00:00:00Z,{long},P-1\n");
        let rows = read(&text);
        let f = fields(&rows[0]);
        assert_eq!(f.description, Some(long.as_str()));
        assert_eq!(f.unique_source_payment_id, Some("P-1"));
        assert_eq!(f.amount, Some(AmountField::Text("1.00")));
    }

    #[test]
    fn short_record_is_a_row_error_not_fatal() {
        let text = format!("{HEADER}a,b\nc,DIRECT_PAYMENT,1,NOK,d,e,f\n");
        let rows = read(&text);
        assert_eq!(rows.len(), 2);
        assert!(rows[0].input.as_ref().unwrap_err().contains("has 2 fields"));
        assert!(rows[1].input.is_ok());
    }

    fn header_error(header: &str, options: &Columns) -> String {
        CsvRows::new(header.as_bytes(), b',', options)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn missing_and_unknown_columns_are_fatal_unless_mapped_or_ignored() {
        let none = Columns::default();
        let err = header_error("invoiceId,type\n", &none);
        assert!(err.contains("missing columns amount"), "{err}");
        let header =
            "InvoiceId, TYPE ,amount,Currency,date,description,unique_source_payment_id,ammount\n";
        let err = header_error(header, &none);
        assert!(
            err.contains("unknown column \"ammount\" (did you mean \"amount\"?)"),
            "{err}"
        );
        assert!(err.contains("--ignore-column"), "{err}");
        let ignoring = Columns {
            ignored: vec!["AMMOUNT".into()],
            ..Columns::default()
        };
        assert!(CsvRows::new(header.as_bytes(), b',', &ignoring).is_ok());
    }

    #[test]
    fn columns_are_renamed_and_fields_given_by_default() {
        let options = Columns {
            renamed: vec![
                ("Fakturanr".into(), "invoiceNumber".into()),
                ("beløp".into(), "amount".into()),
                ("Dato".into(), "date".into()),
                ("Bilagsnr".into(), "uniqueSourcePaymentId".into()),
            ],
            ignored: vec!["Tekst".into()],
            defaults: vec![
                ("type", "DIRECT_PAYMENT".into()),
                ("currency", "NOK".into()),
            ],
        };
        let text =
            "Fakturanr,Beløp,Dato,Tekst,Bilagsnr,description\nINV-1,1.00,2025-01-01,x,B-1,y\n";
        let rows: Vec<Row> = CsvRows::new(text.as_bytes(), b',', &options)
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(rows[0].reference, Some(InvoiceRef::Number("INV-1".into())));
        let input = fields(&rows[0]);
        assert_eq!(input.unique_source_payment_id, Some("B-1"));
        assert_eq!(input.description, Some("y"));
        // A mapping to a field that is not one, or from a column the file lacks, is refused.
        let wrong = Columns {
            renamed: vec![("Fakturanr".into(), "faktura".into())],
            ..options.clone()
        };
        assert!(header_error(text, &wrong).contains("\"faktura\" is not a column"));
        let absent = Columns {
            renamed: vec![("Kunde".into(), "invoiceNumber".into())],
            ..options
        };
        assert!(header_error(text, &absent).contains("the file has no column \"Kunde\""));
    }

    #[test]
    fn a_file_of_the_other_kind_names_its_command() {
        let header = "invoiceId,type,amount,currency,date,description,uniqueSourcePaymentId\n";
        let err = super::CsvRows::<_, amili_payments::Correction>::new(
            header.as_bytes(),
            b',',
            &Columns::default(),
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(
            err.contains("\"type\", \"uniqueSourcePaymentId\" are columns of a payment file")
                && err.contains("use `amili payments submit`"),
            "{err}"
        );
        let err = header_error(
            "invoiceId,amount,currency,date,description\n",
            &Columns::default(),
        );
        assert!(err.contains("use `amili corrections submit`"), "{err}");
    }

    #[test]
    fn rows_of_empty_cells_are_skipped_and_counted() {
        let text = format!(
            "{HEADER}a,DIRECT_PAYMENT,1,NOK,d,e,f\n,,,,,,\n , ,,,,,\n\nb,DIRECT_PAYMENT,1,NOK,d,e,g\n,,,,,,\n"
        );
        let rows = CsvRows::new(text.as_bytes(), b',', &Columns::default()).unwrap();
        let empty = rows.empty_rows();
        let lines: Vec<u64> = rows.map(|r| r.unwrap().line).collect();
        assert_eq!(lines, [2, 6]);
        assert_eq!(empty.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn crlf_and_semicolons_keep_physical_line_numbers() {
        let text = "invoiceId;type;amount;currency;date;description;uniqueSourcePaymentId\r\n\
                    a;DIRECT_PAYMENT;4 500,00;NOK;09.03.2025;\"two\r\nlines\";P-1\r\n\
                    \r\n\
                    b;DIRECT_PAYMENT;1,00;NOK;09.03.2025;x;P-2\r\n";
        let rows = CsvRows::new(
            super::super::line_ends::CrlfToLf::new(text.as_bytes()),
            b';',
            &Columns::default(),
        )
        .unwrap();
        let rows: Vec<Row> = rows.map(|r| r.unwrap()).collect();
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 5]);
        assert_eq!(fields(&rows[0]).amount, Some(AmountField::Text("4 500,00")));
    }

    /// Counts the bytes read from it.
    struct Counted<'a>(&'a [u8], std::rc::Rc<std::cell::Cell<usize>>);

    impl Read for Counted<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.read(buf)?;
            self.1.set(self.1.get() + n);
            Ok(n)
        }
    }

    /// The rows of `text` up to the first error, that error, and how many bytes were read.
    fn read_capped(text: &str) -> (Vec<u64>, String, usize) {
        let read = std::rc::Rc::default();
        let mut lines = Vec::new();
        let rows = CsvRows::new(
            Counted(text.as_bytes(), std::rc::Rc::clone(&read)),
            b',',
            &Columns::default(),
        );
        let err = match rows {
            Err(e) => e.to_string(),
            Ok(rows) => {
                let mut err = String::new();
                for row in rows {
                    match row {
                        Ok(row) => lines.push(row.line),
                        Err(e) => err = e.to_string(),
                    }
                }
                err
            }
        };
        (lines, err, read.get())
    }

    #[test]
    fn a_record_over_the_cap_ends_the_file_naming_its_line_without_reading_it_whole() {
        let row = |description: &str, id: &str| {
            format!("a,DIRECT_PAYMENT,1,NOK,2025-01-01,{description},{id}\n")
        };
        let huge = "x".repeat(8 * 1024 * 1024);
        let text = format!(
            "{HEADER}{}\n{}{}",
            row("ok", "P-1"),
            row(&huge, "P-2"),
            row("ok", "P-3")
        );
        let (lines, err, read) = read_capped(&text);
        assert_eq!(lines, [2]);
        assert_eq!(
            err,
            format!(
                "line 4 is longer than {MAX_ROW_BYTES} bytes; a payment row is far shorter (is \
                 the file what it should be?)"
            )
        );
        // Memory stays flat: not much more than the cap was read of the 8 MB line.
        assert!(read < 2 * MAX_ROW_BYTES, "{read} bytes read");

        // A quoted field may span lines: the record is named by the line it starts on.
        let many = "y\n".repeat(MAX_ROW_BYTES);
        let before = format!("{HEADER}{}", row("ok", "P-1"));
        let text = format!("{before}{}", row(&format!("\"{many}\""), "P-2"));
        let (lines, err, read) = read_capped(&text);
        assert_eq!(lines, [2]);
        // The line its first byte over the cap is on.
        let by = 1 + text[..before.len() + MAX_ROW_BYTES + 1]
            .matches('\n')
            .count();
        assert!(by > 30_000);
        assert!(
            err.starts_with(&format!(
                "the record that starts on line 3 (by line {by}: an unclosed quote?) is longer \
                 than {MAX_ROW_BYTES} bytes"
            )),
            "{err}"
        );
        assert!(read < 2 * MAX_ROW_BYTES, "{read} bytes read");
        // So is an over-long header.
        let (_, err, _) = read_capped(&format!("{}\n", "h".repeat(MAX_ROW_BYTES + 1)));
        assert!(err.starts_with("line 1 is longer than"), "{err}");
    }

    #[test]
    fn a_record_of_the_cap_is_read_and_one_byte_more_is_not() {
        let row = |len: usize, id: &str| {
            let start = "a,DIRECT_PAYMENT,1,NOK,2025-01-01,";
            let end = format!(",{id}");
            format!(
                "{start}{}{end}\n",
                "z".repeat(len - start.len() - end.len())
            )
        };
        let text = format!(
            "{HEADER}{}{}",
            row(MAX_ROW_BYTES, "P-1"),
            row(10_000, "P-2")
        );
        let (lines, err, _) = read_capped(&text);
        assert_eq!((lines, err.as_str()), (vec![2, 3], ""));
        let text = format!(
            "{HEADER}{}{}",
            row(MAX_ROW_BYTES + 1, "P-1"),
            row(100, "P-2")
        );
        let (lines, err, _) = read_capped(&text);
        assert!(lines.is_empty());
        assert!(err.starts_with("line 2 is longer than"), "{err}");
    }

    #[test]
    fn empty_file_is_fatal() {
        assert!(CsvRows::new("".as_bytes(), b',', &Columns::default()).is_err());
    }

    #[test]
    fn the_invoice_may_be_named_by_a_reference_column_but_by_one_only() {
        let text = "invoiceNumber,type,amount,currency,date,description,uniqueSourcePaymentId\n\
                    INV-7 ,DIRECT_PAYMENT,1,NOK,2025-01-01,x,P-1\n";
        let rows = read(text);
        assert_eq!(rows[0].reference, Some(InvoiceRef::Number("INV-7".into())));
        assert_eq!(fields(&rows[0]).invoice_id, None);
        let err = CsvRows::new(
            "invoiceId,uniqueSourceInvoiceId,type,amount,currency,date,description,\
             uniqueSourcePaymentId\n"
                .as_bytes(),
            b',',
            &Columns::default(),
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
            &Columns::default(),
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
        let rows = super::CsvRows::<_, amili_payments::Correction>::new(
            text.as_bytes(),
            b';',
            &Columns::default(),
        )
        .unwrap();
        let rows: Vec<_> = rows.map(|r| r.unwrap()).collect();
        let input = rows[0]
            .input
            .as_ref()
            .unwrap()
            .fields::<amili_payments::Correction>();
        assert_eq!(input.amount, Some(AmountField::Text("-1 500,00")));
        assert_eq!(input.description, Some("x"));
    }
}

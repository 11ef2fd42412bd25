//! Streaming readers for payment and correction files: CSV, JSON Lines and a JSON array.
//!
//! Every reader yields one [`Row`] at a time with the physical line it starts on (the CSV
//! header is line 1), so memory stays flat in the size of the file. A row that cannot be
//! parsed is still a row (its `input` is an `Err`) so that validation can report every bad
//! row at once; only problems that make the rest of the file unreadable (I/O errors, a broken
//! JSON array) end the stream with an [`InputError`].

pub mod bank;
mod cells;
mod columns;
mod csv;
mod encoding;
mod json_array;
mod jsonl;
mod line_ends;

pub use columns::{Columns, Defaults, Keys};
pub use encoding::{Encoding, is_utf8};

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use amili_payments::invoices::InvoiceRef;
use serde::de::DeserializeOwned;

use crate::kind::{FileKind, REFERENCE_FIELDS};

/// The file formats `amili` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Comma-separated values with a header row of the API's field names.
    Csv,
    /// One JSON object per line (JSON Lines / NDJSON).
    Jsonl,
    /// One JSON array of objects.
    Json,
    /// A Nets OCR giro file (told from its `NY000010` start record).
    Ocr,
    /// An ISO 20022 camt.053 or camt.054 file (told from its namespace).
    Camt,
}

impl Format {
    /// Whether the format is a bank file's (read by [`bank`]).
    pub fn is_bank(self) -> bool {
        matches!(self, Format::Ocr | Format::Camt)
    }

    /// Guesses the format from the file name's extension.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Format::Csv),
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
            Format::Json => "json",
            Format::Ocr => "ocr",
            Format::Camt => "camt",
        })
    }
}

/// The longest row (a CSV record or JSON line, a JSON array element) read, in bytes: a
/// payment is a few hundred; a longer row is a broken file, and refusing it keeps memory flat.
pub const MAX_ROW_BYTES: usize = 64 * 1024;

/// One record of the input file.
#[derive(Debug)]
pub struct Row<I> {
    /// The physical line the record starts on (1-based; the CSV header is line 1).
    pub line: u64,
    /// The record as the library's raw input type, or why it could not be read as one.
    pub input: Result<I, String>,
    /// The invoice named by `invoiceNumber` or `uniqueSourceInvoiceId` instead of `invoiceId`.
    pub reference: Option<InvoiceRef>,
}

/// A row as its reader hands it over: the library's owned raw input (a JSON object), or the
/// cells of a CSV record or bank credit (see `cells.rs`). Validation borrows either
/// ([`Raw::fields`]).
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "rows move by value in batches; a box per row is the allocation the cells avoid"
)]
pub enum Raw<I> {
    Input(I),
    Cells(cells::Cells),
}

impl<I> Raw<I> {
    /// The row borrowed as the library's raw row.
    pub fn fields<K: FileKind<Input = I>>(&self) -> K::Fields<'_> {
        match self {
            Raw::Input(input) => K::fields(input),
            Raw::Cells(cells) => cells.fields::<K>(),
        }
    }
}

impl<I> Row<I> {
    /// The row as a reader hands it over.
    fn with_raw(self) -> Row<Raw<I>> {
        Row {
            line: self.line,
            input: self.input.map(Raw::Input),
            reference: self.reference,
        }
    }
}

/// The column an invoice reference was read from.
pub fn reference_field(reference: &InvoiceRef) -> &'static str {
    match reference {
        InvoiceRef::Number(_) => REFERENCE_FIELDS[0],
        InvoiceRef::SourceId(_) => REFERENCE_FIELDS[1],
        InvoiceRef::Id(_) => "invoiceId",
    }
}

/// The reference as written in the file.
pub fn reference_text(reference: &InvoiceRef) -> String {
    match reference {
        InvoiceRef::Number(text) | InvoiceRef::SourceId(text) => text.clone(),
        InvoiceRef::Id(id) => id.to_string(),
    }
}

/// A problem that makes the rest of the file unreadable.
#[derive(Debug)]
pub enum InputError {
    /// The file could not be opened or read.
    Io(io::Error),
    /// The file's structure is broken at `line` (for example a JSON array that is not closed).
    Syntax { line: u64, message: String },
    /// A bank file that breaks its format or does not add up: refused whole.
    Refused(String),
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Io(e) => write!(f, "{e}"),
            InputError::Syntax { line, message } => write!(f, "line {line}: {message}"),
            InputError::Refused(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for InputError {}

impl From<io::Error> for InputError {
    fn from(e: io::Error) -> Self {
        InputError::Io(e)
    }
}

/// A stream of rows.
pub type Rows<'a, I> = Box<dyn Iterator<Item = Result<Row<Raw<I>>, InputError>> + Send + 'a>;

/// What a reader found at the start of the file, and its rows.
pub struct Reading<'a, I> {
    pub rows: Rows<'a, I>,
    /// Rows skipped because every cell is empty (CSV), counted as the rows are read.
    pub empty_rows: Arc<AtomicU64>,
    /// The CSV delimiter used (given or detected); `None` for JSON.
    pub delimiter: Option<u8>,
    /// Whether a row may name its invoice by a reference (a CSV file with such a column; any
    /// JSON row may).
    pub names_references: bool,
}

/// Reads rows of `K` in `format` from any buffered reader (a UTF-8 byte-order mark is
/// skipped).
///
/// For CSV the delimiter is `delimiter`, else detected from the header line (the most
/// frequent of `,`, `;` and tab); the header is checked first, against `columns`: a missing
/// or unknown column is an error before any row is read.
pub fn rows<'a, K: FileKind, R: BufRead + Send + 'a>(
    mut reader: R,
    format: Format,
    delimiter: Option<u8>,
    columns: &Columns,
) -> Result<Reading<'a, K::Input>, InputError> {
    if reader.fill_buf()?.starts_with(b"\xEF\xBB\xBF") {
        reader.consume(3);
    }
    match format {
        Format::Csv => {
            let delimiter = match delimiter {
                Some(d) => d,
                None => detect_delimiter(reader.fill_buf()?),
            };
            let rows =
                csv::CsvRows::<_, K>::new(line_ends::CrlfToLf::new(reader), delimiter, columns)?;
            Ok(Reading {
                empty_rows: rows.empty_rows(),
                names_references: rows.names_references(),
                rows: Box::new(rows),
                delimiter: Some(delimiter),
            })
        }
        Format::Jsonl => Ok(Reading {
            rows: Box::new(
                jsonl::JsonlRows::<_, K::Input>::new(
                    line_ends::LineCap::new(reader, MAX_ROW_BYTES),
                    Keys::of::<K>(columns),
                )
                .map(|row| row.map(Row::with_raw)),
            ),
            empty_rows: Arc::default(),
            delimiter: None,
            names_references: true,
        }),
        Format::Json => Ok(Reading {
            rows: Box::new(
                json_array::JsonArrayRows::<_, K::Input>::new(reader, Keys::of::<K>(columns))
                    .map(|row| row.map(Row::with_raw)),
            ),
            empty_rows: Arc::default(),
            delimiter: None,
            names_references: true,
        }),
        Format::Ocr | Format::Camt => Err(InputError::Refused(format!(
            "a {format} file is read as bank transactions, not rows"
        ))),
    }
}

/// The format of a file without a telling name, from its first bytes: a bank file's (see
/// [`bank::sniff`]), `[` a JSON array, `{` JSON Lines, anything else CSV.
pub fn sniff_format(start: &[u8]) -> Format {
    if let Some(format) = bank::sniff(start) {
        return format;
    }
    let start = start.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(start);
    match start.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => Format::Json,
        Some(b'{') => Format::Jsonl,
        _ => Format::Csv,
    }
}

/// The delimiter the header line uses most: `,`, `;` or tab (`,` when none appears).
fn detect_delimiter(start: &[u8]) -> u8 {
    let header = start.split(|b| *b == b'\n').next().unwrap_or_default();
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| {
            let n = header.iter().filter(|b| *b == d).count();
            // On a tie, the earlier candidate (`,` before `;` before tab) wins.
            (n, std::cmp::Reverse(*d == b'\t'), *d == b',')
        })
        .filter(|d| header.contains(d))
        .unwrap_or(b',')
}

/// Opens `path` for reading with a buffer, as UTF-8 text in `encoding`, naming the file in
/// the error.
pub fn open(path: &Path, encoding: Encoding) -> anyhow::Result<Box<dyn BufRead + Send>> {
    use anyhow::Context as _;
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let meta = file
        .metadata()
        .with_context(|| format!("cannot read {}", path.display()))?;
    if meta.is_dir() {
        anyhow::bail!("cannot read {}: it is a directory", path.display());
    }
    const BUFFER: usize = 256 * 1024;
    Ok(match encoding {
        Encoding::Utf8 => Box::new(BufReader::with_capacity(BUFFER, file)),
        single_byte => Box::new(BufReader::with_capacity(
            BUFFER,
            encoding::ToUtf8::new(file, single_byte),
        )),
    })
}

/// Reads one JSON object: the library's input type and the invoice reference, if any. A key
/// that does not belong in the file (`keys`) ends the reading: the file is not what the
/// command reads.
fn parse_row<I: DeserializeOwned>(
    keys: &Keys,
    line: u64,
    text: &[u8],
) -> Result<Row<I>, InputError> {
    keys.check(text)
        .map_err(|message| InputError::Syntax { line, message })?;
    let (input, reference) = match (parse_object(text), parse_reference(text)) {
        (Ok(input), Ok(reference)) => (Ok(input), reference),
        (Err(e), _) | (Ok(_), Err(e)) => (Err(e), None),
    };
    Ok(Row {
        line,
        input,
        reference,
    })
}

/// The invoice reference of a JSON object: `invoiceNumber` or `uniqueSourceInvoiceId` (read
/// only when the text names one, so rows with an `invoiceId` cost nothing more).
fn parse_reference(text: &[u8]) -> Result<Option<InvoiceRef>, String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct References {
        invoice_number: Option<String>,
        unique_source_invoice_id: Option<String>,
    }
    let names = |name: &str| text.windows(name.len()).any(|w| w == name.as_bytes());
    if !REFERENCE_FIELDS.iter().any(|f| names(f)) {
        return Ok(None);
    }
    let found: References = serde_json::from_slice(text)
        .map_err(|e| format!("not a JSON object: {}", jsonl::strip_position(&e)))?;
    match (found.invoice_number, found.unique_source_invoice_id) {
        (Some(_), Some(_)) => Err(format!(
            "{}: give invoiceNumber or uniqueSourceInvoiceId, not both",
            REFERENCE_FIELDS[0]
        )),
        (Some(number), None) => Ok(Some(InvoiceRef::Number(number.trim().to_owned()))),
        (None, Some(id)) => Ok(Some(InvoiceRef::SourceId(id.trim().to_owned()))),
        (None, None) => Ok(None),
    }
}

/// Reads one JSON object straight into the library's input type; a problem names the field
/// (`amount: invalid type: boolean …`).
fn parse_object<I: DeserializeOwned>(text: &[u8]) -> Result<I, String> {
    let first = text.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if first != Some(b'{') {
        let kind = match serde_json::from_slice::<serde::de::IgnoredAny>(text) {
            Err(e) => return Err(format!("not JSON: {}", jsonl::strip_position(&e))),
            Ok(_) => match first {
                Some(b'[') => "an array",
                Some(b'"') => "a string",
                Some(b't' | b'f') => "a boolean",
                Some(b'n') => "null",
                _ => "a number",
            },
        };
        return Err(format!("expected a JSON object, found {kind}"));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(text);
    let input: I = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let message = jsonl::strip_position(e.inner());
        let broken = matches!(
            e.inner().classify(),
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof
        );
        if broken || !path.starts_with(|c: char| c.is_ascii_alphabetic()) {
            format!("not a JSON object: {message}")
        } else {
            format!("{path}: {message}")
        }
    })?;
    deserializer
        .end()
        .map_err(|e| format!("text after the object: {}", jsonl::strip_position(&e)))?;
    Ok(input)
}

//! Streaming readers for payment files: CSV, JSON Lines and a JSON array.
//!
//! Every reader yields one [`Row`] at a time with the physical line it starts on (the CSV
//! header is line 1), so memory stays flat in the size of the file. A row that cannot be
//! parsed is still a row (its `input` is an `Err`) so that validation can report every bad
//! row at once; only problems that make the rest of the file unreadable (I/O errors, a broken
//! JSON array) end the stream with an [`InputError`].

mod csv;
mod json_array;
mod jsonl;
mod line_ends;

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use amili_payments::PaymentInput;

/// The file formats `amili` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Comma-separated values with a header row of the API's field names.
    Csv,
    /// One JSON object per line (JSON Lines / NDJSON).
    Jsonl,
    /// One JSON array of objects.
    Json,
}

impl Format {
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
        })
    }
}

/// The longest row (a CSV record or JSON line, a JSON array element) read, in bytes: a
/// payment is a few hundred; a longer row is a broken file, and refusing it keeps memory flat.
pub const MAX_ROW_BYTES: usize = 64 * 1024;

/// The API's field names, in the order of the CSV header `amili` documents.
pub const FIELDS: [&str; 7] = amili_payments::PaymentInput::FIELDS;

/// One record of the input file.
#[derive(Debug)]
pub struct Row {
    /// The physical line the record starts on (1-based; the CSV header is line 1).
    pub line: u64,
    /// The record as the library's raw input type, or why it could not be read as one.
    pub input: Result<PaymentInput, String>,
}

/// A problem that makes the rest of the file unreadable.
#[derive(Debug)]
pub enum InputError {
    /// The file could not be opened or read.
    Io(io::Error),
    /// The file's structure is broken at `line` (for example a JSON array that is not closed).
    Syntax { line: u64, message: String },
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Io(e) => write!(f, "{e}"),
            InputError::Syntax { line, message } => write!(f, "line {line}: {message}"),
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
pub type Rows<'a> = Box<dyn Iterator<Item = Result<Row, InputError>> + 'a>;

/// What a reader found at the start of the file, and its rows.
pub struct Reading<'a> {
    pub rows: Rows<'a>,
    /// Warnings about the file (ignored columns).
    pub warnings: Vec<String>,
    /// The CSV delimiter used (given or detected); `None` for JSON.
    pub delimiter: Option<u8>,
}

/// Reads rows of `format` from any buffered reader (a UTF-8 byte-order mark is skipped).
///
/// For CSV the delimiter is `delimiter`, else detected from the header line (the most
/// frequent of `,`, `;` and tab); the header is checked first: a missing column is an error
/// before any row is read; unknown columns are returned as warnings and ignored.
pub fn rows<'a, R: BufRead + 'a>(
    mut reader: R,
    format: Format,
    delimiter: Option<u8>,
) -> Result<Reading<'a>, InputError> {
    if reader.fill_buf()?.starts_with(b"\xEF\xBB\xBF") {
        reader.consume(3);
    }
    match format {
        Format::Csv => {
            let delimiter = match delimiter {
                Some(d) => d,
                None => detect_delimiter(reader.fill_buf()?),
            };
            let (rows, warnings) = csv::CsvRows::new(line_ends::CrlfToLf::new(reader), delimiter)?;
            Ok(Reading {
                rows: Box::new(rows),
                warnings,
                delimiter: Some(delimiter),
            })
        }
        Format::Jsonl => Ok(Reading {
            rows: Box::new(jsonl::JsonlRows::new(line_ends::LineCap::new(
                reader,
                MAX_ROW_BYTES,
            ))),
            warnings: Vec::new(),
            delimiter: None,
        }),
        Format::Json => Ok(Reading {
            rows: Box::new(json_array::JsonArrayRows::new(reader)),
            warnings: Vec::new(),
            delimiter: None,
        }),
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

/// Opens `path` for reading with a buffer, naming the file in the error.
pub fn open(path: &Path) -> anyhow::Result<BufReader<File>> {
    use anyhow::Context as _;
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let meta = file
        .metadata()
        .with_context(|| format!("cannot read {}", path.display()))?;
    if meta.is_dir() {
        anyhow::bail!("cannot read {}: it is a directory", path.display());
    }
    Ok(BufReader::with_capacity(256 * 1024, file))
}

/// Reads one JSON object straight into the library's input type; a problem names the field
/// (`amount: invalid type: boolean …`).
fn parse_object(text: &[u8]) -> Result<PaymentInput, String> {
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
    let input: PaymentInput = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
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

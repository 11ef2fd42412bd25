//! The first pass over a file: validate every row, find repeated ids, fingerprint the input.
//!
//! Memory stays flat in the file size except for 8 bytes per valid row (a 64-bit hash of its
//! `uniqueSourcePaymentId`, sorted afterwards to find repeats). Only when two hashes are equal
//! does a second, exact pass compare the ids themselves (for those hashes only), so a hash
//! collision never rejects a file.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash as _, Hasher as _};
use std::io::{self, Read};
use std::path::Path;

use amili_payments::{AmountInput, Payment, PaymentInput};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::input::{self, Format, InputError, Row};
use crate::journal::{InputId, hex};
use crate::output::Progress;

/// One problem of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: u64,
    /// The API field the problem is about, if any.
    pub field: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "line {}: {field}: {}", self.line, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

/// What the first pass found.
#[derive(Debug, Default)]
pub struct Validation {
    /// Data rows in the file.
    pub rows: u64,
    /// Rows that are valid (and not a repeat of an earlier row's id).
    pub valid: u64,
    /// Rows with at least one problem.
    pub invalid: u64,
    /// The first `max_errors` problems, in file order.
    pub problems: Vec<Problem>,
    /// How many problems there are in all.
    pub problem_count: u64,
    /// Valid rows whose `uniqueSourcePaymentId` repeats an earlier valid row's (by record
    /// index); they count as invalid.
    pub repeats: HashSet<u64>,
    /// Warnings about the file (ignored columns).
    pub warnings: Vec<String>,
    /// The input's size and SHA-256 (for the journal).
    pub input_id: Option<InputId>,
}

impl Validation {
    pub fn is_valid(&self) -> bool {
        self.invalid == 0
    }

    fn push(&mut self, problem: Problem, max: usize) {
        self.problem_count += 1;
        if self.problems.len() < max {
            self.problems.push(problem);
        }
    }
}

/// The format to read `path` as: the flag, else the extension.
pub fn resolve_format(path: &Path, flag: Option<Format>) -> anyhow::Result<Format> {
    match flag.or_else(|| Format::from_path(path)) {
        Some(format) => Ok(format),
        None => anyhow::bail!(
            "cannot tell the format of {} from its extension; pass --format csv, jsonl or json",
            path.display()
        ),
    }
}

/// Turns a row's fields into the raw input type, naming fields of the wrong JSON type.
pub fn to_input(mut fields: Map<String, Value>) -> Result<PaymentInput, Vec<(String, String)>> {
    let mut problems = Vec::new();
    let mut text = |name: &str| -> Option<String> {
        match fields.remove(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(other) => {
                problems.push((
                    name.to_owned(),
                    format!("expected a string, found {}", input::json_kind(&other)),
                ));
                None
            }
        }
    };
    let invoice_id = text("invoiceId");
    let payment_type = text("type");
    let currency = text("currency");
    let date = text("date");
    let description = text("description");
    let unique_source_payment_id = text("uniqueSourcePaymentId");
    let amount = match fields.remove("amount") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(AmountInput::Text(s)),
        Some(Value::Number(n)) => {
            // The number's own digits, read exactly (serde_json keeps them as written only
            // for integers, so go through its shortest round-trip text).
            Some(AmountInput::Text(n.to_string()))
        }
        Some(other) => {
            problems.push((
                "amount".to_owned(),
                format!("expected a number, found {}", input::json_kind(&other)),
            ));
            None
        }
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(PaymentInput {
        invoice_id,
        payment_type,
        amount,
        currency,
        date,
        description,
        unique_source_payment_id,
    })
}

/// A row checked on its own (the repeat check needs the whole file).
pub enum Checked {
    Valid(Payment),
    Invalid {
        problems: Vec<Problem>,
        /// The row's `uniqueSourcePaymentId` and `invoiceId` as written, for the report.
        source_id: String,
        invoice_id: String,
    },
}

/// Validates one row on its own.
pub fn check_row(row: Row) -> Checked {
    let line = row.line;
    let problem = |field: Option<String>, message: String| Problem {
        line,
        field,
        message,
    };
    let fields = match row.fields {
        Ok(fields) => fields,
        Err(message) => {
            return Checked::Invalid {
                problems: vec![problem(None, message)],
                source_id: String::new(),
                invoice_id: String::new(),
            };
        }
    };
    let raw = |name: &str| match fields.get(name) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let source_id = raw("uniqueSourcePaymentId");
    let invoice_id = raw("invoiceId");
    let amount = raw("amount");
    let date = raw("date");
    let input = match to_input(fields) {
        Ok(input) => input,
        Err(problems) => {
            return Checked::Invalid {
                problems: problems
                    .into_iter()
                    .map(|(f, m)| problem(Some(f), m))
                    .collect(),
                source_id,
                invoice_id,
            };
        }
    };
    match Payment::from_input(input) {
        Ok(payment) => Checked::Valid(payment),
        Err(errors) => Checked::Invalid {
            problems: errors
                .into_iter()
                .map(|e| {
                    let value = match e.field {
                        "amount" => amount.as_str(),
                        "date" => date.as_str(),
                        _ => "",
                    };
                    problem(Some(e.field.to_owned()), with_value(value, e.message))
                })
                .collect(),
            source_id,
            invoice_id,
        },
    }
}

/// Names the offending value when the message does not: `"12.345" has 3 decimals, …`.
fn with_value(value: &str, message: String) -> String {
    let value = value.trim();
    if value.is_empty() || message.contains(value) {
        message
    } else if message.starts_with(|c: char| c.is_ascii_digit()) {
        format!("{value:?} has {message}")
    } else {
        format!("{value:?}: {message}")
    }
}

fn id_hash(id: &str) -> u64 {
    let mut h = DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

/// A reader that hashes and counts what passes through it.
struct Fingerprint<R> {
    inner: R,
    hasher: Sha256,
    size: u64,
}

impl<R: Read> Read for Fingerprint<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

/// Validates every row of `path`: the first pass.
pub fn validate_file(
    path: &Path,
    format: Format,
    max_errors: usize,
    progress: &Progress,
) -> anyhow::Result<Validation> {
    let mut fingerprint = Fingerprint {
        inner: input::open(path)?,
        hasher: Sha256::new(),
        size: 0,
    };
    let mut v = Validation::default();
    let mut hashes: Vec<u64> = Vec::new();
    {
        let (rows, warnings) = input::rows(&mut fingerprint, format).map_err(|e| fatal(path, e))?;
        v.warnings = warnings;
        for row in rows {
            let row = row.map_err(|e| fatal(path, e))?;
            v.rows += 1;
            if v.rows % 10_000 == 0 {
                progress.validated(v.rows);
            }
            match check_row(row) {
                Checked::Valid(payment) => {
                    v.valid += 1;
                    hashes.push(id_hash(payment.unique_source_payment_id()));
                }
                Checked::Invalid { problems, .. } => {
                    v.invalid += 1;
                    for p in problems {
                        v.push(p, max_errors);
                    }
                }
            }
        }
    }
    // Read whatever follows the last row too (e.g. trailing blank lines) for the fingerprint.
    io::copy(&mut fingerprint, &mut io::sink())?;
    v.input_id = Some(InputId {
        size: fingerprint.size,
        sha256: hex(&fingerprint.hasher.finalize()),
    });
    progress.validated(v.rows);

    hashes.sort_unstable();
    let mut suspects: HashSet<u64> = HashSet::new();
    for pair in hashes.windows(2) {
        if pair[0] == pair[1] {
            suspects.insert(pair[0]);
        }
    }
    drop(hashes);
    if !suspects.is_empty() {
        find_repeats(path, format, &suspects, &mut v, max_errors)?;
    }
    Ok(v)
}

/// The exact check: compares the ids of the rows whose hashes collided.
fn find_repeats(
    path: &Path,
    format: Format,
    suspects: &HashSet<u64>,
    v: &mut Validation,
    max_errors: usize,
) -> anyhow::Result<()> {
    let (rows, _) = input::rows(input::open(path)?, format).map_err(|e| fatal(path, e))?;
    let mut first_line: HashMap<String, u64> = HashMap::new();
    let mut repeats = Vec::new();
    for row in rows {
        let row = row.map_err(|e| fatal(path, e))?;
        let (line, index) = (row.line, row.index);
        let Checked::Valid(payment) = check_row(row) else {
            continue;
        };
        let id = payment.unique_source_payment_id();
        if !suspects.contains(&id_hash(id)) {
            continue;
        }
        match first_line.get(id) {
            Some(first) => repeats.push((
                index,
                Problem {
                    line,
                    field: Some("uniqueSourcePaymentId".into()),
                    message: format!("{id:?} repeats the id of line {first}"),
                },
            )),
            None => {
                first_line.insert(id.to_owned(), line);
            }
        }
    }
    if repeats.is_empty() {
        return Ok(());
    }
    // Merge the repeats into the (line-ordered) problems.
    for (index, problem) in repeats {
        v.repeats.insert(index);
        v.valid -= 1;
        v.invalid += 1;
        v.push(problem, usize::MAX);
    }
    v.problems.sort_by_key(|p| p.line);
    v.problems.truncate(max_errors);
    Ok(())
}

/// Names the file in a fatal input error.
pub fn fatal(path: &Path, e: InputError) -> anyhow::Error {
    match e {
        InputError::Io(io) => anyhow::anyhow!("cannot read {}: {io}", path.display()),
        InputError::Syntax { line, message } => anyhow::Error::new(crate::exit::UsageError(
            format!("{}: line {line}: {message}", path.display()),
        )),
    }
}

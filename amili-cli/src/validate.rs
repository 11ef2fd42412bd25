//! Reading a payment file once: every row straight into the library's input type, validated
//! by the library (every problem of every row, with its line), and spooled (see `spool.rs`)
//! so that sending never reads or validates the file again.
//!
//! Repeated ids are found with 8 bytes per valid row (a 64-bit hash of its
//! `uniqueSourcePaymentId`, sorted at the end). Only when two hashes are equal does an exact
//! pass compare the ids themselves (for those hashes only, re-reading the file), so a hash
//! collision never rejects a row.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash as _, Hasher as _};
use std::path::Path;

use amili_payments::validation::{AmountInput, InputFormat};
use amili_payments::{Payment, PaymentInput};

use crate::args::{DecimalMark, InputArgs};
use crate::input::{self, Format, InputError, Row};
use crate::output::Progress;
use crate::spool::SpoolWriter;

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
    /// Valid rows whose `uniqueSourcePaymentId` repeats an earlier valid row's (by line);
    /// they count as invalid.
    pub repeats: HashSet<u64>,
    /// Warnings about the file (ignored columns).
    pub warnings: Vec<String>,
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

/// Validates one row on its own: the library's one validation path.
pub fn check_row(row: Row, format: &InputFormat) -> Checked {
    let line = row.line;
    let problem = |field: Option<String>, message: String| Problem {
        line,
        field,
        message,
    };
    let input = match row.input {
        Ok(input) => input,
        Err(message) => {
            let (field, message) = match message.split_once(": ") {
                Some((field, rest)) if PaymentInput::FIELDS.contains(&field) => {
                    (Some(field.to_owned()), rest.to_owned())
                }
                _ => (None, message),
            };
            return Checked::Invalid {
                problems: vec![problem(field, message)],
                source_id: String::new(),
                invoice_id: String::new(),
            };
        }
    };
    let source_id = input.unique_source_payment_id.clone().unwrap_or_default();
    let invoice_id = input.invoice_id.clone().unwrap_or_default();
    let amount = match &input.amount {
        Some(AmountInput::Text(text)) => text.clone(),
        Some(AmountInput::Number(n)) => n.to_string(),
        Some(AmountInput::Integer(n)) => n.to_string(),
        None => String::new(),
    };
    let date = input.date.clone().unwrap_or_default();
    match Payment::from_input_with(input, format) {
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

/// Reads `path` once: validates every row, spools each row's outcome (a valid payment, or
/// the invalid row for the report) when `spool` is given, and finds repeated ids.
pub fn validate_file(
    path: &Path,
    args: &InputArgs,
    progress: &Progress,
    mut spool: Option<&mut SpoolWriter>,
) -> anyhow::Result<Validation> {
    let format = resolve_format(path, args.format)?;
    let max_errors = args.max_errors;
    let mut v = Validation::default();
    let mut hashes: Vec<u64> = Vec::new();
    let reading =
        input::rows(input::open(path)?, format, args.delimiter).map_err(|e| fatal(path, e))?;
    v.warnings = reading.warnings;
    let text = input_format(args, reading.delimiter);
    for row in reading.rows {
        let row = row.map_err(|e| fatal(path, e))?;
        let line = row.line;
        v.rows += 1;
        if v.rows % 10_000 == 0 {
            progress.validated(v.rows);
        }
        match check_row(row, &text) {
            Checked::Valid(payment) => {
                v.valid += 1;
                hashes.push(id_hash(payment.unique_source_payment_id()));
                if let Some(spool) = spool.as_deref_mut() {
                    spool.payment(line, &payment)?;
                }
            }
            Checked::Invalid {
                problems,
                source_id,
                invoice_id,
            } => {
                v.invalid += 1;
                if let Some(spool) = spool.as_deref_mut() {
                    spool.invalid(line, &source_id, &invoice_id, &reason_of(&problems))?;
                }
                for p in problems {
                    v.push(p, max_errors);
                }
            }
        }
    }
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
        find_repeats(path, args, &suspects, &mut v)?;
    }
    Ok(v)
}

/// How the file's text is read: decimal comma for `;`/tab files unless `--decimal` says
/// otherwise, plus `--date-format`.
fn input_format(args: &InputArgs, delimiter: Option<u8>) -> InputFormat {
    let comma = match args.decimal {
        Some(mark) => mark == DecimalMark::Comma,
        None => delimiter.is_some_and(|d| d != b','),
    };
    let mut format = if comma {
        InputFormat::decimal_comma()
    } else {
        InputFormat::default()
    };
    if let Some(pattern) = &args.date_format {
        format = format.with_date_format(pattern.clone());
    }
    format
}

/// One line for a row's problems: `amount: …; date: …`.
fn reason_of(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| match &p.field {
            Some(f) => format!("{f}: {}", p.message),
            None => p.message.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The exact check: compares the ids of the rows whose hashes collided.
fn find_repeats(
    path: &Path,
    args: &InputArgs,
    suspects: &HashSet<u64>,
    v: &mut Validation,
) -> anyhow::Result<()> {
    let format = resolve_format(path, args.format)?;
    let reading =
        input::rows(input::open(path)?, format, args.delimiter).map_err(|e| fatal(path, e))?;
    let text = input_format(args, reading.delimiter);
    let mut first_line: HashMap<String, u64> = HashMap::new();
    let mut repeats = Vec::new();
    for row in reading.rows {
        let row = row.map_err(|e| fatal(path, e))?;
        let line = row.line;
        let Checked::Valid(payment) = check_row(row, &text) else {
            continue;
        };
        let id = payment.unique_source_payment_id();
        if !suspects.contains(&id_hash(id)) {
            continue;
        }
        match first_line.get(id) {
            Some(first) => repeats.push((
                line,
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
    for (line, problem) in repeats {
        v.repeats.insert(line);
        v.valid -= 1;
        v.invalid += 1;
        v.push(problem, usize::MAX);
    }
    v.problems.sort_by_key(|p| p.line);
    v.problems.truncate(args.max_errors);
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

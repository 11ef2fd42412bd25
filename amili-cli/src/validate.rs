//! Reading a payment or correction file once: every row borrowed as the library's raw row,
//! validated by the library (every problem of every row, with its line), and spooled
//! (see `spool.rs`) so that sending never reads or validates the file again.
//!
//! Rows may name their invoice by `invoiceNumber` or `uniqueSourceInvoiceId`. Such
//! references are collected by a first read (each distinct one once), resolved to invoice ids
//! through Amili by the caller, and the file read again with the answers
//! ([`Resolved`]): a reference that matches no invoice, or more than one, is the row's
//! problem, with its line and value, like any other.
//!
//! Repeated ids are found with the library's [`IdHashes`] (8 bytes per valid row, the same
//! check as a submitted list's). Only when two hashes are equal does an exact pass compare
//! the ids themselves (for those ids only, re-reading the file), so a hash collision never
//! rejects a row.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use amili_payments::Uuid;
use amili_payments::invoices::{InvoiceRef, Unresolved};
use amili_payments::validation::{IdHashes, InputFormat, RepeatSuspects};

use crate::args::{DecimalMark, InputArgs};
use crate::input::bank::{self, Entries, Entry, NotTakenSummary};
use crate::input::{
    self, Columns, Defaults, Encoding, Format, InputError, Raw, Row, reference_field,
    reference_text,
};
use crate::kind::{FileKind, REFERENCE_FIELDS};
use crate::money::{Money, SumsBy};
use crate::progress::Progress;
use crate::read_ahead::read_ahead_with;
use crate::spool::{InvalidRow, ReadRows, SpoolWriter, Spooled};

/// What Amili answered for each invoice reference of a file.
pub type Resolved = HashMap<InvoiceRef, Result<Uuid, Unresolved>>;

/// One problem of one row (in `--json`: `{"line", "field", "message"}`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
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
    /// Notes about the file (empty rows skipped), printed as `note:`.
    pub warnings: Vec<String>,
    /// The distinct invoice references of the file, when it was read without answers for
    /// them (those rows were checked with a stand-in invoice id).
    pub references: HashSet<InvoiceRef>,
    /// The sums of the valid rows (what would be sent) and of the invalid rows whose amount
    /// and currency can be read, per currency.
    pub sums: SumsBy,
    /// A bank file's transactions that are not payments (counted in `rows`, neither valid
    /// nor invalid): reported `not_sent` with their reason.
    pub not_taken: NotTakenSummary,
    /// Invalid rows whose one problem is that their invoice reference did not resolve, with
    /// their own id (known without the look-up): the ledger may know them from an earlier
    /// run (see `from_ledger.rs`).
    pub unresolved: Vec<UnresolvedRow>,
}

/// A row invalid only because its invoice reference did not resolve (no invoice matches it,
/// several do, or its look-up failed).
#[derive(Debug)]
pub struct UnresolvedRow {
    pub line: u64,
    /// Its `uniqueSourcePaymentId`.
    pub id: String,
    pub money: Option<Money>,
}

/// The sums' categories of a validated file.
pub const VALID: &str = "valid";
pub const INVALID: &str = "invalid";
/// A bank file's transactions that are not payments.
pub const NOT_TAKEN: &str = "notTaken";

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

/// The format to read `path` as: the flag, else a bank file's told from the content, else the
/// extension.
pub fn resolve_format(path: &Path, flag: Option<Format>) -> anyhow::Result<Format> {
    match flag
        .or_else(|| bank::detect(path))
        .or_else(|| Format::from_path(path))
    {
        Some(format) => Ok(format),
        None => anyhow::bail!(
            "cannot tell the format of {} from its content or extension; pass --format csv, \
             jsonl, json, ocr or camt",
            path.display()
        ),
    }
}

/// A row checked on its own (the repeat check needs the whole file).
pub enum Checked<K> {
    Valid(K),
    Invalid {
        problems: Vec<Problem>,
        /// The row's own id and its invoice as written, for the report.
        source_id: String,
        invoice_id: String,
        /// Its amount and currency, when both can be read.
        money: Option<Money>,
        /// Whether its one problem is that its invoice reference did not resolve.
        unresolved: bool,
    },
}

/// Validates one row on its own: the library's one validation path, on the row borrowed. A
/// row naming its invoice by a reference gets the invoice id `invoices` has for it; without
/// answers, a stand-in id (the reference is then collected in `references`). `defaults`
/// (`--type`, `--currency`) fill the fields the row has no value for.
pub fn check_row<K: FileKind>(
    row: Row<Raw<K::Input>>,
    defaults: &Defaults,
    format: &InputFormat,
    invoices: Option<&Resolved>,
    references: &mut HashSet<InvoiceRef>,
) -> Checked<K> {
    let line = row.line;
    let problem = |field: Option<String>, message: String| Problem {
        line,
        field,
        message,
    };
    let raw = match row.input {
        Ok(raw) => raw,
        Err(message) => {
            let (field, message) = match message.split_once(": ") {
                Some((field, rest))
                    if K::FIELDS.contains(&field) || REFERENCE_FIELDS.contains(&field) =>
                {
                    (Some(field.to_owned()), rest.to_owned())
                }
                _ => (None, message),
            };
            return Checked::Invalid {
                problems: vec![problem(field, message)],
                source_id: String::new(),
                invoice_id: String::new(),
                money: None,
                unresolved: false,
            };
        }
    };
    let mut resolved = Uuid::encode_buffer();
    let mut input = raw.fields::<K>();
    for (field, value) in defaults {
        K::fill(&mut input, field, value);
    }
    let mut problems = Vec::new();
    let mut unresolved = false;
    if let Some(reference) = row.reference {
        let field = reference_field(&reference);
        let text = reference_text(&reference);
        // The row's `invoiceId` is the reference's invoice, or a stand-in.
        if K::raw(&input, "invoiceId").is_some() {
            problems.push(problem(
                Some(field.to_owned()),
                format!("the invoice is named twice: give invoiceId or {field}, not both"),
            ));
        } else if text.is_empty() {
            problems.push(problem(Some(field.to_owned()), "is required".to_owned()));
            K::set_field(&mut input, "invoiceId", STAND_IN);
        } else if let Err(too_long) = reference.check_length() {
            // Refused before any look-up: no query of 100 KB.
            problems.push(problem(Some(field.to_owned()), too_long));
            K::set_field(&mut input, "invoiceId", STAND_IN);
        } else {
            match invoices.map(|answers| answers.get(&reference)) {
                None => {
                    K::set_field(&mut input, "invoiceId", STAND_IN);
                    references.insert(reference);
                }
                Some(Some(Ok(id))) => {
                    let id = id.hyphenated().encode_lower(&mut resolved);
                    K::set_field(&mut input, "invoiceId", id);
                }
                Some(answer) => {
                    let why = match answer {
                        Some(Err(Unresolved::Ambiguous { matches, .. })) => format!(
                            "{text:?} matches {} invoices ({}): which one is meant cannot be told",
                            matches.len(),
                            matches
                                .iter()
                                .map(Uuid::to_string)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        Some(Err(e)) if e.is_look_up_failure() => e.to_string(),
                        _ => format!("{text:?} matches no invoice"),
                    };
                    problems.push(problem(Some(field.to_owned()), why));
                    K::set_field(&mut input, "invoiceId", STAND_IN);
                    unresolved = true;
                }
            }
        }
        if !problems.is_empty() {
            // Reported as written: the reference, not the stand-in.
            let source_id = K::reported_id(&input);
            let money = K::raw_money(&input, format);
            if let Err(more) = validated::<K>(&input, format, line) {
                problems.extend(more);
            }
            return Checked::Invalid {
                unresolved: unresolved && problems.len() == 1,
                problems,
                source_id,
                invoice_id: abridged(text),
                money,
            };
        }
    }
    match validated::<K>(&input, format, line) {
        Ok(item) => Checked::Valid(item),
        Err(problems) => Checked::Invalid {
            problems,
            source_id: K::reported_id(&input),
            invoice_id: K::raw(&input, "invoiceId").unwrap_or_default(),
            money: K::raw_money(&input, format),
            unresolved: false,
        },
    }
}

/// The row validated by the library, or its problems, each naming the value as written.
fn validated<K: FileKind>(
    input: &K::Fields<'_>,
    format: &InputFormat,
    line: u64,
) -> Result<K, Vec<Problem>> {
    K::validate(input, format).map_err(|errors| {
        errors
            .into_iter()
            .map(|e| {
                let value = K::raw(input, e.field).unwrap_or_default();
                Problem {
                    line,
                    field: Some(e.field.to_owned()),
                    message: with_value(&value, e.message),
                }
            })
            .collect()
    })
}

/// The invoice id a row naming its invoice by a reference is checked with until the
/// reference is resolved (or when it cannot be): the nil UUID.
const STAND_IN: &str = "00000000-0000-0000-0000-000000000000";

/// A reference as the report shows it: an over-long one cut to its first characters.
fn abridged(text: String) -> String {
    match text
        .char_indices()
        .nth(amili_payments::invoices::MAX_REFERENCE_CHARS)
    {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

/// Names the offending value as written when the message does not: a message that leads
/// with the value as the library read it (`12.345 has 3 decimals, …`, `2027-03-03 is in the
/// future: …`) says it as written instead (`"12,345" has 3 decimals, …`), once.
fn with_value(value: &str, message: String) -> String {
    let value = value.trim();
    if value.is_empty() {
        return message;
    }
    let leads_with_value = message.starts_with(|c: char| c.is_ascii_digit() || c == '-');
    let verb = [" is ", " has "]
        .iter()
        .filter_map(|verb| message.find(verb))
        .min();
    match verb {
        Some(at) if leads_with_value => format!("{value:?}{}", &message[at..]),
        _ if message.contains(value) => message,
        _ => format!("{value:?}: {message}"),
    }
}

/// Reads `path` once: validates every row, spools each row's outcome (a valid item, or the
/// invalid row for the report) when `spool` is given, and finds repeated ids. Invoice
/// references get their answers from `invoices`; without answers, they are collected in
/// [`Validation::references`].
pub fn validate_file<K: FileKind>(
    path: &Path,
    args: &InputArgs,
    progress: &Progress,
    mut spool: Option<&mut SpoolWriter>,
    invoices: Option<&Resolved>,
) -> anyhow::Result<Validation> {
    let format = resolve_format(path, args.format)?;
    let opened = open_entries::<K>(path, args, format)?;
    let mut validator = Validator::new(
        opened.warnings,
        opened.text,
        opened.defaults,
        invoices,
        args.max_errors,
    );
    // Parsing on a second core, validating and spooling on this one.
    let rows = read_ahead_with("amili-read", opened.make)
        .map_err(|e| anyhow::anyhow!("cannot start a thread to read {}: {e}", path.display()))?;
    for entry in rows {
        let row = validator.take::<K>(entry.map_err(|e| fatal(path, e))?);
        if validator.v.rows.is_multiple_of(10_000) {
            progress.validated(validator.v.rows);
        }
        if let Some(spool) = spool.as_deref_mut() {
            spool.write(&row)?;
        }
    }
    progress.validated(validator.v.rows);
    let (mut v, hashes) = validator.finish(&opened.empty_rows);
    if let Some(suspects) = hashes.map(IdHashes::suspects)
        && !suspects.is_empty()
    {
        find_repeats::<K>(path, args, &suspects, invoices, &mut v)?;
    }
    Ok(v)
}

/// Reads `path` and validates each row as it is read, for sending at once
/// (`--skip-invalid`): the rows in file order, each problem printed as it is met, and what
/// was found once the rows are through ([`Streamed::found`]). Repeated ids are left to
/// the library's stream filter. `None` when the file may name invoices by a reference (a
/// bank file, JSON, a CSV file with such a column): its references must be looked up first.
pub fn stream_file<K: FileKind>(
    path: &Path,
    args: &InputArgs,
) -> anyhow::Result<Option<Streamed<K>>> {
    let format = resolve_format(path, args.format)?;
    if format != Format::Csv {
        return Ok(None);
    }
    let opened = open_entries::<K>(path, args, format)?;
    if opened.names_references {
        return Ok(None);
    }
    let mut validator = Validator::new(
        opened.warnings,
        opened.text,
        opened.defaults,
        None,
        args.max_errors,
    );
    validator.echo = Some(path.display().to_string());
    validator.hashes = None;
    for note in &validator.v.warnings {
        eprintln!("note: {}: {note}", path.display());
    }
    let found = Arc::new(Mutex::new(None));
    let found_here = Arc::clone(&found);
    let empty_rows = opened.empty_rows;
    let file = path.to_path_buf();
    let make = move || {
        let mut entries = (opened.make)();
        let mut validator = Some(validator);
        std::iter::from_fn(move || {
            // Done once the file ends or fails to read.
            let validator_now = validator.as_mut()?;
            match entries.next() {
                Some(Ok(entry)) => Some(Ok(validator_now.take::<K>(entry))),
                // Not a usage error (exit 2 says nothing was sent): the valid rows before
                // it are on their way.
                Some(Err(e)) => {
                    validator = None;
                    let e = fatal(&file, e);
                    Some(Err(anyhow::anyhow!(
                        "{e:#}; the rows before it went on as usual (see the table)"
                    )))
                }
                None => {
                    let (v, _) = validator.take()?.finish(&empty_rows);
                    *lock(&found_here) = Some(v);
                    None
                }
            }
        })
    };
    let rows = read_ahead_with("amili-read", make)
        .map_err(|e| anyhow::anyhow!("cannot start a thread to read {}: {e}", path.display()))?;
    Ok(Some(Streamed {
        rows: Box::new(rows),
        found,
    }))
}

/// A file validated as it is read ([`stream_file`]).
pub struct Streamed<K> {
    pub rows: ReadRows<K>,
    /// What reading found, once every row is read (none before, or when reading failed).
    pub found: Arc<Mutex<Option<Validation>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Turns a file's entries into rows one at a time, keeping the [`Validation`]'s counts,
/// problems and sums: the one place a row is validated, whether the whole file is validated
/// before anything is sent or each row as it is sent.
struct Validator<'a> {
    v: Validation,
    /// The valid rows' ids, to find repeats once the file is read (`None`: the library's
    /// stream filter finds them).
    hashes: Option<IdHashes>,
    text: InputFormat,
    /// `--type` and `--currency`, for the rows without them.
    defaults: Defaults,
    invoices: Option<&'a Resolved>,
    max_errors: usize,
    /// Print each problem as it is met, naming this file (when rows are sent as they are
    /// read, nothing waits for the end of the file to be said).
    echo: Option<String>,
}

impl<'a> Validator<'a> {
    fn new(
        warnings: Vec<String>,
        text: InputFormat,
        defaults: Defaults,
        invoices: Option<&'a Resolved>,
        max_errors: usize,
    ) -> Self {
        let v = Validation {
            warnings,
            ..Validation::default()
        };
        Validator {
            v,
            hashes: Some(IdHashes::default()),
            text,
            defaults,
            invoices,
            max_errors,
            echo: None,
        }
    }

    /// The row `entry` is: a valid item, an invalid row with its problems, or a bank
    /// transaction that is not a payment.
    fn take<K: FileKind>(&mut self, entry: Entry<K::Input>) -> Spooled<K> {
        let v = &mut self.v;
        v.rows += 1;
        let (line, checked) = match entry {
            Entry::Row(row) => (
                row.line,
                check_row::<K>(
                    row,
                    &self.defaults,
                    &self.text,
                    self.invoices,
                    &mut v.references,
                ),
            ),
            Entry::Invalid {
                line,
                field,
                message,
                source_id,
                reference,
                money,
            } => (
                line,
                Checked::Invalid {
                    problems: vec![Problem {
                        line,
                        field: Some(field.to_owned()),
                        message,
                    }],
                    source_id,
                    invoice_id: reference,
                    money,
                    unresolved: false,
                },
            ),
            Entry::NotTaken(unsent) => {
                let money = unsent.money();
                if let Some(money) = &money {
                    v.sums.add(NOT_TAKEN, money);
                }
                v.not_taken.add(&unsent);
                return Spooled::NotTaken {
                    line: unsent.line,
                    row: InvalidRow {
                        source_id: unsent.source_id,
                        invoice_id: unsent.reference,
                        reason: unsent.reason,
                        money,
                    },
                };
            }
        };
        match checked {
            Checked::Valid(item) => {
                v.valid += 1;
                v.sums.add(VALID, &item.money());
                if let Some(hashes) = &mut self.hashes {
                    hashes.push(item.id());
                }
                Spooled::Valid { line, item }
            }
            Checked::Invalid {
                problems,
                source_id,
                invoice_id,
                money,
                unresolved,
            } => {
                v.invalid += 1;
                if let Some(money) = &money {
                    v.sums.add(INVALID, money);
                }
                if unresolved && !source_id.is_empty() {
                    let (id, money) = (source_id.clone(), money.clone());
                    v.unresolved.push(UnresolvedRow { line, id, money });
                }
                let reason = reason_of(&problems);
                for p in problems {
                    if let Some(file) = &self.echo
                        && v.problems.len() < self.max_errors
                    {
                        eprintln!("{file}: {p}");
                    }
                    v.push(p, self.max_errors);
                }
                Spooled::Invalid {
                    line,
                    row: InvalidRow {
                        source_id,
                        invoice_id,
                        reason,
                        money,
                    },
                }
            }
        }
    }

    /// What was found, once every row is through, and the valid rows' id hashes.
    fn finish(mut self, empty_rows: &AtomicU64) -> (Validation, Option<IdHashes>) {
        match empty_rows.load(Ordering::Relaxed) {
            0 => {}
            1 => self.v.warnings.push("1 empty row skipped".to_owned()),
            n => self.v.warnings.push(format!("{n} empty rows skipped")),
        }
        (self.v, self.hashes)
    }
}

/// Makes a file's entries on the thread that reads them.
type MakeEntries<I> = Box<dyn FnOnce() -> Entries<'static, I> + Send>;

/// A file opened for reading: its entries (a bank file's transactions; another file's rows,
/// with `--type` and `--currency` filled in), its warnings, how its text is read, and how
/// many empty rows were skipped.
struct Opened<I> {
    make: MakeEntries<I>,
    warnings: Vec<String>,
    text: InputFormat,
    defaults: Defaults,
    empty_rows: Arc<AtomicU64>,
    /// Whether a row may name its invoice by a reference (to be looked up first).
    names_references: bool,
}

/// Opens the file (and reads a CSV header), so that its problems are said at once.
fn open_entries<K: FileKind>(
    path: &Path,
    args: &InputArgs,
    format: Format,
) -> anyhow::Result<Opened<K::Input>> {
    if format.is_bank() {
        let naming = bank::naming::<K>(&args.bank).map_err(crate::exit::usage)?;
        // The bank reader takes the bytes as they are (OCR giro is ISO-8859-1, camt UTF-8).
        let reader = input::open(args.path_to_read(), Encoding::Utf8)?;
        let make = move || bank::entries::<K, _>(reader, format, naming);
        // A bank file's amounts, dates and columns are the reader's, not the flags'.
        let ignored = [
            ("--delimiter", args.delimiter.is_some()),
            ("--decimal", args.decimal.is_some()),
            ("--date-format", args.date_format.is_some()),
            ("--type", args.payment_type.is_some()),
            ("--currency", args.currency.is_some()),
            ("--column", !args.columns.is_empty()),
        ];
        return Ok(Opened {
            make: Box::new(make),
            warnings: ignored_flags(&ignored, "a bank file"),
            text: InputFormat::default(),
            defaults: Defaults::new(),
            empty_rows: Default::default(),
            // A bank transaction names its invoice by a reference (`--reference-as`).
            names_references: true,
        });
    }
    let columns = columns::<K>(args);
    let reading = input::rows::<K, _>(open(args)?, format, args.delimiter, &columns)
        .map_err(|e| fatal(path, e))?;
    let text = input_format(args, reading.delimiter);
    let warnings = ignored_flags(
        &[
            ("--reference-as", args.bank.reference_as.is_some()),
            ("--reference-pattern", args.bank.reference_pattern.is_some()),
        ],
        &format!("a {format} file (they are for bank files)"),
    );
    let rows = reading.rows;
    let make =
        move || -> Entries<'static, K::Input> { Box::new(rows.map(|row| row.map(Entry::Row))) };
    Ok(Opened {
        make: Box::new(make),
        warnings,
        text,
        defaults: columns.defaults,
        empty_rows: reading.empty_rows,
        names_references: reading.names_references,
    })
}

/// A warning for each flag given that does not apply to `what`.
fn ignored_flags(flags: &[(&str, bool)], what: &str) -> Vec<String> {
    flags
        .iter()
        .filter(|(_, given)| *given)
        .map(|(flag, _)| format!("{flag} does not apply to {what}: ignored"))
        .collect()
}

/// Opens the file (or the copy of standard input) in its encoding.
fn open(args: &InputArgs) -> anyhow::Result<Box<dyn std::io::BufRead + Send>> {
    input::open(args.path_to_read(), args.encoding.unwrap_or(Encoding::Utf8))
}

/// How the file's columns are read: `--column`, `--ignore-column`, `--type`, `--currency`.
fn columns<K: FileKind>(args: &InputArgs) -> Columns {
    let defaults = [("type", &args.payment_type), ("currency", &args.currency)]
        .into_iter()
        .filter(|(field, _)| K::FIELDS.contains(field))
        .filter_map(|(field, value)| Some((field, value.clone()?)));
    Columns {
        renamed: args.columns.clone(),
        ignored: args.ignored_columns.clone(),
        defaults: defaults.collect(),
    }
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
fn find_repeats<K: FileKind>(
    path: &Path,
    args: &InputArgs,
    suspects: &RepeatSuspects,
    invoices: Option<&Resolved>,
    v: &mut Validation,
) -> anyhow::Result<()> {
    let format = resolve_format(path, args.format)?;
    let opened = open_entries::<K>(path, args, format)?;
    let text = opened.text;
    let defaults = opened.defaults;
    let mut first_line: HashMap<String, u64> = HashMap::new();
    let mut repeats = Vec::new();
    for entry in (opened.make)() {
        let Entry::Row(row) = entry.map_err(|e| fatal(path, e))? else {
            continue;
        };
        let line = row.line;
        let checked = check_row::<K>(row, &defaults, &text, invoices, &mut HashSet::new());
        let Checked::Valid(item) = checked else {
            continue;
        };
        let id = item.id();
        if !suspects.may_repeat(id) {
            continue;
        }
        match first_line.get(id) {
            Some(first) => {
                let (field, message) = K::repeat_problem(id, *first);
                let money = item.money();
                v.sums.remove(VALID, &money);
                v.sums.add(INVALID, &money);
                repeats.push((
                    line,
                    Problem {
                        line,
                        field: field.map(str::to_owned),
                        message,
                    },
                ));
            }
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
        InputError::Refused(message) => anyhow::Error::new(crate::exit::UsageError(format!(
            "{}: {message}; nothing was sent",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::{STAND_IN, Uuid, with_value};

    #[test]
    fn the_stand_in_is_the_nil_uuid() {
        assert_eq!(STAND_IN, Uuid::nil().to_string());
    }

    #[test]
    fn a_value_is_quoted_once_as_written() {
        let said = |value: &str, message: &str| with_value(value, message.to_owned());
        assert_eq!(
            said(
                "0,00",
                "0.00 is not positive: an amount must be greater than 0"
            ),
            "\"0,00\" is not positive: an amount must be greater than 0"
        );
        assert_eq!(
            said("1 500,001", "1500.001 has 3 decimals, NOK allows 2"),
            "\"1 500,001\" has 3 decimals, NOK allows 2"
        );
        assert_eq!(
            said(
                "03.03.2027",
                "2027-03-03 is in the future: today is 2026-12-07 (Oslo time); a payment date \
                 must not be later than today"
            ),
            "\"03.03.2027\" is in the future: today is 2026-12-07 (Oslo time); a payment date \
             must not be later than today"
        );
        assert_eq!(
            said(
                "2027-03-03",
                "2027-03-03 is in the future: today is 2026-12-07 (Oslo time)"
            ),
            "\"2027-03-03\" is in the future: today is 2026-12-07 (Oslo time)"
        );
        assert_eq!(
            said("abc", "\"abc\" is not an amount: 'a' is not allowed"),
            "\"abc\" is not an amount: 'a' is not allowed"
        );
        assert_eq!(
            said("XYZ", "not a currency code"),
            "\"XYZ\": not a currency code"
        );
    }
}

//! Bank files — Nets OCR giro and ISO 20022 camt.053 / camt.054 — read by `amili-bankfiles`
//! as payment rows: each credit becomes the row a CSV line of the same payment gives (through
//! the kind's own setter, so validation, invoice look-ups, the spool, the ledger and the
//! report are the CSV path's), its reference naming the invoice as the operator says
//! (`--reference-as`, `--reference-pattern`). What is not a payment (reversals, debits, entries
//! not booked, transactions without a reference) comes out as [`Unsent`], with its reason and
//! amount, for the report: never dropped.
//!
//! Rows are numbered by where they are: an OCR transaction by its record 30's line; a camt
//! transaction by its place among the file's transactions (1, 2, …), its entry and detail
//! named in messages.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, Read};
use std::path::Path;

use amili_bankfiles::camt::CamtReader;
use amili_bankfiles::ocr::OcrReader;
use amili_bankfiles::{Credit, Item, Items, NotTaken, Position, Reason};
use amili_payments::Decimal;
use amili_payments::invoices::InvoiceRef;
use regex::Regex;

use super::{Format, InputError, Row};
use crate::kind::FileKind;

/// The `--help` heading of the bank-file flags.
const BANK_FILES: &str = "Bank files (OCR giro, camt.053/054)";

/// How a bank file's references name invoices: `--reference-as`, `--reference-pattern`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct BankArgs {
    /// What a bank file's payment reference (the KID; camt's creditor reference), or the part
    /// of it --reference-pattern picks, is: an `invoiceNumber` or `uniqueSourceInvoiceId`
    /// (looked up in Amili, each distinct one once; no match or several is that
    /// transaction's problem), or the `invoiceId` itself. Required for bank files.
    #[arg(long, value_enum, value_name = "FIELD", help_heading = BANK_FILES)]
    pub reference_as: Option<ReferenceAs>,

    /// The part of the reference that names the invoice: the regex's first capture group
    /// (e.g. `^0*(\d+)\d$` drops leading zeros and the KID's check digit). A reference the
    /// pattern does not match is that transaction's problem.
    #[arg(long, value_name = "REGEX", value_parser = parse_pattern, help_heading = BANK_FILES)]
    pub reference_pattern: Option<Regex>,
}

/// What a reference (or its captured part) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReferenceAs {
    /// The invoice's number in Amili.
    #[value(name = "invoiceNumber")]
    InvoiceNumber,
    /// The invoice's id in the creditor's own system.
    #[value(name = "uniqueSourceInvoiceId")]
    UniqueSourceInvoiceId,
    /// Amili's invoice id (a UUID).
    #[value(name = "invoiceId")]
    InvoiceId,
}

impl ReferenceAs {
    /// The field name, as in a CSV header.
    pub fn field(self) -> &'static str {
        match self {
            ReferenceAs::InvoiceNumber => "invoiceNumber",
            ReferenceAs::UniqueSourceInvoiceId => "uniqueSourceInvoiceId",
            ReferenceAs::InvoiceId => "invoiceId",
        }
    }
}

fn parse_pattern(text: &str) -> Result<Regex, String> {
    let regex = Regex::new(text).map_err(|e| e.to_string())?;
    if regex.captures_len() < 2 {
        return Err("the pattern needs a capture group, `(…)`: the part naming the invoice".into());
    }
    Ok(regex)
}

/// How many of a file's first bytes [`detect`] looks at.
const SNIFF_BYTES: u64 = 16 * 1024;

/// The bank-file format of the file at `path`, told from its content: OCR giro starts with
/// the start-of-transmission record `NY000010`; camt is XML naming an ISO 20022 camt.053 or
/// camt.054 namespace. `None` for anything else (or a file that cannot be read: opening it
/// later says why).
pub fn detect(path: &Path) -> Option<Format> {
    let mut start = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(SNIFF_BYTES)
        .read_to_end(&mut start)
        .ok()?;
    sniff(&start)
}

/// [`detect`] on the file's first bytes.
pub fn sniff(start: &[u8]) -> Option<Format> {
    let text = start.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(start);
    let text = &text[text.iter().position(|b| !b.is_ascii_whitespace())?..];
    let names = |needle: &[u8]| text.windows(needle.len()).any(|w| w == needle);
    if text.starts_with(b"NY000010") {
        Some(Format::Ocr)
    } else if text.starts_with(b"<")
        && (names(b"urn:iso:std:iso:20022:tech:xsd:camt.053")
            || names(b"urn:iso:std:iso:20022:tech:xsd:camt.054"))
    {
        Some(Format::Camt)
    } else {
        None
    }
}

/// How references name invoices, checked: `--reference-as` is required.
#[derive(Debug, Clone)]
pub struct Naming {
    pub field: ReferenceAs,
    pub pattern: Option<Regex>,
}

impl Naming {
    pub fn new(args: &BankArgs) -> anyhow::Result<Naming> {
        let Some(field) = args.reference_as else {
            anyhow::bail!(
                "a bank file's references can name invoices in several ways: say which with \
                 --reference-as invoiceNumber, uniqueSourceInvoiceId or invoiceId (and \
                 --reference-pattern REGEX when only part of the reference names the invoice)"
            );
        };
        Ok(Naming {
            field,
            pattern: args.reference_pattern.clone(),
        })
    }

    /// The invoice value a reference names, or why it names none.
    fn name(&self, reference: &str) -> Result<String, String> {
        let Some(pattern) = &self.pattern else {
            return Ok(reference.to_owned());
        };
        match pattern.captures(reference).and_then(|c| c.get(1)) {
            Some(part) => Ok(part.as_str().to_owned()),
            None => Err(format!(
                "{reference:?} does not match --reference-pattern {:?}",
                pattern.as_str()
            )),
        }
    }
}

/// One transaction of a bank file.
pub enum Transaction {
    /// A credit, with the invoice value its reference names (or why it names none).
    Credit {
        line: u64,
        credit: Credit,
        named: Result<String, String>,
    },
    /// Something the bank file holds that is not a payment to send.
    NotTaken { line: u64, not_taken: NotTaken },
}

/// The transactions of a bank file, in file order; a file that breaks its format or does not
/// add up ends them with [`InputError::Refused`] (the crate's message).
pub struct Transactions<R> {
    items: Items<R>,
    naming: Naming,
    count: u64,
}

impl<R: BufRead> Transactions<R> {
    /// Reads `reader` as `format` (`Ocr` or `Camt`).
    pub fn new(reader: R, format: Format, naming: Naming) -> Transactions<R> {
        let items = match format {
            Format::Camt => Items::Camt(Box::new(CamtReader::new(reader))),
            _ => Items::Ocr(OcrReader::new(reader)),
        };
        Transactions {
            items,
            naming,
            count: 0,
        }
    }

    fn line(&self, position: Position) -> u64 {
        match position {
            Position::Ocr { line } => line,
            _ => self.count,
        }
    }
}

impl<R: BufRead> Iterator for Transactions<R> {
    type Item = Result<Transaction, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = match self.items.next()? {
            Ok(item) => item,
            Err(amili_bankfiles::Error::Io(e)) => return Some(Err(InputError::Io(e))),
            Err(e) => return Some(Err(InputError::Refused(e.to_string()))),
        };
        self.count += 1;
        Some(Ok(match item {
            Item::Credit(credit) => match &credit.reference {
                Some(reference) => Transaction::Credit {
                    line: self.line(credit.position),
                    named: self.naming.name(&reference.value),
                    credit,
                },
                None => Transaction::NotTaken {
                    line: self.line(credit.position),
                    not_taken: NotTaken {
                        reason: Reason::NoReference,
                        position: credit.position,
                        transaction: Some(credit),
                    },
                },
            },
            Item::NotTaken(not_taken) => Transaction::NotTaken {
                line: self.line(not_taken.position),
                not_taken,
            },
        }))
    }
}

/// A bank transaction that is not sent, as the report shows it.
#[derive(Debug, Clone)]
pub struct Unsent {
    pub line: u64,
    /// Its payment id (empty for an AvtaleGiro assignment or a camt entry refused whole).
    pub source_id: String,
    /// Its reference as the file has it (`KID 12344`), or empty.
    pub reference: String,
    /// Why, with the amount and what to do: the report's reason.
    pub reason: String,
    /// The kind of reason, for the summary (`reversals`, `debits`, …).
    pub kind: &'static str,
    /// The amount (negative for a reversal or debit) and currency, when there is one.
    pub amount: Option<(Decimal, String)>,
}

impl Unsent {
    fn new(line: u64, not_taken: NotTaken) -> Unsent {
        let NotTaken {
            reason,
            position,
            transaction,
        } = not_taken;
        let amount = match (&transaction, &reason) {
            (Some(t), _) => Some((t.amount, t.currency.clone())),
            (None, Reason::DetailsDoNotAddUp { entry, .. }) => Some((*entry, String::new())),
            _ => None,
        };
        let kind = match reason {
            Reason::Reversal => "reversals",
            Reason::Debit => "debits",
            Reason::NotBooked(_) => "not booked",
            Reason::NoReference => "without a reference",
            Reason::AvtaleGiro { .. } => "AvtaleGiro assignments",
            Reason::DetailsDoNotAddUp { .. } => "camt batches that do not add up",
            _ => "other",
        };
        let money = amount
            .as_ref()
            .map(|(amount, currency)| format!(", {}", money(*amount, currency)))
            .unwrap_or_default();
        Unsent {
            line,
            source_id: transaction
                .as_ref()
                .map(|t| t.source_payment_id.clone())
                .unwrap_or_default(),
            reference: transaction
                .as_ref()
                .and_then(|t| t.reference.as_ref())
                .map(ToString::to_string)
                .unwrap_or_default(),
            reason: format!(
                "bank transaction not sent{}: {reason}{money}; handle it by hand",
                match position {
                    Position::Ocr { .. } => String::new(),
                    _ => format!(" ({position})"),
                }
            ),
            kind,
            amount,
        }
    }
}

fn money(amount: Decimal, currency: &str) -> String {
    if currency.is_empty() {
        amount.to_string()
    } else {
        format!("{currency} {amount}")
    }
}

/// One unit of a file as validation takes it: a row, a bank transaction whose reference
/// names no invoice, or one that is not a payment.
pub enum Entry<I> {
    Row(Row<I>),
    Invalid {
        line: u64,
        field: &'static str,
        message: String,
        source_id: String,
        reference: String,
    },
    NotTaken(Unsent),
}

/// A stream of entries (made on the thread that reads it: a bank file's reader stays on its
/// thread).
pub type Entries<'a, I> = Box<dyn Iterator<Item = Result<Entry<I>, InputError>> + 'a>;

/// How references name invoices for a file of `K`s: payments only, a bank file holds no
/// corrections.
pub fn naming<K: FileKind>(args: &BankArgs) -> anyhow::Result<Naming> {
    if !K::FIELDS.contains(&"uniqueSourcePaymentId") {
        anyhow::bail!(
            "a bank file holds payments, not {}: read it with `amili payments`",
            K::PLURAL
        );
    }
    Naming::new(args)
}

/// The entries of a bank file of `K`s.
pub fn entries<'a, K: FileKind, R: BufRead + 'a>(
    reader: R,
    format: Format,
    naming: Naming,
) -> Entries<'a, K::Input> {
    let field = naming.field;
    Box::new(
        Transactions::new(reader, format, naming).map(move |t| t.map(|t| entry::<K>(t, field))),
    )
}

/// A transaction as an entry: a credit is the row a CSV line of the same payment gives.
fn entry<K: FileKind>(transaction: Transaction, field: ReferenceAs) -> Entry<K::Input> {
    let (line, credit, named) = match transaction {
        Transaction::NotTaken { line, not_taken } => {
            return Entry::NotTaken(Unsent::new(line, not_taken));
        }
        Transaction::Credit {
            line,
            credit,
            named,
        } => (line, credit, named),
    };
    let value = match named {
        Ok(value) => value,
        Err(message) => {
            return Entry::Invalid {
                line,
                field: field.field(),
                message: match credit.position {
                    Position::Ocr { .. } => message,
                    position => format!("{position}: {message}"),
                },
                source_id: credit.source_payment_id,
                reference: credit
                    .reference
                    .map(|r| r.value.clone())
                    .unwrap_or_default(),
            };
        }
    };
    let payment = credit.to_payment_input("");
    let mut input = K::Input::default();
    let texts = [
        ("type", payment.payment_type),
        ("amount", Some(credit.amount.to_string())),
        ("currency", payment.currency),
        ("date", payment.date),
        ("description", payment.description),
        ("uniqueSourcePaymentId", payment.unique_source_payment_id),
    ];
    for (name, text) in texts {
        if let Some(text) = text {
            K::set(&mut input, name, text);
        }
    }
    let reference = match field {
        ReferenceAs::InvoiceId => {
            K::set(&mut input, "invoiceId", value);
            None
        }
        ReferenceAs::InvoiceNumber => Some(InvoiceRef::Number(value)),
        ReferenceAs::UniqueSourceInvoiceId => Some(InvoiceRef::SourceId(value)),
    };
    Entry::Row(Row {
        line,
        input: Ok(input),
        reference,
    })
}

/// The mapping `payments validate` prints, one line per transaction: the reference, the
/// invoice value it names, the amount, date and payment id; or why it is not sent.
pub fn mapping_line(transaction: &Transaction, field: ReferenceAs) -> String {
    match transaction {
        Transaction::Credit {
            line,
            credit,
            named,
        } => {
            let reference = credit
                .reference
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            let target = match named {
                Ok(value) => format!("{} {value:?}", field.field()),
                Err(why) => format!("no invoice: {why}"),
            };
            let warnings: String = credit
                .warnings
                .iter()
                .map(|w| format!(" (warning: {w})"))
                .collect();
            format!(
                "{}: {reference} → {target}: {} on {}, id {}{warnings}",
                place(*line, credit.position),
                money(credit.amount, &credit.currency),
                credit.booking_date,
                credit.source_payment_id
            )
        }
        Transaction::NotTaken { line, not_taken } => {
            let unsent = Unsent::new(*line, not_taken.clone());
            format!("line {line}: {}", unsent.reason)
        }
    }
}

/// `line 3`; a camt transaction also by its entry and detail: `line 3 (entry 2 transaction 1)`.
fn place(line: u64, position: Position) -> String {
    match position {
        Position::Ocr { .. } => format!("line {line}"),
        _ => format!("line {line} ({position})"),
    }
}

/// Prints [`mapping_line`] for every transaction of the bank file at `path` (stopping
/// quietly at a problem the first read already reported).
pub fn print_mapping(path: &Path, format: Format, naming: Naming) -> anyhow::Result<()> {
    use std::io::Write as _;
    let field = naming.field;
    let mut out = std::io::stdout().lock();
    for transaction in Transactions::new(super::open(path)?, format, naming) {
        let Ok(transaction) = transaction else {
            break;
        };
        writeln!(
            out,
            "{}: {}",
            path.display(),
            mapping_line(&transaction, field)
        )?;
    }
    Ok(())
}

/// What was not sent, by kind, with the sums of their amounts per currency.
#[derive(Debug, Default)]
pub struct NotTakenSummary {
    pub count: u64,
    kinds: BTreeMap<&'static str, (u64, BTreeMap<String, Decimal>)>,
}

impl NotTakenSummary {
    pub fn add(&mut self, unsent: &Unsent) {
        self.count += 1;
        let (count, sums) = self.kinds.entry(unsent.kind).or_default();
        *count += 1;
        if let Some((amount, currency)) = &unsent.amount {
            *sums.entry(currency.clone()).or_default() += *amount;
        }
    }
}

/// `3 bank transactions are not payments and are not sent (reversals: 1, NOK -150.00; …):
/// handle them by hand (…)`.
impl fmt::Display for NotTakenSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kinds: Vec<String> = self
            .kinds
            .iter()
            .map(|(kind, (count, sums))| {
                let sums: Vec<String> = sums.iter().map(|(c, a)| money(*a, c)).collect();
                if sums.is_empty() {
                    format!("{kind}: {count}")
                } else {
                    format!("{kind}: {count}, {}", sums.join(", "))
                }
            })
            .collect();
        write!(
            f,
            "{} bank transaction{} not payments and {} not sent ({}): handle {} by hand (each \
             is in the report, not_sent, with its line, amount and reason)",
            self.count,
            if self.count == 1 { " is" } else { "s are" },
            if self.count == 1 { "is" } else { "are" },
            kinds.join("; "),
            if self.count == 1 { "it" } else { "them" },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_is_told_from_the_content() {
        assert_eq!(sniff(b"NY000010000080801"), Some(Format::Ocr));
        assert_eq!(sniff(b"\xEF\xBB\xBF\r\nNY000010"), Some(Format::Ocr));
        let camt = br#"<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02">"#;
        assert_eq!(sniff(camt), Some(Format::Camt));
        assert_eq!(sniff(b"<Document xmlns=\"urn:example\">"), None);
        assert_eq!(sniff(b"NY,invoiceId\n"), None);
        assert_eq!(sniff(b"invoiceId,amount\nNY000010"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn a_pattern_picks_the_part_naming_the_invoice() {
        let naming = Naming {
            field: ReferenceAs::InvoiceNumber,
            pattern: Some(parse_pattern(r"^0*(\d+)\d$").unwrap()),
        };
        assert_eq!(naming.name("000123455"), Ok("12345".to_owned()));
        let err = naming.name("ABC").unwrap_err();
        assert!(err.contains("does not match --reference-pattern"), "{err}");
        assert!(parse_pattern(r"^\d+$").is_err());
        assert!(parse_pattern(r"(").is_err());
    }
}

//! A bank file's transactions: each credit with the invoice value its reference names, or what
//! is not a payment; and the mapping `payments validate` prints.

use std::io::BufRead;
use std::path::Path;

use amili_bankfiles::camt::CamtReader;
use amili_bankfiles::ocr::OcrReader;
use amili_bankfiles::{Credit, Item, Items, NotTaken, Position, Reason};

use super::naming::{Naming, ReferenceAs};
use super::unsent::{Unsent, money};
use crate::input::{Format, InputError};

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

/// The mapping `payments validate` prints, one line per transaction: the reference, the
/// invoice value it names, the amount, date and payment id; or why it is not sent.
fn mapping_line(transaction: &Transaction, field: ReferenceAs) -> String {
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

/// Writes [`mapping_line`] for every transaction of the bank file at `path` (named `name`) to
/// `out`, stopping quietly at a problem the first read already reported.
pub fn print_mapping(
    out: &mut dyn std::io::Write,
    name: &str,
    path: &Path,
    format: Format,
    naming: Naming,
) -> anyhow::Result<()> {
    let field = naming.field;
    let reader = crate::input::open(path, crate::input::Encoding::Utf8)?;
    for transaction in Transactions::new(reader, format, naming) {
        let Ok(transaction) = transaction else {
            break;
        };
        writeln!(out, "{name}: {}", mapping_line(&transaction, field))?;
    }
    Ok(())
}

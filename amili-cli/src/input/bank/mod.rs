//! Bank files — Nets OCR giro and ISO 20022 camt.053 / camt.054 — read by `amili-bankfiles`
//! as payment rows: each credit becomes the row a CSV line of the same payment gives (its
//! cells, so validation, invoice look-ups, the spool, the ledger and the
//! report are the CSV path's), its reference naming the invoice as the operator says
//! (`--reference-as`, `--reference-pattern`). What is not a payment (reversals, debits, entries
//! not booked, transactions without a reference) comes out as [`Unsent`], with its reason and
//! amount, for the report: never dropped.
//!
//! Rows are numbered by where they are: an OCR transaction by its record 30's line; a camt
//! transaction by its place among the file's transactions (1, 2, …), its entry and detail
//! named in messages.

mod detect;
mod naming;
mod transactions;
mod unsent;

use std::io::BufRead;

use amili_bankfiles::Position;
use amili_payments::invoices::InvoiceRef;

pub use detect::{detect, sniff};
pub use naming::{BankArgs, Naming, ReferenceAs};
pub use transactions::print_mapping;
use transactions::{Transaction, Transactions};
pub use unsent::{NotTakenSummary, Unsent};

use super::cells::Cells;
use super::{Format, InputError, Raw, Row};
use crate::kind::FileKind;
use crate::money::Money;

/// One unit of a file as validation takes it: a row, a bank transaction whose reference
/// names no invoice, or one that is not a payment.
#[expect(
    clippy::large_enum_variant,
    reason = "entries move by value in batches; a box per row is the allocation a CSV row's \
              inline cells avoid"
)]
pub enum Entry<I> {
    Row(Row<Raw<I>>),
    Invalid {
        line: u64,
        field: &'static str,
        message: String,
        source_id: String,
        reference: String,
        money: Option<Money>,
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
                money: unsent::to_money(credit.amount, &credit.currency),
                source_id: credit.source_payment_id,
                reference: credit
                    .reference
                    .map(|r| r.value.clone())
                    .unwrap_or_default(),
            };
        }
    };
    let payment = credit.to_payment_input("");
    let mut cells = Cells::default();
    let amount = credit.amount.to_string();
    let texts = [
        ("type", payment.payment_type.as_deref()),
        ("amount", Some(amount.as_str())),
        ("currency", payment.currency.as_deref()),
        ("date", payment.date.as_deref()),
        ("description", payment.description.as_deref()),
        (
            "uniqueSourcePaymentId",
            payment.unique_source_payment_id.as_deref(),
        ),
    ];
    for (name, text) in texts {
        if let Some(text) = text {
            cells.push(name, text);
        }
    }
    let reference = match field {
        ReferenceAs::InvoiceId => {
            cells.push("invoiceId", &value);
            None
        }
        ReferenceAs::InvoiceNumber => Some(InvoiceRef::Number(value)),
        ReferenceAs::UniqueSourceInvoiceId => Some(InvoiceRef::SourceId(value)),
    };
    Entry::Row(Row {
        line,
        input: Ok(Raw::Cells(cells)),
        reference,
    })
}

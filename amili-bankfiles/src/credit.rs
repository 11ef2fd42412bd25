//! The credit view: one customer payment read from a bank file, and what was not taken.

use std::fmt;

use amili_payments::{NaiveDate, PaymentInput, PaymentType};
use rust_decimal::Decimal;

/// One customer payment into the creditor's account, whatever file it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credit {
    /// The payment reference: the KID, or camt's structured creditor reference.
    pub reference: Option<Reference>,
    /// The exact amount in major units (`NOK 1234.50`), never rounded.
    pub amount: Decimal,
    /// The ISO 4217 currency code (OCR giro: always `NOK`).
    pub currency: String,
    /// The booking date (OCR: the settlement date of the amount record; camt: `BookgDt`,
    /// else `ValDt`).
    pub booking_date: NaiveDate,
    /// The bank's own reference for the transaction (OCR: the archive reference, which is
    /// **not** unique; camt: the transaction's `AcctSvcrRef`).
    pub bank_reference: Option<String>,
    /// The payer's name, where the file has it (camt `RltdPties/Dbtr`).
    pub payer: Option<String>,
    /// Free text, where the file has it (OCR record 32; camt `RmtInf/Ustrd`). Never matched
    /// automatically.
    pub text: Option<String>,
    /// Where in the file it came from.
    pub position: Position,
    /// The id to report to Amili as `uniqueSourcePaymentId`: derived from the bank's own
    /// identifiers, stable across copies and re-exports (see [the crate docs](crate#payment-ids)).
    pub source_payment_id: String,
    /// What looked wrong but did not stop the credit (a KID check digit that fails).
    pub warnings: Vec<Warning>,
}

impl Credit {
    /// The payment to report to Amili: type `DIRECT_PAYMENT`, this credit's amount, currency,
    /// booking date, id, and the invoice the caller matched the reference to. The description
    /// names the reference. Validate it with [`amili_payments::Payment::from_input`].
    ///
    /// ```
    /// # use amili_bankfiles::{Credit, Position, Reference, ReferenceKind};
    /// # use rust_decimal::Decimal;
    /// # let credit = Credit {
    /// #     reference: Some(Reference { kind: ReferenceKind::Kid, value: "12344".into() }),
    /// #     amount: Decimal::new(150050, 2), currency: "NOK".into(),
    /// #     booking_date: chrono::NaiveDate::from_ymd_opt(2024, 1, 31).unwrap(),
    /// #     bank_reference: None, payer: None, text: None,
    /// #     position: Position::Ocr { line: 3 },
    /// #     source_payment_id: "ocr:001234567:0000001:0000001:20240131".into(), warnings: vec![],
    /// # };
    /// let input = credit.to_payment_input("4f163819-178d-470c-a246-d6768476a6ec");
    /// let payment = amili_payments::Payment::from_input(input).unwrap();
    /// assert_eq!(payment.amount(), Decimal::new(150050, 2));
    /// assert_eq!(payment.unique_source_payment_id(), "ocr:001234567:0000001:0000001:20240131");
    /// ```
    pub fn to_payment_input(&self, invoice_id: impl fmt::Display) -> PaymentInput {
        PaymentInput {
            invoice_id: Some(invoice_id.to_string()),
            payment_type: Some(PaymentType::DirectPayment.as_str().to_owned()),
            amount: Some(self.amount.into()),
            currency: Some(self.currency.clone()),
            date: Some(self.booking_date.format("%Y-%m-%d").to_string()),
            description: self.reference.as_ref().map(ToString::to_string),
            unique_source_payment_id: Some(self.source_payment_id.clone()),
        }
    }
}

/// A payment reference and what kind it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// KID, RF or another scheme.
    pub kind: ReferenceKind,
    /// The reference as the file has it (trimmed).
    pub value: String,
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ReferenceKind::Kid => write!(f, "KID {}", self.value),
            ReferenceKind::Rf => write!(f, "RF reference {}", self.value),
            ReferenceKind::Other(code) => write!(f, "reference {} ({code})", self.value),
        }
    }
}

/// The scheme of a [`Reference`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReferenceKind {
    /// A Norwegian KID (OCR giro; camt `Tp/CdOrPrtry/Cd` = `SCOR` without an `ISO` issuer).
    Kid,
    /// An ISO 11649 RF creditor reference (camt `Tp/Issr` = `ISO`, or a value starting `RF`).
    Rf,
    /// Another scheme: the code or proprietary type the file gives, or empty.
    Other(String),
}

/// Where in the file a credit came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Position {
    /// OCR giro: the 1-based line of the transaction's amount item 1 (record 30), or of the
    /// assignment start (record 20) for a skipped AvtaleGiro assignment.
    Ocr {
        /// The 1-based line number.
        line: u64,
    },
    /// camt: the entry and its transaction detail.
    Camt {
        /// The 1-based entry (`Ntry`) number in the file.
        entry: u64,
        /// The 1-based transaction detail (`TxDtls`) number in the entry (1 when the entry
        /// has none; 0 for the entry as a whole, as in [`Reason::DetailsDoNotAddUp`]).
        transaction: u64,
    },
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Ocr { line } => write!(f, "line {line}"),
            Position::Camt { entry, transaction } => {
                write!(f, "entry {entry} transaction {transaction}")
            }
        }
    }
}

/// Something that looked wrong but did not stop a credit.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// The KID passes neither the MOD10 nor the MOD11 check digit. Real files mix both
    /// schemes (and lengths), so this is only a warning.
    KidCheckDigit,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::KidCheckDigit => {
                f.write_str("the KID fails both the MOD10 and the MOD11 check")
            }
        }
    }
}

/// A transaction (or an AvtaleGiro assignment) the reader did not take as a payment, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotTaken {
    /// Why it was not taken.
    pub reason: Reason,
    /// Where in the file it is.
    pub position: Position,
    /// The transaction as read (its amount negative for a reversal or debit), when there is
    /// one.
    pub transaction: Option<Credit>,
}

/// Why a transaction was not taken as a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// A reversal (OCR: a negative amount or transaction type 18/20; camt: `RvslInd` true).
    Reversal,
    /// A debit (camt `CdtDbtInd` = `DBIT`).
    Debit,
    /// An entry not booked yet (camt `Sts` other than `BOOK`): the status given.
    NotBooked(String),
    /// No payment reference to match (blank KID, or no structured creditor reference).
    NoReference,
    /// An AvtaleGiro assignment (service code 21) in an OCR file: skipped whole.
    AvtaleGiro {
        /// The transactions in the skipped assignment.
        transactions: u64,
    },
    /// A camt batch entry whose transaction details do not add up to the entry's amount: the
    /// entry is refused whole.
    DetailsDoNotAddUp {
        /// The entry's `Amt` (signed by `CdtDbtInd`).
        entry: Decimal,
        /// The sum of the details' amounts (each signed by its `CdtDbtInd`).
        details: Decimal,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Reversal => f.write_str("a reversal"),
            Reason::Debit => f.write_str("a debit"),
            Reason::NotBooked(status) => write!(f, "not booked (status {status})"),
            Reason::NoReference => f.write_str("no payment reference"),
            Reason::AvtaleGiro { transactions } => {
                write!(
                    f,
                    "an AvtaleGiro assignment ({transactions} transactions), skipped"
                )
            }
            Reason::DetailsDoNotAddUp { entry, details } => write!(
                f,
                "the transaction details add up to {details}, the entry's amount is {entry}"
            ),
        }
    }
}

/// One item the reader yields: a credit to report, or something not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A customer payment with a reference.
    Credit(Credit),
    /// Not a payment to report, with why.
    NotTaken(NotTaken),
}

impl Item {
    /// The transaction as a credit, or, with a reason, as not taken.
    pub(crate) fn new(credit: Credit, reason: Option<Reason>) -> Item {
        match reason {
            None => Item::Credit(credit),
            Some(reason) => Item::NotTaken(NotTaken {
                reason,
                position: credit.position,
                transaction: Some(credit),
            }),
        }
    }
}

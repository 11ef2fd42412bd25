//! Why a bank file was refused: the place (OCR line and field, camt entry and element path)
//! and the reason.

use std::fmt;
use std::io;

/// A bank file that cannot be read, or does not add up. Every variant names where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading the file failed.
    #[error("reading the bank file: {0}")]
    Io(#[from] io::Error),
    /// The file starts like neither an OCR giro file (`NY`) nor XML (`<`).
    #[error(
        "not a bank file this crate reads: it starts neither with `NY` (OCR giro) nor with `<` (camt XML)"
    )]
    UnknownFormat,
    /// An OCR giro line that breaks the format.
    #[error("OCR giro line {line}{record}: {field}: {message}", record = RecordName(*.record))]
    Ocr {
        /// The 1-based line number.
        line: u64,
        /// The record type (`30`, `88`, …) when the line had one.
        record: Option<u8>,
        /// The field and its positions, such as `amount (33–49)`.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// An OCR giro control figure that does not match what the file holds: the file is
    /// refused whole.
    #[error(
        "OCR giro line {line} (record {record}): the {figure} says {stated}, the file holds {counted}; the file does not add up and is refused whole"
    )]
    Control {
        /// The 1-based line number of the record.
        line: u64,
        /// `88` (end of assignment), `89` (end of transmission), or `30` for a transaction
        /// number out of sequence.
        record: u8,
        /// Which figure, such as `number of transactions (9–16)`.
        figure: &'static str,
        /// The figure the record states.
        stated: String,
        /// The figure counted from the records.
        counted: String,
    },
    /// A camt file that breaks the format, or an XML problem.
    #[error("camt{place} at {path}: {message}", place = CamtPlace(*.entry, *.transaction))]
    Camt {
        /// The 1-based entry (`Ntry`) number in the file, when inside one.
        entry: Option<u64>,
        /// The 1-based transaction detail (`TxDtls`) number in the entry, when inside one.
        transaction: Option<u64>,
        /// The element path, such as `Document/BkToCstmrDbtCdtNtfctn/Ntfctn/Ntry/Amt`.
        path: String,
        /// What is wrong.
        message: String,
    },
}

struct RecordName(Option<u8>);

impl fmt::Display for RecordName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(record) => write!(f, " (record {record:02})"),
            None => Ok(()),
        }
    }
}

struct CamtPlace(Option<u64>, Option<u64>);

impl fmt::Display for CamtPlace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(entry) = self.0 {
            write!(f, " entry {entry}")?;
        }
        if let Some(transaction) = self.1 {
            write!(f, " transaction {transaction}")?;
        }
        Ok(())
    }
}

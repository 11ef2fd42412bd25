//! Nets OCR giro: the record layer ([`records`], [`OcrRecords`]) and the credit view
//! ([`OcrReader`]), which checks the grammar and every control figure.

mod lines;
mod reader;
pub mod records;

pub use lines::RECORD_LEN;
pub use reader::{OcrReader, OcrRecords};

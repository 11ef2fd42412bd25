//! Nets OCR giro: the record layer ([`records`], [`OcrRecords`]) and the credit view
//! ([`OcrReader`]), which checks the grammar and every control figure.

mod control;
mod lines;
mod reader;
mod record_stream;
pub mod records;

pub use lines::RECORD_LEN;
pub use reader::OcrReader;
pub use record_stream::OcrRecords;

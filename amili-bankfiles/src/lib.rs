#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod camt;
mod credit;
mod error;
mod file;
pub mod kid;
pub mod ocr;
pub mod source_id;

pub use credit::{Credit, Item, NotTaken, Position, Reason, Reference, ReferenceKind, Warning};
pub use error::Error;
pub use file::{Format, Items, detect, read, read_checked};

//! ISO 20022 camt.053 (statement) and camt.054 (debit/credit notification): the record layer
//! ([`Entry`], [`CamtEntries`]) and the credit view ([`CamtReader`]).
//!
//! Elements are matched by local name, whatever the namespace, so every version Norwegian
//! banks send (001.02 to 001.08 and later) reads the same way.

mod amount;
mod detail;
mod entries;
mod entry;
mod reader;
mod values;
mod xml;

pub use amount::Amount;
pub use detail::{MAX_DETAIL_BYTES, TxDetail};
pub use entries::CamtEntries;
pub use entry::{Entry, MAX_DETAILS};
pub use reader::CamtReader;
pub use xml::{MAX_DEPTH, MAX_EVENT_BYTES, MAX_TEXT_CHARS};

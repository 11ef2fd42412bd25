//! Durable ledgers for [`amili_payments`]: what was sent to Amili, remembered per payment, so
//! that nothing is sent twice — from a rerun, a copy or a renamed file, or after a crash.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! use std::sync::Arc;
//! use amili_ledger::SqliteLedger;
//!
//! // One scope per API and organization: the same payment id means the same payment there.
//! let ledger = SqliteLedger::open(dir.path().join("ledger.db"), "https://api.amili.no org 42")?;
//! // client.submit(payments).with_ledger(Arc::new(ledger)).send().await?
//! # let _ = Arc::new(ledger);
//! # Ok(()) }
//! ```
#![warn(missing_docs)]
#![warn(clippy::missing_errors_doc)]

#[cfg(feature = "sqlite")]
mod sqlite;

mod stored;
pub use stored::StoredItem;

#[cfg(feature = "postgres")]
mod postgres;

#[cfg(feature = "postgres")]
pub use postgres::PostgresLedger;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteLedger;

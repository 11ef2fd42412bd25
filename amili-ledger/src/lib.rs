//! Durable ledgers for [`amili_payments`]: what was sent to Amili, remembered per payment, so
//! that nothing is sent twice — from a rerun, a copy or a renamed file, or after a crash.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! use std::sync::Arc;
//! use amili_ledger::SqliteLedger;
//! use amili_payments::ledger::{Kind, scope};
//!
//! // One scope per API and organization: the same payment id means the same payment there.
//! // `scope` names it as the `amili` CLI does, so a service and the CLI share the ledger.
//! let organization_id = amili_payments::Uuid::nil();
//! let scope = scope("https://api.amili.no/collection/v1", organization_id, Kind::Payments);
//! let ledger = SqliteLedger::open(dir.path().join("ledger.db"), scope)?;
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

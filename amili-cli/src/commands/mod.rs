//! One module per command.

pub mod batches;
pub mod completions;
pub mod corrections;
pub mod invoices;
pub mod ledger;
pub mod payments;
pub mod sandbox;
pub mod schema;
pub mod settlements;
pub mod submit;
pub mod token;
pub mod validate;
pub mod webhooks;

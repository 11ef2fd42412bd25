//! One module per command.

pub mod batches;
pub mod completions;
pub mod invoices;
pub mod ledger;
pub mod sandbox;
pub mod schema;
pub mod settlements;
pub mod submit;
pub mod token;
pub mod validate;
pub mod webhooks;

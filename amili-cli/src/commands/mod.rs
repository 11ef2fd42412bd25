//! One module per noun (`amili payments …`, `amili batches …`, …), each with its clap
//! arguments and what runs them; `submit` and `validate` are written once for both kinds of
//! file (`kind.rs`), `schema` is the payment row's.

pub mod batches;
pub mod completions;
pub mod corrections;
pub mod invoices;
pub mod ledger;
pub mod payments;
pub mod sandbox;
pub mod schema;
pub mod settlements;
pub mod status;
pub mod submit;
pub mod token;
pub mod validate;
pub mod webhooks;

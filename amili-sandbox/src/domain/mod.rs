//! The domain floor, the crate's ground: the state a sandbox holds and the rules that change
//! it, with no HTTP handler and no task in it. The store (batches, the compact payment
//! records, the booked payments, the booking rules), corrections, invoices, settlements,
//! tokens, faults, counters and the webhook events waiting for the courier.

pub(crate) mod booked;
pub(crate) mod compact;
pub(crate) mod corrections;
pub(crate) mod events;
pub(crate) mod faults;
pub(crate) mod invoices;
pub(crate) mod ledger;
pub(crate) mod rules;
pub(crate) mod settlements;
pub(crate) mod stats;
pub(crate) mod store;
pub(crate) mod tokens;

//! The ledger: what a submission remembers of what it sent, so that nothing is sent twice —
//! across requests, runs, files and (with a shared store) machines.
//!
//! - `store.rs`: what a store is, the [`Ledger`] trait and its words.
//! - `decision.rs`: how a store answers a claim, [`decide`], the one rule every store follows.
//! - `memory.rs`: the store in memory, [`MemoryLedger`].
//! - `protocol.rs`: how the submission pipeline uses a store (intent before the first attempt,
//!   result after, adopt or settle what an earlier run left pending).

#[cfg(any(test, feature = "test-support"))]
#[doc(hidden)]
pub mod conformance;
mod decision;
mod memory;
pub(crate) mod protocol;
mod store;

pub use decision::{Held, UNKNOWN_CONTENT, decide};
pub use memory::MemoryLedger;
pub use store::{Claim, Fingerprint, Ledger, LedgerError, LedgerItem, Settled};

//! The ledger: what a submission remembers of what it sent, so that nothing is sent twice —
//! across requests, runs, files and (with a shared store) machines.
//!
//! - `store.rs`: what a store is, the [`Ledger`] trait and its words.
//! - `decision.rs`: how a store answers a claim, [`decide`], the one rule every store follows.
//! - `memory.rs`: the store in memory, [`MemoryLedger`].
//! - `protocol.rs`: how the submission pipeline uses a store (intent before the first attempt,
//!   result after, adopt or settle what an earlier run left pending).
//!
//! A store also records how each accepted item's batch processed it ([`Processed`]: booked, or
//! failed with Amili's reason), once a poller learns it. This rests on one assumption about
//! Amili: **an item its batch lists as failed was not booked**, so sending the same
//! `uniqueSourcePaymentId` again is allowed. A failed item is therefore not final: its fix
//! (changed content) is claimed and sent again under its id, and its new outcome replaces the
//! failure; unchanged, it is not sent (it would fail the same way) and is reported failed
//! with the recorded reason.

#[cfg(any(test, feature = "test-support"))]
#[doc(hidden)]
pub mod conformance;
mod decision;
mod memory;
pub(crate) mod protocol;
mod store;

pub use decision::{Held, decide};
pub use memory::MemoryLedger;
pub use store::{Claim, Fingerprint, Known, Ledger, LedgerError, LedgerItem, Processed, Settled};

//! The ledger: what a submission remembers of what it sent, so that nothing is sent twice —
//! across requests, runs, files and (with a shared store) machines.
//!
//! - `store.rs`: what a store is, the [`Ledger`] trait and its words.
//! - `decision.rs`: how a store answers a claim, [`decide`], the one rule every store follows.
//! - `memory.rs`: the store in memory, [`MemoryLedger`].
//! - `scope.rs`: the name a durable store keeps one API's and organization's items under,
//!   [`scope`] (the CLI's, so a service can share its ledger).
//! - `protocol.rs`: how the submission pipeline uses a store (intent before the first attempt,
//!   result after, adopt or settle what an earlier run left pending).
//!
//! **A pending claim of another run is never read as "not booked" while its request can
//! still arrive.** A free liveness lock says the owner left the ledger, not that its request
//! is gone: a machine cut off from the database keeps sending, and a server finishes a
//! request whose client died. A run that holds the earlier request whole resends it under
//! its own key (Amili answers with the first batch if it arrived). A run that holds only part
//! of it looks its batch up by key; when there is none, [`Ledger::release`] frees the items
//! that run holds — never the others — and only once the claim's last update is older than
//! twice the retry budget (the owner's request waits at most one budget for its turn and
//! retries for at most another). Until then those items are not sent and stay pending.
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
mod scope;
mod store;

pub use decision::{Held, UNKNOWN_CONTENT, decide};
pub use memory::MemoryLedger;
pub use scope::{Kind, scope};
pub use store::{Claim, Fingerprint, Known, Ledger, LedgerError, LedgerItem, Processed, Settled};

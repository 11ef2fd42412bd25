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
pub use store::{Claim, Fingerprint, Ledger, LedgerError, LedgerItem, Settled};

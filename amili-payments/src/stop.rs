//! Stopping a submission from outside it.

use std::fmt;
use std::sync::{Arc, Mutex};

use crate::report::Reason;

/// Stops a submission from outside it (Ctrl-C, a shutdown): the requests being sent finish
/// and are recorded; every request not sent yet is reported
/// [`Outcome::NotSent`](crate::report::Outcome::NotSent) with the reason given, and what it had
/// claimed in the ledger is given back. The submission stops itself through the same handle
/// (a fatal answer, the circuit breaker, a ledger failure), so [`reason`](Self::reason)
/// tells why it stopped, whoever stopped it.
///
/// Cheap to clone; every clone stops the same submission. The first reason wins.
///
/// ```
/// use amili_payments::StopHandle;
///
/// let stop = StopHandle::new();
/// // client.submit(payments).with_stop_handle(stop.clone()) …, and on Ctrl-C:
/// stop.stop("not sent: interrupted");
/// stop.stop("another reason, too late");
/// assert_eq!(stop.reason().map(|r| r.to_string()).as_deref(), Some("not sent: interrupted"));
/// ```
#[derive(Clone, Default)]
pub struct StopHandle(Arc<Mutex<Option<Reason>>>);

impl StopHandle {
    /// A handle that has not stopped anything yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stops the submission, unless it stopped already; `reason` is what its unsent items
    /// say.
    pub fn stop(&self, reason: impl Into<Reason>) {
        self.stop_first(reason.into());
    }

    /// Stops it with `reason`; `true` when this call stopped it (not an earlier one).
    pub(crate) fn stop_first(&self, reason: Reason) -> bool {
        let mut stop = self.lock();
        let first = stop.is_none();
        if first {
            *stop = Some(reason);
        }
        first
    }

    /// Why the submission stopped, once it has.
    pub fn reason(&self) -> Option<Reason> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Reason>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl fmt::Debug for StopHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StopHandle").field(&self.reason()).finish()
    }
}

//! The circuit breaker: calls that fail in a row, after all their retries, until enough of
//! them say the endpoint is down. One type for every pipeline that has one (the submission's
//! requests, the resolver's invoice look-ups).

use std::sync::atomic::{AtomicU32, Ordering};

/// Calls that fail in a row, after all their retries, before a pipeline stops (the default of
/// the submission and of the resolver).
pub(crate) const DEFAULT_CIRCUIT_BREAKER: u32 = 5;

/// Counts failures in a row; trips at `threshold` (0: never). Shared by the concurrent calls
/// of one run, so "in a row" is in the order the calls ended.
#[derive(Debug)]
pub(crate) struct Breaker {
    threshold: u32,
    in_row: AtomicU32,
}

impl Breaker {
    pub(crate) fn new(threshold: u32) -> Self {
        Self {
            threshold,
            in_row: AtomicU32::new(0),
        }
    }

    /// A call ended well: the count starts again.
    pub(crate) fn success(&self) {
        self.in_row.store(0, Ordering::Release);
    }

    /// A call failed after all its retries: the failures in a row when this one trips the
    /// breaker (reaches the threshold or is past it), else `None`.
    pub(crate) fn failure(&self) -> Option<u32> {
        let in_row = self.in_row.fetch_add(1, Ordering::AcqRel).saturating_add(1);
        (self.threshold > 0 && in_row >= self.threshold).then_some(in_row)
    }

    /// Whether the failures in a row have reached the threshold.
    pub(crate) fn is_open(&self) -> bool {
        self.threshold > 0 && self.in_row.load(Ordering::Acquire) >= self.threshold
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trips_at_the_threshold_and_a_success_resets_the_count() {
        let breaker = Breaker::new(3);
        assert_eq!((breaker.failure(), breaker.failure()), (None, None));
        breaker.success();
        assert_eq!((breaker.failure(), breaker.failure()), (None, None));
        assert!(!breaker.is_open());
        assert_eq!(breaker.failure(), Some(3));
        assert!(breaker.is_open());
        assert_eq!(breaker.failure(), Some(4));
    }

    #[test]
    fn a_zero_threshold_never_trips() {
        let breaker = Breaker::new(0);
        for _ in 0..10 {
            assert_eq!(breaker.failure(), None);
        }
        assert!(!breaker.is_open());
    }
}

//! The one backoff: exponential with full jitter, shared by retries, token fetches and polling.

use std::time::Duration;

/// Pauses that grow exponentially: the bound of pause *n* (counting from 0) is
/// `min(max, initial · 2ⁿ)`, and with jitter on (the default) the pause is uniformly random
/// between 0 and that bound ("full jitter"), so many clients never retry in step.
///
/// [`RetryPolicy`](crate::RetryPolicy) uses it between attempts of a call and
/// [`Poller`](crate::Poller) between polls of a batch.
///
/// ```
/// use std::time::Duration;
/// use amili_payments::Backoff;
///
/// let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1)).without_jitter();
/// assert_eq!(backoff.bound(0), Duration::from_millis(100));
/// assert_eq!(backoff.bound(3), Duration::from_millis(800));
/// assert_eq!(backoff.pause(9), Duration::from_secs(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Backoff {
    /// The bound of the first pause.
    pub initial: Duration,
    /// The largest bound of any pause.
    pub max: Duration,
    /// Full jitter on (default) or off (deterministic pauses, for tests).
    pub jitter: bool,
}

impl Backoff {
    /// From `initial` doubling up to `max`, with full jitter.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max: max.max(initial),
            jitter: true,
        }
    }

    /// Deterministic pauses (each pause is its bound).
    #[must_use]
    pub fn without_jitter(mut self) -> Self {
        self.jitter = false;
        self
    }

    /// The bound of pause `n` (counting from 0), before jitter.
    pub fn bound(&self, n: u32) -> Duration {
        let factor = 2u32.saturating_pow(n.min(31));
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// Pause `n` (counting from 0): its bound, or a random part of it with jitter.
    pub fn pause(&self, n: u32) -> Duration {
        let bound = self.bound(n);
        if self.jitter && !bound.is_zero() {
            // Full jitter: uniform in [0, bound]. `fastrand` is enough for spreading retries (no
            // secrecy needed) and far lighter to build than `rand`.
            let nanos = u64::try_from(bound.as_nanos()).unwrap_or(u64::MAX);
            Duration::from_nanos(fastrand::u64(0..=nanos))
        } else {
            bound
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn exponential_and_capped() {
        let b = Backoff::new(ms(10), ms(50)).without_jitter();
        assert_eq!(
            [0, 1, 2, 3, 40].map(|n| b.pause(n)),
            [ms(10), ms(20), ms(40), ms(50), ms(50)]
        );
    }

    #[test]
    fn jitter_stays_within_the_bound() {
        let b = Backoff::new(ms(100), ms(100));
        assert!((0..200).all(|_| b.pause(0) <= ms(100)));
        assert!(
            (0..200).any(|_| b.pause(0) < ms(100)),
            "jitter never varied"
        );
    }
}

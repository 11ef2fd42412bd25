//! The retry policy, as data.

use std::time::Duration;

use rand::Rng;

/// How failed requests are retried.
///
/// Retried: `429`, `502`, `503`, `504`, failures that provably happened before the request was
/// sent (a refused connection), and — for reads only — any transport failure. A payments
/// request that was sent but got no answer is **not** simply resent: the batch is first looked
/// up by its idempotency key (see [`Client::create_with_key`](crate::Client::create_with_key)).
/// Every retry of a payments request carries the *same* idempotency key.
///
/// The delay before retry *n* (counting from 0) is `min(max_backoff, initial_backoff · 2ⁿ)`,
/// with full jitter (a uniformly random delay between 0 and that bound) unless jitter is
/// switched off. A `Retry-After` from the server replaces it, capped at `max_retry_after`. No
/// retry starts once `deadline` (from the call's start) would be passed.
///
/// ```
/// use std::time::Duration;
/// use amili_payments::RetryPolicy;
///
/// // Tests: fast and deterministic.
/// let policy = RetryPolicy::default()
///     .with_max_attempts(4)
///     .with_backoff(Duration::from_millis(1), Duration::from_millis(8))
///     .without_jitter();
/// assert_eq!(policy.backoff(0), Duration::from_millis(1));
/// assert_eq!(policy.backoff(5), Duration::from_millis(8));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in total, the first included (1 = never retry). Default 5.
    pub max_attempts: u32,
    /// The bound of the first delay. Default 500 ms.
    pub initial_backoff: Duration,
    /// The largest bound of any delay. Default 30 s.
    pub max_backoff: Duration,
    /// Full jitter on (default) or off (deterministic delays, for tests).
    pub jitter: bool,
    /// The longest `Retry-After` honoured; longer requests wait this long. Default 60 s.
    pub max_retry_after: Duration,
    /// No retry starts after this much time since the call began. Default 5 min; `None`: no
    /// deadline.
    pub deadline: Option<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            jitter: true,
            max_retry_after: Duration::from_secs(60),
            deadline: Some(Duration::from_secs(5 * 60)),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Attempts in total, the first included (at least 1).
    #[must_use]
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The first delay's bound and the largest bound.
    #[must_use]
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// Deterministic delays (tests).
    #[must_use]
    pub fn without_jitter(mut self) -> Self {
        self.jitter = false;
        self
    }

    /// The longest `Retry-After` honoured.
    #[must_use]
    pub fn with_max_retry_after(mut self, cap: Duration) -> Self {
        self.max_retry_after = cap;
        self
    }

    /// The overall deadline of a call's retries (`None`: none).
    #[must_use]
    pub fn with_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.deadline = deadline;
        self
    }

    /// The bound of the delay before retry `retry` (counting from 0), before jitter.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.min(31));
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }

    /// The delay before retry `retry` (counting from 0), or `None` when no retry is left:
    /// attempts used up, or the deadline would pass. `elapsed` is the time since the call
    /// began; `retry_after` is what the server asked for.
    pub(crate) fn delay(
        &self,
        retry: u32,
        elapsed: Duration,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        if retry.saturating_add(1) >= self.max_attempts {
            return None;
        }
        let delay = match retry_after {
            Some(asked) => asked.min(self.max_retry_after),
            None => {
                let bound = self.backoff(retry);
                if self.jitter && !bound.is_zero() {
                    rand::rng().random_range(Duration::ZERO..=bound)
                } else {
                    bound
                }
            }
        };
        match self.deadline {
            Some(deadline) if elapsed.saturating_add(delay) > deadline => None,
            _ => Some(delay),
        }
    }
}

/// Parses `Retry-After`: seconds, or an HTTP date (the time from now until it).
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = date.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn exponential_and_capped() {
        let p = RetryPolicy::default()
            .with_backoff(ms(10), ms(50))
            .without_jitter();
        assert_eq!(p.backoff(0), ms(10));
        assert_eq!(p.backoff(1), ms(20));
        assert_eq!(p.backoff(2), ms(40));
        assert_eq!(p.backoff(3), ms(50));
        assert_eq!(p.backoff(40), ms(50));
    }

    #[test]
    fn attempts_and_deadline_end_retries() {
        let p = RetryPolicy::default()
            .with_max_attempts(3)
            .with_backoff(ms(10), ms(10))
            .without_jitter()
            .with_deadline(Some(ms(100)));
        assert_eq!(p.delay(0, ms(0), None), Some(ms(10)));
        assert_eq!(p.delay(1, ms(0), None), Some(ms(10)));
        assert_eq!(p.delay(2, ms(0), None), None);
        assert_eq!(p.delay(0, ms(95), None), None);
        assert_eq!(RetryPolicy::none().delay(0, ms(0), None), None);
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let p = RetryPolicy::default()
            .with_max_retry_after(ms(200))
            .with_deadline(None);
        assert_eq!(p.delay(0, ms(0), Some(ms(100))), Some(ms(100)));
        assert_eq!(
            p.delay(0, ms(0), Some(Duration::from_secs(3600))),
            Some(ms(200))
        );
    }

    #[test]
    fn jitter_stays_within_the_bound() {
        let p = RetryPolicy::default().with_backoff(ms(100), ms(100));
        for _ in 0..100 {
            let d = p.delay(0, ms(0), None).unwrap_or(ms(1000));
            assert!(d <= ms(100));
        }
    }

    #[test]
    fn retry_after_formats() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}

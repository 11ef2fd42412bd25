//! The retry policy, as data.

use std::time::Duration;

use crate::backoff::Backoff;

/// How failed calls are retried: attempts, the [`Backoff`] between them, `Retry-After` and a
/// deadline.
///
/// What is retried is decided by the call loop (`call.rs`), not here: `429` and `503` (the
/// server did not take the request), failures that provably happened before the request was
/// sent, and — for reads — any transport failure or `500`/`502`/`504`. A write that may have
/// been processed (a dropped connection, a timeout, `500`/`502`/`504`) is retried only after
/// the batch was looked up by its idempotency key and not found; every attempt of a write
/// carries the *same* key.
///
/// A `Retry-After` from the server replaces the backoff's pause, capped at
/// `max_retry_after`. No retry starts once `deadline` (from the call's start) would be passed.
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
/// assert_eq!(policy.backoff.bound(5), Duration::from_millis(8));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in total, the first included (1 = never retry). Default 5.
    pub max_attempts: u32,
    /// The pauses between attempts. Default 500 ms doubling up to 30 s, with full jitter.
    pub backoff: Backoff,
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
            backoff: Backoff::new(Duration::from_millis(500), Duration::from_secs(30)),
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

    /// The first pause's bound and the largest bound (jitter unchanged).
    #[must_use]
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.backoff = Backoff {
            jitter: self.backoff.jitter,
            ..Backoff::new(initial, max)
        };
        self
    }

    /// Deterministic pauses (tests).
    #[must_use]
    pub fn without_jitter(mut self) -> Self {
        self.backoff = self.backoff.without_jitter();
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

    /// The longest a write may still reach the server after its call began, each attempt
    /// lasting at most `timeout`: with a deadline, the deadline (no retry starts after it)
    /// and two timeouts (a token fetched before the last attempt, and the attempt); without
    /// one, every attempt and, before each retry, a look-up by key that may retry as often
    /// (each an attempt's worth of time) and the longest pause. An upper bound, not a guess.
    pub(crate) fn budget(&self, timeout: Duration) -> Duration {
        if let Some(deadline) = self.deadline {
            return deadline.saturating_add(timeout.saturating_mul(2));
        }
        let attempts = self.max_attempts.max(1);
        let pause = self.backoff.max.max(self.max_retry_after);
        let per_attempt = timeout
            .saturating_mul(attempts.saturating_add(1))
            .saturating_add(pause.saturating_mul(attempts));
        per_attempt.saturating_mul(attempts)
    }

    /// The pause before retry `retry` (counting from 0), or `None` when no retry is left:
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
            None => self.backoff.pause(retry),
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
    fn the_budget_covers_the_deadline_or_every_attempt() {
        let timeout = Duration::from_secs(30);
        let with_deadline = RetryPolicy::default().with_deadline(Some(Duration::from_secs(300)));
        assert_eq!(with_deadline.budget(timeout), Duration::from_secs(360));
        let without = RetryPolicy::default()
            .with_deadline(None)
            .with_max_attempts(2)
            .with_backoff(ms(10), ms(100))
            .with_max_retry_after(Duration::from_secs(1));
        // Two attempts, each with up to three timeouts and two longest pauses.
        assert_eq!(without.budget(timeout), Duration::from_secs(2 * (90 + 2)));
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
    fn retry_after_formats() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}

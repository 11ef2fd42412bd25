//! Remembering which deliveries were handled: the [`DedupeStore`] trait and the default
//! [`MemoryDedupeStore`].

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A boxed future, as [`DedupeStore`]'s methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What [`DedupeStore::claim`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Claim {
    /// Not seen: the caller now holds the key and must [`complete`](DedupeStore::complete) or
    /// [`release`](DedupeStore::release) it.
    New,
    /// Handled before: acknowledge without handling again.
    Seen,
    /// Another delivery with this key is being handled right now: ask the sender to come back.
    InProgress,
}

/// A dedupe store failed (a database was unreachable, …).
#[derive(Debug, thiserror::Error)]
#[error("dedupe store: {message}")]
pub struct StoreError {
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StoreError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    /// An error with this message and cause.
    pub fn with_source(
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            message: message.into(),
            source: Some(source.into()),
        }
    }
}

/// Where a receiver remembers the deliveries it handled, so a repeated delivery is acknowledged
/// without being handled twice. The keys are what the signature covers (`event:{id}` for the
/// event's `id` in the signed body, `delivery:{id}` for an id the verifier signs beside it,
/// `sha256:{digest}` of a signed body without an id), never an unsigned header, and at most
/// [`MAX_KEY_BYTES`] long.
///
/// The protocol, per key: [`claim`](Self::claim) before handling (atomically: of two
/// concurrent claims only one gets [`Claim::New`]); then [`complete`](Self::complete) when
/// the handler succeeded, or [`release`](Self::release) when it failed, so that the sender's
/// retry is handled again. A failed handling is never remembered as seen.
///
/// [`MemoryDedupeStore`] is the default. A durable store (a database table keyed by the key,
/// with a state and a time) makes deduping survive restarts and work across several
/// receiver processes; it should let a claim that was neither completed nor released for a
/// while (a crashed process) be claimed again.
pub trait DedupeStore: Send + Sync + 'static {
    /// Claims `key` for handling.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store cannot answer; the receiver then answers 503 so the
    /// sender retries.
    fn claim<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Claim, StoreError>>;

    /// Remembers `key` as handled.
    ///
    /// # Errors
    ///
    /// [`StoreError`]; the delivery is still acknowledged (the handler succeeded).
    fn complete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Forgets a claim whose handling failed.
    ///
    /// # Errors
    ///
    /// [`StoreError`].
    fn release<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
}

impl<S: DedupeStore + ?Sized> DedupeStore for std::sync::Arc<S> {
    fn claim<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Claim, StoreError>> {
        (**self).claim(key)
    }

    fn complete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).complete(key)
    }

    fn release<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).release(key)
    }
}

/// How many handled keys [`MemoryDedupeStore::default`] keeps.
pub const DEFAULT_CAPACITY: usize = 100_000;
/// How long [`MemoryDedupeStore::default`] keeps a handled key.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(72 * 60 * 60);
/// After how long an unfinished claim may be taken over by default.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(10 * 60);
/// The longest key a receiver passes to a store, and the longest [`MemoryDedupeStore`]
/// accepts: longer ones are refused ([`StoreError`]) and never stored.
pub const MAX_KEY_BYTES: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    InProgress,
    Seen,
}

#[derive(Debug)]
struct Entry {
    state: State,
    at: Instant,
    /// Matches the entry's place in `order` (a re-inserted key leaves a stale one behind).
    generation: u64,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    /// Handled keys, oldest first, with their generation.
    order: VecDeque<(String, u64)>,
    seen: usize,
    next_generation: u64,
}

/// Handled keys in memory, bounded in number and in time: at most `capacity` keys of at most
/// [`MAX_KEY_BYTES`] each, each for at most `window` (oldest forgotten first); claims in
/// progress come on top, as many as deliveries are being handled at once. The default keeps 100 000 keys for 72 hours —
/// longer than senders usually retry (Amili's retry schedule is not documented).
///
/// Memory is lost on restart and not shared between processes; use a durable
/// [`DedupeStore`] for that.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), amili_webhooks::StoreError> {
/// use amili_webhooks::{Claim, DedupeStore, MemoryDedupeStore};
///
/// let store = MemoryDedupeStore::default();
/// assert_eq!(store.claim("delivery-1").await?, Claim::New);
/// assert_eq!(store.claim("delivery-1").await?, Claim::InProgress);
/// store.release("delivery-1").await?; // the handler failed: the retry is handled again
/// assert_eq!(store.claim("delivery-1").await?, Claim::New);
/// store.complete("delivery-1").await?;
/// assert_eq!(store.claim("delivery-1").await?, Claim::Seen);
/// # Ok(())
/// # }
/// ```
pub struct MemoryDedupeStore {
    capacity: usize,
    window: Duration,
    lease: Duration,
    inner: Mutex<Inner>,
}

impl fmt::Debug for MemoryDedupeStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryDedupeStore")
            .field("capacity", &self.capacity)
            .field("window", &self.window)
            .field("lease", &self.lease)
            .field("remembered", &self.len())
            .finish()
    }
}

impl Default for MemoryDedupeStore {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY, DEFAULT_WINDOW)
    }
}

impl MemoryDedupeStore {
    /// Keeps at most `capacity` handled keys (at least 1), each for at most `window`.
    pub fn new(capacity: usize, window: Duration) -> Self {
        Self {
            capacity: capacity.max(1),
            window,
            lease: DEFAULT_LEASE,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// After how long a claim that was neither completed nor released may be claimed again
    /// (default 10 minutes).
    #[must_use]
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// How many handled keys are remembered now.
    pub fn len(&self) -> usize {
        self.lock().seen
    }

    /// Whether no handled key is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets handled keys past the window or over the capacity, oldest first.
    fn evict(&self, inner: &mut Inner, now: Instant) {
        while let Some((key, generation)) = inner.order.front() {
            let current = inner
                .entries
                .get(key)
                .filter(|e| e.generation == *generation && e.state == State::Seen);
            let Some(entry) = current else {
                inner.order.pop_front();
                continue;
            };
            let expired = now.saturating_duration_since(entry.at) >= self.window;
            if !expired && inner.seen <= self.capacity {
                break;
            }
            if let Some((key, _)) = inner.order.pop_front() {
                inner.entries.remove(&key);
                inner.seen = inner.seen.saturating_sub(1);
            }
        }
    }

    fn claim_now(&self, key: &str) -> Claim {
        let now = Instant::now();
        let mut inner = self.lock();
        self.evict(&mut inner, now);
        match inner.entries.get(key) {
            Some(entry) if entry.state == State::Seen => return Claim::Seen,
            Some(entry) if now.saturating_duration_since(entry.at) < self.lease => {
                return Claim::InProgress;
            }
            _ => {}
        }
        let generation = inner.next_generation;
        inner.next_generation += 1;
        inner.entries.insert(
            key.to_owned(),
            Entry {
                state: State::InProgress,
                at: now,
                generation,
            },
        );
        Claim::New
    }

    fn complete_now(&self, key: &str) {
        let now = Instant::now();
        let mut inner = self.lock();
        let generation = inner.next_generation;
        inner.next_generation += 1;
        let previous = inner.entries.insert(
            key.to_owned(),
            Entry {
                state: State::Seen,
                at: now,
                generation,
            },
        );
        if previous.is_none_or(|e| e.state != State::Seen) {
            inner.seen += 1;
        }
        inner.order.push_back((key.to_owned(), generation));
        self.evict(&mut inner, now);
    }

    fn release_now(&self, key: &str) {
        let mut inner = self.lock();
        if inner
            .entries
            .get(key)
            .is_some_and(|e| e.state == State::InProgress)
        {
            inner.entries.remove(key);
        }
    }
}

fn too_long(key: &str) -> Result<(), StoreError> {
    if key.len() > MAX_KEY_BYTES {
        return Err(StoreError::new(format!(
            "a key of {} bytes (at most {MAX_KEY_BYTES})",
            key.len()
        )));
    }
    Ok(())
}

impl DedupeStore for MemoryDedupeStore {
    fn claim<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Claim, StoreError>> {
        let claimed = too_long(key).map(|()| self.claim_now(key));
        Box::pin(std::future::ready(claimed))
    }

    fn complete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        let completed = too_long(key).map(|()| self.complete_now(key));
        Box::pin(std::future::ready(completed))
    }

    fn release<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        let released = too_long(key).map(|()| self.release_now(key));
        Box::pin(std::future::ready(released))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_forgets_the_oldest_first() {
        let store = MemoryDedupeStore::new(2, DEFAULT_WINDOW);
        for key in ["a", "b", "c"] {
            assert_eq!(store.claim_now(key), Claim::New);
            store.complete_now(key);
        }
        assert_eq!(store.len(), 2);
        assert_eq!(store.claim_now("c"), Claim::Seen);
        assert_eq!(store.claim_now("b"), Claim::Seen);
        assert_eq!(
            store.claim_now("a"),
            Claim::New,
            "the oldest key was forgotten"
        );
    }

    #[test]
    fn completing_a_key_again_keeps_one_entry() {
        let store = MemoryDedupeStore::new(10, DEFAULT_WINDOW);
        store.complete_now("a");
        store.complete_now("a");
        assert_eq!(store.len(), 1);
        assert_eq!(store.lock().entries.len(), 1);
    }

    #[test]
    fn a_zero_window_remembers_nothing() {
        let store = MemoryDedupeStore::new(10, Duration::ZERO);
        assert_eq!(store.claim_now("a"), Claim::New);
        store.complete_now("a");
        assert_eq!(store.claim_now("a"), Claim::New);
    }

    #[test]
    fn an_expired_lease_can_be_taken_over() {
        let store = MemoryDedupeStore::new(10, DEFAULT_WINDOW).with_lease(Duration::ZERO);
        assert_eq!(store.claim_now("a"), Claim::New);
        assert_eq!(store.claim_now("a"), Claim::New);
        let store = MemoryDedupeStore::new(10, DEFAULT_WINDOW);
        assert_eq!(store.claim_now("a"), Claim::New);
        assert_eq!(store.claim_now("a"), Claim::InProgress);
    }

    #[tokio::test]
    async fn a_key_past_the_limit_is_refused_and_never_stored() {
        let store = MemoryDedupeStore::new(10, DEFAULT_WINDOW);
        let long = "k".repeat(MAX_KEY_BYTES + 1);
        assert!(store.claim(&long).await.is_err());
        assert!(store.complete(&long).await.is_err());
        assert!(store.lock().entries.is_empty());
        let longest = "k".repeat(MAX_KEY_BYTES);
        assert!(matches!(store.claim(&longest).await, Ok(Claim::New)));
    }

    #[test]
    fn release_does_not_forget_a_handled_key() {
        let store = MemoryDedupeStore::new(10, DEFAULT_WINDOW);
        store.complete_now("a");
        store.release_now("a");
        assert_eq!(store.claim_now("a"), Claim::Seen);
    }
}

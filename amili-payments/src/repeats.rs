//! Finding repeated ids by 64-bit hashes of them, without holding the ids.
//!
//! [`IdHashes`] checks a whole list (or file) before anything is sent: 8 bytes an id, sorted
//! once; only ids whose hash appears twice (a repeat, or rarely a collision) are compared
//! exactly. The library's list check and the CLI's file check both use it.
//!
//! [`Repeats`] is the stream's filter, which answers id by id as items arrive. Most hashes sit
//! in one sorted `Vec` (8 bytes an id, no load factor); the latest in a small hash set merged
//! into it, in place, once it holds a sixteenth as many (each hash is copied about 16 times).
//! Each new id costs one binary search: 0.35 µs in the CLI. A plain hash set takes half as
//! long but holds 18 MiB for a million ids, 27 while it grows: a 1,000,000-row `submit` then
//! peaked at 59 MiB (64 MiB target), so the compact one stays. A caller that checked its ids
//! skips the filter (`Submission::with_ids_known_unique`, with a ledger).

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher as _, BuildHasherDefault, Hasher};

use foldhash::fast::RandomState;

/// The ids of a list or a file, by hash, to tell which may repeat: push every id, then ask
/// for the [`RepeatSuspects`]. Reading each id once and sorting 8-byte values is several
/// times cheaper than a hash map of 100,000 ids, and holds no id.
///
/// ```
/// use amili_payments::validation::IdHashes;
///
/// let ids = ["P-1", "P-2", "P-1"];
/// let mut hashes = IdHashes::default();
/// for id in ids {
///     hashes.push(id);
/// }
/// let suspects = hashes.suspects();
/// // Only the suspects need an exact comparison (a second pass over the ids).
/// let to_compare: Vec<&str> = ids.into_iter().filter(|id| suspects.may_repeat(id)).collect();
/// assert_eq!(to_compare, ["P-1", "P-1"]);
/// ```
#[derive(Default)]
pub struct IdHashes {
    hashes: Vec<u64>,
    state: RandomState,
}

impl IdHashes {
    /// Adds an id.
    pub fn push(&mut self, id: &str) {
        self.hashes.push(self.state.hash_one(id));
    }

    /// The hashes seen more than once: none means no id repeats.
    #[must_use]
    pub fn suspects(mut self) -> RepeatSuspects {
        self.hashes.sort_unstable();
        let hashes = self
            .hashes
            .windows(2)
            .filter(|pair| pair[0] == pair[1])
            .map(|pair| pair[0])
            .collect();
        RepeatSuspects {
            hashes,
            state: self.state,
        }
    }
}

/// The ids of an [`IdHashes`] that may repeat another: every repeated id, and (rarely) an id
/// whose hash collides with another's. Compare these exactly.
pub struct RepeatSuspects {
    hashes: HashSet<u64>,
    state: RandomState,
}

impl RepeatSuspects {
    /// Whether no id repeats (nothing to compare).
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Whether `id` may repeat another of the ids pushed.
    pub fn may_repeat(&self, id: &str) -> bool {
        !self.hashes.is_empty() && self.hashes.contains(&self.state.hash_one(id))
    }
}

/// The smallest number of recent hashes that triggers a merge.
const MIN_RECENT: usize = 1024;

/// The ids seen so far, by hash.
#[derive(Default)]
pub(crate) struct Repeats {
    /// Hashes merged so far, in ascending order, each once.
    sorted: Vec<u64>,
    /// Hashes seen since the last merge (none of them is in `sorted`).
    recent: HashSet<u64, BuildHasherDefault<PreHashed>>,
    state: RandomState,
}

impl Repeats {
    /// Whether this is the first item with its id.
    pub(crate) fn first(&mut self, id: &str) -> bool {
        let hash = self.state.hash_one(id);
        if self.sorted.binary_search(&hash).is_ok() || !self.recent.insert(hash) {
            return false;
        }
        if self.recent.len() >= MIN_RECENT.max(self.sorted.len() / 16) {
            self.merge();
        }
        true
    }

    /// Moves the recent hashes into `sorted`: from the back, so no second vector is needed.
    fn merge(&mut self) {
        let mut recent: Vec<u64> = self.recent.drain().collect();
        recent.sort_unstable();
        let mut old = self.sorted.len();
        self.sorted.resize(old + recent.len(), 0);
        for slot in (0..self.sorted.len()).rev() {
            let Some(&last_recent) = recent.last() else {
                // What is left of the old hashes is already in place.
                break;
            };
            let last_old = old
                .checked_sub(1)
                .and_then(|at| self.sorted.get(at).copied());
            self.sorted[slot] = match last_old {
                Some(value) if value > last_recent => {
                    old -= 1;
                    value
                }
                _ => {
                    recent.pop();
                    last_recent
                }
            };
        }
    }
}

/// A `Hasher` for values that are hashes already: it keeps the `u64` it is given.
#[derive(Default)]
struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64`s are hashed here; any other input is still spread over the bits.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// Every id that appears more than once, with its positions, in order of first appearance.
///
/// Almost every submission has none: [`IdHashes`] proves that from hashes, and only the
/// suspects it names go through a map that compares ids exactly.
pub(crate) fn find_duplicates<'a>(
    ids: impl Iterator<Item = &'a str> + Clone,
) -> Vec<(&'a str, Vec<usize>)> {
    let mut hashes = IdHashes::default();
    for id in ids.clone() {
        hashes.push(id);
    }
    let suspects = hashes.suspects();
    if suspects.is_empty() {
        return Vec::new();
    }
    let mut first: HashMap<&'a str, usize> = HashMap::new();
    // Only repeated ids get a list of positions.
    let mut repeated: HashMap<&'a str, Vec<usize>> = HashMap::new();
    for (index, id) in ids.enumerate().filter(|(_, id)| suspects.may_repeat(id)) {
        match first.entry(id) {
            Entry::Vacant(slot) => {
                slot.insert(index);
            }
            Entry::Occupied(earlier) => repeated
                .entry(id)
                .or_insert_with(|| vec![*earlier.get()])
                .push(index),
        }
    }
    let mut repeated: Vec<(&'a str, Vec<usize>)> = repeated.into_iter().collect();
    repeated.sort_by_key(|(_, indexes)| indexes[0]);
    repeated
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_repeat_is_found_across_merges() {
        let mut repeats = Repeats::default();
        let n = 50_000u32;
        // Every id once, then every third id again, then the first ones a third time.
        for i in 0..n {
            assert!(repeats.first(&format!("P-{i}")), "first sight of P-{i}");
        }
        assert!(repeats.recent.len() < n as usize, "merges happened");
        assert!(
            repeats.sorted.windows(2).all(|w| w[0] < w[1]),
            "sorted, each once"
        );
        for i in (0..n).step_by(3) {
            assert!(!repeats.first(&format!("P-{i}")), "repeat of P-{i}");
        }
        for i in 0..10 {
            assert!(!repeats.first(&format!("P-{i}")));
        }
        assert!(repeats.first("P-new"));
        assert!(!repeats.first("P-new"));
        assert_eq!(repeats.sorted.len() + repeats.recent.len(), n as usize + 1);
    }

    #[test]
    fn id_hashes_suspect_only_the_repeated_ids() {
        let ids: Vec<String> = (0..100_000u32).map(|i| format!("P-{i}")).collect();
        let mut unique = IdHashes::default();
        for id in &ids {
            unique.push(id);
        }
        assert!(unique.suspects().is_empty());

        let mut repeated = IdHashes::default();
        for id in ids.iter().chain(std::iter::once(&ids[4_242])) {
            repeated.push(id);
        }
        let suspects = repeated.suspects();
        assert!(!suspects.is_empty());
        let named: Vec<&String> = ids.iter().filter(|id| suspects.may_repeat(id)).collect();
        assert_eq!(named, [&ids[4_242]]);
    }

    #[test]
    fn every_id_is_remembered_across_merges() {
        let mut repeats = Repeats::default();
        for i in 0..100_000u32 {
            assert!(repeats.first(&format!("R-{i}")));
        }
        assert!(repeats.sorted.len() > 90_000, "most hashes were merged");
        for i in (0..100_000u32).step_by(7) {
            assert!(!repeats.first(&format!("R-{i}")));
        }
        assert!(repeats.first("R-100000"));
    }

    #[test]
    fn a_merge_interleaves_old_and_new_hashes() {
        let mut repeats = Repeats {
            sorted: vec![10, 20, 30],
            recent: [5, 25, 35].into_iter().collect(),
            ..Repeats::default()
        };
        repeats.merge();
        assert_eq!(repeats.sorted, [5, 10, 20, 25, 30, 35]);
        assert!(repeats.recent.is_empty());
        repeats.recent.insert(1);
        repeats.merge();
        assert_eq!(repeats.sorted, [1, 5, 10, 20, 25, 30, 35]);
        repeats.recent.insert(40);
        repeats.merge();
        assert_eq!(repeats.sorted, [1, 5, 10, 20, 25, 30, 35, 40]);
    }

    #[test]
    fn duplicates_in_order_with_every_position() {
        let d = find_duplicates(["a", "b", "a", "c", "b", "a"].into_iter());
        assert_eq!(d.len(), 2);
        assert_eq!(d[0], ("a", vec![0, 2, 5]));
        assert_eq!(d[1], ("b", vec![1, 4]));
        assert!(find_duplicates(["a", "b"].into_iter()).is_empty());
    }
}

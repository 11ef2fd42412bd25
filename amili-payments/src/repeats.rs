//! The ids a submitted stream has seen, to find repeats: a 64-bit hash of each id.
//!
//! Most hashes sit in one sorted `Vec` (8 bytes an id, no load factor, so a million ids take
//! 8 MiB where a hash set takes 18 MiB and briefly 27 while it grows). The latest ones sit in a
//! small hash set that is merged into the vector, in place, once it holds a sixteenth as many:
//! merges copy each hash about 16 times in all, and every look-up is one binary search.

use std::collections::HashSet;
use std::hash::{BuildHasher as _, RandomState};

/// The smallest number of recent hashes that triggers a merge.
const MIN_RECENT: usize = 1024;

/// The ids seen so far, by hash.
#[derive(Default)]
pub(crate) struct Repeats {
    /// Hashes merged so far, in ascending order, each once.
    sorted: Vec<u64>,
    /// Hashes seen since the last merge (none of them is in `sorted`).
    recent: HashSet<u64>,
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
    fn a_merge_interleaves_old_and_new_hashes() {
        let mut repeats = Repeats {
            sorted: vec![10, 20, 30],
            recent: [5, 25, 35].into_iter().collect(),
            state: RandomState::new(),
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
}

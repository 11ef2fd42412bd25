//! The booked payments: their booking order (the ledger) and which `(organization,
//! uniqueSourcePaymentId)` pairs are booked, for `DUPLICATE_PAYMENT`.
//!
//! Both hold [`PaymentIndex`]es whose payments live in the [`PaymentStore`]. The order is kept
//! as runs of consecutive indexes (a batch that books all its payments is one run). The pairs
//! are found through keys of 8 bytes, the upper half of the pair's hash above the payment's
//! index: most in one sorted `Vec` (no load factor, no resize spike; a million bookings take
//! 8 MiB where a hash table takes 10 and briefly 15), the latest in a small hash table merged
//! into the vector, in place, once it holds a sixteenth as many.

use std::hash::{BuildHasher as _, RandomState};
use std::ops::Range;

use hashbrown::HashTable;
use uuid::Uuid;

use crate::compact::{PaymentIndex, PaymentStore};

/// The smallest number of recent keys that triggers a merge.
const MIN_RECENT: usize = 1024;

/// The booked payments, in booking order and found by organization and source id.
#[derive(Debug, Default)]
pub(crate) struct Booked {
    /// Runs of consecutive payment indexes, in booking order.
    order: Vec<Range<PaymentIndex>>,
    /// Merged keys, ascending.
    sorted: Vec<u64>,
    /// Keys booked since the last merge, by their hash half.
    recent: HashTable<u64>,
    hasher: RandomState,
}

impl Booked {
    /// The upper half of the pair's hash, where a key keeps it.
    fn hash_half(&self, organization_id: Uuid, source_id: &str) -> u64 {
        self.hasher.hash_one((organization_id, source_id)) >> 32
    }

    /// The booked payment of `organization_id` with this source id, if any.
    pub(crate) fn find(
        &self,
        payments: &PaymentStore,
        organization_id: Uuid,
        source_id: &str,
    ) -> Option<PaymentIndex> {
        let half = self.hash_half(organization_id, source_id);
        let is_it = |key: &u64| {
            payments.get(index_of(*key)).is_some_and(|p| {
                p.organization_id == organization_id && p.unique_source_payment_id == source_id
            })
        };
        if let Some(key) = self.recent.find(table_hash(half), |key| is_it(key)) {
            return Some(index_of(*key));
        }
        let first = self.sorted.partition_point(|&key| key >> 32 < half);
        self.sorted
            .get(first..)?
            .iter()
            .take_while(|&&key| key >> 32 == half)
            .find(|key| is_it(key))
            .map(|&key| index_of(key))
    }

    /// Books the payment at `index` (the caller checked its pair was not booked).
    pub(crate) fn book(&mut self, payments: &PaymentStore, index: PaymentIndex) {
        let Some(payment) = payments.get(index) else {
            return;
        };
        match self.order.last_mut() {
            Some(run) if run.end == index => run.end += 1,
            _ => self.order.push(index..index.saturating_add(1)),
        }
        let half = self.hash_half(payment.organization_id, &payment.unique_source_payment_id);
        let key = half << 32 | u64::from(index);
        self.recent
            .insert_unique(table_hash(half), key, |&key| table_hash(key >> 32));
        if self.recent.len() >= MIN_RECENT.max(self.sorted.len() / 16) {
            self.merge();
        }
    }

    /// Every booked payment's index, in booking order.
    pub(crate) fn in_order(&self) -> impl Iterator<Item = PaymentIndex> + '_ {
        self.order.iter().flat_map(Range::clone)
    }

    /// Moves the recent keys into `sorted`: from the back, so no second vector is needed.
    fn merge(&mut self) {
        let mut recent: Vec<u64> = self.recent.drain().collect();
        recent.sort_unstable();
        let mut old = self.sorted.len();
        self.sorted.resize(old + recent.len(), 0);
        for slot in (0..self.sorted.len()).rev() {
            let Some(&last_recent) = recent.last() else {
                // What is left of the old keys is already in place.
                break;
            };
            let last_old = old
                .checked_sub(1)
                .and_then(|at| self.sorted.get(at).copied());
            self.sorted[slot] = match last_old {
                Some(key) if key > last_recent => {
                    old -= 1;
                    key
                }
                _ => {
                    recent.pop();
                    last_recent
                }
            };
        }
    }
}

/// The payment index in a key's lower half (the cast keeps exactly those 32 bits).
fn index_of(key: u64) -> PaymentIndex {
    key as PaymentIndex
}

/// The hash the recent table files a key under: its hash half, repeated so the table's bucket
/// and tag bits both come from it.
fn table_hash(half: u64) -> u64 {
    half << 32 | half
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::IncomingPayment;

    fn payment(id: &str) -> IncomingPayment {
        serde_json::from_value(serde_json::json!({
            "invoiceId": Uuid::nil(),
            "type": "DIRECT_PAYMENT",
            "amount": 1,
            "currency": "NOK",
            "date": "2025-03-03T09:12:44Z",
            "description": "d",
            "uniqueSourcePaymentId": id,
        }))
        .unwrap_or_else(|e| panic!("test payment: {e}"))
    }

    #[test]
    fn every_booking_is_found_across_merges_in_its_organization_only() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let mut payments = PaymentStore::default();
        let n = 20_000u32;
        let incoming: Vec<_> = (0..n).map(|i| payment(&format!("P-{i}"))).collect();
        let range = payments
            .push_all(a, &incoming)
            .unwrap_or_else(|_| panic!("store full"));
        let mut booked = Booked::default();
        // Every other payment is booked: the order is one run per booking.
        for index in range.clone().step_by(2) {
            assert_eq!(booked.find(&payments, a, &format!("P-{index}")), None);
            booked.book(&payments, index);
        }
        assert!(booked.sorted.len() > booked.recent.len(), "merges happened");
        assert!(booked.sorted.windows(2).all(|w| w[0] < w[1]));
        for index in range.clone() {
            let found = booked.find(&payments, a, &format!("P-{index}"));
            assert_eq!(found, (index % 2 == 0).then_some(index), "P-{index}");
            assert_eq!(booked.find(&payments, b, &format!("P-{index}")), None);
        }
        let order: Vec<_> = booked.in_order().collect();
        assert_eq!(order, range.step_by(2).collect::<Vec<_>>());
    }

    #[test]
    fn consecutive_bookings_make_one_run() {
        let mut payments = PaymentStore::default();
        let incoming: Vec<_> = (0..5).map(|i| payment(&format!("R-{i}"))).collect();
        let org = Uuid::from_u128(7);
        let range = payments
            .push_all(org, &incoming)
            .unwrap_or_else(|_| panic!("store full"));
        let mut booked = Booked::default();
        for index in [0, 1, 2, 4] {
            booked.book(&payments, range.start + index);
        }
        assert_eq!(booked.order, [0..3, 4..5]);
        assert_eq!(booked.in_order().collect::<Vec<_>>(), [0, 1, 2, 4]);
        assert_eq!(booked.find(&payments, org, "R-3"), None);
        assert_eq!(booked.find(&payments, org, "R-4"), Some(4));
    }
}

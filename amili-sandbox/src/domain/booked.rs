//! The booked payments (domain floor): their booking order (the ledger) and which
//! `(organization, uniqueSourcePaymentId)` pairs are booked, for `DUPLICATE_PAYMENT`.
//!
//! Both hold [`PaymentIndex`]es whose payments live in the [`PaymentStore`]. The order is kept
//! as runs of consecutive indexes (a batch that books all its payments is one run). The pairs
//! are a hash table of indexes whose keys are read back from the store: 4 bytes and a control
//! byte a booking (about 10 MiB for a million, 16 while the table grows), where a map of owned
//! keys would take about 100 bytes a booking.

use std::hash::{BuildHasher as _, RandomState};
use std::ops::Range;

use hashbrown::HashTable;
use uuid::Uuid;

use crate::domain::compact::{PaymentIndex, PaymentStore};

/// The booked payments, in booking order and found by organization and source id.
#[derive(Debug, Default)]
pub(crate) struct Booked {
    /// Runs of consecutive payment indexes, in booking order.
    order: Vec<Range<PaymentIndex>>,
    /// Every booked payment's index, by the hash of its pair.
    pairs: HashTable<PaymentIndex>,
    hasher: RandomState,
}

impl Booked {
    fn hash(&self, organization_id: Uuid, source_id: &str) -> u64 {
        self.hasher.hash_one((organization_id, source_id))
    }

    /// The booked payment of `organization_id` with this source id, if any.
    pub(crate) fn find(
        &self,
        payments: &PaymentStore,
        organization_id: Uuid,
        source_id: &str,
    ) -> Option<PaymentIndex> {
        let hash = self.hash(organization_id, source_id);
        self.pairs
            .find(hash, |&index| {
                payments.get(index).is_some_and(|p| {
                    p.organization_id == organization_id && p.unique_source_payment_id == source_id
                })
            })
            .copied()
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
        let hash = self.hash(payment.organization_id, &payment.unique_source_payment_id);
        let hasher = &self.hasher;
        // A growing table rehashes what it holds: from the payments, read back.
        self.pairs.insert_unique(hash, index, |&other| {
            payments.get(other).map_or(0, |p| {
                hasher.hash_one((p.organization_id, p.unique_source_payment_id.as_str()))
            })
        });
    }

    /// Every booked payment's index, in booking order.
    pub(crate) fn in_order(&self) -> impl Iterator<Item = PaymentIndex> + '_ {
        self.order.iter().flat_map(Range::clone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::compact::IncomingPayment;

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
    fn every_booking_is_found_as_the_table_grows_in_its_organization_only() {
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

//! Which `(organization, uniqueSourcePaymentId)` pairs are booked, for `DUPLICATE_PAYMENT`.
//!
//! A hash table of [`PaymentIndex`]es whose keys are read from the [`PaymentStore`]: 4 bytes
//! and a control byte per booked payment, where a map of owned keys would take about 100.

use std::hash::{BuildHasher as _, RandomState};

use hashbrown::HashTable;
use uuid::Uuid;

use crate::compact::{PaymentIndex, PaymentStore};

/// The booked payments, found by organization and source id.
#[derive(Debug, Default)]
pub(crate) struct BookedIndex {
    table: HashTable<PaymentIndex>,
    hasher: RandomState,
}

impl BookedIndex {
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
        self.table
            .find(hash, |&index| {
                payments.get(index).is_some_and(|p| {
                    p.organization_id == organization_id && p.unique_source_payment_id == source_id
                })
            })
            .copied()
    }

    /// Records the payment at `index` as booked (the caller checked it was not).
    pub(crate) fn insert(&mut self, payments: &PaymentStore, index: PaymentIndex) {
        let Some(payment) = payments.get(index) else {
            return;
        };
        let hash = self.hash(payment.organization_id, payment.unique_source_payment_id);
        let hasher = &self.hasher;
        self.table.insert_unique(hash, index, |&other| {
            payments.get(other).map_or(0, |p| {
                hasher.hash_one((p.organization_id, p.unique_source_payment_id))
            })
        });
    }
}

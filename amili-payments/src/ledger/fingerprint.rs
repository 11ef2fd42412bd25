//! An item's fingerprint as the pipeline records it: the SHA-256 of the item's JSON as sent.

use sha2::{Digest as _, Sha256};

use super::store::Fingerprint;
use crate::submittable::Submittable;

/// The fingerprint the pipeline claims `item` with: the SHA-256 of its JSON as sent. A store
/// rebuilt from elsewhere (Amili's batches) records this for an item it can rebuild whole, so
/// that sending that item again is recognised as the same ([`Claim::AlreadyAccepted`]) rather
/// than as changed ([`Claim::Conflict`]).
///
/// [`Claim::AlreadyAccepted`]: super::Claim::AlreadyAccepted
/// [`Claim::Conflict`]: super::Claim::Conflict
pub fn fingerprint<T: Submittable>(item: &T) -> Fingerprint {
    let mut json = Vec::with_capacity(256);
    item.write_json(&mut json);
    Sha256::digest(&json).into()
}

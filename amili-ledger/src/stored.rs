//! A row of a ledger as stored, for looking at it.

use uuid::Uuid;

/// One row of the ledger, for `amili ledger show|export`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct StoredItem {
    /// The API and organization it was sent to.
    pub scope: String,
    /// The payment's id.
    pub id: String,
    /// The key of the request that carried it last.
    pub idempotency_key: String,
    /// Its batch, once accepted.
    pub batch_id: Option<Uuid>,
    /// When it was last written (Unix seconds).
    pub updated_at: i64,
}

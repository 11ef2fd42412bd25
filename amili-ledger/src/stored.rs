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
    /// How its batch processed it, once learned: `succeeded` or `failed`.
    pub outcome: Option<String>,
    /// Amili's reason code, when it failed.
    pub reason_code: Option<String>,
    /// Amili's message, when it failed.
    pub reason_message: Option<String>,
    /// When the outcome was learned (Unix seconds).
    pub outcome_at: Option<i64>,
}

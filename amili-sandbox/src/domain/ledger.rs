//! The ledger entry (domain floor): every payment the sandbox booked, as tests read it.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

/// One payment the sandbox booked (a `succeeded` item of a processed batch).
///
/// A payment is booked when its batch is processed, at most once per
/// `(organization_id, unique_source_payment_id)`, so "booked exactly once" is
/// `sandbox.ledger().iter().filter(|p| p.unique_source_payment_id == id).count() == 1`
/// (or [`crate::Sandbox::times_booked`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BookedPayment {
    /// The organization the payment was reported for.
    pub organization_id: Uuid,
    /// The batch that booked it.
    pub batch_id: Uuid,
    /// The `IdempotencyKey` header of the request that created the batch, if any.
    pub idempotency_key: Option<String>,
    /// The creditor's id for the payment.
    pub unique_source_payment_id: String,
    /// The invoice it pays.
    pub invoice_id: Uuid,
    /// The payment `type` as sent (`DIRECT_PAYMENT`).
    pub payment_type: String,
    /// The amount in major units, as sent.
    pub amount: Decimal,
    /// The currency code as sent.
    pub currency: String,
    /// The payment `date` as sent (an RFC 3339 date-time).
    pub date: String,
    /// The description as sent.
    pub description: String,
    /// When the sandbox booked it.
    pub booked_at: DateTime<Utc>,
}

//! Corrections (domain floor): the corrections waiting for their batch, how each is judged
//! when the batch is processed, and the corrections ledger.
//!
//! A correction batch lives in the store like a payment batch (followed, listed, replayed by
//! key, announced), but its items are judged here: `INVALID_CURRENCY`, `INVALID_AMOUNT` (zero,
//! unrepresentable, or too many decimals; negative amounts are the point of a correction) and
//! `UNKNOWN_INVOICE`, as for payments. A correction that passes is booked in the corrections
//! ledger ([`crate::Sandbox::corrections`]): it changes what was paid on its invoice
//! ([`crate::Sandbox::paid_on`]).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::domain::rules::{self, Sign, Verdict};

/// The `type` of correction batches (the spec's assumed `BatchType` value).
pub const CORRECTION_BATCH_TYPE: &str = "CORRECTION";

/// One correction of a `CreateCorrections` body, after schema validation.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IncomingCorrection {
    invoice_id: Uuid,
    amount: serde_json::Number,
    currency: String,
    date: String,
    description: String,
}

/// One correction the sandbox booked.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BookedCorrection {
    /// The organization it was reported for.
    pub organization_id: Uuid,
    /// The batch that booked it.
    pub batch_id: Uuid,
    /// The `IdempotencyKey` header of the request, if any.
    pub idempotency_key: Option<String>,
    /// The invoice it corrects.
    pub invoice_id: Uuid,
    /// The signed change to what was paid, in major units, as sent.
    pub amount: Decimal,
    /// The currency code as sent.
    pub currency: String,
    /// The `date` as sent.
    pub date: String,
    /// The description as sent.
    pub description: String,
    /// When the sandbox booked it.
    pub booked_at: DateTime<Utc>,
}

/// Corrections waiting for their batch, and the ones booked.
#[derive(Debug, Default)]
pub(crate) struct Corrections {
    pending: HashMap<Uuid, Vec<IncomingCorrection>>,
    ledger: Vec<BookedCorrection>,
}

/// The items of a processed correction batch.
pub(crate) struct Judged {
    pub(crate) succeeded: Vec<Value>,
    pub(crate) failed: Vec<Value>,
}

impl Corrections {
    /// Holds the corrections of the new batch `batch_id` until it is processed.
    pub(crate) fn queue(&mut self, batch_id: Uuid, corrections: Vec<IncomingCorrection>) {
        self.pending.insert(batch_id, corrections);
    }

    /// Judges and books the corrections of batch `batch_id`, if it is a correction batch.
    pub(crate) fn process(
        &mut self,
        batch_id: Uuid,
        organization_id: Uuid,
        idempotency_key: Option<String>,
        knows_invoice: impl Fn(Uuid) -> bool,
    ) -> Option<Judged> {
        let corrections = self.pending.remove(&batch_id)?;
        let now = Utc::now();
        let mut judged = Judged {
            succeeded: Vec::new(),
            failed: Vec::new(),
        };
        for correction in corrections {
            let verdict = match rules::money(
                &correction.amount.to_string(),
                &correction.currency,
                Sign::NonZero,
            ) {
                Err(verdict) => verdict,
                Ok(_) if !knows_invoice(correction.invoice_id) => Verdict::Fail {
                    reason: rules::reason::UNKNOWN_INVOICE,
                    message: format!("unknown invoice {}", correction.invoice_id),
                },
                Ok(amount) => Verdict::Book(amount),
            };
            match verdict {
                Verdict::Book(amount) => {
                    judged.succeeded.push(json!({
                        "invoiceId": correction.invoice_id,
                        "amount": correction.amount,
                    }));
                    self.ledger.push(BookedCorrection {
                        organization_id,
                        batch_id,
                        idempotency_key: idempotency_key.clone(),
                        invoice_id: correction.invoice_id,
                        amount,
                        currency: correction.currency,
                        date: correction.date,
                        description: correction.description,
                        booked_at: now,
                    });
                }
                Verdict::Fail { reason, message } => judged.failed.push(json!({
                    "invoiceId": correction.invoice_id,
                    "amount": correction.amount,
                    "reason": reason,
                    "message": message,
                })),
            }
        }
        Some(judged)
    }

    pub(crate) fn ledger(&self) -> &[BookedCorrection] {
        &self.ledger
    }
}

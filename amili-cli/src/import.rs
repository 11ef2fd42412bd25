//! `amili ledger import --from-amili`: rebuilds what a ledger should know from Amili's own
//! batch history, for a lost ledger or a machine that does not share the ledger the payments
//! were sent with.
//!
//! Every finished batch (`GetBatchesByOrganization`, then `GetBatchById` for its items) is
//! read; each succeeded item is recorded as accepted in that batch, under a key of its own
//! (`amili-import-<batchId>`). An item whose fields rebuild the payment (or correction) whole
//! gets the fingerprint a submission would claim it with (sending it changed is then a
//! conflict); an item that does not (Amili's items may carry only the id) gets
//! [`UNKNOWN_CONTENT`], and sending its id again with any content is "already accepted".
//! Never sent again either way. Failed items are not recorded (they were not booked).

use futures::TryStreamExt as _;
use serde_json::Value;

use amili_payments::batches::{Batch, BatchFilter, BatchItem};
use amili_payments::ledger::{Claim, Fingerprint, Ledger, LedgerItem, Settled, UNKNOWN_CONTENT};
use amili_payments::{
    Client, Correction, IdempotencyKey, NaiveDate, Payment, Submittable, fingerprint,
};

/// What an import found and recorded.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Imported {
    /// Finished batches read.
    pub batches: usize,
    /// Items newly recorded as accepted.
    pub recorded: usize,
    /// Items the ledger already knew (accepted, pending or being sent).
    pub known: usize,
    /// Of `recorded`, those whose content could not be rebuilt (recorded with
    /// [`UNKNOWN_CONTENT`]: a changed resend is not told apart).
    pub without_content: usize,
    /// Succeeded items that name no payment id and cannot be rebuilt as a correction.
    pub unidentified: usize,
    /// Batches not finished yet: their items are not known, run the import again later.
    pub queued: usize,
}

/// One succeeded item as a ledger records it.
struct Found {
    id: String,
    fingerprint: Fingerprint,
    whole: bool,
}

/// Reads Amili's batches created on or after `since` (all when `None`) and records their
/// succeeded payments in `payments` and corrections in `corrections`.
pub async fn from_amili(
    client: &Client,
    payments: &dyn Ledger,
    corrections: &dyn Ledger,
    since: Option<NaiveDate>,
) -> anyhow::Result<Imported> {
    let mut imported = Imported::default();
    let mut listed = client.batches(BatchFilter::default());
    while let Some(summary) = listed.try_next().await? {
        let too_old = match (since, summary.created_at) {
            (Some(since), Some(created)) => created.date_naive() < since,
            _ => false,
        };
        if too_old {
            continue;
        }
        if !summary.is_terminal() {
            imported.queued += 1;
            continue;
        }
        // The listing may leave items out: the batch itself has them.
        let batch = client.batch(summary.id).await?;
        imported.batches += 1;
        let (mut as_payments, mut as_corrections) = (Vec::new(), Vec::new());
        for item in &batch.succeeded {
            match identify(item) {
                Some((found, true)) => as_payments.push(found),
                Some((found, false)) => as_corrections.push(found),
                None => imported.unidentified += 1,
            }
        }
        record(payments, &batch, &as_payments, &mut imported).await?;
        record(corrections, &batch, &as_corrections, &mut imported).await?;
    }
    Ok(imported)
}

/// The item as a ledger knows it, and whether it is a payment (`false`: a correction).
fn identify(item: &BatchItem) -> Option<(Found, bool)> {
    let fields = Value::Object(item.fields().clone());
    if let Some(id) = item.unique_source_payment_id() {
        let rebuilt = serde_json::from_value::<Payment>(fields)
            .ok()
            .filter(|p| p.id() == id);
        return Some((found(id, rebuilt.as_ref()), true));
    }
    // A correction's id is a digest of its content: only a whole item names it.
    let correction = serde_json::from_value::<Correction>(fields).ok()?;
    Some((found(correction.id(), Some(&correction)), false))
}

fn found<T: Submittable>(id: &str, whole: Option<&T>) -> Found {
    Found {
        id: id.to_owned(),
        fingerprint: whole.map(fingerprint).unwrap_or(UNKNOWN_CONTENT),
        whole: whole.is_some(),
    }
}

/// Claims `found` under the batch's import key and records them accepted in the batch.
async fn record(
    ledger: &dyn Ledger,
    batch: &Batch,
    found: &[Found],
    imported: &mut Imported,
) -> anyhow::Result<()> {
    if found.is_empty() {
        return Ok(());
    }
    let key: IdempotencyKey = format!("amili-import-{}", batch.id).parse()?;
    let items: Vec<LedgerItem<'_>> = found
        .iter()
        .map(|f| LedgerItem {
            id: &f.id,
            fingerprint: &f.fingerprint,
        })
        .collect();
    let claims = ledger.claim(&key, &items).await?;
    for (claim, f) in claims.iter().zip(found) {
        if *claim == Claim::Claimed {
            imported.recorded += 1;
            imported.without_content += usize::from(!f.whole);
        } else {
            imported.known += 1;
        }
    }
    ledger
        .record(&key, &Settled::Accepted { batch_id: batch.id })
        .await?;
    Ok(())
}

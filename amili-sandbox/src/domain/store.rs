//! The store (domain floor): batches, idempotency keys, seeded invoices and the ledger.
//!
//! Batches are processed in creation order (a FIFO queue): whenever the state is observed (a
//! batch read, a list, [`crate::Sandbox::ledger`], …) every queued batch whose delay has passed
//! is processed first, oldest first. Processing is therefore deterministic and every observer
//! sees the same state: a batch is either queued with nothing booked, or terminal with all its
//! bookings in the ledger.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::domain::booked::Booked;
use crate::domain::compact::{IncomingPayment, PaymentIndex, PaymentStore};
use crate::domain::ledger::BookedPayment;
use crate::domain::rules::{self, Verdict};
use crate::error::ApiError;

/// A batch's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Queued,
    Success,
    Partial,
    Failed,
}

impl Status {
    pub(crate) const ALL: [Status; 4] = [
        Status::Queued,
        Status::Success,
        Status::Partial,
        Status::Failed,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "QUEUED",
            Status::Success => "SUCCESS",
            Status::Partial => "PARTIAL",
            Status::Failed => "FAILED",
        }
    }

    pub(crate) fn parse(value: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

/// A batch that reached a terminal status (what `BATCH_COMPLETED` announces).
#[derive(Debug, Clone)]
pub(crate) struct FinishedBatch {
    pub(crate) batch_id: Uuid,
    pub(crate) organization_id: Uuid,
    pub(crate) status: Status,
    pub(crate) finished_at: DateTime<Utc>,
}

/// One batch.
#[derive(Debug, Clone)]
pub(crate) struct BatchRecord {
    /// Creation sequence number (1, 2, …), the sort key of lists and cursors.
    pub(crate) seq: u64,
    pub(crate) id: Uuid,
    pub(crate) organization_id: Uuid,
    pub(crate) created_by: Uuid,
    pub(crate) batch_type: String,
    pub(crate) created_at: DateTime<Utc>,
    /// When the batch may be processed; `None` = only by `finish_batches`.
    due: Option<Instant>,
    pub(crate) finished_at: Option<DateTime<Utc>>,
    pub(crate) status: Status,
    pub(crate) idempotency_key: Option<String>,
    /// A digest of the request body (as parsed JSON), to tell a replay from a different
    /// request with the same key without keeping every body.
    body: u64,
    /// Its payments in the [`PaymentStore`]; once processed, those not in `failed` succeeded.
    pub(crate) payments: Range<PaymentIndex>,
    /// The payments that failed, in order.
    failed: Vec<Failure>,
    /// The items of a batch judged outside the store (corrections, `crate::corrections`):
    /// `(succeeded, failed)`.
    judged_items: Option<Box<(Vec<Value>, Vec<Value>)>>,
}

/// A payment that failed: what it was judged with, so that its item (reason and message) can
/// be rebuilt by [`rules::judge`] when the batch is read.
#[derive(Debug, Clone, Copy)]
struct Failure {
    payment: PaymentIndex,
    invoice_known: bool,
    booked_in: Option<Uuid>,
}

/// What `create` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Created {
    /// A new batch.
    New(Uuid),
    /// The idempotency key was seen before with the same body: the original batch.
    Replayed(Uuid),
}

impl Created {
    pub(crate) fn batch_id(self) -> Uuid {
        match self {
            Created::New(id) | Created::Replayed(id) => id,
        }
    }
}

/// Who creates a batch: the organization named in the path, once authorized, and the
/// `createdBy` id of its client.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub(crate) organization_id: Uuid,
    pub(crate) created_by: Uuid,
}

/// A request to create a batch.
#[derive(Debug)]
pub(crate) struct NewBatch {
    pub(crate) caller: Caller,
    pub(crate) batch_type: String,
    pub(crate) idempotency_key: Option<String>,
    pub(crate) body: Value,
    pub(crate) payments: Vec<IncomingPayment>,
    pub(crate) delay: Duration,
}

/// A digest of a JSON body that does not depend on key order or number formatting: the
/// canonical text (serde_json's maps are sorted) through a 64-bit SipHash with fixed keys.
fn body_digest(body: &Value) -> u64 {
    use std::hash::{Hash as _, Hasher as _};
    let mut hasher = std::hash::DefaultHasher::new();
    body.to_string().hash(&mut hasher);
    hasher.finish()
}

/// All items succeeded: `SUCCESS`; none: `FAILED`; else `PARTIAL`.
fn status_of(succeeded: &[Value], failed: &[Value]) -> Status {
    match (succeeded.is_empty(), failed.is_empty()) {
        (_, true) => Status::Success,
        (true, false) => Status::Failed,
        (false, false) => Status::Partial,
    }
}

/// All mutable state.
#[derive(Debug, Default)]
pub(crate) struct Store {
    batches: Vec<BatchRecord>,
    by_id: HashMap<Uuid, usize>,
    idempotency: HashMap<(Uuid, String), usize>,
    /// Every payment of every batch, once.
    payments: PaymentStore,
    /// The booked payments: the ledger, and (organization, uniqueSourcePaymentId) → the
    /// payment that booked it.
    booked: Booked,
    invoices: HashSet<Uuid>,
    accept_any_invoice: bool,
    /// Index of the oldest batch not processed yet.
    next_to_process: usize,
    /// Batches finished since the last [`Store::take_finished`], in the order they finished.
    finished: Vec<FinishedBatch>,
}

impl Store {
    pub(crate) fn new(invoices: impl IntoIterator<Item = Uuid>, accept_any_invoice: bool) -> Self {
        Self {
            invoices: invoices.into_iter().collect(),
            accept_any_invoice,
            ..Self::default()
        }
    }

    pub(crate) fn seed_invoices(&mut self, ids: impl IntoIterator<Item = Uuid>) {
        self.invoices.extend(ids);
    }

    /// Creates a batch, or returns the original one for a repeated idempotency key
    /// (409 when the key comes back with a different body).
    pub(crate) fn create(&mut self, new: NewBatch) -> Result<Created, ApiError> {
        let org = new.caller.organization_id;
        if let Some(key) = &new.idempotency_key
            && let Some(&index) = self.idempotency.get(&(org, key.clone()))
            && let Some(existing) = self.batches.get(index)
        {
            if existing.body == body_digest(&new.body) {
                return Ok(Created::Replayed(existing.id));
            }
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "IdempotencyKey {key:?} was already used for batch {} with a different body",
                    existing.id
                ),
            ));
        }
        let payments = self.payments.push_all(org, &new.payments).map_err(|_| {
            ApiError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "the sandbox holds at most 4 GiB of payments; restart it",
            )
        })?;
        let id = Uuid::new_v4();
        let index = self.batches.len();
        let record = BatchRecord {
            seq: u64::try_from(index).unwrap_or(u64::MAX).saturating_add(1),
            id,
            organization_id: org,
            created_by: new.caller.created_by,
            batch_type: new.batch_type,
            created_at: Utc::now(),
            due: Instant::now().checked_add(new.delay),
            finished_at: None,
            status: Status::Queued,
            idempotency_key: new.idempotency_key.clone(),
            body: body_digest(&new.body),
            payments,
            failed: Vec::new(),
            judged_items: None,
        };
        self.batches.push(record);
        self.by_id.insert(id, index);
        if let Some(key) = new.idempotency_key {
            self.idempotency.insert((org, key), index);
        }
        Ok(Created::New(id))
    }

    /// Processes, oldest first, every queued batch that is due at `now` (all of them when
    /// `force`).
    pub(crate) fn process_due(&mut self, now: Instant, force: bool) {
        while let Some(batch) = self.batches.get(self.next_to_process) {
            let due = force || batch.due.is_some_and(|due| due <= now);
            if !due {
                break;
            }
            self.process(self.next_to_process);
            self.next_to_process += 1;
        }
    }

    /// Books or fails each payment of the batch at `index` and sets its terminal status.
    fn process(&mut self, index: usize) {
        let Some(batch) = self.batches.get(index) else {
            return;
        };
        let (org, batch_id) = (batch.organization_id, batch.id);
        let now = Utc::now();
        let mut booked = 0usize;
        let mut failed = Vec::new();
        for payment_index in batch.payments.clone() {
            let Some(payment) = self.payments.get(payment_index) else {
                continue;
            };
            let invoice_known = self.knows_invoice(payment.invoice_id);
            let booked_in = self
                .booked
                .find(&self.payments, org, &payment.unique_source_payment_id)
                .and_then(|earlier| self.batch_of(earlier))
                .map(|earlier| earlier.id);
            match rules::judge(&payment, invoice_known, booked_in) {
                Verdict::Book(_) => {
                    self.booked.book(&self.payments, payment_index);
                    booked += 1;
                }
                Verdict::Fail { .. } => failed.push(Failure {
                    payment: payment_index,
                    invoice_known,
                    booked_in,
                }),
            }
        }
        let status = match (booked == 0, failed.is_empty()) {
            (_, true) => Status::Success,
            (true, false) => Status::Failed,
            (false, false) => Status::Partial,
        };
        if let Some(batch) = self.batches.get_mut(index) {
            batch.failed = failed;
            batch.status = status;
            batch.finished_at = Some(now);
            self.finished.push(FinishedBatch {
                batch_id,
                organization_id: org,
                status,
                finished_at: now,
            });
        }
    }

    /// Whether payments (and corrections) for `invoice` may be booked.
    pub(crate) fn knows_invoice(&self, invoice: Uuid) -> bool {
        self.accept_any_invoice || self.invoices.contains(&invoice)
    }

    /// Replaces the items of the processed batch `id` (corrections are judged outside the
    /// store, `crate::corrections`) and returns its new status.
    pub(crate) fn set_items(
        &mut self,
        id: Uuid,
        succeeded: Vec<Value>,
        failed: Vec<Value>,
    ) -> Option<Status> {
        let batch = self
            .by_id
            .get(&id)
            .and_then(|&index| self.batches.get_mut(index))?;
        batch.status = status_of(&succeeded, &failed);
        batch.judged_items = Some(Box::new((succeeded, failed)));
        Some(batch.status)
    }

    /// The batch holding the payment at `index`.
    fn batch_of(&self, index: PaymentIndex) -> Option<&BatchRecord> {
        let at = self.batches.partition_point(|b| b.payments.end <= index);
        self.batches
            .get(at)
            .filter(|batch| batch.payments.contains(&index))
    }

    /// The batches finished since the last call, in the order they finished.
    pub(crate) fn take_finished(&mut self) -> Vec<FinishedBatch> {
        std::mem::take(&mut self.finished)
    }

    /// When the oldest queued batch falls due: `None` when nothing is queued, `Some(None)`
    /// when it waits for [`crate::Sandbox::finish_batches`].
    pub(crate) fn next_due(&self) -> Option<Option<Instant>> {
        self.batches
            .get(self.next_to_process)
            .map(|batch| batch.due)
    }

    /// The batch `id` if it belongs to `org`.
    pub(crate) fn batch(&self, org: Uuid, id: Uuid) -> Option<&BatchRecord> {
        self.by_id
            .get(&id)
            .and_then(|&index| self.batches.get(index))
            .filter(|batch| batch.organization_id == org)
    }

    /// Every batch, oldest first.
    pub(crate) fn batches(&self) -> &[BatchRecord] {
        &self.batches
    }

    /// Every booked payment, in booking order.
    pub(crate) fn ledger(&self) -> impl Iterator<Item = BookedPayment> + '_ {
        self.booked
            .in_order()
            .filter_map(|index| self.booked_payment(index))
    }

    /// How many times `source_id` was booked, in any organization.
    pub(crate) fn times_booked(&self, source_id: &str) -> usize {
        self.booked
            .in_order()
            .filter_map(|index| self.payments.get(index))
            .filter(|p| p.unique_source_payment_id == source_id)
            .count()
    }

    fn booked_payment(&self, index: PaymentIndex) -> Option<BookedPayment> {
        let payment = self.payments.get(index)?;
        let batch = self.batch_of(index)?;
        Some(BookedPayment {
            organization_id: batch.organization_id,
            batch_id: batch.id,
            idempotency_key: batch.idempotency_key.clone(),
            unique_source_payment_id: payment.unique_source_payment_id,
            invoice_id: payment.invoice_id,
            payment_type: payment.payment_type.to_owned(),
            amount: rules::decimal(payment.amount)?,
            currency: payment.currency.to_owned(),
            date: payment.date.into_owned(),
            description: payment.description,
            booked_at: batch.finished_at?,
        })
    }

    /// The `succeeded` and `failed` items of a batch (both empty while it is queued).
    pub(crate) fn items(&self, batch: &BatchRecord) -> (Vec<Value>, Vec<Value>) {
        let (mut succeeded, mut failed) = (Vec::new(), Vec::new());
        if batch.status == Status::Queued {
            return (succeeded, failed);
        }
        if let Some(judged) = &batch.judged_items {
            return (judged.0.clone(), judged.1.clone());
        }
        let mut failures = batch.failed.iter().peekable();
        for index in batch.payments.clone() {
            let Some(payment) = self.payments.get(index) else {
                continue;
            };
            let verdict = failures
                .next_if(|f| f.payment == index)
                .map(|f| rules::judge(&payment, f.invoice_known, f.booked_in));
            match verdict {
                None | Some(Verdict::Book(_)) => succeeded.push(json!({
                    "invoiceId": payment.invoice_id,
                    "uniqueSourcePaymentId": payment.unique_source_payment_id,
                })),
                Some(Verdict::Fail { reason, message }) => failed.push(json!({
                    "invoiceId": payment.invoice_id,
                    "uniqueSourcePaymentId": payment.unique_source_payment_id,
                    "reason": reason,
                    "message": message,
                })),
            }
        }
        (succeeded, failed)
    }

    /// Whether a payment of `batch` has this `invoiceId` or `uniqueSourcePaymentId`.
    pub(crate) fn holds_subject(&self, batch: &BatchRecord, subject: &str) -> bool {
        let as_uuid = Uuid::try_parse(subject).ok();
        batch
            .payments
            .clone()
            .filter_map(|index| self.payments.get(index))
            .any(|p| p.unique_source_payment_id == subject || as_uuid == Some(p.invoice_id))
    }
}

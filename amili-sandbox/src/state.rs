//! The state shared by the server's handlers and the [`crate::Sandbox`] handle: the floor
//! above the domain, below the routes and webhook delivery. It joins the domain's parts under
//! their locks and announces what happens to the webhook courier.

use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::{Notify, mpsc};
use uuid::Uuid;

use crate::config::Config;
use crate::domain::corrections::Corrections;
use crate::domain::events::{AttemptLog, Outgoing};
use crate::domain::faults::Faults;
use crate::domain::invoices::{Invoices, SeedInvoice};
use crate::domain::settlements::{Settlement, Settlements};
use crate::domain::stats::Counters;
use crate::domain::store::Store;
use crate::domain::tokens::TokenIssuer;
use crate::schema::WriteSchemas;

/// Everything a running sandbox holds.
#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) config: Config,
    pub(crate) tokens: TokenIssuer,
    pub(crate) schemas: WriteSchemas,
    pub(crate) faults: Faults,
    pub(crate) stats: Counters,
    /// Signalled when a batch is created (wakes the webhook clock).
    pub(crate) batch_created: Notify,
    /// Every webhook delivery attempt.
    pub(crate) webhook_log: AttemptLog,
    /// Where events go, in the order they happen, when webhooks are configured.
    courier: Option<mpsc::UnboundedSender<Outgoing>>,
    store: Mutex<Store>,
    /// Lock order: `store`, then `corrections`, then `invoices`, then `settlements`.
    corrections: Mutex<Corrections>,
    invoices: Mutex<Invoices>,
    settlements: Mutex<Settlements>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl AppState {
    pub(crate) fn new(
        config: Config,
        tokens: TokenIssuer,
        schemas: WriteSchemas,
        faults: Faults,
        store: Store,
        invoices: Invoices,
        courier: Option<mpsc::UnboundedSender<Outgoing>>,
    ) -> Self {
        Self {
            config,
            tokens,
            schemas,
            faults,
            stats: Counters::default(),
            batch_created: Notify::new(),
            webhook_log: AttemptLog::default(),
            courier,
            store: Mutex::new(store),
            corrections: Mutex::new(Corrections::default()),
            invoices: Mutex::new(invoices),
            settlements: Mutex::new(Settlements::default()),
        }
    }

    /// The store, without processing due batches (for writes).
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    /// Corrections waiting for their batch, and the booked ones.
    pub(crate) fn corrections(&self) -> MutexGuard<'_, Corrections> {
        lock(&self.corrections)
    }

    /// The invoices the lookups describe.
    pub(crate) fn invoices(&self) -> MutexGuard<'_, Invoices> {
        lock(&self.invoices)
    }

    /// Describes these invoices and makes their payments succeed.
    pub(crate) fn seed_invoices(&self, invoices: Vec<SeedInvoice>) {
        let mut store = self.store();
        store.seed_invoices(invoices.iter().map(|invoice| invoice.id));
        self.invoices().seed(invoices);
    }

    /// Makes payments for these invoices succeed; the lookups find them by id.
    pub(crate) fn seed_invoice_ids(&self, ids: Vec<Uuid>) {
        let mut store = self.store();
        store.seed_invoices(ids.iter().copied());
        self.invoices().know(ids);
    }

    /// The settlements produced so far.
    pub(crate) fn settlements(&self) -> MutexGuard<'_, Settlements> {
        lock(&self.settlements)
    }

    /// Settles every booked payment not settled yet, on `date`, and hands a
    /// `SETTLEMENT_CREATED` per new settlement to the webhook courier.
    pub(crate) fn settle(&self, date: chrono::NaiveDate) -> Vec<Settlement> {
        let store = self.observe();
        let corrections = self.corrections();
        let invoices = self.invoices();
        let created =
            self.settlements()
                .settle(store.ledger(), corrections.ledger(), &invoices, date);
        // Sent while the store is locked, so no batch event can overtake them.
        let now = chrono::Utc::now();
        self.announce(created.iter().map(|s| Outgoing::settlement_created(s, now)));
        created
    }

    /// The store after every due batch was processed (for reads).
    pub(crate) fn observe(&self) -> MutexGuard<'_, Store> {
        self.process(false)
    }

    /// Processes every queued batch now, whatever its delay.
    pub(crate) fn finish_all(&self) {
        drop(self.process(true));
    }

    /// Processes due batches (all when `force`) and hands a `BATCH_COMPLETED` per finished
    /// batch to the webhook courier, in the order they finished.
    fn process(&self, force: bool) -> MutexGuard<'_, Store> {
        let mut store = self.store();
        store.process_due(Instant::now(), force);
        let mut finished = store.take_finished();
        // Correction batches are empty in the store: their items are judged here.
        let mut corrections = self.corrections();
        for batch in &mut finished {
            let key = store
                .batch(batch.organization_id, batch.batch_id)
                .and_then(|b| b.idempotency_key.clone());
            let judged = corrections.process(batch.batch_id, batch.organization_id, key, |id| {
                store.knows_invoice(id)
            });
            if let Some(judged) = judged
                && let Some(status) =
                    store.set_items(batch.batch_id, judged.succeeded, judged.failed)
            {
                batch.status = status;
            }
        }
        drop(corrections);
        self.announce(finished.iter().map(Outgoing::batch_completed));
        store
    }

    /// Hands events to the webhook courier, when webhooks are configured.
    fn announce(&self, events: impl Iterator<Item = Outgoing>) {
        if let Some(courier) = &self.courier {
            for event in events {
                // Fails only when the courier stopped (the sandbox is shutting down).
                let _ = courier.send(event);
            }
        }
    }

    /// A batch was created: the webhook clock looks at the queue again.
    pub(crate) fn created_batch(&self) {
        self.batch_created.notify_one();
    }
}

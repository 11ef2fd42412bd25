//! The state shared by the server's handlers and the [`crate::Sandbox`] handle.

use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::{Notify, mpsc};

use crate::config::Config;
use crate::faults::Faults;
use crate::schema::RequestValidator;
use crate::stats::Counters;
use crate::store::Store;
use crate::token::TokenIssuer;
use crate::webhooks::{AttemptLog, FinishedBatch};

/// Everything a running sandbox holds.
#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) config: Config,
    pub(crate) tokens: TokenIssuer,
    pub(crate) payments_schema: RequestValidator,
    pub(crate) faults: Faults,
    pub(crate) stats: Counters,
    /// Signalled when a batch is created (wakes the webhook clock).
    pub(crate) batch_created: Notify,
    /// Every webhook delivery attempt.
    pub(crate) webhook_log: AttemptLog,
    /// Where finished batches go when webhooks are configured.
    finished: Option<mpsc::UnboundedSender<FinishedBatch>>,
    store: Mutex<Store>,
}

impl AppState {
    pub(crate) fn new(
        config: Config,
        tokens: TokenIssuer,
        payments_schema: RequestValidator,
        faults: Faults,
        store: Store,
        finished: Option<mpsc::UnboundedSender<FinishedBatch>>,
    ) -> Self {
        Self {
            config,
            tokens,
            payments_schema,
            faults,
            stats: Counters::default(),
            batch_created: Notify::new(),
            webhook_log: AttemptLog::default(),
            finished,
            store: Mutex::new(store),
        }
    }

    /// The store, without processing due batches (for writes).
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The store after every due batch was processed (for reads).
    pub(crate) fn observe(&self) -> MutexGuard<'_, Store> {
        self.process(false)
    }

    /// Processes every queued batch now, whatever its delay.
    pub(crate) fn finish_all(&self) {
        drop(self.process(true));
    }

    /// Processes due batches (all when `force`) and hands the finished ones to the webhook
    /// courier, in the order they finished.
    fn process(&self, force: bool) -> MutexGuard<'_, Store> {
        let mut store = self.store();
        store.process_due(Instant::now(), force);
        let finished = store.take_finished();
        if let Some(courier) = &self.finished {
            for batch in finished {
                // Fails only when the courier stopped (the sandbox is shutting down).
                let _ = courier.send(batch);
            }
        }
        store
    }

    /// A batch was created: the webhook clock looks at the queue again.
    pub(crate) fn created_batch(&self) {
        self.batch_created.notify_one();
    }
}

//! The state shared by the server's handlers and the [`crate::Sandbox`] handle.

use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use crate::config::Config;
use crate::faults::Faults;
use crate::schema::RequestValidator;
use crate::stats::Counters;
use crate::store::Store;
use crate::token::TokenIssuer;

/// Everything a running sandbox holds.
#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) config: Config,
    pub(crate) tokens: TokenIssuer,
    pub(crate) payments_schema: RequestValidator,
    pub(crate) faults: Faults,
    pub(crate) stats: Counters,
    store: Mutex<Store>,
}

impl AppState {
    pub(crate) fn new(
        config: Config,
        tokens: TokenIssuer,
        payments_schema: RequestValidator,
        faults: Faults,
        store: Store,
    ) -> Self {
        Self {
            config,
            tokens,
            payments_schema,
            faults,
            stats: Counters::default(),
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
        let mut store = self.store();
        store.process_due(Instant::now(), false);
        store
    }
}

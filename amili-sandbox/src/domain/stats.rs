//! Request and webhook counters (domain floor), for assertions such as "exactly one token
//! request".

use std::sync::atomic::{AtomicU64, Ordering};

use crate::domain::faults::Route;

/// How many requests reached each route (faulted ones included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// `POST /token` requests.
    pub token_requests: u64,
    /// `POST …/orgs/{organizationId}/payments` requests.
    pub payment_requests: u64,
    /// `POST …/orgs/{organizationId}/corrections` requests.
    pub correction_requests: u64,
    /// `GET …/orgs/{organizationId}/batches/{batchId}` requests.
    pub batch_gets: u64,
    /// `GET …/orgs/{organizationId}/batches` requests.
    pub batch_lists: u64,
    /// `GET …/orgs/{organizationId}/invoices[/{invoiceId}]` requests.
    pub invoice_reads: u64,
    /// `GET …/orgs/{organizationId}/settlements[/{settlementId}]` requests.
    pub settlement_reads: u64,
    /// Requests to no known route.
    pub other_requests: u64,
    /// Requests a fault was applied to.
    pub faults_applied: u64,
    /// Webhook requests sent (every attempt of every delivery).
    pub webhook_attempts: u64,
    /// Webhook deliveries the receiver answered with 2xx.
    pub webhooks_delivered: u64,
    /// Webhook deliveries given up after the last attempt.
    pub webhooks_given_up: u64,
}

/// The live counters behind [`Stats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    token_requests: AtomicU64,
    payment_requests: AtomicU64,
    correction_requests: AtomicU64,
    batch_gets: AtomicU64,
    batch_lists: AtomicU64,
    invoice_reads: AtomicU64,
    settlement_reads: AtomicU64,
    other_requests: AtomicU64,
    faults_applied: AtomicU64,
    webhook_attempts: AtomicU64,
    webhooks_delivered: AtomicU64,
    webhooks_given_up: AtomicU64,
}

impl Counters {
    pub(crate) fn count(&self, route: Option<Route>) {
        let counter = match route {
            Some(Route::Token) => &self.token_requests,
            Some(Route::CreatePayments) => &self.payment_requests,
            Some(Route::CreateCorrections) => &self.correction_requests,
            Some(Route::GetBatch) => &self.batch_gets,
            Some(Route::ListBatches) => &self.batch_lists,
            Some(Route::GetInvoice | Route::ListInvoices) => &self.invoice_reads,
            Some(Route::GetSettlement | Route::ListSettlements) => &self.settlement_reads,
            None => &self.other_requests,
        };
        counter.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn count_fault(&self) {
        self.faults_applied.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn count_webhook(&self, delivered: bool) {
        self.webhook_attempts.fetch_add(1, Ordering::SeqCst);
        if delivered {
            self.webhooks_delivered.fetch_add(1, Ordering::SeqCst);
        }
    }

    pub(crate) fn count_webhook_given_up(&self) {
        self.webhooks_given_up.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn snapshot(&self) -> Stats {
        Stats {
            token_requests: self.token_requests.load(Ordering::SeqCst),
            payment_requests: self.payment_requests.load(Ordering::SeqCst),
            correction_requests: self.correction_requests.load(Ordering::SeqCst),
            batch_gets: self.batch_gets.load(Ordering::SeqCst),
            batch_lists: self.batch_lists.load(Ordering::SeqCst),
            invoice_reads: self.invoice_reads.load(Ordering::SeqCst),
            settlement_reads: self.settlement_reads.load(Ordering::SeqCst),
            other_requests: self.other_requests.load(Ordering::SeqCst),
            faults_applied: self.faults_applied.load(Ordering::SeqCst),
            webhook_attempts: self.webhook_attempts.load(Ordering::SeqCst),
            webhooks_delivered: self.webhooks_delivered.load(Ordering::SeqCst),
            webhooks_given_up: self.webhooks_given_up.load(Ordering::SeqCst),
        }
    }
}

//! Per-payment outcomes of a submission.

use std::collections::BTreeSet;

use serde::Serialize;
use uuid::Uuid;

use crate::create::Receipt;
use crate::error::Error;
use crate::idempotency::IdempotencyKey;

/// Where one payment ended up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "camelCase")]
#[non_exhaustive]
pub enum OutcomeState {
    /// Queued in a batch (`202`); not processed yet. [`Client::follow`](crate::Client::follow)
    /// turns it into `Succeeded` or `Failed`.
    Accepted,
    /// The batch processed it successfully.
    Succeeded,
    /// The batch processed it and it failed.
    Failed {
        /// Amili's reason, when the batch item had one.
        reason: Option<String>,
    },
    /// It may or may not have been booked: do **not** resend under a new key.
    Unknown {
        /// Why it cannot be told.
        reason: String,
    },
    /// It was sent and refused, or sending gave up; nothing was booked. Safe to resend
    /// (preferably with the same idempotency key).
    Rejected {
        /// The error, for a person.
        reason: String,
    },
    /// It never left: refused by the submission observer, a duplicate in a stream, or skipped
    /// after a failure that would have failed every request. Nothing was booked.
    NotSent {
        /// Why.
        reason: String,
    },
}

impl OutcomeState {
    /// Whether nothing more will change it (`Succeeded`, `Failed`).
    pub fn is_final(&self) -> bool {
        matches!(self, OutcomeState::Succeeded | OutcomeState::Failed { .. })
    }

    /// Whether resending cannot book it twice (`Rejected`, `NotSent`).
    pub fn is_safe_to_resend(&self) -> bool {
        matches!(
            self,
            OutcomeState::Rejected { .. } | OutcomeState::NotSent { .. }
        )
    }
}

/// The outcome of one payment of a submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PaymentOutcome {
    /// Its position in the submission, counting from 0.
    pub index: usize,
    /// Its `uniqueSourcePaymentId`.
    pub unique_source_payment_id: String,
    /// Its invoice.
    pub invoice_id: Uuid,
    /// The batch it was queued in, when known.
    pub batch_id: Option<Uuid>,
    /// The idempotency key of the request that carried it.
    pub idempotency_key: Option<IdempotencyKey>,
    /// Where it ended up.
    #[serde(flatten)]
    pub state: OutcomeState,
}

/// How many payments are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct OutcomeCounts {
    /// Queued, not yet processed.
    pub accepted: usize,
    /// Processed successfully.
    pub succeeded: usize,
    /// Processed and failed.
    pub failed: usize,
    /// Outcome unknown.
    pub unknown: usize,
    /// Sent and refused, nothing booked.
    pub rejected: usize,
    /// Never sent.
    pub not_sent: usize,
}

/// The result of a whole submission: one outcome per payment, in input order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SubmitReport {
    /// One per payment, in input order.
    pub outcomes: Vec<PaymentOutcome>,
    /// The receipt of every accepted request.
    pub receipts: Vec<Receipt>,
}

impl SubmitReport {
    /// How many payments are in each state.
    pub fn counts(&self) -> OutcomeCounts {
        let mut counts = OutcomeCounts::default();
        for outcome in &self.outcomes {
            match outcome.state {
                OutcomeState::Accepted => counts.accepted += 1,
                OutcomeState::Succeeded => counts.succeeded += 1,
                OutcomeState::Failed { .. } => counts.failed += 1,
                OutcomeState::Unknown { .. } => counts.unknown += 1,
                OutcomeState::Rejected { .. } => counts.rejected += 1,
                OutcomeState::NotSent { .. } => counts.not_sent += 1,
            }
        }
        counts
    }

    /// The batches payments were queued in, each once, in order of first appearance.
    pub fn batch_ids(&self) -> Vec<Uuid> {
        let mut seen = BTreeSet::new();
        self.outcomes
            .iter()
            .filter_map(|o| o.batch_id)
            .filter(|id| seen.insert(*id))
            .collect()
    }

    /// Whether every payment was at least accepted (`Accepted`, `Succeeded` or `Failed`).
    pub fn all_accepted(&self) -> bool {
        self.outcomes.iter().all(|o| {
            matches!(
                o.state,
                OutcomeState::Accepted | OutcomeState::Succeeded | OutcomeState::Failed { .. }
            )
        })
    }

    /// Whether every payment succeeded.
    pub fn all_succeeded(&self) -> bool {
        self.outcomes
            .iter()
            .all(|o| o.state == OutcomeState::Succeeded)
    }
}

/// How one request of a submission ended.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ChunkResult {
    /// Queued as a batch.
    Accepted(Receipt),
    /// Sent and refused, or sending gave up; nothing was booked.
    Rejected(Error),
    /// May or may not have been booked.
    Unknown(Error),
    /// Never sent.
    NotSent {
        /// Why.
        reason: String,
    },
}

impl ChunkResult {
    pub(crate) fn from_create(result: Result<Receipt, Error>) -> Self {
        match result {
            Ok(receipt) => ChunkResult::Accepted(receipt),
            Err(e) if e.is_outcome_unknown() => ChunkResult::Unknown(e),
            Err(
                e @ Error::Transport {
                    maybe_sent: false, ..
                },
            ) => ChunkResult::NotSent {
                reason: e.to_string(),
            },
            Err(e) => ChunkResult::Rejected(e),
        }
    }

    /// The state each of the chunk's payments gets.
    pub(crate) fn state(&self) -> OutcomeState {
        match self {
            ChunkResult::Accepted(_) => OutcomeState::Accepted,
            ChunkResult::Rejected(e) => OutcomeState::Rejected {
                reason: e.to_string(),
            },
            ChunkResult::Unknown(e) => OutcomeState::Unknown {
                reason: e.to_string(),
            },
            ChunkResult::NotSent { reason } => OutcomeState::NotSent {
                reason: reason.clone(),
            },
        }
    }
}

/// What became of one request of a submission, reported as soon as it is known by
/// [`Client::submit_stream_each`](crate::Client::submit_stream_each).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ChunkReport {
    /// The key the request carried; `None` for payments that were never part of a request
    /// (a repeated id in a stream).
    pub idempotency_key: Option<IdempotencyKey>,
    /// How the request ended.
    pub result: ChunkResult,
    /// One per payment of the request, in input order.
    pub outcomes: Vec<PaymentOutcome>,
}

impl SubmitReport {
    /// The whole report of a submission from its requests' reports.
    pub(crate) async fn collect(
        chunks: impl futures::Stream<Item = ChunkReport>,
        expected: usize,
    ) -> SubmitReport {
        use futures::StreamExt as _;
        let mut report = SubmitReport::default();
        report.outcomes.reserve(expected);
        let mut chunks = std::pin::pin!(chunks);
        while let Some(chunk) = chunks.next().await {
            report.add(chunk);
        }
        report.finish();
        report
    }

    /// Adds one request's report (outcomes and receipt); call [`Self::finish`] at the end.
    fn add(&mut self, chunk: ChunkReport) {
        self.outcomes.extend(chunk.outcomes);
        if let ChunkResult::Accepted(receipt) = chunk.result {
            self.receipts.push(receipt);
        }
    }

    /// Puts outcomes in input order and receipts in the order of their payments.
    fn finish(&mut self) {
        self.outcomes.sort_by_key(|o| o.index);
        let order: std::collections::HashMap<Uuid, usize> = self
            .batch_ids()
            .into_iter()
            .enumerate()
            .map(|(i, id)| (id, i))
            .collect();
        self.receipts
            .sort_by_key(|r| order.get(&r.batch_id).copied());
    }
}

//! Submissions: the observer (a journal), resuming with the keys chosen before.

mod common;

use std::sync::{Arc, Mutex};

use amili_payments::{
    ChunkResult, Error, IdempotencyKey, OutcomeState, PlannedChunk, SubmitObserver, SubmitOptions,
};
use common::*;

#[derive(Default)]
struct Journal {
    planned: Mutex<Vec<(IdempotencyKey, Vec<String>)>>,
    finished: Mutex<Vec<(IdempotencyKey, bool)>>,
    refuse_after: Option<usize>,
}

impl SubmitObserver for Journal {
    fn chunk_planned(
        &self,
        key: &IdempotencyKey,
        source_ids: &[String],
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let mut planned = self.planned.lock().map_err(|_| "poisoned")?;
        if self.refuse_after.is_some_and(|n| planned.len() >= n) {
            return Err("the journal disk is full".into());
        }
        planned.push((key.clone(), source_ids.to_vec()));
        Ok(())
    }

    fn chunk_finished(&self, key: &IdempotencyKey, result: &ChunkResult) {
        if let Ok(mut finished) = self.finished.lock() {
            finished.push((key.clone(), matches!(result, ChunkResult::Accepted(_))));
        }
    }
}

#[tokio::test]
async fn the_observer_journals_keys_first_and_can_stop_a_request() -> TestResult {
    let sandbox = sandbox().await;
    let client = builder_for(&sandbox)
        .max_payments_per_request(2)
        .concurrency(1)
        .build()?;
    let journal = Arc::new(Journal {
        refuse_after: Some(2),
        ..Journal::default()
    });
    let report = client
        .submit(
            payments(0..5),
            SubmitOptions::default().with_observer(journal.clone()),
        )
        .await?;

    let planned = journal
        .planned
        .lock()
        .map(|p| p.clone())
        .unwrap_or_default();
    assert_eq!(planned.len(), 2);
    assert_eq!(planned[0].1, ["P-000000", "P-000001"]);
    let finished = journal
        .finished
        .lock()
        .map(|f| f.clone())
        .unwrap_or_default();
    assert_eq!(finished.len(), 3, "told about every request");
    // The journaled keys are the keys sent.
    assert_eq!(
        report.outcomes[0].idempotency_key.as_ref(),
        Some(&planned[0].0)
    );
    match &report.outcomes[4].state {
        OutcomeState::NotSent { reason } => assert!(reason.contains("disk is full"), "{reason}"),
        other => panic!("expected not sent, got {other:?}"),
    }
    assert_eq!(report.counts().accepted, 4);
    assert_eq!(sandbox.stats().payment_requests, 2);
    Ok(())
}

#[tokio::test]
async fn resuming_with_the_journaled_keys_books_nothing_twice() -> TestResult {
    let sandbox = sandbox().await;
    let client = builder_for(&sandbox).max_payments_per_request(3).build()?;
    let all = payments(0..7);
    let first = client.submit(all.clone(), SubmitOptions::default()).await?;
    let batches_before = sandbox.batch_count();

    // A process that crashed after sending, and resumes from its journal.
    let mut chunks: Vec<PlannedChunk> = Vec::new();
    for outcome in &first.outcomes {
        let key = outcome
            .idempotency_key
            .clone()
            .unwrap_or_else(IdempotencyKey::random);
        match chunks.last_mut() {
            Some(chunk) if chunk.idempotency_key == key => {
                chunk.payments.push(all[outcome.index].clone())
            }
            _ => chunks.push(PlannedChunk {
                idempotency_key: key,
                payments: vec![all[outcome.index].clone()],
            }),
        }
    }
    assert_eq!(chunks.len(), 3);
    let again = client
        .submit_chunks(chunks, SubmitOptions::default())
        .await?;
    assert!(again.all_accepted());
    assert_eq!(again.batch_ids(), first.batch_ids(), "the same batches");
    assert_eq!(sandbox.batch_count(), batches_before);
    sandbox.finish_batches();
    assert_eq!(sandbox.ledger().len(), 7);
    Ok(())
}

#[tokio::test]
async fn planned_chunks_are_checked_before_anything_is_sent() -> TestResult {
    let sandbox = sandbox().await;
    let client = builder_for(&sandbox).max_payments_per_request(2).build()?;
    let key = IdempotencyKey::random();
    let cases = [
        vec![PlannedChunk::new(vec![])],
        vec![PlannedChunk::new(payments(0..3))],
        vec![
            PlannedChunk {
                idempotency_key: key.clone(),
                payments: payments(0..1),
            },
            PlannedChunk {
                idempotency_key: key.clone(),
                payments: payments(1..2),
            },
        ],
    ];
    for chunks in cases {
        let result = client.submit_chunks(chunks, SubmitOptions::default()).await;
        assert!(matches!(result, Err(Error::Usage(_))), "{result:?}");
    }
    let repeated = client
        .submit_chunks(
            vec![
                PlannedChunk::new(payments(0..2)),
                PlannedChunk::new(vec![payment(1)]),
            ],
            SubmitOptions::default(),
        )
        .await;
    assert!(
        matches!(repeated, Err(Error::DuplicateSourceId { .. })),
        "{repeated:?}"
    );
    assert_eq!(sandbox.stats().payment_requests, 0);
    Ok(())
}

//! The PostgreSQL ledger against a real server: run through `scripts/with-postgres.sh`, which
//! starts a throwaway one (or set `AMILI_TEST_POSTGRES_URL`). Without it these tests fail.
#![cfg(feature = "postgres")]

use std::sync::Arc;

use amili_ledger::PostgresLedger;
use amili_payments::IdempotencyKey;
use amili_payments::Uuid;
use amili_payments::ledger::conformance::{self, items};
use amili_payments::ledger::{Claim, Ledger, Settled};

fn url() -> String {
    std::env::var("AMILI_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "AMILI_TEST_POSTGRES_URL is not set: these tests need a PostgreSQL server; run \
             `bash scripts/with-postgres.sh cargo test --workspace --locked`"
        )
    })
}

/// A scope of its own per test, so tests sharing the server do not meet.
fn scope() -> String {
    format!("test {}", Uuid::new_v4())
}

#[tokio::test]
async fn claims_accept_and_conflict() -> Result<(), Box<dyn std::error::Error>> {
    let scope = scope();
    let ledger = PostgresLedger::connect(&url(), scope.clone()).await?;
    let ids = vec!["P-1".to_owned(), "P-2".to_owned()];
    let (a, b) = ([1u8; 32], [2u8; 32]);
    let key = IdempotencyKey::random();
    assert_eq!(
        ledger.claim(&key, &items(&ids, &a)).await?,
        [Claim::Claimed, Claim::Claimed]
    );
    let batch = Uuid::new_v4();
    ledger
        .record(&key, &Settled::Accepted { batch_id: batch })
        .await?;
    let other = PostgresLedger::connect(&url(), scope).await?;
    let next = IdempotencyKey::random();
    assert_eq!(
        other.claim(&next, &items(&ids[..1], &a)).await?,
        [Claim::AlreadyAccepted { batch_id: batch }]
    );
    assert_eq!(
        other.claim(&next, &items(&ids[1..], &b)).await?,
        [Claim::Conflict { batch_id: batch }]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_machines_racing_for_the_same_payments_claim_each_once()
-> Result<(), Box<dyn std::error::Error>> {
    let scope = scope();
    let ids: Arc<Vec<String>> = Arc::new((0..500).map(|i| format!("R-{i}")).collect());
    let first = Arc::new(PostgresLedger::connect(&url(), scope.clone()).await?);
    let second = Arc::new(PostgresLedger::connect(&url(), scope).await?);
    let race = |ledger: Arc<PostgresLedger>, ids: Arc<Vec<String>>| {
        tokio::spawn(async move {
            let fingerprint = [9u8; 32];
            let key = IdempotencyKey::random();
            ledger.claim(&key, &items(&ids, &fingerprint)).await
        })
    };
    let (one, two) = tokio::join!(
        race(first.clone(), ids.clone()),
        race(second.clone(), ids.clone())
    );
    let (one, two) = (one??, two??);
    for (i, (x, y)) in one.iter().zip(&two).enumerate() {
        let claimed = usize::from(*x == Claim::Claimed) + usize::from(*y == Claim::Claimed);
        assert_eq!(claimed, 1, "payment {i}: {x:?} / {y:?}");
        // The loser sees a live owner: busy, never pending.
        assert!(matches!(
            (x, y),
            (Claim::Claimed, Claim::Busy) | (Claim::Busy, Claim::Claimed)
        ));
    }
    Ok(())
}

#[tokio::test]
async fn a_dead_owners_request_is_pending_adopted_once_or_released()
-> Result<(), Box<dyn std::error::Error>> {
    let scope = scope();
    let ids = vec!["D-1".to_owned()];
    let fp = [3u8; 32];
    let key = IdempotencyKey::random();
    {
        let dying = PostgresLedger::connect(&url(), scope.clone()).await?;
        assert_eq!(
            dying.claim(&key, &items(&ids, &fp)).await?,
            [Claim::Claimed]
        );
        let alive = PostgresLedger::connect(&url(), scope.clone()).await?;
        let mine = IdempotencyKey::random();
        assert_eq!(alive.claim(&mine, &items(&ids, &fp)).await?, [Claim::Busy]);
    }
    // The dying ledger's connection is closed: its advisory lock is free once the server
    // notices, which the next statement on a new session sees.
    let mut pending = None;
    for _ in 0..50 {
        let next = PostgresLedger::connect(&url(), scope.clone()).await?;
        match next
            .claim(&IdempotencyKey::random(), &items(&ids, &fp))
            .await?[..]
        {
            [Claim::Pending { ref key }] => {
                pending = Some((next, key.clone()));
                break;
            }
            _ => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    let (ledger, earlier) = pending.ok_or("the dead owner's payment never became pending")?;
    assert_eq!(earlier, key);
    assert_eq!(ledger.pending(&key).await?, [("D-1".to_owned(), fp)]);
    let rival = PostgresLedger::connect(&url(), scope).await?;
    assert!(ledger.adopt(&key).await?);
    assert!(!rival.adopt(&key).await?, "adopted twice");
    ledger.record(&key, &Settled::NotBooked).await?;
    let again = IdempotencyKey::random();
    assert_eq!(
        ledger.claim(&again, &items(&ids, &fp)).await?,
        [Claim::Claimed]
    );
    Ok(())
}

/// The claim decision's table of cases and the release table (a request with no batch is
/// released only once quiet, and only the items named): the ones every store is held to,
/// each run a new connection to one scope.
#[tokio::test]
async fn claims_and_releases_follow_the_tables_every_store_follows() {
    let (url, scope) = (url(), scope());
    let open = || PostgresLedger::connect(&url, scope.clone());
    let ran = conformance::check_tables(open, true)
        .await
        .unwrap_or_else(|failures| panic!("{failures}"));
    assert_eq!(ran, (conformance::CASES.len(), conformance::RELEASES.len()));
}

#[tokio::test]
async fn an_unreachable_server_is_a_clear_error_without_the_password() {
    let err = PostgresLedger::connect("postgres://amili:s3cret@127.0.0.1:9/none", "x")
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("postgres://amili@127.0.0.1:9/none"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
}

/// A table as the ledger made it before outcomes were recorded gets their columns in place,
/// and keeps its rows. In a database of its own: other tests share the usual table.
#[tokio::test]
async fn a_table_without_outcomes_is_migrated_in_place() -> Result<(), Box<dyn std::error::Error>> {
    use amili_payments::ledger::Processed;
    use amili_payments::report::Failure;

    let url = url();
    let (admin, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let db = format!("amili_old_{}", Uuid::new_v4().simple());
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await?;
    let old_url = match url.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{db}"),
        None => panic!("a URL without a database: {url}"),
    };
    let scope = scope();
    let batch = Uuid::new_v4();
    {
        let (old, connection) = tokio_postgres::connect(&old_url, tokio_postgres::NoTls).await?;
        let task = tokio::spawn(connection);
        old.batch_execute(
            "CREATE TABLE amili_ledger_items (
                 scope TEXT NOT NULL, id TEXT NOT NULL, fingerprint BYTEA NOT NULL,
                 key TEXT NOT NULL, owner UUID NOT NULL, batch_id UUID,
                 updated_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (scope, id));
             CREATE INDEX amili_ledger_items_by_key ON amili_ledger_items (scope, key);",
        )
        .await?;
        for id in ["P-1", "P-2"] {
            old.execute(
                "INSERT INTO amili_ledger_items (scope, id, fingerprint, key, owner, batch_id)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &scope,
                    &id,
                    &[1u8; 32].as_slice(),
                    &IdempotencyKey::random().as_str(),
                    &Uuid::new_v4(),
                    &batch,
                ],
            )
            .await?;
        }
        drop(old);
        task.await??;
    }
    let ledger = PostgresLedger::connect(&old_url, scope).await?;
    let ids = vec!["P-1".to_owned(), "P-2".to_owned()];
    let key = IdempotencyKey::random();
    assert_eq!(
        ledger.claim(&key, &items(&ids, &[1u8; 32])).await?,
        [
            Claim::AlreadyAccepted { batch_id: batch },
            Claim::AlreadyAccepted { batch_id: batch }
        ]
    );
    let failure = Failure::new(Some("UNKNOWN_INVOICE"), Some("no such invoice"));
    ledger
        .record_outcomes(batch, &[("P-2", Processed::Failed(failure.clone()))])
        .await?;
    assert_eq!(
        ledger.claim(&key, &items(&ids, &[1u8; 32])).await?,
        [
            Claim::AlreadyAccepted { batch_id: batch },
            Claim::FailedEarlier {
                batch_id: batch,
                failure
            }
        ]
    );
    let mut outcomes = Vec::new();
    ledger
        .for_each_item(false, |item| {
            outcomes.push((item.id, item.outcome, item.reason_code));
            Ok(())
        })
        .await?;
    assert_eq!(
        outcomes,
        [
            ("P-1".to_owned(), None, None),
            (
                "P-2".to_owned(),
                Some("failed".to_owned()),
                Some("UNKNOWN_INVOICE".to_owned())
            )
        ]
    );
    drop(ledger);
    // Best effort: the server is thrown away after the tests anyway.
    let _ = admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .await;
    Ok(())
}

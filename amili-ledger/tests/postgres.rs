//! The PostgreSQL ledger against a real server: run through `scripts/with-postgres.sh`, which
//! starts a throwaway one (or set `AMILI_TEST_POSTGRES_URL`). Without it these tests fail.
#![cfg(feature = "postgres")]

use std::sync::Arc;

use amili_ledger::PostgresLedger;
use amili_payments::IdempotencyKey;
use amili_payments::Uuid;
use amili_payments::ledger::{Claim, Ledger, LedgerItem, Settled, conformance};

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

fn items<'a>(ids: &'a [String], fingerprint: &'a [u8; 32]) -> Vec<LedgerItem<'a>> {
    ids.iter()
        .map(|id| LedgerItem { id, fingerprint })
        .collect()
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

/// The claim decision's table of cases (the one every store is held to), each run a new
/// connection to one scope.
#[tokio::test]
async fn claims_follow_the_table_every_store_follows() {
    let (url, scope) = (url(), scope());
    let open = || PostgresLedger::connect(&url, scope.clone());
    let ran = conformance::check_claims(open, true)
        .await
        .unwrap_or_else(|failures| panic!("{failures}"));
    assert_eq!(ran, conformance::CASES.len());
}

/// The release table: a request with no batch is released only once quiet, and only the
/// items named.
#[tokio::test]
async fn releases_follow_the_table_every_store_follows() {
    let (url, scope) = (url(), scope());
    let open = || PostgresLedger::connect(&url, scope.clone());
    let ran = conformance::check_releases(open, true)
        .await
        .unwrap_or_else(|failures| panic!("{failures}"));
    assert_eq!(ran, conformance::RELEASES.len());
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

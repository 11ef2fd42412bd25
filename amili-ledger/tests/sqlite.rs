//! The SQLite ledger against a real database file.

use amili_ledger::SqliteLedger;
use amili_payments::IdempotencyKey;
use amili_payments::Uuid;
use amili_payments::ledger::{Claim, Ledger, LedgerItem, Settled};

const SCOPE: &str = "http://127.0.0.1/collection/v1 org 1";

fn items<'a>(ids: &'a [&'a str], fingerprint: &'a [u8; 32]) -> Vec<LedgerItem<'a>> {
    ids.iter()
        .map(|id| LedgerItem { id, fingerprint })
        .collect()
}

#[tokio::test]
async fn claims_records_and_remembers_across_opens() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("state").join("ledger.db");
    let (a, b) = ([1u8; 32], [2u8; 32]);
    let key = IdempotencyKey::random();
    let batch = Uuid::new_v4();
    {
        let ledger = SqliteLedger::open(&path, SCOPE)?;
        let claims = ledger.claim(&key, &items(&["P-1", "P-2"], &a)).await?;
        assert_eq!(claims, [Claim::Claimed, Claim::Claimed]);
        // In flight under this ledger's own key: busy, not pending.
        let again = ledger
            .claim(&IdempotencyKey::random(), &items(&["P-1"], &a))
            .await?;
        assert_eq!(again, [Claim::Busy]);
        ledger
            .record(&key, &Settled::Accepted { batch_id: batch })
            .await?;
    }
    // Another process (a new open) sees what was accepted, by content.
    let ledger = SqliteLedger::open(&path, SCOPE)?;
    let next = IdempotencyKey::random();
    let claims = ledger.claim(&next, &items(&["P-1"], &a)).await?;
    assert_eq!(claims, [Claim::AlreadyAccepted { batch_id: batch }]);
    let claims = ledger.claim(&next, &items(&["P-2"], &b)).await?;
    assert_eq!(claims, [Claim::Conflict { batch_id: batch }]);
    // Another scope is another organization: the same id is a new payment there.
    let other = SqliteLedger::open(&path, "other org")?;
    assert_eq!(
        other.claim(&next, &items(&["P-1"], &a)).await?,
        [Claim::Claimed]
    );
    assert_eq!(ledger.items()?.len(), 2);
    Ok(())
}

#[tokio::test]
async fn a_live_owner_makes_busy_a_dead_one_pending_and_not_booked_releases()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("ledger.db");
    let fp = [7u8; 32];
    let first = SqliteLedger::open(&path, SCOPE)?;
    let key = IdempotencyKey::random();
    assert_eq!(
        first.claim(&key, &items(&["P-9"], &fp)).await?,
        [Claim::Claimed]
    );

    // While the first owner lives, a second one may not take the payment.
    let second = SqliteLedger::open(&path, SCOPE)?;
    let mine = IdempotencyKey::random();
    assert_eq!(
        second.claim(&mine, &items(&["P-9"], &fp)).await?,
        [Claim::Busy]
    );

    // The first owner dies without recording (a crash): the payment is pending under its key.
    drop(first);
    assert_eq!(
        second.claim(&mine, &items(&["P-9"], &fp)).await?,
        [Claim::Pending { key: key.clone() }]
    );
    // Its whole request can be taken over once, to be sent again under its key.
    assert_eq!(second.pending(&key).await?, [("P-9".to_owned(), fp)]);
    let third = SqliteLedger::open(&path, SCOPE)?;
    assert!(second.adopt(&key).await?);
    assert!(!third.adopt(&key).await?, "adopted by a live owner already");
    // Settled as not booked (looked up, no batch): released and claimable again.
    second.record(&key, &Settled::NotBooked).await?;
    assert_eq!(
        second.claim(&mine, &items(&["P-9"], &fp)).await?,
        [Claim::Claimed]
    );
    Ok(())
}

#[test]
fn an_unwritable_place_is_a_clear_error() {
    let err = SqliteLedger::open("/proc/no/such/ledger.db", SCOPE)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("/proc/no/such"), "{err}");
}

#[tokio::test]
async fn a_schema_1_file_keeps_what_it_remembers() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("ledger.db");
    let batch = Uuid::new_v4();
    let pending_key = IdempotencyKey::random();
    {
        // A file as the first schema wrote it: the scope's text in every row.
        let old = rusqlite::Connection::open(&path)?;
        old.execute_batch(
            "CREATE TABLE items (
                 scope TEXT NOT NULL, id TEXT NOT NULL, fingerprint BLOB NOT NULL,
                 key TEXT NOT NULL, owner TEXT NOT NULL, batch_id TEXT,
                 updated_at INTEGER NOT NULL, PRIMARY KEY (scope, id));
             CREATE INDEX items_by_key ON items (scope, key);
             PRAGMA user_version = 1;",
        )?;
        let row = "INSERT INTO items VALUES (?1, ?2, ?3, ?4, 'gone-owner', ?5, 0)";
        old.execute(
            row,
            rusqlite::params![SCOPE, "P-1", [1u8; 32].as_slice(), "k1", batch.to_string()],
        )?;
        old.execute(
            row,
            rusqlite::params![
                "other org",
                "P-1",
                [1u8; 32].as_slice(),
                pending_key.as_str(),
                None::<String>
            ],
        )?;
    }
    let ledger = SqliteLedger::open(&path, SCOPE)?;
    let key = IdempotencyKey::random();
    assert_eq!(
        ledger.claim(&key, &items(&["P-1"], &[1u8; 32])).await?,
        [Claim::AlreadyAccepted { batch_id: batch }]
    );
    let other = SqliteLedger::open(&path, "other org")?;
    assert_eq!(
        other.claim(&key, &items(&["P-1"], &[1u8; 32])).await?,
        [Claim::Pending { key: pending_key }]
    );
    let mut scopes: Vec<String> = Vec::new();
    ledger.for_each_item(true, |item| {
        scopes.push(item.scope);
        Ok(())
    })?;
    assert_eq!(scopes, [SCOPE, "other org"]);
    // Opening again leaves the moved file as it is.
    drop(SqliteLedger::open(&path, SCOPE)?);
    assert_eq!(SqliteLedger::open(&path, SCOPE)?.items()?.len(), 1);
    Ok(())
}

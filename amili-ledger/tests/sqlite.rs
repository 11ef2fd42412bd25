//! The SQLite ledger against a real database file.

use amili_ledger::SqliteLedger;
use amili_payments::IdempotencyKey;
use amili_payments::Uuid;
use amili_payments::ledger::conformance::{self, items};
use amili_payments::ledger::{Claim, Ledger, Processed, Settled};
use amili_payments::report::Failure;

const SCOPE: &str = "http://127.0.0.1/collection/v1 org 1";

/// A folder of the test's own and the path of a ledger file in it (not made yet).
fn new_ledger_file() -> std::io::Result<(tempfile::TempDir, std::path::PathBuf)> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("ledger.db");
    Ok((dir, path))
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
    let (_dir, path) = new_ledger_file()?;
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

/// The claim decision's table of cases and the release table (a request with no batch is
/// released only once quiet, and only the items named): the ones every store is held to,
/// each run a new open of the same file.
#[tokio::test]
async fn claims_and_releases_follow_the_tables_every_store_follows() -> Result<(), std::io::Error> {
    let (_dir, path) = new_ledger_file()?;
    let open = || std::future::ready(SqliteLedger::open(&path, SCOPE));
    let ran = conformance::check_tables(open, true)
        .await
        .unwrap_or_else(|failures| panic!("{failures}"));
    assert_eq!(ran, (conformance::CASES.len(), conformance::RELEASES.len()));
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

#[test]
fn a_new_file_says_so_and_an_empty_or_unreadable_one_is_refused_not_replaced()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("state").join("ledger.db");
    assert!(SqliteLedger::open(&path, SCOPE)?.created());
    assert!(!SqliteLedger::open(&path, SCOPE)?.created());
    // Only the ledger (and its lock files) is left: the file was made aside, then moved.
    let strays: Vec<_> = std::fs::read_dir(path.parent().ok_or("no folder")?)?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".new-"))
        .collect();
    assert!(strays.is_empty(), "{strays:?}");

    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"")?;
    let err = SqliteLedger::open(&empty, SCOPE)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("is empty (0 bytes)"), "{err}");
    assert!(err.contains("ledger import --from-amili"), "{err}");
    assert_eq!(std::fs::metadata(&empty)?.len(), 0, "not replaced");

    // A folder where the file should be cannot be read as a ledger.
    let folder = dir.path().join("folder.db");
    std::fs::create_dir(&folder)?;
    let err = SqliteLedger::open(&folder, SCOPE)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("is not a file"), "{err}");
    Ok(())
}

#[tokio::test]
async fn a_schema_1_file_keeps_what_it_remembers() -> Result<(), Box<dyn std::error::Error>> {
    let (_dir, path) = new_ledger_file()?;
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

/// A file as the second, third or fourth schema wrote it (`more`: what that schema adds to
/// the scopes, requests and items, and its version): in [`SCOPE`], request 1 under `k1`
/// accepted in `batch`, request 2 under `pending` not recorded; no items yet.
fn older_schema(
    path: &std::path::Path,
    more: &str,
    batch: Uuid,
    pending: &IdempotencyKey,
) -> rusqlite::Result<rusqlite::Connection> {
    let old = rusqlite::Connection::open(path)?;
    old.execute_batch(&format!(
        "CREATE TABLE scopes (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
         CREATE TABLE requests (
             id INTEGER PRIMARY KEY, scope INTEGER NOT NULL REFERENCES scopes (id),
             key TEXT NOT NULL, owner TEXT NOT NULL, batch_id TEXT,
             updated_at INTEGER NOT NULL, UNIQUE (scope, key));
         CREATE TABLE ledger_items (
             scope INTEGER NOT NULL REFERENCES scopes (id), id TEXT NOT NULL,
             fingerprint BLOB NOT NULL, request INTEGER NOT NULL REFERENCES requests (id),
             PRIMARY KEY (scope, id)) WITHOUT ROWID;
         {more}"
    ))?;
    old.execute("INSERT INTO scopes (id, name) VALUES (1, ?1)", [SCOPE])?;
    let request = "INSERT INTO requests VALUES (?1, 1, ?2, 'gone-owner', ?3, 0)";
    old.execute(request, rusqlite::params![1, "k1", Some(batch.to_string())])?;
    old.execute(
        request,
        rusqlite::params![2, pending.as_str(), None::<String>],
    )?;
    Ok(old)
}

/// What the fourth schema adds to [`older_schema`]: each request's item list, and outcomes.
const SCHEMA_4: &str = "
CREATE TABLE request_items (
    request INTEGER PRIMARY KEY REFERENCES requests (id), ids BLOB NOT NULL);
ALTER TABLE ledger_items ADD COLUMN outcome TEXT;
ALTER TABLE ledger_items ADD COLUMN reason_code TEXT;
ALTER TABLE ledger_items ADD COLUMN reason_message TEXT;
ALTER TABLE ledger_items ADD COLUMN outcome_at INTEGER;
PRAGMA user_version = 4;";

/// In a file of schema 3 or 4: request 2 lists its one item, P-3 (4 bytes of length, then
/// the id).
fn list_p3_under_request_2(old: &rusqlite::Connection) -> rusqlite::Result<()> {
    let mut ids = 3u32.to_le_bytes().to_vec();
    ids.extend_from_slice(b"P-3");
    old.execute(
        "INSERT INTO request_items VALUES (2, ?1)",
        rusqlite::params![ids],
    )?;
    Ok(())
}

#[tokio::test]
async fn a_schema_2_file_keeps_its_requests_items() -> Result<(), Box<dyn std::error::Error>> {
    let (_dir, path) = new_ledger_file()?;
    let batch = Uuid::new_v4();
    let pending_key = IdempotencyKey::random();
    {
        // A file as the second schema wrote it: a request's items found by an index.
        let old = older_schema(
            &path,
            "CREATE INDEX ledger_items_by_request ON ledger_items (request);
             PRAGMA user_version = 2;",
            batch,
            &pending_key,
        )?;
        let item = "INSERT INTO ledger_items VALUES (1, ?1, ?2, ?3)";
        old.execute(item, rusqlite::params!["P-1", [1u8; 32].as_slice(), 1])?;
        for (id, fp) in [("P-3", 3u8), ("P-2", 2u8)] {
            old.execute(item, rusqlite::params![id, [fp; 32].as_slice(), 2])?;
        }
    }
    let ledger = SqliteLedger::open(&path, SCOPE)?;
    let key = IdempotencyKey::random();
    assert_eq!(
        ledger.claim(&key, &items(&["P-1"], &[1u8; 32])).await?,
        [Claim::AlreadyAccepted { batch_id: batch }]
    );
    // The interrupted request still has both its items, in id order, and can be released.
    assert_eq!(
        ledger.pending(&pending_key).await?,
        [("P-2".to_owned(), [2u8; 32]), ("P-3".to_owned(), [3u8; 32])]
    );
    assert!(ledger.adopt(&pending_key).await?);
    ledger.record(&pending_key, &Settled::NotBooked).await?;
    assert!(ledger.pending(&pending_key).await?.is_empty());
    assert_eq!(
        ledger
            .claim(
                &IdempotencyKey::random(),
                &items(&["P-2", "P-3"], &[9u8; 32])
            )
            .await?,
        [Claim::Claimed, Claim::Claimed]
    );
    // The index is gone and the file is at the current version.
    let check = rusqlite::Connection::open(&path)?;
    let indexes: i64 = check.query_row(
        "SELECT count(*) FROM sqlite_master WHERE name = 'ledger_items_by_request'",
        [],
        |row| row.get(0),
    )?;
    assert_eq!(indexes, 0);
    let version: i64 = check.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    assert_eq!(version, 5);
    Ok(())
}

#[tokio::test]
async fn a_schema_3_file_is_migrated_in_place_and_learns_outcomes()
-> Result<(), Box<dyn std::error::Error>> {
    let (_dir, path) = new_ledger_file()?;
    let batch = Uuid::new_v4();
    let pending_key = IdempotencyKey::random();
    {
        // A file as the third schema wrote it: no outcomes.
        let old = older_schema(
            &path,
            "CREATE TABLE request_items (
                 request INTEGER PRIMARY KEY REFERENCES requests (id), ids BLOB NOT NULL);
             PRAGMA user_version = 3;",
            batch,
            &pending_key,
        )?;
        let item = "INSERT INTO ledger_items VALUES (1, ?1, ?2, ?3)";
        for id in ["P-1", "P-2"] {
            old.execute(item, rusqlite::params![id, [1u8; 32].as_slice(), 1])?;
        }
        old.execute(item, rusqlite::params!["P-3", [3u8; 32].as_slice(), 2])?;
        list_p3_under_request_2(&old)?;
    }
    let ledger = SqliteLedger::open(&path, SCOPE)?;
    // Every entry is kept, outcome unknown.
    let entries = ledger.items()?;
    assert_eq!(entries.len(), 3);
    assert!(entries.iter().all(|e| e.outcome.is_none()));
    assert_eq!(
        ledger.pending(&pending_key).await?,
        [("P-3".to_owned(), [3u8; 32])]
    );
    // The batch's outcomes are learned and recorded.
    let failure = Failure::new(Some("UNKNOWN_INVOICE"), Some("no such invoice"));
    ledger
        .record_outcomes(
            batch,
            &[
                ("P-1", Processed::Succeeded),
                ("P-2", Processed::Failed(failure.clone())),
            ],
        )
        .await?;
    let key = IdempotencyKey::random();
    assert_eq!(
        ledger
            .claim(&key, &items(&["P-1", "P-2"], &[1u8; 32]))
            .await?,
        [
            Claim::SucceededEarlier { batch_id: batch },
            Claim::FailedEarlier {
                batch_id: batch,
                failure: failure.clone()
            }
        ]
    );
    let entries = ledger.items()?;
    assert_eq!(entries[1].outcome.as_deref(), Some("failed"));
    assert_eq!(entries[1].reason_code.as_deref(), Some("UNKNOWN_INVOICE"));
    assert_eq!(
        entries[1].reason_message.as_deref(),
        Some("no such invoice")
    );
    assert!(entries[1].outcome_at.is_some());
    // The fix of the failed one is claimed again; the file is at the current version.
    assert_eq!(
        ledger.claim(&key, &items(&["P-2"], &[2u8; 32])).await?,
        [Claim::Claimed]
    );
    drop(ledger);
    let check = rusqlite::Connection::open(&path)?;
    let version: i64 = check.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    assert_eq!(version, 5);
    Ok(())
}

/// The `ledger_items` table's key as the file declares it.
fn items_key(connection: &rusqlite::Connection) -> rusqlite::Result<Vec<String>> {
    let mut statement = connection.prepare(
        "SELECT info.name
         FROM pragma_index_list('ledger_items') AS list, pragma_index_info(list.name) AS info
         WHERE list.origin = 'pk' ORDER BY info.seqno",
    )?;
    let names = statement.query_map([], |row| row.get(0))?;
    names.collect()
}

#[tokio::test]
async fn a_schema_4_file_keeps_every_item_under_a_key_that_leads_with_the_id()
-> Result<(), Box<dyn std::error::Error>> {
    let (_dir, path) = new_ledger_file()?;
    let batch = Uuid::new_v4();
    let pending_key = IdempotencyKey::random();
    let failure = Failure::new(Some("UNKNOWN_INVOICE"), Some("no such invoice"));
    {
        // A file as the fourth schema wrote it: outcomes, and a key that leads with the scope.
        let old = older_schema(&path, SCHEMA_4, batch, &pending_key)?;
        assert_eq!(items_key(&old)?, ["scope", "id"]);
        let item = "INSERT INTO ledger_items VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)";
        old.execute(
            item,
            rusqlite::params![
                "P-1",
                [1u8; 32].as_slice(),
                1,
                "succeeded",
                None::<String>,
                None::<String>,
                10
            ],
        )?;
        old.execute(
            item,
            rusqlite::params![
                "P-2",
                [1u8; 32].as_slice(),
                1,
                "failed",
                "UNKNOWN_INVOICE",
                "no such invoice",
                11
            ],
        )?;
        old.execute(
            item,
            rusqlite::params![
                "P-3",
                [3u8; 32].as_slice(),
                2,
                None::<String>,
                None::<String>,
                None::<String>,
                None::<i64>
            ],
        )?;
        list_p3_under_request_2(&old)?;
    }
    let ledger = SqliteLedger::open(&path, SCOPE)?;
    // Every item is kept with what was known of it.
    let entries = ledger.items()?;
    let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["P-1", "P-2", "P-3"]);
    assert_eq!(entries[0].outcome.as_deref(), Some("succeeded"));
    assert_eq!(entries[1].reason_code.as_deref(), Some("UNKNOWN_INVOICE"));
    assert_eq!(entries[1].outcome_at, Some(11));
    assert_eq!(entries[2].outcome, None);
    let key = IdempotencyKey::random();
    assert_eq!(
        ledger
            .claim(&key, &items(&["P-1", "P-2", "P-4"], &[1u8; 32]))
            .await?,
        [
            Claim::SucceededEarlier { batch_id: batch },
            Claim::FailedEarlier {
                batch_id: batch,
                failure
            },
            Claim::Claimed
        ]
    );
    assert_eq!(
        ledger.pending(&pending_key).await?,
        [("P-3".to_owned(), [3u8; 32])]
    );
    drop(ledger);
    let check = rusqlite::Connection::open(&path)?;
    assert_eq!(items_key(&check)?, ["id", "scope"]);
    let version: i64 = check.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    assert_eq!(version, 5);
    // A new file has the same key.
    let (_new_dir, new_path) = new_ledger_file()?;
    drop(SqliteLedger::open(&new_path, SCOPE)?);
    assert_eq!(
        items_key(&rusqlite::Connection::open(&new_path)?)?,
        ["id", "scope"]
    );
    Ok(())
}

#[tokio::test]
async fn an_upgrade_that_fails_part_way_leaves_the_schema_4_file_whole()
-> Result<(), Box<dyn std::error::Error>> {
    let (_dir, path) = new_ledger_file()?;
    {
        let old = older_schema(&path, SCHEMA_4, Uuid::new_v4(), &IdempotencyKey::random())?;
        old.execute(
            "INSERT INTO ledger_items VALUES (1, 'P-3', ?1, 2, NULL, NULL, NULL, NULL)",
            rusqlite::params![[3u8; 32].as_slice()],
        )?;
        list_p3_under_request_2(&old)?;
        // The name the upgrade renames the old items table to is taken: its rename fails,
        // after the upgrade has begun.
        old.execute_batch("CREATE TABLE ledger_items_scope_first (x);")?;
    }
    let error = match SqliteLedger::open(&path, SCOPE) {
        Ok(_) => return Err("a failed upgrade opened the ledger".into()),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("cannot create the tables of"), "{error}");
    assert!(error.contains(&path.display().to_string()), "{error}");
    // Nothing of the upgrade is left: the old key, the old version, the item.
    let check = rusqlite::Connection::open(&path)?;
    assert_eq!(items_key(&check)?, ["scope", "id"]);
    let version: i64 = check.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    assert_eq!(version, 4);
    let id: String = check.query_row("SELECT id FROM ledger_items", [], |row| row.get(0))?;
    assert_eq!(id, "P-3");
    // With the name free again, the same file upgrades.
    check.execute_batch("DROP TABLE ledger_items_scope_first;")?;
    drop(check);
    let ledger = SqliteLedger::open(&path, SCOPE)?;
    let ids: Vec<String> = ledger.items()?.into_iter().map(|e| e.id).collect();
    assert_eq!(ids, ["P-3"]);
    Ok(())
}

#[tokio::test]
async fn a_second_round_under_one_key_adds_to_its_request() -> Result<(), Box<dyn std::error::Error>>
{
    let (_dir, path) = new_ledger_file()?;
    let fp = [4u8; 32];
    let key = IdempotencyKey::random();
    {
        let first = SqliteLedger::open(&path, SCOPE)?;
        assert_eq!(
            first.claim(&key, &items(&["P-2"], &fp)).await?,
            [Claim::Claimed]
        );
        // A second round under the same key: one more item claimed, one already its own.
        assert_eq!(
            first.claim(&key, &items(&["P-1", "P-2"], &fp)).await?,
            [Claim::Claimed, Claim::Busy]
        );
        // A round that claims nothing keeps the request and what it claimed.
        assert_eq!(
            first.claim(&key, &items(&["P-2"], &fp)).await?,
            [Claim::Busy]
        );
    }
    // Its owner died: the request holds both items.
    let second = SqliteLedger::open(&path, SCOPE)?;
    assert_eq!(
        second.pending(&key).await?,
        [("P-1".to_owned(), fp), ("P-2".to_owned(), fp)]
    );
    second.record(&key, &Settled::NotBooked).await?;
    assert!(second.items()?.is_empty());
    // A request that claims nothing leaves no row behind.
    let none = IdempotencyKey::random();
    assert_eq!(
        second
            .claim(&IdempotencyKey::random(), &items(&["P-5"], &fp))
            .await?,
        [Claim::Claimed]
    );
    assert_eq!(
        second.claim(&none, &items(&["P-5"], &fp)).await?,
        [Claim::Busy]
    );
    assert!(!second.adopt(&none).await?);
    assert!(second.pending(&none).await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn calls_that_queue_commit_together_and_fail_alone() -> Result<(), Box<dyn std::error::Error>>
{
    let (_dir, path) = new_ledger_file()?;
    let fp = [5u8; 32];
    let broken = IdempotencyKey::random();
    {
        let first = SqliteLedger::open(&path, SCOPE)?;
        first.claim(&broken, &items(&["P-0"], &fp)).await?;
    }
    // Damage that request's list of items: reading it fails.
    rusqlite::Connection::open(&path)?.execute("UPDATE request_items SET ids = x'ff'", [])?;

    let ledger = SqliteLedger::open(&path, SCOPE)?;
    let keys: Vec<IdempotencyKey> = (0..20).map(|_| IdempotencyKey::random()).collect();
    let ids: Vec<String> = (1..=20).map(|n| format!("P-{n}")).collect();
    // Every call is queued before any is awaited: they share the writer's transactions.
    let ledger = &ledger;
    let claims: Vec<_> = keys
        .iter()
        .zip(&ids)
        .map(|(key, id)| {
            let id = id.as_str();
            async move { ledger.claim(key, &items(&[id], &fp)).await }
        })
        .collect();
    let damaged = ledger.pending(&broken);
    let (claims, damaged) = futures::future::join(futures::future::join_all(claims), damaged).await;
    let error = damaged.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(error.contains("ends early"), "{error}");
    for claim in claims {
        assert_eq!(claim?, [Claim::Claimed]);
    }
    // Committed: another open sees all twenty (and the damaged request's item).
    assert_eq!(SqliteLedger::open(&path, SCOPE)?.items()?.len(), 21);
    Ok(())
}

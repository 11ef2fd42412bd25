//! The embedded ledger: one SQLite file.

use std::collections::HashSet;
use std::fmt;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;

use amili_payments::IdempotencyKey;
use amili_payments::ledger::{
    Claim, Fingerprint, Held, Known, Ledger, LedgerError, LedgerItem, Processed, Settled, decide,
};
use futures::future::BoxFuture;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use uuid::Uuid;

use crate::StoredItem;

/// The schema, versioned with `PRAGMA user_version`.
///
/// - `scopes` numbers each scope (a long text: API URL and organization) once.
/// - `requests`: one row per request (its idempotency key, the run that owns it, and once
///   known the batch Amili made of it): what a request's items share is written once, and
///   recording a result updates one row, not one per item.
/// - `ledger_items`: one small row per item (scope, id, fingerprint, request), keyed by
///   (id, scope) in a `WITHOUT ROWID` table; once its batch is followed, how the batch
///   processed it (`outcome`: `succeeded` or `failed`, Amili's `reason_code` and
///   `reason_message`, `outcome_at`), NULL while unknown (schema 4).
/// - `request_items`: the ids of the items each request claimed, one value per request (see
///   [`encode_id`]), apart from `requests` so that recording a result does not rewrite them.
///
/// Against one table with everything in every row (schema 1), a 20,000-payment CLI
/// submission runs 27 % fewer instructions in the ledger (callgrind). A request's items are
/// found through `request_items` rather than an index on `ledger_items (request)`
/// (schema 2): only resuming and releasing a request look them up, while every claim paid
/// for the index, about a third of a claim's time (BENCHMARKS.md). The key leads with the id
/// (schema 5): each step of a claim's search through the key then compares two ids at once,
/// where a key that led with the scope, the same in every row, took SQLite's slower compare of
/// the whole record (callgrind: about 1,000 instructions less per claimed item).
const SCHEMA_VERSION: i64 = 5;
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS scopes (
    id   INTEGER PRIMARY KEY,
    name TEXT    NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS requests (
    id         INTEGER PRIMARY KEY,
    scope      INTEGER NOT NULL REFERENCES scopes (id),
    key        TEXT    NOT NULL,
    owner      TEXT    NOT NULL,
    batch_id   TEXT,
    updated_at INTEGER NOT NULL,
    UNIQUE (scope, key)
);
CREATE TABLE IF NOT EXISTS ledger_items (
    scope       INTEGER NOT NULL REFERENCES scopes (id),
    id          TEXT    NOT NULL,
    fingerprint BLOB    NOT NULL,
    request     INTEGER NOT NULL REFERENCES requests (id),
    outcome        TEXT,
    reason_code    TEXT,
    reason_message TEXT,
    outcome_at     INTEGER,
    PRIMARY KEY (id, scope)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS request_items (
    request INTEGER PRIMARY KEY REFERENCES requests (id),
    ids     BLOB    NOT NULL
);
";

/// From schema 1 (one `items` table, everything in every row): every row moves, in the
/// transaction that creates the current schema. The items of one key shared their owner,
/// batch and time (claims and results were written per request).
const FROM_SCHEMA_1: &str = "
INSERT OR IGNORE INTO scopes (name) SELECT DISTINCT scope FROM items;
INSERT INTO requests (scope, key, owner, batch_id, updated_at)
    SELECT scopes.id, items.key, MIN(items.owner), MAX(items.batch_id), MAX(items.updated_at)
    FROM items JOIN scopes ON scopes.name = items.scope
    GROUP BY scopes.id, items.key;
INSERT INTO ledger_items (scope, id, fingerprint, request)
    SELECT scopes.id, items.id, items.fingerprint, requests.id
    FROM items
    JOIN scopes ON scopes.name = items.scope
    JOIN requests ON requests.scope = scopes.id AND requests.key = items.key;
DROP TABLE items;
";

/// From schemas 2 and 3 (`ledger_items` without outcomes): the outcome columns, NULL (not
/// known) for every item already there.
const OUTCOME_COLUMNS: &str = "
ALTER TABLE ledger_items ADD COLUMN outcome TEXT;
ALTER TABLE ledger_items ADD COLUMN reason_code TEXT;
ALTER TABLE ledger_items ADD COLUMN reason_message TEXT;
ALTER TABLE ledger_items ADD COLUMN outcome_at INTEGER;
";

/// From schemas 2 to 4 (`ledger_items` keyed by (scope, id), its outcome columns added): the
/// items move to the table [`SCHEMA`] makes, keyed by (id, scope), from the old one renamed
/// `ledger_items_scope_first` before it.
const ITEMS_FROM_SCOPE_FIRST: &str = "
INSERT INTO ledger_items
    (scope, id, fingerprint, request, outcome, reason_code, reason_message, outcome_at)
    SELECT scope, id, fingerprint, request, outcome, reason_code, reason_message, outcome_at
    FROM ledger_items_scope_first;
DROP TABLE ledger_items_scope_first;
";

mod writer;

use writer::{InFlight, Job, Writer};

/// Who this ledger is, which its calls need: the file, the scope's number, the owner.
struct Session {
    path: PathBuf,
    /// The scope's number in `scopes` (-1, matching nothing, for the empty scope that only
    /// lists).
    scope_id: i64,
    owner: String,
}

/// Opens the file, upgrading its schema, and registers this owner.
/// `true` with it when this call created the file.
fn open_writer(path: &Path, scope: &str) -> Result<(Writer, bool), LedgerError> {
    let path = path.to_path_buf();
    let fail = |what: &str, e: &dyn fmt::Display| {
        LedgerError::new(format!("{what} {}: {e}", path.display()))
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|e| fail("cannot create the folder of", &e))?;
    }
    let created = match refuse_unusable(&path) {
        Ok(true) => false,
        Ok(false) => create_file(&path).map_err(|e| fail("cannot create", &e))?,
        Err(e) => return Err(e),
    };
    // Never create it here: a file missing now was removed since `create_file` made it.
    let mut connection = Connection::open_with_flags(
        &path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
            | rusqlite::OpenFlags::SQLITE_OPEN_URI
            | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| fail("cannot open", &e))?;
    connection
        .busy_timeout(std::time::Duration::from_secs(30))
        .map_err(|e| fail("cannot configure", &e))?;
    // The schema's REFERENCES say how the tables link; the one writer keeps them. They are
    // not enforced (the bundled SQLite enforces them by default): that costs two look-ups per
    // claimed item and, as no index leads from an item to its request, a scan of every item
    // whenever a request that claimed nothing is removed, so a rerun of a sent file grew with
    // the square of its size (300,000 rows: 10 s instead of 1 s; BENCHMARKS.md).
    connection
        .pragma_update(None, "journal_mode", "WAL")
        .and_then(|()| connection.pragma_update(None, "synchronous", "FULL"))
        .and_then(|()| connection.pragma_update(None, "foreign_keys", "OFF"))
        .map_err(|e| fail("cannot configure", &e))?;
    // Plans that never depend on bound values. Without this, SQLite marks the parameters of a
    // join's `col = ?` terms as plan-shaping, and a cached statement whose bindings are cleared
    // (as rusqlite's cache does) is compiled again at its next step: once per request for the
    // claim's look-up, once per item for a rerun's. Every query here is a key look-up.
    connection
        .set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(|e| fail("cannot configure", &e))?;
    let version = schema_version(&connection).map_err(|e| fail("cannot read", &e))?;
    if version < SCHEMA_VERSION {
        upgrade(&mut connection).map_err(|e| fail("cannot create the tables of", &e))?;
    } else if version > SCHEMA_VERSION {
        return Err(fail(
            "a newer version of amili wrote",
            &format!("schema {version}, this version knows {SCHEMA_VERSION}"),
        ));
    }
    let scope_id = scope_id(&connection, scope).map_err(|e| fail("cannot write", &e))?;
    let owner = Uuid::new_v4().to_string();
    let owner_lock = lock_owner(&path, &owner)?;
    Ok(Writer {
        session: Session {
            path,
            scope_id,
            owner,
        },
        connection,
        in_flight: HashSet::new(),
        owner_lock,
    })
    .map(|writer| (writer, created))
}

/// `Ok(true)` when `path` is a file that can be opened, `Ok(false)` when there is none; an
/// error for a file that is empty or cannot be read. A ledger that lost its content must not
/// be replaced by a new, empty one: that would forget everything sent and send it again.
fn refuse_unusable(path: &Path) -> Result<bool, LedgerError> {
    let refuse = |why: String| {
        LedgerError::new(format!(
            "the ledger {} {why}; it is not replaced by a new one, which would forget what \
             was sent. Restore it from a backup, or move it away and rebuild it from Amili \
             with `amili ledger import --from-amili`",
            path.display()
        ))
    };
    let metadata = match fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(refuse(format!("cannot be inspected ({e})"))),
    };
    if !metadata.is_file() {
        return Err(refuse("is not a file".to_owned()));
    }
    if metadata.len() == 0 {
        return Err(refuse("is empty (0 bytes)".to_owned()));
    }
    File::open(path)
        .map(|_| true)
        .map_err(|e| refuse(format!("cannot be read ({e})")))
}

/// Creates a new ledger file with its tables beside `path` and moves it into place only if
/// `path` still does not exist, so that no other process ever sees it half made (an empty
/// file would be refused). `true` when this call created it, `false` when another process
/// did meanwhile.
fn create_file(path: &Path) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let temporary = path.with_file_name(format!(
        ".{}.new-{}",
        name.unwrap_or_default(),
        Uuid::new_v4()
    ));
    let made = (|| {
        let mut connection = Connection::open(&temporary)?;
        upgrade(&mut connection)?;
        connection.close().map_err(|(_, e)| e)
    })();
    if let Err(e) = made {
        let _ = fs::remove_file(&temporary);
        return Err(e.into());
    }
    // A hard link fails when `path` exists: the first process's file wins.
    let linked = match fs::hard_link(&temporary, path) {
        // No hard links on this file system: a rename, after a last look.
        Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {
            if path.exists() {
                Err(std::io::ErrorKind::AlreadyExists.into())
            } else {
                fs::rename(&temporary, path)
            }
        }
        linked => linked,
    };
    let _ = fs::remove_file(&temporary);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e.into()),
    }
}

impl Session {
    fn for_each_item(
        &self,
        all_scopes: bool,
        mut each: impl FnMut(StoredItem) -> Result<(), LedgerError>,
    ) -> Result<(), LedgerError> {
        // A connection of its own: the writer's belongs to its thread.
        let connection =
            Connection::open_with_flags(&self.path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .map_err(|e| self.error("read", &e))?;
        let mut statement = connection
            .prepare(
                "SELECT scopes.name, ledger_items.id, requests.key, requests.batch_id,
                        requests.updated_at, ledger_items.outcome, ledger_items.reason_code,
                        ledger_items.reason_message, ledger_items.outcome_at
                 FROM ledger_items
                 JOIN scopes ON scopes.id = ledger_items.scope
                 JOIN requests ON requests.id = ledger_items.request
                 WHERE ?1 OR ledger_items.scope = ?2 ORDER BY scopes.name, ledger_items.id",
            )
            .map_err(|e| self.error("read", &e))?;
        let rows = statement
            .query_map(params![all_scopes, self.scope_id], |row| {
                let batch: Option<String> = row.get(3)?;
                Ok(StoredItem {
                    scope: row.get(0)?,
                    id: row.get(1)?,
                    idempotency_key: row.get(2)?,
                    batch_id: batch.and_then(|b| b.parse().ok()),
                    updated_at: row.get(4)?,
                    outcome: row.get(5)?,
                    reason_code: row.get(6)?,
                    reason_message: row.get(7)?,
                    outcome_at: row.get(8)?,
                })
            })
            .map_err(|e| self.error("read", &e))?;
        for row in rows {
            each(row.map_err(|e| self.error("read", &e))?)?;
        }
        Ok(())
    }

    fn error(&self, what: &str, e: &dyn fmt::Display) -> LedgerError {
        LedgerError::new(format!("cannot {what} {}: {e}", self.path.display()))
    }

    /// Whether the request under `key`, pending under `owner`, is being sent now: this
    /// ledger's while it is in flight, another process's while that process runs.
    fn sending(&self, in_flight: &InFlight<'_>, owner: &str, key: &str) -> bool {
        if owner == self.owner {
            return in_flight.contains(key);
        }
        let Ok(file) = File::options()
            .write(true)
            .open(owner_lock_path(&self.path, owner))
        else {
            return false;
        };
        // Locked by its living owner; free once the owner died (the OS drops its locks).
        file.try_lock().is_err()
    }

    fn claim(
        &self,
        transaction: &Connection,
        in_flight: &mut InFlight<'_>,
        key: &IdempotencyKey,
        items: &ClaimItems,
    ) -> Result<Vec<Claim>, LedgerError> {
        let now = unix_now();
        // The request's row (a second round of claims under one key finds it).
        transaction
            .prepare_cached(
                "INSERT INTO requests (scope, key, owner, batch_id, updated_at)
                 VALUES (?1, ?2, ?3, NULL, ?4) ON CONFLICT (scope, key) DO NOTHING",
            )
            .and_then(|mut insert| {
                insert.execute(params![self.scope_id, key.as_str(), self.owner, now])
            })
            .map_err(|e| self.error("write", &e))?;
        // Its items so far: none, unless a first round under this key claimed some.
        let (request, claimed): (i64, Option<Vec<u8>>) = transaction
            .prepare_cached(
                "SELECT requests.id, request_items.ids
                 FROM requests LEFT JOIN request_items ON request_items.request = requests.id
                 WHERE requests.scope = ?1 AND requests.key = ?2",
            )
            .and_then(|mut select| {
                select.query_row(params![self.scope_id, key.as_str()], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })
            })
            .map_err(|e| self.error("read", &e))?;
        let mut claimed = claimed.unwrap_or_default();
        let claimed_before = !claimed.is_empty();
        let mut claims = Vec::with_capacity(items.ends.len());
        let mut claimed_any = false;
        {
            let mut select = transaction
                .prepare_cached(ItemRow::SELECT)
                .map_err(|e| self.error("read", &e))?;
            let mut insert = transaction
                .prepare_cached(
                    "INSERT INTO ledger_items (scope, id, fingerprint, request)
                     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id, scope) DO NOTHING",
                )
                .map_err(|e| self.error("write", &e))?;
            // A failed item claimed again with changed content (its fix) takes the row over.
            let mut replace = transaction
                .prepare_cached(
                    "UPDATE ledger_items SET fingerprint = ?3, request = ?4, outcome = NULL,
                            reason_code = NULL, reason_message = NULL, outcome_at = NULL
                     WHERE scope = ?1 AND id = ?2",
                )
                .map_err(|e| self.error("write", &e))?;
            // The scope and the request are the same for every item: bound once (a step keeps
            // its bindings), so that each item binds only its own id and fingerprint.
            insert
                .raw_bind_parameter(1, self.scope_id)
                .and_then(|()| insert.raw_bind_parameter(4, request))
                .map_err(|e| self.error("write", &e))?;
            for (id, fingerprint) in items.iter() {
                // New payments (the usual case) are claimed by the insert alone.
                let inserted = insert
                    .raw_bind_parameter(2, id)
                    .and_then(|()| insert.raw_bind_parameter(3, fingerprint.as_slice()))
                    .and_then(|()| insert.raw_execute())
                    .map_err(|e| self.error("write", &e))?;
                if inserted == 1 {
                    claimed_any = true;
                    encode_id(&mut claimed, id);
                    claims.push(Claim::Claimed);
                    continue;
                }
                let known = select
                    .query_row(params![self.scope_id, id], ItemRow::read)
                    .optional()
                    .map_err(|e| self.error("read", &e))?;
                let earlier_key: IdempotencyKey;
                let held = match &known {
                    // Gone between the insert and the read: cannot be; say busy, not claimed.
                    None => {
                        claims.push(Claim::Busy);
                        continue;
                    }
                    Some(ItemRow {
                        fingerprint: stored,
                        batch: Some(batch),
                        processed,
                        ..
                    }) => Held::Accepted {
                        fingerprint: stored,
                        batch_id: batch.parse().map_err(|e| self.error("read", &e))?,
                        processed: processed.as_ref(),
                    },
                    Some(ItemRow {
                        key: earlier,
                        owner,
                        batch: None,
                        ..
                    }) => {
                        earlier_key = earlier.parse().map_err(
                            |e: amili_payments::InvalidIdempotencyKey| self.error("read", &e),
                        )?;
                        Held::Pending {
                            key: &earlier_key,
                            sending: self.sending(in_flight, owner, earlier),
                        }
                    }
                };
                let claim = decide(held, fingerprint);
                if claim == Claim::Claimed {
                    replace
                        .execute(params![self.scope_id, id, fingerprint.as_slice(), request])
                        .map_err(|e| self.error("write", &e))?;
                    claimed_any = true;
                    encode_id(&mut claimed, id);
                }
                claims.push(claim);
            }
        }
        if claimed_any {
            transaction
                .prepare_cached(
                    "INSERT OR REPLACE INTO request_items (request, ids) VALUES (?1, ?2)",
                )
                .and_then(|mut insert| insert.execute(params![request, claimed]))
                .map_err(|e| self.error("write", &e))?;
            in_flight.insert(key.as_str());
        } else if !claimed_before {
            // A request that claimed nothing is not sent: no row is left for it.
            transaction
                .prepare_cached("DELETE FROM requests WHERE id = ?1")
                .and_then(|mut delete| delete.execute(params![request]))
                .map_err(|e| self.error("write", &e))?;
        }
        Ok(claims)
    }

    fn pending(
        &self,
        connection: &Connection,
        key: &IdempotencyKey,
    ) -> Result<Vec<(String, Fingerprint)>, LedgerError> {
        let Some((request, ids)) = self
            .unrecorded_request(connection, key)
            .map_err(|e| self.error("read", &e))?
        else {
            return Ok(Vec::new());
        };
        let mut select = connection
            .prepare_cached(
                "SELECT fingerprint FROM ledger_items WHERE scope = ?1 AND id = ?2 AND request = ?3",
            )
            .map_err(|e| self.error("read", &e))?;
        let mut items = Vec::new();
        for id in decode_ids(&ids).map_err(|e| self.error("read", &e))? {
            let fingerprint: Option<Vec<u8>> = select
                .query_row(params![self.scope_id, id, request], |row| row.get(0))
                .optional()
                .map_err(|e| self.error("read", &e))?;
            let Some(fingerprint) = fingerprint else {
                continue;
            };
            let fingerprint: Fingerprint = fingerprint
                .try_into()
                .map_err(|_| self.error("read", &"a fingerprint of the wrong size"))?;
            items.push((id.to_owned(), fingerprint));
        }
        items.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(items)
    }

    /// The row id and item ids of `key`'s request in this scope while it has no result.
    fn unrecorded_request(
        &self,
        connection: &Connection,
        key: &IdempotencyKey,
    ) -> rusqlite::Result<Option<(i64, Vec<u8>)>> {
        connection
            .prepare_cached(
                "SELECT requests.id, request_items.ids
                 FROM requests LEFT JOIN request_items ON request_items.request = requests.id
                 WHERE requests.scope = ?1 AND requests.key = ?2 AND requests.batch_id IS NULL",
            )?
            .query_row(params![self.scope_id, key.as_str()], |row| {
                Ok((
                    row.get(0)?,
                    row.get::<_, Option<Vec<u8>>>(1)?.unwrap_or_default(),
                ))
            })
            .optional()
    }

    fn adopt(
        &self,
        transaction: &Connection,
        in_flight: &mut InFlight<'_>,
        key: &IdempotencyKey,
    ) -> Result<bool, LedgerError> {
        let owners: Vec<String> = {
            let mut statement = transaction
                .prepare_cached(
                    "SELECT owner FROM requests
                     WHERE scope = ?1 AND key = ?2 AND batch_id IS NULL
                       AND EXISTS (SELECT 1 FROM request_items WHERE request = requests.id)",
                )
                .map_err(|e| self.error("read", &e))?;
            let rows = statement
                .query_map(params![self.scope_id, key.as_str()], |row| row.get(0))
                .map_err(|e| self.error("read", &e))?;
            rows.collect::<Result<_, _>>()
                .map_err(|e| self.error("read", &e))?
        };
        let taken = owners
            .iter()
            .any(|owner| self.sending(in_flight, owner, key.as_str()));
        if taken || owners.is_empty() {
            return Ok(false);
        }
        transaction
            .execute(
                "UPDATE requests SET owner = ?3, updated_at = ?4
                 WHERE scope = ?1 AND key = ?2 AND batch_id IS NULL",
                params![self.scope_id, key.as_str(), self.owner, unix_now()],
            )
            .map_err(|e| self.error("write", &e))?;
        in_flight.insert(key.as_str());
        Ok(true)
    }

    /// Records how batch `batch_id` processed items accepted in it; an item claimed again
    /// since (its row names another request) is left alone.
    fn record_outcomes(
        &self,
        connection: &Connection,
        batch_id: Uuid,
        outcomes: &[(String, Processed)],
    ) -> Result<(), LedgerError> {
        let mut update = connection
            .prepare_cached(
                "UPDATE ledger_items SET outcome = ?4, reason_code = ?5, reason_message = ?6,
                        outcome_at = ?7
                 WHERE scope = ?1 AND id = ?2 AND request IN
                       (SELECT id FROM requests WHERE scope = ?1 AND batch_id = ?3)",
            )
            .map_err(|e| self.error("write", &e))?;
        let (batch, now) = (batch_id.to_string(), unix_now());
        for (id, processed) in outcomes {
            let failure = processed.failure();
            update
                .execute(params![
                    self.scope_id,
                    id,
                    batch,
                    processed.name(),
                    failure.and_then(|f| f.code()),
                    failure.and_then(|f| f.message()),
                    now
                ])
                .map_err(|e| self.error("write", &e))?;
        }
        Ok(())
    }

    fn known(
        &self,
        connection: &Connection,
        ids: &[String],
    ) -> Result<Vec<Option<Known>>, LedgerError> {
        let mut select = connection
            .prepare_cached(ItemRow::SELECT)
            .map_err(|e| self.error("read", &e))?;
        let mut known = Vec::with_capacity(ids.len());
        for id in ids {
            let row = select
                .query_row(params![self.scope_id, id], ItemRow::read)
                .optional()
                .map_err(|e| self.error("read", &e))?;
            let Some(ItemRow {
                fingerprint,
                key,
                batch,
                processed,
                ..
            }) = row
            else {
                known.push(None);
                continue;
            };
            let fingerprint: Fingerprint = fingerprint
                .try_into()
                .map_err(|_| self.error("read", &"a fingerprint of the wrong size"))?;
            let key: IdempotencyKey = key
                .parse()
                .map_err(|e: amili_payments::InvalidIdempotencyKey| self.error("read", &e))?;
            let batch_id = match batch {
                Some(b) => Some(b.parse().map_err(|e| self.error("read", &e))?),
                None => None,
            };
            known.push(Some(Known::new(fingerprint, key, batch_id, processed)));
        }
        Ok(known)
    }

    /// Records a request's result (written with `synchronous = NORMAL` unless a claim shares
    /// its transaction: a lost result is recovered from the request's key; a lost claim could
    /// not be).
    fn record(
        &self,
        connection: &Connection,
        in_flight: &mut InFlight<'_>,
        key: &IdempotencyKey,
        settled: &Settled,
    ) -> Result<(), LedgerError> {
        self.write_result(connection, key, settled)
            .map_err(|e| self.error("write", &e))?;
        in_flight.remove(key.as_str());
        Ok(())
    }

    /// Releases `ids` of `key`'s request unless it was claimed or taken over within `quiet`
    /// (see [`Ledger::release`]); the request's other items stay.
    fn release(
        &self,
        connection: &Connection,
        key: &IdempotencyKey,
        ids: &[String],
        quiet: std::time::Duration,
    ) -> Result<bool, LedgerError> {
        let write = |e: rusqlite::Error| self.error("write", &e);
        let Some((request, members)) = self.unrecorded_request(connection, key).map_err(write)?
        else {
            return Ok(true);
        };
        let updated_at: i64 = connection
            .query_row(
                "SELECT updated_at FROM requests WHERE id = ?1",
                params![request],
                |row| row.get(0),
            )
            .map_err(write)?;
        // Whole seconds, rounded up, and one more for `updated_at`'s truncation: never sooner
        // than asked.
        let quiet = if quiet.is_zero() {
            0
        } else {
            let secs = quiet.as_secs().saturating_add(2);
            i64::try_from(secs).unwrap_or(i64::MAX)
        };
        let held = |id: &str| -> rusqlite::Result<bool> {
            connection
                .prepare_cached(
                    "SELECT 1 FROM ledger_items WHERE scope = ?1 AND id = ?2 AND request = ?3",
                )?
                .query_row(params![self.scope_id, id, request], |_| Ok(()))
                .optional()
                .map(|found| found.is_some())
        };
        let mut holds_any = false;
        for id in ids {
            holds_any |= held(id).map_err(write)?;
        }
        if !holds_any {
            return Ok(true);
        }
        if unix_now().saturating_sub(updated_at) < quiet {
            return Ok(false);
        }
        let mut delete = connection
            .prepare_cached(
                "DELETE FROM ledger_items WHERE scope = ?1 AND id = ?2 AND request = ?3",
            )
            .map_err(write)?;
        for id in ids {
            delete
                .execute(params![self.scope_id, id, request])
                .map_err(write)?;
        }
        drop(delete);
        // The request's row goes with its last item.
        let members = decode_ids(&members).map_err(|e| self.error("read", &e))?;
        let mut left = false;
        for id in members {
            left |= held(id).map_err(write)?;
        }
        if !left {
            connection
                .execute(
                    "DELETE FROM request_items WHERE request = ?1",
                    params![request],
                )
                .map_err(write)?;
            connection
                .execute("DELETE FROM requests WHERE id = ?1", params![request])
                .map_err(write)?;
        }
        Ok(true)
    }

    fn write_result(
        &self,
        connection: &Connection,
        key: &IdempotencyKey,
        settled: &Settled,
    ) -> rusqlite::Result<()> {
        match settled {
            Settled::Accepted { batch_id } => {
                // Every accepted request comes here: the statement is prepared once.
                connection
                    .prepare_cached(
                        "UPDATE requests SET batch_id = ?3, updated_at = ?4
                         WHERE scope = ?1 AND key = ?2 AND batch_id IS NULL",
                    )?
                    .execute(params![
                        self.scope_id,
                        key.as_str(),
                        batch_id.to_string(),
                        unix_now()
                    ])?;
            }
            // Not booked: its items are free to be claimed again.
            Settled::NotBooked => {
                if let Some((row, ids)) = self.unrecorded_request(connection, key)? {
                    let ids = decode_ids(&ids).map_err(|e| {
                        rusqlite::Error::FromSqlConversionFailure(
                            0,
                            rusqlite::types::Type::Blob,
                            e.into(),
                        )
                    })?;
                    let mut delete = connection.prepare_cached(
                        "DELETE FROM ledger_items WHERE scope = ?1 AND id = ?2 AND request = ?3",
                    )?;
                    for id in ids {
                        delete.execute(params![self.scope_id, id, row])?;
                    }
                    drop(delete);
                    connection
                        .execute("DELETE FROM request_items WHERE request = ?1", params![row])?;
                    connection.execute("DELETE FROM requests WHERE id = ?1", params![row])?;
                }
            }
            // Stays pending under the key; a later claim settles it by looking it up.
            _ => {}
        }
        Ok(())
    }
}

/// A ledger in one SQLite file, shared safely by the processes of one machine.
///
/// - **Durability**: WAL journal. A claim is written with `synchronous = FULL` (on disk, not
///   only in the OS, before the request it covers is sent); a result with `synchronous =
///   NORMAL` unless it shares a transaction with a claim (it survives the process crashing; a
///   power loss may undo it, and then the next run settles the payment by its request's key,
///   as after any crash), so each request costs at most one `fsync`. A full disk fails the
///   transaction (and so stops the submission), never silently.
/// - **Several processes**: each open ledger holds an exclusive lock on a file of its own
///   (`<db>.owners/<owner>.lock`) for as long as it lives. An item pending under a live
///   owner's key is [`Claim::Busy`] (another run is sending it); under a dead owner's key it is
///   [`Claim::Pending`] and the pipeline settles it by looking the batch up by that key. A
///   request Amili has no batch for is released ([`Ledger::release`]) only once its
///   `updated_at` is older than the quiet time asked (it may still arrive until then), and
///   only the items the releasing run holds.
/// - **Scope**: rows belong to one scope (API URL and organization); the same id in another
///   scope is another payment.
///
/// Calls run on a thread of the ledger's own, which commits the calls waiting for it
/// together (`writer.rs`): a claim of 500 payments is a few milliseconds of SQLite work and
/// an `fsync`, which the pipeline's thread spends writing the next request instead, and
/// claims that queue share one `fsync`. No async runtime is needed. A call's transaction
/// finishes even when its future is dropped; a claim whose request is then never sent stays
/// pending, as after a crash, and a later run settles it by its key.
pub struct SqliteLedger {
    session: Session,
    scope: String,
    /// The writer's queue; `None` once dropped.
    jobs: Option<Sender<Job>>,
    writer: Option<JoinHandle<()>>,
    created: bool,
}

impl SqliteLedger {
    /// Opens (creating it and its folder if needed) the ledger at `path` for `scope`;
    /// [`created`](Self::created) tells whether the file is new.
    ///
    /// # Errors
    ///
    /// When the file cannot be created or opened as a SQLite database of this schema, and
    /// when it is empty (0 bytes) or cannot be read: such a file is refused, never replaced.
    pub fn open(path: impl AsRef<Path>, scope: impl Into<String>) -> Result<Self, LedgerError> {
        let scope = scope.into();
        let (writer, created) = open_writer(path.as_ref(), &scope)?;
        let session = Session {
            path: writer.session.path.clone(),
            scope_id: writer.session.scope_id,
            owner: writer.session.owner.clone(),
        };
        let (jobs, thread) =
            writer::start(writer).map_err(|e| session.error("start a thread for", &e))?;
        Ok(Self {
            session,
            scope,
            jobs: Some(jobs),
            writer: Some(thread),
            created,
        })
    }

    /// Whether [`open`](Self::open) created the file: a new ledger knows nothing sent before
    /// (another machine's or a lost file's payments), which a caller should say.
    pub fn created(&self) -> bool {
        self.created
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.session.path
    }

    /// The scope this ledger records for.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// Every item of the scope, ordered by id.
    ///
    /// # Errors
    ///
    /// When the database cannot be read.
    pub fn items(&self) -> Result<Vec<StoredItem>, LedgerError> {
        let mut items = Vec::new();
        self.for_each_item(false, |item| {
            items.push(item);
            Ok(())
        })?;
        Ok(items)
    }

    /// Hands every item to `each`, one at a time (memory stays flat): of this scope, or of
    /// every scope with `all_scopes`; ordered by scope and id.
    ///
    /// # Errors
    ///
    /// When the database cannot be read, or `each` fails.
    pub fn for_each_item(
        &self,
        all_scopes: bool,
        each: impl FnMut(StoredItem) -> Result<(), LedgerError>,
    ) -> Result<(), LedgerError> {
        self.session.for_each_item(all_scopes, each)
    }

    /// Hands `call` to the writer thread; `durable` when it must be on disk before it is
    /// answered.
    fn run<T: Send + 'static>(
        &self,
        durable: bool,
        call: impl FnOnce(&Session, &Connection, &mut InFlight<'_>) -> Result<T, LedgerError>
        + Send
        + 'static,
    ) -> BoxFuture<'static, Result<T, LedgerError>> {
        let (job, answer) = Job::new(durable, call);
        let queued = self
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send(job).is_ok());
        let stopped = self
            .session
            .error("write", &"the ledger's thread has stopped");
        Box::pin(async move {
            if !queued {
                return Err(stopped);
            }
            answer.await.map_err(|_| stopped)?
        })
    }
}

/// Closing the queue ends the writer; waiting for it releases the owner's lock before the
/// drop returns (another ledger opened next finds this owner gone).
impl Drop for SqliteLedger {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl fmt::Debug for SqliteLedger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteLedger")
            .field("path", &self.session.path)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Ledger for SqliteLedger {
    fn claim<'a>(
        &'a self,
        key: &'a IdempotencyKey,
        items: &'a [LedgerItem<'a>],
    ) -> BoxFuture<'a, Result<Vec<Claim>, LedgerError>> {
        let key = key.clone();
        let items = ClaimItems::new(items);
        self.run(true, move |session, connection, in_flight| {
            session.claim(connection, in_flight, &key, &items)
        })
    }

    fn pending<'a>(
        &'a self,
        key: &'a IdempotencyKey,
    ) -> BoxFuture<'a, Result<Vec<(String, Fingerprint)>, LedgerError>> {
        let key = key.clone();
        self.run(false, move |session, connection, _| {
            session.pending(connection, &key)
        })
    }

    fn adopt<'a>(&'a self, key: &'a IdempotencyKey) -> BoxFuture<'a, Result<bool, LedgerError>> {
        let key = key.clone();
        self.run(true, move |session, connection, in_flight| {
            session.adopt(connection, in_flight, &key)
        })
    }

    fn record<'a>(
        &'a self,
        key: &'a IdempotencyKey,
        settled: &'a Settled,
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        let key = key.clone();
        let settled = settled.clone();
        self.run(false, move |session, connection, in_flight| {
            session.record(connection, in_flight, &key, &settled)
        })
    }

    fn record_outcomes<'a>(
        &'a self,
        batch_id: Uuid,
        outcomes: &'a [(&'a str, Processed)],
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        let outcomes: Vec<(String, Processed)> = outcomes
            .iter()
            .map(|(id, processed)| ((*id).to_owned(), processed.clone()))
            .collect();
        self.run(false, move |session, connection, _| {
            session.record_outcomes(connection, batch_id, &outcomes)
        })
    }

    fn known<'a>(
        &'a self,
        ids: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Vec<Option<Known>>, LedgerError>> {
        let ids: Vec<String> = ids.iter().map(|id| (*id).to_owned()).collect();
        self.run(false, move |session, connection, _| {
            session.known(connection, &ids)
        })
    }

    fn release<'a>(
        &'a self,
        key: &'a IdempotencyKey,
        ids: &'a [&'a str],
        quiet: std::time::Duration,
    ) -> BoxFuture<'a, Result<bool, LedgerError>> {
        let key = key.clone();
        let ids: Vec<String> = ids.iter().map(|&id| id.to_owned()).collect();
        self.run(true, move |session, connection, _| {
            session.release(connection, &key, &ids, quiet)
        })
    }
}

/// The outcome recorded in columns `at`, `at + 1` (code), `at + 2` (message) of a row.
fn processed(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Option<Processed>> {
    let name: Option<String> = row.get(at)?;
    let code: Option<String> = row.get(at + 1)?;
    let message: Option<String> = row.get(at + 2)?;
    Ok(name.and_then(|name| Processed::from_stored(&name, code.as_deref(), message.as_deref())))
}

/// What the ledger holds for one id, as read by a claim and by `known`.
struct ItemRow {
    fingerprint: Vec<u8>,
    /// The key of the request that carried it last, its owner and, once accepted, its batch.
    key: String,
    owner: String,
    batch: Option<String>,
    processed: Option<Processed>,
}

impl ItemRow {
    /// Reads one id (`?1` the scope's number, `?2` the id).
    const SELECT: &str = "SELECT ledger_items.fingerprint, requests.key, requests.owner,
            requests.batch_id, ledger_items.outcome, ledger_items.reason_code,
            ledger_items.reason_message
     FROM ledger_items JOIN requests ON requests.id = ledger_items.request
     WHERE ledger_items.scope = ?1 AND ledger_items.id = ?2";

    fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<ItemRow> {
        Ok(ItemRow {
            fingerprint: row.get(0)?,
            key: row.get(1)?,
            owner: row.get(2)?,
            batch: row.get(3)?,
            processed: processed(row, 4)?,
        })
    }
}

fn schema_version(connection: &Connection) -> rusqlite::Result<i64> {
    connection.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Creates the tables, or moves an older schema's rows into them, in one transaction. The
/// version is read again inside it: another process may have upgraded the file meanwhile.
fn upgrade(connection: &mut Connection) -> rusqlite::Result<()> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version = schema_version(&transaction)?;
    if version < SCHEMA_VERSION {
        let scope_first = (2..=4).contains(&version);
        if version == 2 || version == 3 {
            transaction.execute_batch(OUTCOME_COLUMNS)?;
        }
        if scope_first {
            transaction
                .execute_batch("ALTER TABLE ledger_items RENAME TO ledger_items_scope_first;")?;
        }
        transaction.execute_batch(SCHEMA)?;
        if scope_first {
            transaction.execute_batch(ITEMS_FROM_SCOPE_FIRST)?;
        }
        if version == 1 {
            transaction.execute_batch(FROM_SCHEMA_1)?;
        }
        if version == 1 || version == 2 {
            fill_request_items(&transaction)?;
        }
        transaction.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    }
    transaction.commit()
}

/// Writes every request's `request_items` from the items that name it (upgrading a file
/// whose requests did not list their items).
fn fill_request_items(connection: &Connection) -> rusqlite::Result<()> {
    let mut select =
        connection.prepare("SELECT request, id FROM ledger_items ORDER BY request, id")?;
    let mut insert =
        connection.prepare("INSERT INTO request_items (request, ids) VALUES (?1, ?2)")?;
    let mut rows = select.query([])?;
    let mut current: Option<(i64, Vec<u8>)> = None;
    while let Some(row) = rows.next()? {
        let request: i64 = row.get(0)?;
        let id: String = row.get(1)?;
        match &mut current {
            Some((r, items)) if *r == request => encode_id(items, &id),
            _ => {
                if let Some((r, items)) = current.take() {
                    insert.execute(params![r, items])?;
                }
                let mut items = Vec::new();
                encode_id(&mut items, &id);
                current = Some((request, items));
            }
        }
    }
    if let Some((r, items)) = current {
        insert.execute(params![r, items])?;
    }
    Ok(())
}

/// Appends one id to a request's `request_items` value: its length (4 bytes, little-endian), then its
/// UTF-8 bytes.
/// A claim's items as the writer thread takes them: their ids in one buffer, so a request
/// costs two allocations, not one per item made on the caller's thread and freed on the
/// writer's.
struct ClaimItems {
    ids: String,
    /// Each item's fingerprint and where its id ends in `ids` (it starts where the one before
    /// ends).
    ends: Vec<(usize, Fingerprint)>,
}

impl ClaimItems {
    fn new(items: &[LedgerItem<'_>]) -> ClaimItems {
        let mut ids = String::with_capacity(items.iter().map(|item| item.id.len()).sum());
        let mut ends = Vec::with_capacity(items.len());
        for item in items {
            ids.push_str(item.id);
            ends.push((ids.len(), *item.fingerprint));
        }
        ClaimItems { ids, ends }
    }

    /// Each item's id and fingerprint, in order.
    fn iter(&self) -> impl Iterator<Item = (&str, &Fingerprint)> {
        let mut start = 0;
        self.ends.iter().map(move |(end, fingerprint)| {
            let id = self.ids.get(start..*end).unwrap_or_default();
            start = *end;
            (id, fingerprint)
        })
    }
}

fn encode_id(items: &mut Vec<u8>, id: &str) {
    // Ids are short texts (a payment's is at most 64 characters).
    let length = u32::try_from(id.len()).unwrap_or(u32::MAX);
    items.extend_from_slice(&length.to_le_bytes());
    items.extend_from_slice(id.as_bytes());
}

/// The ids of a request's `request_items` value, in the order they were claimed.
fn decode_ids(mut items: &[u8]) -> Result<Vec<&str>, String> {
    let mut ids = Vec::new();
    while let Some((length, rest)) = items.split_first_chunk::<4>() {
        let length = usize::try_from(u32::from_le_bytes(*length)).map_err(|e| e.to_string())?;
        if rest.len() < length {
            return Err("a request's list of items ends early".to_owned());
        }
        let (id, rest) = rest.split_at(length);
        ids.push(std::str::from_utf8(id).map_err(|e| e.to_string())?);
        items = rest;
    }
    if items.is_empty() {
        Ok(ids)
    } else {
        Err("a request's list of items ends early".to_owned())
    }
}

/// The number of `scope` in `scopes`, numbering it on first use; -1 for the empty scope,
/// which only lists (it is not written).
fn scope_id(connection: &Connection, scope: &str) -> rusqlite::Result<i64> {
    if scope.is_empty() {
        return Ok(-1);
    }
    connection.execute(
        "INSERT OR IGNORE INTO scopes (name) VALUES (?1)",
        params![scope],
    )?;
    connection.query_row(
        "SELECT id FROM scopes WHERE name = ?1",
        params![scope],
        |row| row.get(0),
    )
}

fn owner_lock_path(db: &Path, owner: &str) -> PathBuf {
    let mut dir = db.as_os_str().to_owned();
    dir.push(".owners");
    PathBuf::from(dir).join(format!("{owner}.lock"))
}

fn lock_owner(db: &Path, owner: &str) -> Result<File, LedgerError> {
    let path = owner_lock_path(db, owner);
    let fail = |e: std::io::Error| {
        LedgerError::new(format!(
            "cannot create the owner lock {}: {e}",
            path.display()
        ))
    };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(fail)?;
        // Lock files of owners that died are left behind; remove the free ones (not the
        // newest: their owner may be between creating and locking it).
        let old = |entry: &fs::DirEntry| {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > std::time::Duration::from_secs(60))
        };
        if let Ok(entries) = fs::read_dir(dir) {
            for entry in entries.flatten().filter(old) {
                if let Ok(file) = File::options().write(true).open(entry.path())
                    && file.try_lock().is_ok()
                {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
    }
    let file = File::create(&path).map_err(fail)?;
    file.try_lock()
        .map_err(|e| LedgerError::new(format!("cannot lock {}: {e}", path.display())))?;
    Ok(file)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use rusqlite::StatementStatus;

    use super::*;

    /// A cached join is looked up with new values without being compiled again (see the
    /// query planner setting in [`open_writer`]).
    #[test]
    fn a_cached_join_is_not_compiled_again_for_new_values() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let (writer, _) = open_writer(&dir.path().join("ledger.db"), "scope").expect("opened");
        for id in ["first", "second", "third"] {
            let mut select = writer
                .connection
                .prepare_cached(ItemRow::SELECT)
                .expect("prepared");
            let found = select
                .query_row(params![writer.session.scope_id, id], ItemRow::read)
                .optional()
                .expect("read");
            assert!(found.is_none(), "{id} was never claimed");
            assert_eq!(select.get_status(StatementStatus::RePrepare), 0, "{id}");
        }
    }
}

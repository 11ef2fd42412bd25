//! The shared ledger: PostgreSQL, for creditors who report from several machines.

use std::collections::HashSet;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use amili_payments::IdempotencyKey;
use amili_payments::ledger::{
    Claim, Fingerprint, Held, Ledger, LedgerError, LedgerItem, Settled, decide,
};
use futures::future::BoxFuture;
use tokio_postgres::{Client, NoTls};
use uuid::Uuid;

/// Creating the table once, even when several machines start at the same moment (an
/// advisory lock for the transaction: concurrent `CREATE … IF NOT EXISTS` may otherwise clash).
const SCHEMA: &str = "
BEGIN;
SELECT pg_advisory_xact_lock(7171792);
CREATE TABLE IF NOT EXISTS amili_ledger_items (
    scope       TEXT   NOT NULL,
    id          TEXT   NOT NULL,
    fingerprint BYTEA  NOT NULL,
    key         TEXT   NOT NULL,
    owner       UUID   NOT NULL,
    batch_id    UUID,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, id)
);
CREATE INDEX IF NOT EXISTS amili_ledger_items_by_key ON amili_ledger_items (scope, key);
COMMIT;
";

/// A ledger in a PostgreSQL database, shared by the machines that report for one
/// organization: the same schema as the SQLite ledger, in the table `amili_ledger_items`.
///
/// - **Claims are atomic across machines**: `INSERT … ON CONFLICT DO NOTHING RETURNING`
///   claims each payment exactly once; a payment another machine claimed first is
///   [`Claim::Busy`] while that machine lives.
/// - **Liveness**: each open ledger holds a session-level advisory lock named by its owner id
///   for as long as its connection lives; a payment pending under an owner whose lock is free
///   (its process or machine died) is [`Claim::Pending`], and taking such a request over
///   ([`Ledger::adopt`]) locks its rows (`FOR UPDATE`) so only one machine does.
/// - **A request that may still arrive is never released**: a free lock does not prove the
///   owner's request is not on its way (a machine that lost its connection to the database
///   keeps sending; a server may finish a request whose client died). Its rows are released
///   as not booked ([`Ledger::release`]) only once `updated_at` (the claim or take-over, by
///   the database's clock) is older than the quiet time asked, and only the rows the
///   releasing run holds; the others stay pending under the owner's key.
/// - **Connection**: a `postgres://user:password@host:port/db` URL or key-value string;
///   plain TCP or a Unix socket (no TLS: keep the database on a private network or tunnel).
pub struct PostgresLedger {
    client: Client,
    scope: String,
    owner: Uuid,
    in_flight: Mutex<HashSet<String>>,
    /// Where the connection goes (no password), for messages.
    target: String,
}

impl PostgresLedger {
    /// Connects, creates the table if needed, and takes this owner's liveness lock. The
    /// connection runs on a task of the current tokio runtime.
    ///
    /// # Errors
    ///
    /// When the database cannot be reached or the table cannot be created.
    pub async fn connect(url: &str, scope: impl Into<String>) -> Result<Self, LedgerError> {
        let target = describe(url);
        let fail = |what: &str, e: &tokio_postgres::Error| {
            LedgerError::new(format!(
                "{what} the PostgreSQL ledger at {target}: {}",
                explain(e)
            ))
        };
        let (client, connection) = tokio_postgres::connect(url, NoTls)
            .await
            .map_err(|e| fail("cannot connect to", &e))?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "the PostgreSQL ledger's connection ended");
            }
        });
        client
            .batch_execute(SCHEMA)
            .await
            .map_err(|e| fail("cannot create the table of", &e))?;
        let owner = Uuid::new_v4();
        let (high, low) = lock_ids(owner);
        client
            .execute("SELECT pg_advisory_lock($1, $2)", &[&high, &low])
            .await
            .map_err(|e| fail("cannot take the owner lock in", &e))?;
        Ok(Self {
            client,
            scope: scope.into(),
            owner,
            in_flight: Mutex::new(HashSet::new()),
            target,
        })
    }

    fn error(&self, what: &str, e: &dyn fmt::Display) -> LedgerError {
        LedgerError::new(format!(
            "cannot {what} the PostgreSQL ledger at {}: {e}",
            self.target
        ))
    }

    fn pg_error(&self, what: &str, e: &tokio_postgres::Error) -> LedgerError {
        self.error(what, &explain(e))
    }

    /// Whether the request under `key`, pending under `owner`, is being sent now: this
    /// ledger's while it is in flight, another's while its owner is alive (holds its advisory
    /// lock).
    async fn sending(&self, owner: Uuid, key: &str) -> Result<bool, LedgerError> {
        if owner == self.owner {
            return Ok(lock(&self.in_flight).contains(key));
        }
        let (high, low) = lock_ids(owner);
        let row = self
            .client
            .query_one("SELECT pg_try_advisory_lock($1, $2)", &[&high, &low])
            .await
            .map_err(|e| self.pg_error("read", &e))?;
        let got: bool = row.get(0);
        if got {
            // Free: its owner is gone. Give it back at once.
            self.client
                .execute("SELECT pg_advisory_unlock($1, $2)", &[&high, &low])
                .await
                .map_err(|e| self.pg_error("write", &e))?;
        }
        Ok(!got)
    }

    async fn claim_now(
        &self,
        key: &IdempotencyKey,
        items: &[LedgerItem<'_>],
    ) -> Result<Vec<Claim>, LedgerError> {
        let ids: Vec<&str> = items.iter().map(|i| i.id).collect();
        let fingerprints: Vec<&[u8]> = items.iter().map(|i| i.fingerprint.as_slice()).collect();
        let claimed: HashSet<String> = self
            .client
            .query(
                "INSERT INTO amili_ledger_items (scope, id, fingerprint, key, owner)
                 SELECT $1, t.id, t.fingerprint, $4, $5
                 FROM unnest($2::text[], $3::bytea[]) AS t(id, fingerprint)
                 ON CONFLICT (scope, id) DO NOTHING
                 RETURNING id",
                &[&self.scope, &ids, &fingerprints, &key.as_str(), &self.owner],
            )
            .await
            .map_err(|e| self.pg_error("write", &e))?
            .into_iter()
            .map(|row| row.get(0))
            .collect();
        if !claimed.is_empty() {
            lock(&self.in_flight).insert(key.as_str().to_owned());
        }
        let others: Vec<&str> = ids
            .iter()
            .copied()
            .filter(|id| !claimed.contains(*id))
            .collect();
        let mut known = std::collections::HashMap::new();
        if !others.is_empty() {
            for row in self
                .client
                .query(
                    "SELECT id, fingerprint, key, owner, batch_id FROM amili_ledger_items
                     WHERE scope = $1 AND id = ANY($2)",
                    &[&self.scope, &others],
                )
                .await
                .map_err(|e| self.pg_error("read", &e))?
            {
                let id: String = row.get(0);
                let fingerprint: Vec<u8> = row.get(1);
                let earlier: String = row.get(2);
                let owner: Uuid = row.get(3);
                let batch: Option<Uuid> = row.get(4);
                known.insert(id, (fingerprint, earlier, owner, batch));
            }
        }
        let mut claims = Vec::with_capacity(items.len());
        for item in items {
            if claimed.contains(item.id) {
                claims.push(Claim::Claimed);
                continue;
            }
            let Some((fingerprint, earlier, owner, batch)) = known.get(item.id) else {
                // Released between the insert and the read: try again next round.
                claims.push(Claim::Busy);
                continue;
            };
            let earlier_key: IdempotencyKey;
            let held =
                match batch {
                    Some(batch_id) => Held::Accepted {
                        fingerprint,
                        batch_id: *batch_id,
                    },
                    None => {
                        earlier_key = earlier.parse().map_err(
                            |e: amili_payments::InvalidIdempotencyKey| self.error("read", &e),
                        )?;
                        Held::Pending {
                            key: &earlier_key,
                            sending: self.sending(*owner, earlier).await?,
                        }
                    }
                };
            claims.push(decide(held, item.fingerprint));
        }
        Ok(claims)
    }

    async fn pending_now(
        &self,
        key: &IdempotencyKey,
    ) -> Result<Vec<(String, Fingerprint)>, LedgerError> {
        let rows = self
            .client
            .query(
                "SELECT id, fingerprint FROM amili_ledger_items
                 WHERE scope = $1 AND key = $2 AND batch_id IS NULL ORDER BY id",
                &[&self.scope, &key.as_str()],
            )
            .await
            .map_err(|e| self.pg_error("read", &e))?;
        rows.into_iter()
            .map(|row| {
                let fingerprint: Vec<u8> = row.get(1);
                let fingerprint: Fingerprint = fingerprint
                    .try_into()
                    .map_err(|_| self.error("read", &"a fingerprint of the wrong size"))?;
                Ok((row.get(0), fingerprint))
            })
            .collect()
    }

    async fn adopt_now(&self, key: &IdempotencyKey) -> Result<bool, LedgerError> {
        // One transaction: the rows stay locked until the owner is changed, so two machines
        // cannot both take the request over.
        self.client
            .batch_execute("BEGIN")
            .await
            .map_err(|e| self.pg_error("write", &e))?;
        let result = self.adopt_in_transaction(key).await;
        let end = if matches!(result, Ok(true)) {
            "COMMIT"
        } else {
            "ROLLBACK"
        };
        self.client
            .batch_execute(end)
            .await
            .map_err(|e| self.pg_error("write", &e))?;
        let adopted = result?;
        if adopted {
            lock(&self.in_flight).insert(key.as_str().to_owned());
        }
        Ok(adopted)
    }

    async fn adopt_in_transaction(&self, key: &IdempotencyKey) -> Result<bool, LedgerError> {
        let owners: HashSet<Uuid> = self
            .client
            .query(
                "SELECT owner FROM amili_ledger_items
                 WHERE scope = $1 AND key = $2 AND batch_id IS NULL FOR UPDATE",
                &[&self.scope, &key.as_str()],
            )
            .await
            .map_err(|e| self.pg_error("read", &e))?
            .into_iter()
            .map(|row| row.get(0))
            .collect();
        if owners.is_empty() {
            return Ok(false);
        }
        for owner in &owners {
            if self.sending(*owner, key.as_str()).await? {
                return Ok(false);
            }
        }
        self.client
            .execute(
                "UPDATE amili_ledger_items SET owner = $3, updated_at = now()
                 WHERE scope = $1 AND key = $2 AND batch_id IS NULL",
                &[&self.scope, &key.as_str(), &self.owner],
            )
            .await
            .map_err(|e| self.pg_error("write", &e))?;
        Ok(true)
    }

    async fn release_now(
        &self,
        key: &IdempotencyKey,
        ids: &[&str],
        quiet: Duration,
    ) -> Result<bool, LedgerError> {
        let quiet_ms = i64::try_from(quiet.as_millis()).unwrap_or(i64::MAX);
        // By the database's clock (one for every machine): none of the request's rows
        // claimed or taken over within `quiet`, or nothing is deleted.
        self.client
            .execute(
                "DELETE FROM amili_ledger_items
                 WHERE scope = $1 AND key = $2 AND batch_id IS NULL AND id = ANY($3)
                   AND NOT EXISTS (
                       SELECT 1 FROM amili_ledger_items recent
                       WHERE recent.scope = $1 AND recent.key = $2 AND recent.batch_id IS NULL
                         AND recent.updated_at > now() - $4::bigint * interval '1 millisecond')",
                &[&self.scope, &key.as_str(), &ids, &quiet_ms],
            )
            .await
            .map_err(|e| self.pg_error("write", &e))?;
        let left: i64 = self
            .client
            .query_one(
                "SELECT count(*) FROM amili_ledger_items
                 WHERE scope = $1 AND key = $2 AND batch_id IS NULL AND id = ANY($3)",
                &[&self.scope, &key.as_str(), &ids],
            )
            .await
            .map_err(|e| self.pg_error("read", &e))?
            .get(0);
        Ok(left == 0)
    }

    async fn record_now(&self, key: &IdempotencyKey, settled: &Settled) -> Result<(), LedgerError> {
        let result = match settled {
            Settled::Accepted { batch_id } => {
                self.client
                    .execute(
                        "UPDATE amili_ledger_items SET batch_id = $3, updated_at = now()
                         WHERE scope = $1 AND key = $2 AND batch_id IS NULL",
                        &[&self.scope, &key.as_str(), batch_id],
                    )
                    .await
            }
            Settled::NotBooked => {
                self.client
                    .execute(
                        "DELETE FROM amili_ledger_items
                         WHERE scope = $1 AND key = $2 AND batch_id IS NULL",
                        &[&self.scope, &key.as_str()],
                    )
                    .await
            }
            _ => Ok(0),
        };
        result.map_err(|e| self.pg_error("write", &e))?;
        lock(&self.in_flight).remove(key.as_str());
        Ok(())
    }
}

impl PostgresLedger {
    /// Hands every item to `each`: of this scope, or of every scope with `all_scopes`;
    /// ordered by scope and id.
    ///
    /// # Errors
    ///
    /// When the database cannot be read, or `each` fails.
    pub async fn for_each_item(
        &self,
        all_scopes: bool,
        mut each: impl FnMut(crate::StoredItem) -> Result<(), LedgerError>,
    ) -> Result<(), LedgerError> {
        let rows = self
            .client
            .query(
                "SELECT scope, id, key, batch_id, extract(epoch FROM updated_at)::bigint
                 FROM amili_ledger_items WHERE $1 OR scope = $2 ORDER BY scope, id",
                &[&all_scopes, &self.scope],
            )
            .await
            .map_err(|e| self.pg_error("read", &e))?;
        for row in rows {
            each(crate::StoredItem {
                scope: row.get(0),
                id: row.get(1),
                idempotency_key: row.get(2),
                batch_id: row.get(3),
                updated_at: row.get(4),
            })?;
        }
        Ok(())
    }
}

impl fmt::Debug for PostgresLedger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresLedger")
            .field("target", &self.target)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Ledger for PostgresLedger {
    fn claim<'a>(
        &'a self,
        key: &'a IdempotencyKey,
        items: &'a [LedgerItem<'a>],
    ) -> BoxFuture<'a, Result<Vec<Claim>, LedgerError>> {
        Box::pin(self.claim_now(key, items))
    }

    fn pending<'a>(
        &'a self,
        key: &'a IdempotencyKey,
    ) -> BoxFuture<'a, Result<Vec<(String, Fingerprint)>, LedgerError>> {
        Box::pin(self.pending_now(key))
    }

    fn adopt<'a>(&'a self, key: &'a IdempotencyKey) -> BoxFuture<'a, Result<bool, LedgerError>> {
        Box::pin(self.adopt_now(key))
    }

    fn record<'a>(
        &'a self,
        key: &'a IdempotencyKey,
        settled: &'a Settled,
    ) -> BoxFuture<'a, Result<(), LedgerError>> {
        Box::pin(self.record_now(key, settled))
    }

    fn release<'a>(
        &'a self,
        key: &'a IdempotencyKey,
        ids: &'a [&'a str],
        quiet: Duration,
    ) -> BoxFuture<'a, Result<bool, LedgerError>> {
        Box::pin(self.release_now(key, ids, quiet))
    }
}

/// The server's own message ("db error" alone says nothing), or the client's cause.
fn explain(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} ({})", db.message(), db.code().code());
    }
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

/// The two 32-bit keys of an owner's advisory lock.
fn lock_ids(owner: Uuid) -> (i32, i32) {
    let bits = owner.as_u64_pair().0;
    ((bits >> 32) as i32, bits as i32)
}

/// A connection string without its password, for messages.
fn describe(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((user, host)) => {
                let user = user.split(':').next().unwrap_or_default();
                format!("{scheme}://{user}@{host}")
            }
            None => url.to_owned(),
        },
        None => url
            .split_whitespace()
            .filter(|part| !part.starts_with("password="))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_left_out_of_messages() {
        assert_eq!(
            super::describe("postgres://amili:s3cret@db.local:5432/ledger"),
            "postgres://amili@db.local:5432/ledger"
        );
        assert_eq!(
            super::describe("host=/tmp user=amili password=s3cret"),
            "host=/tmp user=amili"
        );
    }
}

//! `amili ledger show|export`: what the ledger remembers (every scope: API and organization);
//! `amili ledger import --from-amili`: rebuild it from Amili's batches (see `import.rs`).

use std::collections::BTreeMap;
use std::io::Write as _;

use amili_ledger::{PostgresLedger, SqliteLedger, StoredItem};
use amili_payments::ledger::LedgerError;
use amili_payments::{DateTime, Utc, Uuid};
use serde::Serialize;

use crate::exit::{Exit, usage};
use crate::report::ReportFormat;
use crate::state::{is_postgres_url, state_path};

#[derive(Debug, clap::Subcommand)]
pub enum LedgerCommand {
    /// Counts per API and organization: payments accepted, and pending (claimed by a run that
    /// never recorded the answer; the next submission settles them).
    Show {
        /// The ledger: a SQLite file or a `postgres://` URL (default as for `submit`).
        #[arg(long, env = "AMILI_STATE", value_name = "FILE|URL")]
        state: Option<String>,
        /// One JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Every payment the ledger remembers, as CSV or JSON Lines on stdout (`scope`, `id`,
    /// `idempotencyKey`, `batchId`, `updatedAt`, then what its batch did with it once learned:
    /// `outcome` (`succeeded` or `failed`), Amili's `reasonCode` and `reasonMessage`,
    /// `outcomeAt`; times in RFC 3339).
    Export {
        /// The ledger: a SQLite file or a `postgres://` URL (default as for `submit`).
        #[arg(long, env = "AMILI_STATE", value_name = "FILE|URL")]
        state: Option<String>,
        /// `csv` or `jsonl`.
        #[arg(long, value_enum, default_value = "csv")]
        format: ReportFormat,
    },
    /// Rebuild what the ledger should know from Amili's own batch history: every payment
    /// (and correction) of a finished batch that Amili lists as succeeded is recorded as
    /// accepted, so that it is never sent again. Use it when the ledger file was lost or
    /// emptied, or before sending from a machine (or HOME) that does not share the ledger the
    /// payments were sent with.
    Import {
        /// Read the batches from Amili (`GetBatchesByOrganization`, then each batch's items).
        #[arg(long, required = true)]
        from_amili: bool,
        /// Only batches created on or after this day (yyyy-mm-dd or dd.mm.yyyy).
        #[arg(long, value_name = "DATE", value_parser = crate::commands::settlements::parse_day)]
        since: Option<amili_payments::NaiveDate>,
        /// The ledger: a SQLite file or a `postgres://` URL (default as for `submit`).
        #[arg(long, env = "AMILI_STATE", value_name = "FILE|URL")]
        state: Option<String>,
        #[command(flatten)]
        connection: crate::args::ConnectionArgs,
    },
}

pub async fn run(command: LedgerCommand) -> anyhow::Result<Exit> {
    match command {
        LedgerCommand::Show { state, json } => show(state.as_deref(), json).await,
        LedgerCommand::Export { state, format } => export(state.as_deref(), format).await,
        LedgerCommand::Import {
            from_amili: _,
            since,
            state,
            connection,
        } => import(state.as_deref(), since, &connection).await,
    }
}

/// Records Amili's succeeded batch items in the ledger that `submit` would use.
async fn import(
    state: Option<&str>,
    since: Option<amili_payments::NaiveDate>,
    connection: &crate::args::ConnectionArgs,
) -> anyhow::Result<Exit> {
    if connection.sandbox {
        return Err(usage(anyhow::anyhow!(
            "--sandbox runs a new, empty Amili and keeps no ledger: nothing to import"
        )));
    }
    crate::config::with_client(connection, async |client| {
        use amili_payments::ledger::{Kind, scope};
        let open = async |kind| {
            let scope = scope(client.api_url(), client.organization_id(), kind);
            crate::state::open_ledger(state, &scope)
                .await
                .map_err(usage)
        };
        let payments = open(Kind::Payments).await?;
        let corrections = open(Kind::Corrections).await?;
        let found =
            crate::import::from_amili(client, payments.as_ref(), corrections.as_ref(), since)
                .await?;
        println!(
            "imported from {} finished batches: {} items recorded as accepted ({} by id alone, \
             their content not in Amili's items), {} already known",
            found.batches, found.recorded, found.without_content, found.known
        );
        if found.unidentified > 0 {
            eprintln!(
                "warning: {} succeeded items name no uniqueSourcePaymentId and cannot be \
                 rebuilt as a correction; they are not in the ledger",
                found.unidentified
            );
        }
        if found.queued > 0 {
            eprintln!(
                "error: {} batches are not finished yet; their items are not in the ledger. Run \
                 the import again once they finish, before sending",
                found.queued
            );
            return Ok(Exit::Failures);
        }
        Ok(Exit::Success)
    })
    .await?
}

/// Hands every item of the ledger `state` names to `each`.
async fn each_item(
    state: Option<&str>,
    each: impl FnMut(StoredItem) -> Result<(), LedgerError>,
) -> anyhow::Result<String> {
    if let Some(url) = state.filter(|s| is_postgres_url(s)) {
        let ledger = PostgresLedger::connect(url, "").await.map_err(usage)?;
        ledger.for_each_item(true, each).await?;
        return Ok(format!("{ledger:?}"));
    }
    let file = state_path(state.map(std::path::Path::new)).map_err(usage)?;
    if !file.exists() {
        return Err(usage(anyhow::anyhow!(
            "no ledger at {} (nothing was sent with it yet)",
            file.display()
        )));
    }
    let ledger = SqliteLedger::open(&file, "").map_err(usage)?;
    ledger.for_each_item(true, each)?;
    Ok(file.display().to_string())
}

#[derive(Default, Serialize)]
struct ScopeCounts {
    accepted: u64,
    pending: u64,
}

/// Counts per scope: accepted, and pending (claimed, no result recorded).
async fn show(state: Option<&str>, json: bool) -> anyhow::Result<Exit> {
    let mut scopes: BTreeMap<String, ScopeCounts> = BTreeMap::new();
    let place = each_item(state, |item| {
        let counts = scopes.entry(item.scope).or_default();
        if item.batch_id.is_some() {
            counts.accepted += 1;
        } else {
            counts.pending += 1;
        }
        Ok(())
    })
    .await?;
    if json {
        println!("{}", serde_json::to_string(&scopes)?);
        return Ok(Exit::Success);
    }
    println!("ledger: {place}");
    if scopes.is_empty() {
        println!("(empty)");
    }
    for (scope, counts) in &scopes {
        println!(
            "{scope}: {} accepted, {} pending (claimed by a run that did not record a result)",
            counts.accepted, counts.pending
        );
    }
    Ok(Exit::Success)
}

/// One exported item (`schemas/ledger-export.json`): the keys in the API's camelCase, the
/// time in RFC 3339.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExportRow<'a> {
    scope: &'a str,
    id: &'a str,
    idempotency_key: &'a str,
    batch_id: Option<Uuid>,
    updated_at: String,
    outcome: Option<&'a str>,
    reason_code: Option<&'a str>,
    reason_message: Option<&'a str>,
    outcome_at: Option<String>,
}

impl<'a> From<&'a StoredItem> for ExportRow<'a> {
    fn from(item: &'a StoredItem) -> ExportRow<'a> {
        ExportRow {
            scope: &item.scope,
            id: &item.id,
            idempotency_key: &item.idempotency_key,
            batch_id: item.batch_id,
            updated_at: rfc3339(item.updated_at),
            outcome: item.outcome.as_deref(),
            reason_code: item.reason_code.as_deref(),
            reason_message: item.reason_message.as_deref(),
            outcome_at: item.outcome_at.map(rfc3339),
        }
    }
}

/// Unix seconds as RFC 3339 in UTC (`2026-12-07T04:47:54Z`); the number itself if out of
/// range.
fn rfc3339(seconds: i64) -> String {
    DateTime::<Utc>::from_timestamp(seconds, 0).map_or_else(
        || seconds.to_string(),
        |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    )
}

/// Every item, as CSV or JSON Lines on stdout.
async fn export(state: Option<&str>, format: ReportFormat) -> anyhow::Result<Exit> {
    let stdout = std::io::stdout();
    let mut csv = (format == ReportFormat::Csv).then(|| csv::Writer::from_writer(stdout.lock()));
    let mut lines = std::io::BufWriter::new(stdout.lock());
    // The write error itself, to tell a reader that went away (`| head`) from a failure.
    let mut unwritten: Option<std::io::Error> = None;
    let exported = each_item(state, |item| {
        let written = match &mut csv {
            Some(w) => w
                .serialize(ExportRow::from(&item))
                .map_err(std::io::Error::from),
            None => serde_json::to_writer(&mut lines, &ExportRow::from(&item))
                .map_err(std::io::Error::from)
                .and_then(|()| lines.write_all(b"\n")),
        };
        written.map_err(|e| {
            let error = LedgerError::new(format!("cannot write: {e}"));
            unwritten = Some(e);
            error
        })
    })
    .await;
    if let Err(e) = exported {
        return Err(match unwritten {
            Some(io) => io.into(),
            None => e,
        });
    }
    if let Some(mut w) = csv {
        w.flush()?;
    }
    lines.flush()?;
    Ok(Exit::Success)
}

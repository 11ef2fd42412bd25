//! `amili ledger show|export`: what the ledger remembers (every scope: API and organization).

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
    /// Every payment the ledger remembers, as CSV or JSON Lines on stdout (scope, id,
    /// idempotency key, batch, last update, then how its batch processed it once learned:
    /// outcome `succeeded` or `failed`, Amili's reason code and message, when it was
    /// learned). Times in RFC 3339 (UTC).
    Export {
        /// The ledger: a SQLite file or a `postgres://` URL (default as for `submit`).
        #[arg(long, env = "AMILI_STATE", value_name = "FILE|URL")]
        state: Option<String>,
        /// `csv` or `jsonl`.
        #[arg(long, value_enum, default_value = "csv")]
        format: ReportFormat,
    },
}

pub async fn run(command: LedgerCommand) -> anyhow::Result<Exit> {
    match command {
        LedgerCommand::Show { state, json } => show(state.as_deref(), json).await,
        LedgerCommand::Export { state, format } => export(state.as_deref(), format).await,
    }
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

/// One exported row: the stored item, its times in RFC 3339.
#[derive(Serialize)]
struct Exported {
    scope: String,
    id: String,
    idempotency_key: String,
    batch_id: Option<Uuid>,
    updated_at: Option<String>,
    outcome: Option<String>,
    reason_code: Option<String>,
    reason_message: Option<String>,
    outcome_at: Option<String>,
}

impl From<StoredItem> for Exported {
    fn from(item: StoredItem) -> Exported {
        let rfc3339 = |unix: i64| {
            DateTime::<Utc>::from_timestamp(unix, 0)
                .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        };
        Exported {
            updated_at: rfc3339(item.updated_at),
            outcome_at: item.outcome_at.and_then(rfc3339),
            scope: item.scope,
            id: item.id,
            idempotency_key: item.idempotency_key,
            batch_id: item.batch_id,
            outcome: item.outcome,
            reason_code: item.reason_code,
            reason_message: item.reason_message,
        }
    }
}

/// Every item, as CSV or JSON Lines on stdout.
async fn export(state: Option<&str>, format: ReportFormat) -> anyhow::Result<Exit> {
    let stdout = std::io::stdout();
    let mut csv = (format == ReportFormat::Csv).then(|| csv::Writer::from_writer(stdout.lock()));
    let mut lines = std::io::BufWriter::new(stdout.lock());
    let fail = |e: &dyn std::fmt::Display| LedgerError::new(format!("cannot write: {e}"));
    each_item(state, |item| match &mut csv {
        Some(w) => w.serialize(Exported::from(item)).map_err(|e| fail(&e)),
        None => serde_json::to_writer(&mut lines, &Exported::from(item))
            .map_err(|e| fail(&e))
            .and_then(|()| lines.write_all(b"\n").map_err(|e| fail(&e))),
    })
    .await?;
    if let Some(mut w) = csv {
        w.flush()?;
    }
    lines.flush()?;
    Ok(Exit::Success)
}

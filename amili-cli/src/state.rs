//! The ledger that `--state` (or `AMILI_STATE`) names: a SQLite file or a PostgreSQL URL.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use amili_ledger::{PostgresLedger, SqliteLedger};
use amili_payments::ledger::Ledger;

/// The ledger `--state` (or `AMILI_STATE`) names, for `target` (API URL and organization).
pub async fn open_ledger(state: Option<&str>, target: &str) -> anyhow::Result<Arc<dyn Ledger>> {
    if let Some(url) = state.filter(|s| is_postgres_url(s)) {
        return Ok(Arc::new(PostgresLedger::connect(url, target).await?));
    }
    let file = state_path(state.map(Path::new))?;
    let ledger = SqliteLedger::open(&file, target)?;
    if ledger.created() {
        // A new file knows nothing sent before (another HOME, another machine, a lost file):
        // say so, so that a ledger that should have been shared is noticed.
        eprintln!(
            "amili: created a new ledger at {}; it knows nothing sent with any other ledger. \
             If payments were sent from another machine or with a lost ledger, rebuild it \
             first with `amili ledger import --from-amili` (or point --state at the shared one)",
            file.display()
        );
    }
    Ok(Arc::new(ledger))
}

/// Whether `--state` names a PostgreSQL ledger rather than a SQLite file.
pub fn is_postgres_url(state: &str) -> bool {
    state.starts_with("postgres://") || state.starts_with("postgresql://")
}

/// The ledger file: `--state`, else `AMILI_STATE` (clap reads it into the flag), else
/// `$XDG_STATE_HOME/amili/ledger.db`, else `~/.local/state/amili/ledger.db`.
pub fn state_path(flag: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = flag {
        return Ok(path.to_path_buf());
    }
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|home| PathBuf::from(home).join(".local").join("state"))
        })
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no place for the ledger: set --state FILE, AMILI_STATE, XDG_STATE_HOME or HOME"
            )
        })?;
    Ok(base.join("amili").join("ledger.db"))
}

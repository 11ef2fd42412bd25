//! `amili payments status FILE`: what the ledger and Amili know now of each row of a file,
//! sending nothing. The file is read as `submit` reads it; the ledger says what it holds of
//! each row (the library's status report); batches whose outcome is not known yet are
//! followed (the library's poller, which records what it learns in the ledger).

use std::path::PathBuf;
use std::time::Duration;

use amili_payments::StopHandle;

use crate::args::{ConnectionArgs, InputArgs, MAX_CHUNK_SIZE};
use crate::commands::submit::{Output, Reading, read_file};
use crate::config::{Tuning, connect};
use crate::exit::{Exit, usage};
use crate::from_ledger::FromLedger;
use crate::kind::FileKind;
use crate::output::{Table, print_problems};
use crate::progress::Progress;
use crate::report::{ReportFormat, ReportWriter};
use crate::state::open_ledger;
use crate::submit::{Sending, send_all};

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Give up following a batch whose outcome is not known yet after this many seconds (its
    /// rows stay `already_accepted`; run `status` again later).
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub wait_timeout: u64,

    /// Write a per-row report, as `submit --report` does. Format from the extension: .csv,
    /// .jsonl, otherwise JSON.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// The report's format (default: from the report file's extension).
    #[arg(long, value_enum, requires = "report")]
    pub report_format: Option<ReportFormat>,

    /// The ledger `submit` used: a SQLite file (default: `$XDG_STATE_HOME/amili/ledger.db`,
    /// else `~/.local/state/amili/ledger.db`), or a `postgres://user@host/db` URL.
    #[arg(long, env = "AMILI_STATE", value_name = "FILE|URL")]
    pub state: Option<String>,

    /// How many rows are looked up in the ledger at once.
    #[arg(long, env = "AMILI_MAX_PAYMENTS_PER_REQUEST", value_name = "N",
          default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=MAX_CHUNK_SIZE))]
    pub chunk_size: u64,

    /// How many invoice look-ups and batch reads are in flight at once.
    #[arg(long, env = "AMILI_CONCURRENCY", value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u64).range(1..=64))]
    pub concurrency: u64,

    /// How many per-row lines the summary table prints before it only counts.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub table_limit: usize,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

pub async fn run<K: FileKind>(args: &StatusArgs) -> anyhow::Result<Exit> {
    let path = &args.input.file;
    let name = path.display().to_string();
    let progress = Progress::new();
    if args.connection.sandbox {
        return Err(usage(anyhow::anyhow!(
            "status reads the ledger of earlier runs, and --sandbox has none (its state dies \
             with each run)"
        )));
    }
    crate::validate::resolve_format(path, args.input.format).map_err(usage)?;
    let tuning = Tuning {
        concurrency: usize::try_from(args.concurrency).unwrap_or(1),
        sandbox_webhook: None,
    };
    let conn = connect(&args.connection, tuning.clone())
        .await
        .map_err(usage)?;
    let scope = amili_payments::ledger::scope(
        conn.client.api_url(),
        conn.client.organization_id(),
        K::LEDGER,
    );
    let ledger = match open_ledger(args.state.as_deref(), &scope).await {
        Ok(ledger) => ledger,
        Err(e) => {
            conn.close().await;
            return Err(usage(e));
        }
    };
    let reading = Reading {
        input: &args.input,
        concurrency: args.concurrency,
        skip_invalid: false,
        state: args.state.as_deref(),
    };
    // Invoice ids found earlier (by `submit`) are used, and kept, as `submit` does.
    let cache_target = amili_payments::ledger::scope(
        conn.client.api_url(),
        conn.client.organization_id(),
        amili_payments::ledger::Kind::Payments,
    );
    let (mut v, spool) =
        match read_file::<K>(&conn.client, &reading, &progress, Some(&cache_target)).await {
            Ok(read) => read,
            Err(e) => {
                conn.close().await;
                return Err(e);
            }
        };
    progress.finish();
    // Rows whose reference no longer resolves are reported as the ledger knows them.
    let from_ledger = FromLedger::read(Some(ledger.as_ref()), &mut v).await;
    print_problems(&name, &v);
    if v.rows == 0 {
        conn.close().await;
        // As for `submit`: a file of no rows has nothing to check.
        eprintln!("{name}: no {} in the file", K::PLURAL);
        return Ok(Exit::Success);
    }

    let report = match &args.report {
        Some(p) => Some(
            ReportWriter::create(
                p,
                args.report_format
                    .unwrap_or_else(|| ReportFormat::from_path(p)),
                K::ID_FIELD,
            )
            .map_err(usage)?,
        ),
        None => None,
    };
    let mut output = Output {
        table: Table::new(args.table_limit, K::NAME, K::PLURAL),
        report,
        earlier: 0,
        from_ledger,
    };
    let sending = Sending {
        chunk_size: usize::try_from(args.chunk_size).unwrap_or(usize::MAX),
        concurrency: tuning.concurrency,
        ledger: Some(ledger),
        wait: Some(Duration::from_secs(args.wait_timeout)),
        repeats: v.repeats.clone(),
        rows: v.rows,
        stop: StopHandle::new(),
        wakeups: None,
        status_only: true,
    };
    let result = send_all::<K>(
        &conn.client,
        spool.finish()?.read_ahead()?,
        sending,
        &progress,
        &mut output,
    )
    .await;
    progress.finish();
    conn.close().await;
    result?;
    if let Some(report) = output.report.take() {
        report.finish()?;
    }
    output.table.finish(args.report.as_deref(), false);
    let counts = output.table.counts;
    if counts.already_accepted > 0 {
        eprintln!(
            "{} accepted and not processed yet (or not followed within --wait-timeout): run \
             status again later",
            counts.already_accepted
        );
    }
    Ok(
        if counts.total() > 0 && counts.succeeded == counts.total() {
            Exit::Success
        } else {
            Exit::Failures
        },
    )
}

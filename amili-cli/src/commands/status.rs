//! `amili payments status FILE`: what the ledger and Amili know now of each row of a file,
//! sending nothing. The file is read as `submit` reads it; the ledger says what it holds of
//! each row (the library's status report); batches whose outcome is not known yet are
//! followed (the library's poller, which records what it learns in the ledger).

use std::time::Duration;

use amili_payments::StopHandle;

use crate::args::{ConnectionArgs, InputArgs, RunArgs};
use crate::commands::submit::{Output, Reading, create_report, read_file};
use crate::config::{Tuning, connect};
use crate::exit::{Exit, usage};
use crate::kind::FileKind;
use crate::output::{Table, print_problems};
use crate::progress::Progress;
use crate::state::open_ledger;
use crate::submit::{Sending, send_all};

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub run: RunArgs,

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
        concurrency: usize::try_from(args.run.concurrency).unwrap_or(1),
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
    let ledger = match open_ledger(args.run.state.as_deref(), &scope).await {
        Ok(ledger) => ledger,
        Err(e) => {
            conn.close().await;
            return Err(usage(e));
        }
    };
    let reading = Reading {
        input: &args.input,
        concurrency: args.run.concurrency,
        skip_invalid: false,
        state: args.run.state.as_deref(),
    };
    // Invoice ids found earlier (by `submit`) are used, and kept, as `submit` does.
    let cache_target = amili_payments::ledger::scope(
        conn.client.api_url(),
        conn.client.organization_id(),
        amili_payments::ledger::Kind::Payments,
    );
    let (v, spool) =
        match read_file::<K>(&conn.client, &reading, &progress, Some(&cache_target)).await {
            Ok(read) => read,
            Err(e) => {
                conn.close().await;
                return Err(e);
            }
        };
    progress.finish();
    print_problems(&name, &v);
    if v.rows == 0 {
        conn.close().await;
        // As for `submit`: a file of no rows has nothing to check.
        eprintln!("{name}: no {} in the file", K::PLURAL);
        return Ok(Exit::Success);
    }

    let report = create_report::<K>(&args.run)?;
    let mut output = Output {
        table: Table::new(args.run.table_limit, K::NAME, K::PLURAL),
        report,
        earlier: 0,
    };
    let sending = Sending {
        chunk_size: usize::try_from(args.run.chunk_size).unwrap_or(usize::MAX),
        concurrency: tuning.concurrency,
        ledger: Some(ledger),
        wait: Some(Duration::from_secs(args.run.wait_timeout)),
        repeats: v.repeats.clone(),
        rows: v.rows,
        stop: StopHandle::new(),
        wakeups: None,
        status_only: true,
    };
    let result = send_all::<K>(
        &conn.client,
        spool.finish()?,
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
    output.table.finish(args.run.report.as_deref(), false);
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

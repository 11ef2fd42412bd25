//! `amili payments status FILE`: what the ledger and Amili know now of each row of a file,
//! sending nothing. The file is read as `submit` reads it; the ledger says what it holds of
//! each row (the library's status report); batches whose outcome is not known yet are
//! followed (the library's poller, which records what it learns in the ledger).

use std::time::Duration;

use amili_payments::StopHandle;

use crate::args::{ConnectionArgs, InputArgs, RunArgs};
use crate::commands::submit::{Output, Reading, read_file, send_rows};
use crate::config::{Tuning, connect};
use crate::exit::{Exit, usage};
use crate::from_ledger::FromLedger;
use crate::kind::FileKind;
use crate::output::print_problems;
use crate::progress::Progress;
use crate::state::open_ledger;
use crate::submit::Sending;

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
    let mut conn = connect(&args.connection, tuning.clone())
        .await
        .map_err(usage)?;
    let scope = conn.ledger_scope(K::LEDGER);
    let ledger = conn
        .closed_on_error(open_ledger(args.run.state.as_deref(), &scope).await)
        .await
        .map_err(usage)?;
    let reading = Reading::of(&args.input, &args.run, false);
    // Invoice ids found earlier (by `submit`) are used, and kept, as `submit` does.
    let cache_target = conn.ledger_scope(amili_payments::ledger::Kind::Payments);
    let read = read_file::<K>(&conn.client, &reading, &progress, Some(&cache_target)).await;
    let (mut v, spool) = conn.closed_on_error(read).await?;
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

    let mut output = Output::create::<K>(&args.run)?;
    output.from_ledger = from_ledger;
    let sending = Sending {
        chunk_size: usize::try_from(args.run.chunk_size).unwrap_or(usize::MAX),
        concurrency: tuning.concurrency,
        ledger: Some(ledger),
        wait: Some(Duration::from_secs(args.run.wait_timeout)),
        repeats: v.repeats.clone(),
        ids_checked: true,
        rows: v.rows,
        stop: StopHandle::new(),
        wakeups: None,
        status_only: true,
    };
    let rows = spool.finish()?.read_ahead()?;
    send_rows::<K>(conn, rows, sending, &progress, &mut output).await?;
    let counts = output.finish(args.run.report.as_deref(), false)?;
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

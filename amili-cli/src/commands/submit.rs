//! `amili payments submit FILE`: validate, journal, send, (follow), report.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::args::SubmitArgs;
use crate::config::{Tuning, connect};
use crate::exit::{Exit, usage};
use crate::follow::{Spill, follow_all};
use crate::journal::Journal;
use crate::output::{Progress, Table, print_problems};
use crate::report::{ReportFormat, ReportRow, ReportWriter};
use crate::submit::{Plan, Sink, journal_path, send_all};
use crate::validate::{resolve_format, validate_file};

/// The final rows go to the summary table and the report file.
struct Output {
    table: Table,
    report: Option<ReportWriter>,
}

impl Sink for Output {
    fn put(&mut self, row: ReportRow) -> anyhow::Result<()> {
        if let Some(report) = &mut self.report {
            report.write(&row)?;
        }
        self.table.add(&row);
        Ok(())
    }
}

pub async fn run(args: &SubmitArgs) -> anyhow::Result<Exit> {
    let started = Instant::now();
    let path = &args.input.file;
    let name = path.display().to_string();
    let format = resolve_format(path, args.input.format).map_err(usage)?;
    let progress = Progress::new();

    // Pass 1: validate everything before sending anything.
    let v = validate_file(path, format, args.input.max_errors, &progress).map_err(usage)?;
    progress.finish();
    print_problems(&name, &v);
    if v.rows == 0 {
        eprintln!("{name}: no payments in the file; nothing was sent");
        return Ok(Exit::Usage);
    }
    if !v.is_valid() && !args.skip_invalid {
        eprintln!(
            "{name}: {} of {} rows are invalid; nothing was sent. Fix them, or pass \
             --skip-invalid to send the {} valid rows.",
            v.invalid, v.rows, v.valid
        );
        return Ok(Exit::Usage);
    }
    if v.valid == 0 {
        eprintln!("{name}: no valid payments; nothing was sent");
        return Ok(Exit::Usage);
    }
    let input_id = v
        .input_id
        .clone()
        .ok_or_else(|| anyhow::anyhow!("the input was not fingerprinted"))?;

    let chunk_size = usize::try_from(args.chunk_size).unwrap_or(usize::MAX);
    let tuning = Tuning {
        concurrency: usize::try_from(args.concurrency).unwrap_or(1),
    };
    let conn = connect(&args.connection, tuning).await?;
    let target = format!(
        "{} org {}",
        conn.client.api_url(),
        conn.client.organization_id()
    );

    // The journal: beside the input, except for the embedded sandbox, whose state dies with
    // this process (a journal of it could never be resumed): a temporary one then.
    let mut _temp_journal = None;
    let journal_file = match (&args.journal, conn.sandbox.is_some()) {
        (Some(p), _) => p.clone(),
        (None, true) => {
            let temp = tempfile::NamedTempFile::new()?;
            let p = temp.path().to_path_buf();
            _temp_journal = Some(temp);
            p
        }
        (None, false) => journal_path(path, None),
    };
    let journal = match Journal::open(&journal_file, path, &input_id, &target) {
        Ok(j) => Arc::new(j),
        Err(e) => {
            conn.close().await;
            return Err(usage(e));
        }
    };
    let resumed = journal.chunks().len();

    // Credentials first: a refused token would refuse every request the same way.
    if let Err(e) = conn.client.check_token().await {
        conn.close().await;
        anyhow::bail!("cannot get an access token, nothing was sent: {e}");
    }

    if conn.sandbox.is_some() {
        eprintln!("using an embedded sandbox at {}", conn.client.api_url());
    }
    let skipped = if v.invalid > 0 {
        format!(" ({} invalid rows skipped)", v.invalid)
    } else {
        String::new()
    };
    eprintln!(
        "sending {} payments from {name}{skipped} to {target}, up to {} per request",
        v.valid, chunk_size
    );
    if resumed > 0 {
        eprintln!(
            "resuming from the journal {}: {resumed} chunks recorded by an earlier run",
            journal.path().display()
        );
    }

    let interrupted = Arc::new(AtomicBool::new(false));
    watch_ctrl_c(Arc::clone(&interrupted));

    let report = match &args.report {
        Some(p) => Some(
            ReportWriter::create(
                p,
                args.report_format
                    .unwrap_or_else(|| ReportFormat::from_path(p)),
            )
            .map_err(usage)?,
        ),
        None => None,
    };
    let mut output = Output {
        table: Table::new(args.table_limit),
        report,
    };
    let plan = Plan {
        path: path.clone(),
        format,
        chunk_size,
        concurrency: tuning.concurrency,
        repeats: v.repeats.clone(),
        valid: v.valid,
    };

    let result = async {
        if args.wait {
            let mut spill = Spill::new()?;
            send_all(
                &conn.client,
                plan,
                Arc::clone(&journal),
                Arc::clone(&interrupted),
                &progress,
                &mut spill,
            )
            .await?;
            follow_all(
                &conn.client,
                spill,
                tuning.concurrency * 4,
                Duration::from_secs(args.wait_timeout),
                &progress,
                &mut output,
            )
            .await
        } else {
            send_all(
                &conn.client,
                plan,
                Arc::clone(&journal),
                Arc::clone(&interrupted),
                &progress,
                &mut output,
            )
            .await
            .map(drop)
        }
    }
    .await;
    progress.finish();
    conn.close().await;
    result?;

    if let Some(report) = output.report.take() {
        report.finish()?;
    }
    output.table.finish(args.report.as_deref());
    let counts = &output.table.counts;
    eprintln!("done in {:.1}s", started.elapsed().as_secs_f64());
    if _temp_journal.is_none()
        && !counts.all_good(args.wait)
        && counts.not_sent + counts.unknown > 0
    {
        eprintln!(
            "run the same command again to send what was not sent; the journal {} makes sure \
             nothing is sent twice",
            journal.path().display()
        );
    }
    Ok(if counts.all_good(args.wait) {
        Exit::Success
    } else {
        Exit::Failures
    })
}

/// On Ctrl-C: stop sending new requests (those in flight finish and are journaled); a second
/// Ctrl-C exits at once (the journal still keeps a rerun safe). The listener is registered
/// before this returns, so no early signal is missed.
fn watch_ctrl_c(flag: Arc<AtomicBool>) {
    #[cfg(unix)]
    let mut signal = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
    {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("cannot watch for Ctrl-C: {e}");
            return;
        }
    };
    tokio::spawn(async move {
        #[cfg(unix)]
        let mut next = async || signal.recv().await.is_some();
        #[cfg(not(unix))]
        let next = async || tokio::signal::ctrl_c().await.is_ok();
        if next().await {
            eprintln!(
                "\ninterrupted: finishing the requests in flight, sending nothing new \
                 (Ctrl-C again to stop at once; the journal keeps a rerun safe)"
            );
            flag.store(true, Ordering::SeqCst);
            if next().await {
                std::process::exit(130);
            }
        }
    });
}

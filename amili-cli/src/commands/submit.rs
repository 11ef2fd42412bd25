//! `amili payments submit FILE` and `amili corrections submit FILE`: read and validate once
//! (resolving invoice references first), send through the library's pipeline (with the
//! ledger), follow with its poller (`--wait`), report.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use amili_ledger::{PostgresLedger, SqliteLedger};
use amili_payments::ledger::Ledger;
use amili_payments::{BatchWakeups, StopHandle};
use amili_webhooks::{HmacSha256Verifier, Receiver};

use crate::secret::Secret;
use amili_payments::report::OutcomeCounts;
use serde::Serialize;

use crate::args::SubmitArgs;
use crate::config::{Tuning, connect};
use crate::exit::{Exit, usage};
use crate::kind::FileKind;
use crate::output::{Table, all_good, print_problems};
use crate::progress::Progress;
use crate::report::{ReportFormat, ReportRow, ReportWriter};
use crate::spool::SpoolWriter;
use crate::submit::{INTERRUPTED, Sending, Sink, send_all};
use crate::validate::{Resolved, Validation, validate_file};

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

pub async fn run<K: FileKind>(args: &SubmitArgs) -> anyhow::Result<Exit> {
    let started = Instant::now();
    let path = &args.input.file;
    let name = path.display().to_string();
    let progress = Progress::new();
    let mut summary = Summary::new(&name, args);

    // Settings first — everything that can be checked without the file: a refused
    // credential or a wrong URL is said at once, not after a million rows were read.
    crate::validate::resolve_format(path, args.input.format).map_err(usage)?;
    // Webhooks (--webhook-port): the receiver listens before anything can finish.
    let webhooks = match args.webhook_port {
        Some(port) => Some(WebhookListener::start(port, args).await.map_err(usage)?),
        None => None,
    };
    let tuning = Tuning {
        concurrency: usize::try_from(args.concurrency).unwrap_or(1),
        sandbox_webhook: webhooks
            .as_ref()
            .filter(|_| args.connection.sandbox)
            .map(|w| (w.url.clone(), w.secret.clone())),
    };
    let conn = connect(&args.connection, tuning.clone())
        .await
        .map_err(usage)?;
    let target = format!(
        "{} org {}",
        conn.client.api_url(),
        conn.client.organization_id()
    );
    let scope = K::ledger_scope(&target);
    if let Err(e) = conn.client.check_token().await {
        conn.close().await;
        return Err(usage(anyhow::anyhow!(
            "cannot get an access token, nothing was sent: {e}"
        )));
    }
    // What was sent is remembered per payment in the ledger. The embedded sandbox's state
    // dies with this process, so there is nothing to remember across runs: no ledger then.
    let ledger: Option<Arc<dyn Ledger>> = if conn.sandbox.is_some() {
        None
    } else {
        match open_ledger(args.state.as_deref(), &scope).await {
            Ok(ledger) => Some(ledger),
            Err(e) => {
                conn.close().await;
                return Err(usage(e));
            }
        }
    };

    // Read the file once: validate every row before sending anything, spooling what was
    // found so that sending streams from the spool. A file that names invoices by number or
    // source id is read again once Amili has answered for every distinct reference.
    let (v, spool) = match read_file::<K>(&conn.client, args, &progress).await {
        Ok(read) => read,
        Err(e) => {
            conn.close().await;
            return Err(e);
        }
    };
    progress.finish();
    print_problems(&name, &v);
    summary.rows = v.rows;
    let refusal = if v.rows == 0 {
        Some(format!(
            "{name}: no {} in the file; nothing was sent",
            K::PLURAL
        ))
    } else if !v.is_valid() && !args.skip_invalid {
        Some(format!(
            "{name}: {} of {} rows are invalid; nothing was sent. Fix them, or pass \
             --skip-invalid to send the {} valid rows.",
            v.invalid, v.rows, v.valid
        ))
    } else if v.valid == 0 {
        Some(format!("{name}: no valid {}; nothing was sent", K::PLURAL))
    } else {
        None
    };
    if let Some(refusal) = refusal {
        conn.close().await;
        eprintln!("{refusal}");
        summary.counts.invalid = usize::try_from(v.invalid).unwrap_or(usize::MAX);
        return Ok(summary.finish(Exit::Usage, refusal));
    }
    if args.dry_run {
        conn.close().await;
        let said = format!(
            "dry run: the settings work and {} of {} rows are valid; nothing was sent",
            v.valid, v.rows
        );
        eprintln!("{said}");
        return Ok(summary.finish(Exit::Success, said));
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
        "sending {} {} from {name}{skipped} to {target}, up to {} per request",
        v.valid,
        K::PLURAL,
        args.chunk_size
    );

    let stop = StopHandle::new();
    watch_ctrl_c(stop.clone());

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
        table: Table::new(args.table_limit, K::NAME),
        report,
    };
    let sending = Sending {
        chunk_size: usize::try_from(args.chunk_size).unwrap_or(usize::MAX),
        concurrency: tuning.concurrency,
        ledger,
        wait: args.wait.then(|| Duration::from_secs(args.wait_timeout)),
        repeats: v.repeats.clone(),
        rows: v.rows,
        stop,
        wakeups: webhooks.as_ref().map(|w| w.wakeups.clone()),
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
    if let Some(webhooks) = webhooks {
        webhooks.stop().await;
    }
    result?;

    if let Some(report) = output.report.take() {
        report.finish()?;
    }
    output.table.finish(args.report.as_deref(), args.json);
    let counts = output.table.counts;
    eprintln!("done in {:.1}s", started.elapsed().as_secs_f64());
    if counts.not_sent + counts.unknown > 0 {
        eprintln!(
            "run the same command again to send what was not sent: the ledger remembers \
             every {} Amili accepted, so nothing is sent twice",
            K::NAME
        );
    }
    summary.counts = counts;
    summary.batches = output.table.batches.len();
    let (exit, reason) = if all_good(&counts, args.wait) {
        (Exit::Success, format!("every {} accepted", K::NAME))
    } else {
        (
            Exit::Failures,
            format!(
                "not every {} was {}",
                K::NAME,
                if args.wait { "booked" } else { "accepted" }
            ),
        )
    };
    Ok(summary.finish(exit, reason))
}

/// Reads and validates the file into a spool. Invoice references found by the first read are
/// looked up (each distinct one once, `--concurrency` at a time) and the file read again
/// with the answers. A look-up that fails (not "no match": the call itself) ends the run
/// with nothing sent.
async fn read_file<K: FileKind>(
    client: &amili_payments::Client,
    args: &SubmitArgs,
    progress: &Progress,
) -> anyhow::Result<(Validation, crate::spool::SpoolWriter)> {
    let path = &args.input.file;
    let mut spool = SpoolWriter::new()?;
    let v =
        validate_file::<K>(path, &args.input, progress, Some(&mut spool), None).map_err(usage)?;
    if v.references.is_empty() {
        return Ok((v, spool));
    }
    progress.finish();
    eprintln!(
        "looking up {} invoice reference{} of {}",
        v.references.len(),
        if v.references.len() == 1 { "" } else { "s" },
        path.display()
    );
    let resolved = resolve_references(client, v.references, args.concurrency).await?;
    let mut spool = SpoolWriter::new()?;
    let v = validate_file::<K>(
        path,
        &args.input,
        progress,
        Some(&mut spool),
        Some(&resolved),
    )
    .map_err(usage)?;
    Ok((v, spool))
}

/// Amili's answer for every reference; an error when any look-up failed.
async fn resolve_references(
    client: &amili_payments::Client,
    references: std::collections::HashSet<amili_payments::invoices::InvoiceRef>,
    concurrency: u64,
) -> anyhow::Result<Resolved> {
    use amili_payments::invoices::Unresolved;
    let references: Vec<_> = references.into_iter().collect();
    let answers = client
        .invoice_resolver()
        .with_concurrency(usize::try_from(concurrency).unwrap_or(1))
        .resolve(references.iter().cloned())
        .await;
    let resolved: Resolved = references.into_iter().zip(answers).collect();
    let failed: Vec<String> = resolved
        .values()
        .filter_map(|answer| match answer {
            Err(e @ Unresolved::Failed { .. }) => Some(e.to_string()),
            _ => None,
        })
        .collect();
    if let Some(first) = failed.first() {
        anyhow::bail!(
            "cannot look up {} of the file's invoice references, nothing was sent (run again \
             when Amili answers): {first}{}",
            failed.len(),
            if failed.len() > 1 { ", …" } else { "" }
        );
    }
    Ok(resolved)
}

/// The webhook receiver of `--webhook-port`: wakes the pollers of `--wait`.
struct WebhookListener {
    url: String,
    secret: Secret,
    wakeups: BatchWakeups,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl WebhookListener {
    async fn start(port: u16, args: &SubmitArgs) -> anyhow::Result<WebhookListener> {
        let secret = match (&args.webhook_secret, args.connection.sandbox) {
            (Some(secret), _) => secret.clone(),
            (None, true) => Secret::parse(&amili_payments::Uuid::new_v4().to_string())
                .map_err(|e| anyhow::anyhow!(e))?,
            (None, false) => anyhow::bail!(
                "--webhook-port needs the shared webhook secret (--webhook-secret or \
                 AMILI_WEBHOOK_SECRET)"
            ),
        };
        let wakeups = BatchWakeups::new();
        let receiver = Receiver::builder(HmacSha256Verifier::new(secret.expose()))
            .wake_pollers(wakeups.clone())
            .handler(|_| async { Ok::<_, amili_webhooks::BoxError>(()) });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen for webhooks on 127.0.0.1:{port}: {e}"))?;
        let bound = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(receiver.serve(listener, async move {
            let _ = stopped.await;
        }));
        eprintln!("receiving webhooks on http://{bound}/");
        Ok(WebhookListener {
            url: format!("http://{bound}/"),
            secret,
            wakeups,
            stop,
            task,
        })
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// The one JSON object `--json` prints on stdout at the end.
#[derive(Serialize)]
struct Summary {
    file: String,
    rows: u64,
    counts: OutcomeCounts,
    batches: usize,
    report: Option<PathBuf>,
    exit_code: u8,
    exit_reason: String,
    #[serde(skip)]
    json: bool,
}

impl Summary {
    fn new(file: &str, args: &SubmitArgs) -> Summary {
        Summary {
            file: file.to_owned(),
            rows: 0,
            counts: OutcomeCounts::default(),
            batches: 0,
            report: args.report.clone(),
            exit_code: 0,
            exit_reason: String::new(),
            json: args.json,
        }
    }

    /// Prints the object (with `--json`) and hands back the exit.
    fn finish(mut self, exit: Exit, reason: String) -> Exit {
        self.exit_code = exit.code();
        self.exit_reason = reason;
        if self.json {
            match serde_json::to_string(&self) {
                Ok(line) => println!("{line}"),
                Err(e) => eprintln!("error: cannot write the JSON summary: {e}"),
            }
        }
        exit
    }
}

/// The ledger `--state` (or `AMILI_STATE`) names, for `target` (API URL and organization).
pub async fn open_ledger(state: Option<&str>, target: &str) -> anyhow::Result<Arc<dyn Ledger>> {
    if let Some(url) = state.filter(|s| is_postgres_url(s)) {
        return Ok(Arc::new(PostgresLedger::connect(url, target).await?));
    }
    let file = state_path(state.map(Path::new))?;
    Ok(Arc::new(SqliteLedger::open(&file, target)?))
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

/// On Ctrl-C: stop sending new requests (those in flight finish and are recorded in the ledger); a second
/// Ctrl-C exits at once (the ledger still keeps a rerun safe). The listener is registered
/// before this returns, so no early signal is missed.
fn watch_ctrl_c(stop: StopHandle) {
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
                 (Ctrl-C again to stop at once; the ledger keeps a rerun safe)"
            );
            stop.stop(INTERRUPTED);
            if next().await {
                std::process::exit(130);
            }
        }
    });
}

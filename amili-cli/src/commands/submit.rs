//! `amili payments submit FILE` and `amili corrections submit FILE`: read and validate once
//! (resolving invoice references first), send through the library's pipeline (with the
//! ledger), follow with its poller (`--wait`), report.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use amili_payments::ledger::Ledger;
use amili_payments::report::OutcomeCounts;
use amili_payments::{BatchWakeups, StopHandle};
use amili_webhooks::{HmacSha256Verifier, Receiver};
use serde::Serialize;

use crate::args::{ConnectionArgs, InputArgs, MAX_CHUNK_SIZE};
use crate::config::{Tuning, connect};
use crate::exit::{Exit, usage};
use crate::kind::FileKind;
use crate::output::{Table, all_good, print_problems};
use crate::progress::Progress;
use crate::report::{ReportFormat, ReportRow, ReportWriter};
use crate::secret::Secret;
use crate::spool::SpoolWriter;
use crate::state::open_ledger;
use crate::submit::{INTERRUPTED, Sending, Sink, send_all};
use crate::validate::{Resolved, Validation, validate_file};

#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Skip rows that fail validation (they are reported as `invalid`) and send the rest.
    #[arg(long)]
    pub skip_invalid: bool,

    /// Follow the batches until Amili has processed them and report each row's outcome.
    #[arg(long)]
    pub wait: bool,

    /// With --wait: learn that batches finished from Amili's BATCH_COMPLETED webhooks,
    /// received on this local port (127.0.0.1), instead of polling often; the batch is still
    /// read from the API before its outcomes are reported, and polled slowly in case no event
    /// comes. With --sandbox the embedded sandbox sends them.
    #[arg(long, value_name = "PORT", requires = "wait")]
    pub webhook_port: Option<u16>,

    /// The shared webhook secret for --webhook-port (signatures: HMAC-SHA256 of the body).
    /// Prefer AMILI_WEBHOOK_SECRET: flags show in `ps`. With --sandbox a random one is used.
    #[arg(long, env = "AMILI_WEBHOOK_SECRET", value_name = "SECRET", hide_env_values = true,
          value_parser = Secret::parse)]
    pub webhook_secret: Option<Secret>,

    /// Check the settings and validate the file, and send nothing.
    #[arg(long, conflicts_with = "wait")]
    pub dry_run: bool,

    /// Print the final summary as one JSON object on stdout (the table then goes to stderr).
    #[arg(long)]
    pub json: bool,

    /// Give up following batches after this many seconds (with --wait).
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub wait_timeout: u64,

    /// Write a per-row report (line, uniqueSourcePaymentId or correctionId, invoiceId, batch
    /// id, idempotency key, outcome, Amili's reason). Format from the extension: .csv, .jsonl,
    /// otherwise JSON.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// The report's format (default: from the report file's extension).
    #[arg(long, value_enum, requires = "report")]
    pub report_format: Option<ReportFormat>,

    /// The ledger that remembers every payment sent, so that no rerun, copy or renamed file
    /// sends one twice: a SQLite file (default: `$XDG_STATE_HOME/amili/ledger.db`, else
    /// `~/.local/state/amili/ledger.db`), or a `postgres://user@host/db` URL shared by several
    /// machines. Not used with --sandbox (its state dies with the run).
    #[arg(long, env = "AMILI_STATE", value_name = "FILE|URL")]
    pub state: Option<String>,

    /// How many payments (or corrections) one request carries at most.
    #[arg(long, env = "AMILI_MAX_PAYMENTS_PER_REQUEST", value_name = "N",
          default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=MAX_CHUNK_SIZE))]
    pub chunk_size: u64,

    /// How many requests (and invoice look-ups) are in flight at once.
    #[arg(long, env = "AMILI_CONCURRENCY", value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u64).range(1..=64))]
    pub concurrency: u64,

    /// How many per-row lines the summary table prints before it only counts.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub table_limit: usize,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

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
    summary.not_taken = v.not_taken.count;
    // A bank file's transactions that are not payments: said before anything else happens.
    let not_taken = (v.not_taken.count > 0).then(|| format!("{name}: {}", v.not_taken));
    if let Some(line) = &not_taken {
        eprintln!("{line}");
    }
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
        return Ok(match not_taken {
            Some(line) => summary.finish(Exit::Failures, line),
            None => summary.finish(Exit::Success, said),
        });
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
        table: Table::new(args.table_limit, K::NAME, K::PLURAL),
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
    // The bank transactions that are not payments are counted `not_sent` like the rest, but
    // no rerun sends them.
    let mut sendable = counts;
    sendable.not_sent = counts
        .not_sent
        .saturating_sub(usize::try_from(v.not_taken.count).unwrap_or(usize::MAX));
    if let Some(line) = &not_taken {
        eprintln!("{line}");
    }
    if sendable.not_sent + counts.unknown > 0 {
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
    } else if let Some(line) = not_taken.filter(|_| all_good(&sendable, args.wait)) {
        (Exit::Failures, line)
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
    /// A bank file's transactions that are not payments (in `counts` as not sent).
    #[serde(skip_serializing_if = "is_zero")]
    not_taken: u64,
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
            not_taken: 0,
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

fn is_zero(n: &u64) -> bool {
    *n == 0
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

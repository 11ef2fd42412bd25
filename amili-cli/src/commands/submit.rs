//! `amili payments submit FILE` and `amili corrections submit FILE`: read and validate once
//! (resolving invoice references first), send through the library's pipeline (with the
//! ledger), follow with its poller (`--wait`), report.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use amili_payments::ledger::Ledger;
use amili_payments::report::{Outcome, OutcomeCounts};
use amili_payments::{BatchWakeups, StopHandle};
use amili_webhooks::{HmacSha256Verifier, Receiver};
use serde::Serialize;

use crate::args::{ConnectionArgs, InputArgs, RunArgs};
use crate::config::{Connection, Tuning, connect};
use crate::exit::{Exit, usage};
use crate::from_ledger::FromLedger;
use crate::invoice_cache::InvoiceCache;
use crate::kind::FileKind;
use crate::money::SumsBy;
use crate::output::{Table, all_good, print_problems};
use crate::progress::Progress;
use crate::report::{ReportFormat, ReportRow, ReportWriter};
use crate::secret::Secret;
use crate::spool::{ReadRows, SpoolWriter};
use crate::state::open_ledger;
use crate::submit::{INTERRUPTED, Sending, Sink, send_all};
use crate::validate::{Problem, Resolved, VALID, Validation, stream_file, validate_file};
use crate::words::{count, sent, some_of_rows};

#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Skip rows that fail validation (they are reported as `invalid`) and send the rest. A CSV
    /// file is then sent as it is read (a file that names invoices by a reference, JSON and
    /// bank files are read whole first).
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

    /// Print the final summary as one JSON object on stdout (the table then goes to stderr):
    /// counts and sums per outcome, the rows' problems; also when the run ends in an error.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub run: RunArgs,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// The final rows go to the summary table and the report file.
pub(crate) struct Output {
    pub(crate) table: Table,
    pub(crate) report: Option<ReportWriter>,
    /// Rows the ledger knew as accepted by an earlier run (not sent by this one).
    pub(crate) earlier: usize,
    /// Invalid rows reported as the ledger knows them (their reference no longer resolves).
    pub(crate) from_ledger: FromLedger,
}

impl Output {
    /// The output of a run over a file's rows: the summary table and the report file
    /// `--report` asks for.
    pub(crate) fn create<K: FileKind>(run: &RunArgs) -> anyhow::Result<Output> {
        Ok(Output {
            table: Table::new(run.table_limit, K::NAME, K::PLURAL),
            report: create_report::<K>(run)?,
            earlier: 0,
            from_ledger: FromLedger::default(),
        })
    }

    /// Finishes the report file and prints the table (on stderr with `to_stderr`); the
    /// counts.
    pub(crate) fn finish(
        &mut self,
        report: Option<&std::path::Path>,
        to_stderr: bool,
    ) -> anyhow::Result<OutcomeCounts> {
        if let Some(report) = self.report.take() {
            report.finish()?;
        }
        self.table.finish(report, to_stderr);
        Ok(self.table.counts)
    }
}

/// Sends (or, for `status`, reads) the rows as `sending` says into `output`, then closes the
/// connection; how the sending ended.
pub(crate) async fn send_rows<K: FileKind>(
    conn: Connection,
    rows: ReadRows<K>,
    sending: Sending,
    progress: &Progress,
    output: &mut Output,
) -> anyhow::Result<()> {
    let result = send_all::<K>(&conn.client, rows, sending, progress, output).await;
    progress.finish();
    conn.close().await;
    result
}

impl Sink for Output {
    fn put(&mut self, mut row: ReportRow) -> anyhow::Result<()> {
        self.from_ledger.apply(&mut row);
        if let Some(report) = &mut self.report {
            report.write(&row)?;
        }
        let known = matches!(
            row.outcome,
            Outcome::AlreadyAccepted | Outcome::Succeeded | Outcome::Failed(_)
        );
        if known && row.idempotency_key.is_none() && row.batch_id.is_some() {
            self.earlier += 1;
        }
        self.table.add(&row);
        Ok(())
    }
}

pub async fn run<K: FileKind>(args: &SubmitArgs) -> anyhow::Result<Exit> {
    let mut summary = Summary::new(&args.input.file.display().to_string(), args);
    match submit::<K>(args, &mut summary).await {
        Ok((exit, reason)) => Ok(summary.finish(exit, reason)),
        // With --json, a run that ends in an error still prints its object (with what was
        // learnt by then), the error as its reason.
        Err(e) => {
            summary.finish(crate::exit::for_error(&e), format!("{e:#}"));
            Err(e)
        }
    }
}

/// The run; fills in `summary` as it learns, and hands back the exit and why.
async fn submit<K: FileKind>(
    args: &SubmitArgs,
    summary: &mut Summary,
) -> anyhow::Result<(Exit, String)> {
    let started = Instant::now();
    let path = &args.input.file;
    let name = path.display().to_string();
    let progress = Progress::new();

    // Settings first — everything that can be checked without the file: a refused
    // credential or a wrong URL is said at once, not after a million rows were read.
    crate::validate::resolve_format(path, args.input.format).map_err(usage)?;
    // Webhooks (--webhook-port): the receiver listens before anything can finish.
    let webhooks = match args.webhook_port {
        Some(port) => Some(WebhookListener::start(port, args).await.map_err(usage)?),
        None => None,
    };
    let tuning = Tuning {
        concurrency: usize::try_from(args.run.concurrency).unwrap_or(1),
        sandbox_webhook: webhooks
            .as_ref()
            .filter(|_| args.connection.sandbox)
            .map(|w| (w.url.clone(), w.secret.clone())),
    };
    let mut conn = connect(&args.connection, tuning.clone())
        .await
        .map_err(usage)?;
    let scope = conn.ledger_scope(K::LEDGER);
    if let Err(e) = conn.client.check_token().await {
        conn.close().await;
        return Err(usage(anyhow::anyhow!(
            "cannot get an access token, nothing was sent: {e}"
        )));
    }
    // A token is issued for a wrong organization id too; every request would be refused.
    if let Err(e) = crate::config::check_organization(&conn.client).await {
        conn.close().await;
        return Err(e.context("nothing was sent"));
    }
    // What was sent is remembered per payment in the ledger. The embedded sandbox's state
    // dies with this process, so there is nothing to remember across runs: no ledger then.
    let ledger: Option<Arc<dyn Ledger>> = if conn.sandbox.is_some() {
        None
    } else {
        let ledger = open_ledger(args.run.state.as_deref(), &scope).await;
        Some(conn.closed_on_error(ledger).await.map_err(usage)?)
    };

    // Read the file once: validate every row before sending anything, spooling what was
    // found so that sending streams from the spool. A file that names invoices by number or
    // source id is read again once Amili has answered for every distinct reference.
    // Found invoice ids are kept for the next run next to the ledger (not with the embedded
    // sandbox: its invoices die with the run).
    // Invoices are the organization's whatever the kind: keyed by the payments' scope.
    let cache_target = ledger
        .is_some()
        .then(|| conn.ledger_scope(amili_payments::ledger::Kind::Payments));
    // With --skip-invalid a file is sent as it is read: each row validated once, on its way,
    // its problems said as they come, so the first request leaves after the first rows. A
    // file whose invoices are named by a reference is read whole first (its references are
    // looked up before any row can go), as is every file without --skip-invalid (nothing is
    // sent while any row is invalid).
    let streamed = if args.skip_invalid && !args.dry_run {
        let streamed = stream_file::<K>(path, &args.input).map_err(usage);
        conn.closed_on_error(streamed).await?
    } else {
        None
    };
    // (Rows known from the ledger and a bank file's transactions that are not payments come
    // only with a file read whole.)
    let (v, rows, from_ledger, found, known_earlier, not_taken) = if let Some(streamed) = streamed {
        eprintln!(
            "submitting the {} of {name} as they are read (invalid rows skipped), up to {} per \
             request",
            K::PLURAL,
            args.run.chunk_size
        );
        let found = Some(streamed.found);
        let v = Validation::default();
        (v, streamed.rows, FromLedger::default(), found, 0, None)
    } else {
        let reading = Reading::of(&args.input, &args.run, args.skip_invalid);
        let read = read_file::<K>(&conn.client, &reading, &progress, cache_target.as_deref()).await;
        let (mut v, spool) = conn.closed_on_error(read).await?;
        progress.finish();
        // Rows whose reference no longer resolves but that an earlier run sent: as the ledger
        // knows them, not invalid.
        let from_ledger = FromLedger::read(ledger.as_deref(), &mut v).await;
        let known_earlier = from_ledger.len() as u64;
        print_problems(&name, &v);
        summary.rows = v.rows;
        summary.problem_count = v.problem_count;
        summary.problems = v.problems.clone();
        summary.warnings = v.warnings.clone();
        summary.not_taken = v.not_taken.count;
        // A bank file's transactions that are not payments: said before anything else happens.
        let not_taken = (v.not_taken.count > 0).then(|| format!("{name}: {}", v.not_taken));
        if let Some(line) = &not_taken {
            eprintln!("{line}");
        }
        // A header and no rows (a scheduled export's empty day) is not a mistake; a report
        // asked for is written, empty.
        if v.rows == 0 {
            conn.close().await;
            let said = format!("{name}: no {} in the file; nothing to send", K::PLURAL);
            eprintln!("{said}");
            report_unsent::<K>(args, spool, &v, &said, from_ledger)?;
            return Ok((Exit::Success, said));
        }
        let refusal = if !v.is_valid() && !args.skip_invalid {
            Some(format!(
                "{name}: {}; nothing was sent. Fix them, or pass --skip-invalid to send the \
                 {}.",
                some_of_rows(v.invalid, v.rows, "invalid"),
                if v.valid == 1 {
                    "valid row".to_owned()
                } else {
                    format!("{} valid rows", v.valid)
                }
            ))
        } else if v.valid == 0 && from_ledger.is_empty() {
            Some(format!("{name}: no valid {}; nothing was sent", K::PLURAL))
        } else {
            None
        };
        if let Some(refusal) = refusal {
            conn.close().await;
            eprintln!("{refusal}");
            // Every row, with its problems or as not sent, in the report and the counts.
            let table = report_unsent::<K>(args, spool, &v, &refusal, from_ledger)?;
            summary.counts = table.counts;
            summary.sums = table.sums;
            return Ok((Exit::Usage, refusal));
        }
        if args.dry_run {
            conn.close().await;
            let would_send = v.sums.get(VALID).cloned().unwrap_or_default();
            let said = format!(
                "dry run: the settings work and {} ({would_send}); nothing was sent",
                some_of_rows(v.valid, v.rows, "valid")
            );
            eprintln!("{said}");
            summary.sums = v.sums;
            return Ok(match not_taken {
                Some(line) => (Exit::Failures, line),
                None => (Exit::Success, said),
            });
        }
        let skipped = if v.invalid > 0 {
            format!(
                " ({} skipped)",
                count(v.invalid, "invalid row", "invalid rows")
            )
        } else {
            String::new()
        };
        // What is sent is said after the run: the ledger decides, request by request, what
        // Amili has already.
        eprintln!(
            "submitting {} from {name}{skipped}, up to {} per request",
            count(v.valid, K::NAME, K::PLURAL),
            args.run.chunk_size
        );
        let rows = spool.finish()?.read_ahead()?;
        (v, rows, from_ledger, None, known_earlier, not_taken)
    };

    let stop = StopHandle::new();
    watch_ctrl_c(stop.clone());

    let mut output = Output::create::<K>(&args.run)?;
    output.from_ledger = from_ledger;
    let sending = Sending {
        chunk_size: usize::try_from(args.run.chunk_size).unwrap_or(usize::MAX),
        concurrency: tuning.concurrency,
        ledger,
        wait: args
            .wait
            .then(|| Duration::from_secs(args.run.wait_timeout)),
        repeats: v.repeats.clone(),
        // A file read whole had every id checked; one sent as read did not.
        ids_checked: found.is_none(),
        rows: v.rows,
        stop,
        wakeups: webhooks.as_ref().map(|w| w.wakeups.clone()),
        status_only: false,
    };
    let result = send_rows::<K>(conn, rows, sending, &progress, &mut output).await;
    if let Some(webhooks) = webhooks {
        webhooks.stop().await;
    }
    if let Err(e) = result {
        // What went out before the run stopped (a file sent as it is read may stop at a
        // broken line) is in the table and the report all the same.
        output.finish(args.run.report.as_deref(), args.json)?;
        return Err(e);
    }

    let counts = output.finish(args.run.report.as_deref(), args.json)?;
    let v = match found {
        // Sent as read: what reading found is known now.
        Some(found) => {
            let v = found
                .lock()
                .map_or_else(|p| p.into_inner().take(), |mut f| f.take())
                .unwrap_or_default();
            summarize_streamed(&name, &v, summary);
            if v.rows == 0 || v.valid == 0 {
                let said = if v.rows == 0 {
                    format!("{name}: no {} in the file; nothing to send", K::PLURAL)
                } else {
                    format!("{name}: no valid {}; nothing was sent", K::PLURAL)
                };
                eprintln!("{said}");
                summary.counts = counts;
                summary.sums = output.table.sums.clone();
                let exit = if v.rows == 0 {
                    Exit::Success
                } else {
                    Exit::Usage
                };
                return Ok((exit, said));
            }
            v
        }
        None => v,
    };
    // Rows the ledger knew from an earlier run (already accepted, or their outcome) were
    // not sent.
    let went_out = (counts.accepted
        + counts.succeeded
        + counts.failed
        + counts.unknown
        + counts.rejected
        + counts.already_accepted)
        .saturating_sub(output.earlier);
    eprintln!(
        "{}; done in {:.1}s",
        sent(
            went_out as u64,
            output.earlier as u64,
            v.valid + known_earlier,
            K::NAME,
            K::PLURAL
        ),
        started.elapsed().as_secs_f64()
    );
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
    if counts.failed > 0 {
        eprintln!(
            "{} failed in Amili: fix them in the file and run the same command again (a \
             failed {} was not booked: its fix is sent, an unchanged row is not resent)",
            counts.failed,
            K::NAME
        );
    }
    summary.counts = counts;
    summary.sums = output.table.sums;
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
    Ok((exit, reason))
}

/// A file sent as it was read: what reading found into the summary, and how many problems
/// were not printed (each printed one was said as it was met).
fn summarize_streamed(name: &str, v: &Validation, summary: &mut Summary) {
    let shown = v.problems.len() as u64;
    if v.problem_count > shown {
        eprintln!(
            "{name}: … and {} more problems (raise --max-errors to see them)",
            v.problem_count - shown
        );
    }
    summary.rows = v.rows;
    summary.problem_count = v.problem_count;
    summary.problems = v.problems.clone();
    summary.warnings = v.warnings.clone();
    summary.not_taken = v.not_taken.count;
}

/// The report file of `--report`, if asked for.
pub(crate) fn create_report<K: FileKind>(args: &RunArgs) -> anyhow::Result<Option<ReportWriter>> {
    let Some(path) = &args.report else {
        return Ok(None);
    };
    let format = args
        .report_format
        .unwrap_or_else(|| ReportFormat::from_path(path));
    Ok(Some(
        ReportWriter::create(path, format, K::ID_FIELD).map_err(usage)?,
    ))
}

/// When validation stopped the run: every row of the spool into the report (if asked for) and
/// the counts, the invalid with their problems, the valid as not sent with why.
fn report_unsent<K: FileKind>(
    args: &SubmitArgs,
    spool: SpoolWriter,
    v: &Validation,
    refusal: &str,
    from_ledger: FromLedger,
) -> anyhow::Result<Table> {
    let mut output = Output {
        table: Table::new(0, K::NAME, K::PLURAL),
        report: create_report::<K>(&args.run)?,
        earlier: 0,
        from_ledger,
    };
    let not_sent = format!("not sent: {refusal}").into();
    for row in spool.finish::<K>()?.read_ahead()? {
        output.put(crate::submit::unsent_row(row?, &v.repeats, &not_sent))?;
    }
    if let Some(report) = output.report.take() {
        report.finish()?;
    }
    Ok(output.table)
}

/// What reading a file needs of a command's arguments (`submit`'s, `status`'s).
pub(crate) struct Reading<'a> {
    pub(crate) input: &'a InputArgs,
    /// How many invoice look-ups are in flight at once.
    pub(crate) concurrency: u64,
    /// Whether a failed look-up is its rows' problem rather than the run's end.
    pub(crate) skip_invalid: bool,
    /// The ledger `--state` names (the invoice id cache lives beside it).
    pub(crate) state: Option<&'a str>,
}

impl<'a> Reading<'a> {
    /// What reading needs of `submit`'s or `status`'s arguments.
    pub(crate) fn of(input: &'a InputArgs, run: &'a RunArgs, skip_invalid: bool) -> Self {
        Reading {
            input,
            concurrency: run.concurrency,
            skip_invalid,
            state: run.state.as_deref(),
        }
    }
}

/// Reads and validates the file into a spool. Invoice references found by the first read are
/// looked up (each distinct one once, `--concurrency` at a time, those found by an earlier run
/// for `cache_target` taken from the [`InvoiceCache`]) and the file read again with the
/// answers. A look-up that fails (not "no match": the call itself) ends the run with nothing
/// sent, unless `--skip-invalid` makes it its rows' problem.
pub(crate) async fn read_file<K: FileKind>(
    client: &amili_payments::Client,
    args: &Reading<'_>,
    progress: &Progress,
    cache_target: Option<&str>,
) -> anyhow::Result<(Validation, crate::spool::SpoolWriter)> {
    let path = &args.input.file;
    let mut spool = SpoolWriter::new()?;
    let v =
        validate_file::<K>(path, args.input, progress, Some(&mut spool), None).map_err(usage)?;
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
    let mut cache = cache_target.and_then(|target| {
        InvoiceCache::for_state(args.state, target)
            .map_err(|e| eprintln!("note: invoice ids found earlier are not used: {e}"))
            .ok()
    });
    let resolved = resolve_references(client, v.references, args, cache.as_mut()).await?;
    if let Some(cache) = &cache
        && let Err(e) = cache.save()
    {
        eprintln!("note: the invoice ids found are not kept for the next run: {e}");
    }
    let mut spool = SpoolWriter::new()?;
    let v = validate_file::<K>(
        path,
        args.input,
        progress,
        Some(&mut spool),
        Some(&resolved),
    )
    .map_err(usage)?;
    Ok((v, spool))
}

/// Amili's answer for every reference (found ones from `cache` when it has them, and kept in
/// it); an error when any look-up failed, unless `--skip-invalid` makes those rows' problem.
async fn resolve_references(
    client: &amili_payments::Client,
    references: std::collections::HashSet<amili_payments::invoices::InvoiceRef>,
    args: &Reading<'_>,
    mut cache: Option<&mut InvoiceCache>,
) -> anyhow::Result<Resolved> {
    use amili_payments::invoices::Unresolved;
    let mut resolved = Resolved::with_capacity(references.len());
    let mut missing = Vec::with_capacity(references.len());
    for reference in references {
        match cache.as_deref().and_then(|c| c.get(&reference)) {
            Some(id) => {
                resolved.insert(reference, Ok(id));
            }
            None => missing.push(reference),
        }
    }
    if let Some(cache) = cache.as_deref().filter(|_| !resolved.is_empty()) {
        eprintln!(
            "{} of them found by an earlier run (kept {} days in {})",
            resolved.len(),
            crate::invoice_cache::LIFETIME_DAYS,
            cache.path().display(),
        );
    }
    let answers = client
        .invoice_resolver()
        .with_concurrency(usize::try_from(args.concurrency).unwrap_or(1))
        .resolve(missing.iter().cloned())
        .await;
    for (reference, answer) in missing.into_iter().zip(answers) {
        if let (Some(cache), Ok(id)) = (cache.as_deref_mut(), &answer) {
            cache.insert(&reference, *id);
        }
        resolved.insert(reference, answer);
    }
    let mut failed = resolved
        .values()
        .filter_map(|answer| answer.as_ref().err())
        .filter(|e| e.is_look_up_failure());
    let Some(first) = failed.next() else {
        return Ok(resolved);
    };
    let count = 1 + failed.count();
    let not_looked_up = resolved
        .values()
        .filter(|a| matches!(a, Err(Unresolved::NotLookedUp { .. })))
        .count();
    // The breaker tripped: say why once, from a look-up that ran.
    let why = resolved
        .values()
        .find_map(|a| match a {
            Err(e @ Unresolved::Failed { .. }) => Some(e.to_string()),
            _ => None,
        })
        .unwrap_or_else(|| first.to_string());
    let summary = if not_looked_up > 0 {
        format!(
            "invoice look-up is failing: {why}; {not_looked_up} reference{} not looked up",
            if not_looked_up == 1 { "" } else { "s" }
        )
    } else {
        format!(
            "cannot look up {count} of the file's invoice references: {first}{}",
            if count > 1 { ", …" } else { "" }
        )
    };
    if args.skip_invalid {
        eprintln!(
            "note: {summary}; with --skip-invalid, their rows are invalid and the rest is sent"
        );
        return Ok(resolved);
    }
    anyhow::bail!("{summary}; nothing was sent (run again when Amili answers)")
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

/// The one JSON object `--json` prints on stdout at the end (`schemas/submit.json`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    file: String,
    rows: u64,
    counts: OutcomeCounts,
    /// Per outcome and currency; on a dry run per `valid` / `invalid`.
    sums: SumsBy,
    batches: usize,
    report: Option<PathBuf>,
    /// The rows' problems (the first `--max-errors`), and how many there are in all.
    problems: Vec<Problem>,
    problem_count: u64,
    warnings: Vec<String>,
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
            sums: SumsBy::default(),
            batches: 0,
            report: args.run.report.clone(),
            problems: Vec::new(),
            problem_count: 0,
            warnings: Vec::new(),
            not_taken: 0,
            exit_code: 0,
            exit_reason: String::new(),
            json: args.json,
        }
    }

    /// Prints the object (with `--json`) and hands back the exit.
    fn finish(&mut self, exit: Exit, reason: String) -> Exit {
        self.exit_code = exit.code();
        self.exit_reason = reason;
        if self.json {
            match serde_json::to_string(&*self) {
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

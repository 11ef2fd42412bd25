//! One benchmark run: prepare the inputs once, then for each round run every contender against
//! every server, interleaved (the order of contenders rotates from round to round), and check
//! that each run delivered every payment — counted by the contender and, on the stub, by the
//! server.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::data;
use crate::library;
use crate::process;
use crate::raw::Endpoint;
use crate::sandbox::SandboxProcess;
use crate::stub::{Stub, StubCounts};

/// A server the contenders send to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Server {
    /// (a) the minimal local stub ([`crate::stub`]).
    Stub,
    /// (b) the `amili-sandbox` binary ([`crate::sandbox`]).
    Sandbox,
    /// (c) the sandbox inside the CLI process (`amili payments submit --sandbox`); only the
    /// contender (6) runs against it.
    Embedded,
    /// (d) the sandbox binary answering every CreatePayments after this many milliseconds:
    /// a server as slow as a real one, where the client's CPU should not show.
    Slow(u32),
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Server::Stub => f.write_str("stub"),
            Server::Sandbox => f.write_str("sandbox"),
            Server::Embedded => f.write_str("embedded"),
            Server::Slow(ms) => write!(f, "sandbox+{ms}ms"),
        }
    }
}

/// Who sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Contender {
    /// (1) raw `reqwest` + `serde_json`, pre-built bodies: the library baseline.
    RawReqwest,
    /// (1w) raw `reqwest`, each body written straight into bytes in the loop (informational).
    RawWriting,
    /// (2) the generated `amili-api` client.
    Generated,
    /// (3) `amili-payments`.
    AmiliPayments,
    /// (4) `amili-bench-csv-loop` (csv crate + raw reqwest), a process: the CLI baseline.
    CsvLoop,
    /// (4r) the same loop under the CLI's two costliest rules (every row read before the
    /// first request; a SQLite row per payment committed before its request): the fastest
    /// any CLI that keeps them can be (for reference).
    CsvLoopRules,
    /// (5) `amili payments submit FILE`, a process.
    Cli,
    /// (6) `amili payments submit FILE --sandbox --wait`, a process holding its own sandbox.
    CliEmbedded,
}

impl Contender {
    /// The library contenders, baseline first.
    pub const LIBRARY: [Contender; 4] = [
        Contender::RawReqwest,
        Contender::RawWriting,
        Contender::Generated,
        Contender::AmiliPayments,
    ];
    /// The CLI contenders, baseline first.
    pub const CLI: [Contender; 3] = [Contender::CsvLoop, Contender::CsvLoopRules, Contender::Cli];

    /// The process contenders that run against `server`.
    pub fn processes_for(server: Server) -> &'static [Contender] {
        match server {
            Server::Stub | Server::Sandbox | Server::Slow(_) => &Contender::CLI,
            Server::Embedded => &[Contender::CliEmbedded],
        }
    }

    /// What the contender is against.
    pub fn baseline(self) -> Contender {
        match self {
            Contender::RawReqwest
            | Contender::RawWriting
            | Contender::Generated
            | Contender::AmiliPayments => Contender::RawReqwest,
            Contender::CsvLoop | Contender::CsvLoopRules | Contender::Cli => Contender::CsvLoop,
            Contender::CliEmbedded => Contender::CliEmbedded,
        }
    }

    /// Whether it runs as a separate process (and has a peak RSS of its own).
    pub fn is_process(self) -> bool {
        matches!(
            self,
            Contender::CsvLoop | Contender::CsvLoopRules | Contender::Cli | Contender::CliEmbedded
        )
    }

    /// A short name for progress lines.
    pub fn short(self) -> &'static str {
        match self {
            Contender::RawReqwest => "raw-reqwest",
            Contender::RawWriting => "raw-write",
            Contender::Generated => "amili-api",
            Contender::AmiliPayments => "amili-payments",
            Contender::CsvLoop => "csv-loop",
            Contender::CsvLoopRules => "csv-loop-rules",
            Contender::Cli => "amili-cli",
            Contender::CliEmbedded => "amili-cli-embedded",
        }
    }
}

/// The binaries the process contenders and the sandbox run.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// The `amili` CLI.
    pub amili: PathBuf,
    /// `amili-bench-csv-loop`.
    pub csv_loop: PathBuf,
    /// `amili-sandbox`.
    pub sandbox: PathBuf,
    /// `amili-bench-measure`, the launcher that measures process contenders.
    pub measure: PathBuf,
}

impl Binaries {
    /// The three binaries in one directory (a cargo profile directory such as
    /// `target/release`).
    pub fn in_dir(dir: &Path) -> Binaries {
        let exe = |name: &str| dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
        Binaries {
            amili: exe("amili"),
            csv_loop: exe("amili-bench-csv-loop"),
            sandbox: exe("amili-sandbox"),
            measure: exe("amili-bench-measure"),
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Payments per library run.
    pub payments: u64,
    /// CSV rows per CLI run.
    pub rows: u64,
    /// Rounds (every contender once against every server per round).
    pub rounds: usize,
    /// Payments per request.
    pub chunk_size: usize,
    /// Requests in flight.
    pub concurrency: usize,
    /// The servers, in order.
    pub servers: Vec<Server>,
    /// Run the library contenders (1)–(3).
    pub library: bool,
    /// Run the CLI contenders (4)–(5).
    pub cli: bool,
    /// The binaries.
    pub binaries: Binaries,
    /// Where the CSV file and the CLI's per-run directories go (a fresh temporary directory
    /// when `None`).
    pub work_dir: Option<PathBuf>,
}

/// One contender's run against one server in one round.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// 0-based round.
    pub round: usize,
    /// The server.
    pub server: Server,
    /// The contender.
    pub contender: Contender,
    /// Payments the contender reports accepted (202); checked to be all of them.
    pub payments: u64,
    /// Wall time of the run.
    pub wall: Duration,
    /// Peak RSS of the process, for process contenders.
    pub max_rss_kib: Option<u64>,
    /// CPU time of the process (user and system), for process contenders.
    pub cpu: Option<Duration>,
    /// What the stub counted during the run (stub runs only).
    pub stub: Option<StubCounts>,
}

impl Measurement {
    /// Payments per second.
    pub fn throughput(&self) -> f64 {
        self.payments as f64 / self.wall.as_secs_f64().max(1e-9)
    }
}

/// The inputs of the library contenders, built once.
struct LibraryInputs {
    bodies: Vec<data::RawBody>,
    requests: Vec<amili_api::types::CreatePaymentsRequest>,
    payments: Vec<amili_payments::Payment>,
}

/// Runs the benchmark; `progress` sees every measurement as it is taken.
pub fn run(
    config: &Config,
    progress: &mut dyn FnMut(&Measurement),
) -> anyhow::Result<Vec<Measurement>> {
    if config.chunk_size == 0 || config.concurrency == 0 {
        bail!("chunk size and concurrency must be at least 1");
    }
    let stub = if config.servers.contains(&Server::Stub) {
        Some(Stub::start(2)?)
    } else {
        None
    };
    let sandboxes = config
        .servers
        .iter()
        .any(|s| matches!(s, Server::Sandbox | Server::Slow(_)));
    if sandboxes && !config.binaries.sandbox.is_file() {
        bail!(
            "no amili-sandbox binary at {}",
            config.binaries.sandbox.display()
        );
    }
    let library_inputs = if config.library {
        let wire = data::wire_payments(config.payments);
        Some(LibraryInputs {
            bodies: data::raw_bodies(&wire, config.chunk_size)?,
            requests: data::api_requests(&wire, config.chunk_size),
            payments: data::library_payments(&wire)?,
        })
    } else {
        None
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("contender")
        .enable_all()
        .build()
        .context("the contenders' runtime")?;

    let temp;
    let work_dir = match &config.work_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            dir.clone()
        }
        None => {
            temp = tempfile::Builder::new().prefix("amili-bench-").tempdir()?;
            temp.path().to_path_buf()
        }
    };
    let csv = work_dir.join("payments.csv");
    if config.cli {
        let b = &config.binaries;
        for binary in [&b.amili, &b.csv_loop, &b.measure] {
            if !binary.is_file() {
                bail!("no binary at {}", binary.display());
            }
        }
        data::write_csv(&csv, config.rows)?;
    }

    let mut measurements = Vec::new();
    for round in 0..config.rounds {
        let mut take = |m: Measurement| {
            progress(&m);
            measurements.push(m);
        };
        if let Some(inputs) = &library_inputs {
            for &server in config.servers.iter().filter(|&&s| s != Server::Embedded) {
                for contender in rotated(&Contender::LIBRARY, round) {
                    take(measure_library(
                        config,
                        &runtime,
                        inputs,
                        stub.as_ref(),
                        round,
                        server,
                        contender,
                    )?);
                }
            }
        }
        if config.cli {
            for &server in &config.servers {
                for contender in rotated(Contender::processes_for(server), round) {
                    take(measure_process(
                        config,
                        &csv,
                        &work_dir,
                        stub.as_ref(),
                        round,
                        server,
                        contender,
                    )?);
                }
            }
        }
    }
    Ok(measurements)
}

/// `items` rotated left by `round`, so that no contender always goes first.
fn rotated(items: &[Contender], round: usize) -> Vec<Contender> {
    let mut items = items.to_vec();
    if !items.is_empty() {
        let n = round % items.len();
        items.rotate_left(n);
    }
    items
}

/// A server ready for one run: the stub (counts reset) or a fresh sandbox process; no
/// endpoint for the embedded sandbox (the contender starts it).
fn start_server(
    stub: Option<&Stub>,
    server: Server,
    binaries: &Binaries,
) -> anyhow::Result<(Option<Endpoint>, Option<SandboxProcess>)> {
    match server {
        Server::Stub => {
            let stub = stub.context("the stub is not running")?;
            let _ = stub.take_counts();
            Ok((Some(stub.endpoint()), None))
        }
        Server::Sandbox | Server::Slow(_) => {
            let delay_ms = match server {
                Server::Slow(ms) => Some(ms),
                _ => None,
            };
            let sandbox = SandboxProcess::start(&binaries.sandbox, delay_ms)?;
            Ok((Some(sandbox.endpoint().clone()), Some(sandbox)))
        }
        Server::Embedded => Ok((None, None)),
    }
}

/// Checks that a run delivered `expected` payments, by its own count and the stub's.
fn check_complete(
    what: &str,
    expected: u64,
    reported: u64,
    stub: Option<StubCounts>,
) -> anyhow::Result<()> {
    if reported != expected {
        bail!("{what}: {reported} of {expected} payments accepted");
    }
    if let Some(counts) = stub
        && (counts.payments != expected || counts.refused != 0)
    {
        bail!(
            "{what}: the stub received {} payments ({} requests, {} refused), expected {expected}",
            counts.payments,
            counts.payment_requests,
            counts.refused
        );
    }
    Ok(())
}

fn measure_library(
    config: &Config,
    runtime: &tokio::runtime::Runtime,
    inputs: &LibraryInputs,
    stub: Option<&Stub>,
    round: usize,
    server: Server,
    contender: Contender,
) -> anyhow::Result<Measurement> {
    let what = format!("round {} {server} {}", round + 1, contender.short());
    let (endpoint, sandbox) = start_server(stub, server, &config.binaries)?;
    let endpoint = endpoint.with_context(|| format!("{what}: no endpoint to send to"))?;
    let (chunk, concurrency) = (config.chunk_size, config.concurrency);
    // Owned inputs are copied before `timed` starts the clock.
    let (wall, accepted) = match contender {
        Contender::RawReqwest => timed(runtime, &inputs.bodies, |bodies| {
            library::run_raw_reqwest(&endpoint, bodies, concurrency)
        }),
        Contender::RawWriting => timed(runtime, inputs.requests.clone(), |requests| {
            library::run_raw_writing(&endpoint, requests, concurrency)
        }),
        Contender::Generated => timed(runtime, inputs.requests.clone(), |requests| {
            library::run_generated(&endpoint, requests, concurrency)
        }),
        Contender::AmiliPayments => timed(runtime, inputs.payments.clone(), |payments| {
            library::run_amili_payments(&endpoint, payments, chunk, concurrency)
        }),
        Contender::CsvLoop | Contender::CsvLoopRules | Contender::Cli | Contender::CliEmbedded => {
            bail!("{what}: not a library contender")
        }
    };
    drop(sandbox);
    let accepted = accepted.with_context(|| what.clone())?;
    let stub_counts = (server == Server::Stub)
        .then(|| stub.map(Stub::take_counts))
        .flatten();
    check_complete(&what, config.payments, accepted, stub_counts)?;
    Ok(Measurement {
        round,
        server,
        contender,
        payments: accepted,
        wall,
        max_rss_kib: None,
        cpu: None,
        stub: stub_counts,
    })
}

/// Runs a library contender on its input, timed from the call to its last answer.
fn timed<I, F>(
    runtime: &tokio::runtime::Runtime,
    input: I,
    contender: impl FnOnce(I) -> F,
) -> (Duration, anyhow::Result<u64>)
where
    F: Future<Output = anyhow::Result<u64>>,
{
    let start = Instant::now();
    let accepted = runtime.block_on(contender(input));
    (start.elapsed(), accepted)
}

fn measure_process(
    config: &Config,
    csv: &Path,
    work_dir: &Path,
    stub: Option<&Stub>,
    round: usize,
    server: Server,
    contender: Contender,
) -> anyhow::Result<Measurement> {
    let what = format!("round {} {server} {}", round + 1, contender.short());
    // A fresh directory per run: the input, the CLI's SQLite ledger and its output.
    let dir = work_dir.join(format!("run-{}-{server}-{}", round + 1, contender.short()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    let input = dir.join("payments.csv");
    if std::fs::hard_link(csv, &input).is_err() {
        std::fs::copy(csv, &input).with_context(|| format!("copying {}", csv.display()))?;
    }
    let (endpoint, sandbox) = start_server(stub, server, &config.binaries)?;
    let mut flags = vec![
        ("--chunk-size", config.chunk_size.to_string()),
        ("--concurrency", config.concurrency.to_string()),
    ];
    if let Some(endpoint) = &endpoint {
        flags.extend([
            ("--api-url", endpoint.api_url.clone()),
            ("--token-url", endpoint.token_url.clone()),
            ("--client-id", endpoint.client_id.clone()),
            ("--client-secret", endpoint.client_secret.clone()),
            ("--organization-id", endpoint.organization_id.to_string()),
        ]);
    }
    let result = dir.join("measured.txt");
    let b = &config.binaries;
    let mut command = match contender {
        Contender::CsvLoop => process::launch(&b.measure, &result, &b.csv_loop),
        Contender::CsvLoopRules => {
            let mut command = process::launch(&b.measure, &result, &b.csv_loop);
            command
                .arg("--read-first")
                .arg("--journal")
                .arg(dir.join("journal.db"));
            command
        }
        Contender::Cli => {
            let mut command = process::launch(&b.measure, &result, &b.amili);
            command.args(["payments", "submit"]);
            // A fresh ledger per run, in the run's folder (a real SQLite file, as users have).
            command.arg("--state").arg(dir.join("ledger.db"));
            command
        }
        // The embedded sandbox keeps its ledger in memory; --wait follows every batch to its
        // end, so the sandbox holds every payment when the run ends.
        Contender::CliEmbedded => {
            let mut command = process::launch(&b.measure, &result, &b.amili);
            command.args(["payments", "submit", "--sandbox", "--wait"]);
            command
        }
        _ => bail!("{what}: not a process contender"),
    };
    command.arg(&input);
    for (flag, value) in &flags {
        command.arg(flag).arg(value);
    }
    // Only the flags configure the contenders.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AMILI_") {
            command.env_remove(&key);
        }
    }
    let stdout_path = dir.join("stdout.txt");
    let stderr_path = dir.join("stderr.txt");
    command
        .env_remove("RUST_LOG")
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path)?)
        .stderr(std::fs::File::create(&stderr_path)?);
    let launcher = command
        .status()
        .with_context(|| format!("{what}: running {}", b.measure.display()))?;
    drop(sandbox);
    let run = std::fs::read_to_string(&result)
        .ok()
        .as_deref()
        .and_then(process::decode)
        .with_context(|| format!("{what}: the launcher measured nothing ({launcher})"))?;
    let stub_counts = (server == Server::Stub)
        .then(|| stub.map(Stub::take_counts))
        .flatten();
    let stdout = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    if !run.status.success() {
        let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        bail!(
            "{what}: {} ({})\n{}\n{}",
            run.status,
            command_line(&command),
            tail(&stdout),
            tail(&stderr)
        );
    }
    let accepted = accepted_count(contender, &stdout, config.rows)
        .with_context(|| format!("{what}: cannot read the count from\n{}", tail(&stdout)))?;
    check_complete(&what, config.rows, accepted, stub_counts)?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Measurement {
        round,
        server,
        contender,
        payments: accepted,
        wall: run.wall,
        max_rss_kib: Some(run.max_rss_kib),
        cpu: Some(run.cpu),
        stub: stub_counts,
    })
}

/// How many payments a successful process run reports accepted: the CSV loop prints
/// `sent N payments in M requests`; the CLI prints `T rows: N accepted (B batches)` and exits
/// 0 only when every payment was accepted.
fn accepted_count(contender: Contender, stdout: &str, rows: u64) -> Option<u64> {
    let number_before = |line: &str, word: &str| -> Option<u64> {
        let mut words = line.split_whitespace().peekable();
        while let Some(w) = words.next() {
            if words.peek() == Some(&word) {
                return w.parse().ok();
            }
        }
        None
    };
    match contender {
        Contender::CsvLoop => stdout
            .lines()
            .find(|l| l.starts_with("sent "))
            .and_then(|l| number_before(l, "payments")),
        // Only what is also in its journal counts.
        Contender::CsvLoopRules => {
            let count = |start: &str| {
                stdout
                    .lines()
                    .find(|l| l.starts_with(start))
                    .and_then(|l| number_before(l, "payments"))
            };
            count("sent ").filter(|&sent| count("journaled ") == Some(sent))
        }
        Contender::Cli | Contender::CliEmbedded => Some(
            stdout
                .lines()
                .find(|l| l.contains(" rows: "))
                .and_then(|l| number_before(l, "accepted"))
                .unwrap_or(rows),
        ),
        _ => None,
    }
}

/// The command as text, the client secret's value redacted.
fn command_line(command: &Command) -> String {
    let mut words = Vec::new();
    let mut secret_next = false;
    for word in std::iter::once(command.get_program()).chain(command.get_args()) {
        let word = word.to_string_lossy();
        words.push(if secret_next {
            "[redacted]".to_owned()
        } else {
            word.to_string()
        });
        secret_next = word == "--client-secret";
    }
    words.join(" ")
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_read_from_the_output() {
        assert_eq!(
            accepted_count(
                Contender::CsvLoop,
                "sent 1000 payments in 2 requests\n",
                1000
            ),
            Some(1000)
        );
        assert_eq!(
            accepted_count(Contender::Cli, "x\n12 rows: 12 accepted (1 batch)\n", 99),
            Some(12)
        );
        let rules = |out| accepted_count(Contender::CsvLoopRules, out, 99);
        assert_eq!(
            rules("sent 7 payments in 1 requests\njournaled 7 payments\n"),
            Some(7)
        );
        assert_eq!(
            rules("sent 7 payments in 1 requests\njournaled 6 payments\n"),
            None
        );
        assert_eq!(rules("sent 7 payments in 1 requests\n"), None);
        assert_eq!(
            rotated(&Contender::LIBRARY, 3),
            [
                Contender::AmiliPayments,
                Contender::RawReqwest,
                Contender::RawWriting,
                Contender::Generated,
            ]
        );
    }
}

//! `amili-bench`: the submission throughput harness of issue 9 (see the crate docs). Usually
//! run through `cargo xtask bench`, which builds the release binaries it needs first.
//!
//! Progress goes to stderr, the Markdown table to stdout (`BENCHMARKS.md` keeps the current
//! figures from it, with the command).

use std::path::PathBuf;
use std::process::ExitCode;

use amili_bench::report;
use amili_bench::{Binaries, Config, Measurement, Server};
use clap::{Parser, ValueEnum};

/// Submission throughput: raw reqwest vs the generated client vs amili-payments, and a csv +
/// reqwest loop vs the `amili` CLI, against a local stub and amili-sandbox.
#[derive(Debug, Parser)]
#[command(name = "amili-bench")]
struct Args {
    /// Payments per library run.
    #[arg(long, value_name = "N", default_value_t = report::FULL_PAYMENTS)]
    payments: u64,

    /// CSV rows per CLI run.
    #[arg(long, value_name = "N", default_value_t = report::FULL_ROWS)]
    rows: u64,

    /// Rounds; every contender runs once against every server per round.
    #[arg(long, value_name = "N", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..))]
    rounds: u64,

    /// Payments per request.
    #[arg(long, value_name = "N", default_value_t = 500,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    chunk_size: u64,

    /// Requests in flight.
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u64).range(1..=64))]
    concurrency: u64,

    /// The servers (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [ServerArg::Stub, ServerArg::Sandbox, ServerArg::Embedded])]
    servers: Vec<ServerArg>,

    /// Also run against the sandbox answering every CreatePayments after this many
    /// milliseconds (comma-separated; e.g. `50,200`): the latency section.
    #[arg(long, value_name = "MS", value_delimiter = ',')]
    latency: Vec<u32>,

    /// Skip the library contenders (1)–(3).
    #[arg(long)]
    skip_library: bool,

    /// Skip the CLI contenders (4)–(5).
    #[arg(long)]
    skip_cli: bool,

    /// Where `amili`, `amili-sandbox` and `amili-bench-csv-loop` are (default: beside this
    /// binary).
    #[arg(long, value_name = "DIR")]
    bin_dir: Option<PathBuf>,

    /// Where the CSV file and the per-run directories go (default: a fresh temporary
    /// directory, removed afterwards).
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,

    /// Run nothing: start the stub, print the `amili` connection flags for it, and serve until
    /// standard input closes (to time or profile one contender by hand).
    #[arg(long)]
    serve_stub: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ServerArg {
    Stub,
    Sandbox,
    /// The CLI's own `--sandbox` (only the CLI contender (6) runs against it).
    Embedded,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("amili-bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    if args.serve_stub {
        return serve_stub();
    }
    let bin_dir = match &args.bin_dir {
        Some(dir) => dir.clone(),
        None => std::env::current_exe()?
            .parent()
            .map(PathBuf::from)
            .unwrap_or_default(),
    };
    let mut servers: Vec<Server> = args
        .servers
        .iter()
        .map(|s| match s {
            ServerArg::Stub => Server::Stub,
            ServerArg::Sandbox => Server::Sandbox,
            ServerArg::Embedded => Server::Embedded,
        })
        .chain(args.latency.iter().map(|&ms| Server::Slow(ms)))
        .collect();
    servers.dedup();
    let config = Config {
        payments: args.payments,
        rows: args.rows,
        rounds: usize::try_from(args.rounds)?,
        chunk_size: usize::try_from(args.chunk_size)?,
        concurrency: usize::try_from(args.concurrency)?,
        servers,
        library: !args.skip_library,
        cli: !args.skip_cli,
        binaries: Binaries::in_dir(&bin_dir),
        work_dir: args.work_dir.clone(),
    };
    let measurements = amili_bench::run(&config, &mut |m| progress(&config, m))?;
    let rows = report::summarize(&measurements);
    println!("{}", report::table(&rows));
    Ok(())
}

fn serve_stub() -> anyhow::Result<()> {
    let stub = amili_bench::stub::Stub::start(2)?;
    let e = stub.endpoint();
    println!(
        "--api-url {} --token-url {} --client-id {} --client-secret {} --organization-id {}",
        e.api_url, e.token_url, e.client_id, e.client_secret, e.organization_id
    );
    std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink())?;
    eprintln!("{:?}", stub.take_counts());
    Ok(())
}

fn progress(config: &Config, m: &Measurement) {
    let rss = m
        .max_rss_kib
        .map(|kib| format!(", peak RSS {:.1} MiB", kib as f64 / 1024.0))
        .unwrap_or_default();
    let stub = m
        .stub
        .map(|s| {
            format!(
                ", stub saw {} payments in {} requests",
                s.payments, s.payment_requests
            )
        })
        .unwrap_or_default();
    eprintln!(
        "[round {}/{}] {:<7} {:<14} {} payments in {:.2} s = {:.0}/s{rss}{stub}",
        m.round + 1,
        config.rounds,
        m.server.to_string(),
        m.contender.short(),
        m.payments,
        m.wall.as_secs_f64(),
        m.throughput(),
    );
}

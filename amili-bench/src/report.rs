//! From measurements to the Markdown table: throughput and ratio to the baseline of the same
//! round (median and min–max over rounds), peak RSS of the process contenders, the issue's
//! targets; and the section "Submission throughput (issue 9)" of `BENCHMARKS.md`.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;

use crate::runner::{Config, Contender, Measurement, Server};

/// The heading of the section this harness owns in `BENCHMARKS.md`.
pub const SECTION_HEADING: &str = "## Submission throughput (issue 9)";

/// Full sizes: the issue's targets are about these.
pub const FULL_PAYMENTS: u64 = 100_000;
/// Full CSV size.
pub const FULL_ROWS: u64 = 1_000_000;

/// The peak RSS target of the CLI for 1M rows.
const CLI_RSS_TARGET_MIB: f64 = 64.0;
/// The peak RSS target of the CLI with its embedded sandbox for 1M rows (issue 11).
const EMBEDDED_RSS_TARGET_MIB: f64 = 128.0;

/// The issue's peak RSS target for a contender, if it has one.
fn rss_target(contender: Contender) -> Option<f64> {
    match contender {
        Contender::Cli => Some(CLI_RSS_TARGET_MIB),
        Contender::CliEmbedded => Some(EMBEDDED_RSS_TARGET_MIB),
        _ => None,
    }
}

/// Median, smallest and largest of some values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// The middle value (the mean of the two middle ones for an even count).
    pub median: f64,
    /// The smallest.
    pub min: f64,
    /// The largest.
    pub max: f64,
}

impl Spread {
    /// `None` for no values.
    pub fn of(values: &[f64]) -> Option<Spread> {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        Some(Spread {
            median,
            min: sorted[0],
            max: sorted[n - 1],
        })
    }
}

/// One line of the table: a contender against a server over every round.
#[derive(Debug, Clone)]
pub struct Row {
    /// The server.
    pub server: Server,
    /// The contender.
    pub contender: Contender,
    /// Payments per run.
    pub payments: u64,
    /// Payments per second.
    pub throughput: Spread,
    /// Throughput divided by the baseline's in the same round (`None` for the baseline
    /// itself).
    pub ratio: Option<Spread>,
    /// Throughput divided by that of (1w) in the same round (library contenders (2), (3)).
    pub ratio_writing: Option<Spread>,
    /// Throughput divided by that of (4r) in the same round (the CLI (5)).
    pub ratio_rules: Option<Spread>,
    /// CPU time (user and system) per payment in µs (process contenders).
    pub cpu_us: Option<Spread>,
    /// Peak RSS in MiB (process contenders).
    pub rss_mib: Option<Spread>,
}

/// Groups measurements into rows, in table order (server, then contender).
pub fn summarize(measurements: &[Measurement]) -> Vec<Row> {
    let mut keys: Vec<(Server, Contender)> = measurements
        .iter()
        .map(|m| (m.server, m.contender))
        .collect();
    keys.sort();
    keys.dedup();
    keys.sort_by_key(|&(server, contender)| (contender.is_process(), server, contender));
    keys.into_iter()
        .filter_map(|(server, contender)| {
            let runs: Vec<&Measurement> = measurements
                .iter()
                .filter(|m| m.server == server && m.contender == contender)
                .collect();
            let throughput = Spread::of(&runs.iter().map(|m| m.throughput()).collect::<Vec<_>>())?;
            let ratio_to = |reference: Contender| {
                let ratios: Vec<f64> = runs
                    .iter()
                    .filter_map(|m| {
                        measurements
                            .iter()
                            .find(|b| {
                                b.round == m.round && b.server == server && b.contender == reference
                            })
                            .map(|b| m.throughput() / b.throughput())
                    })
                    .collect();
                Spread::of(&ratios)
            };
            let ratio = (contender.baseline() != contender)
                .then(|| ratio_to(contender.baseline()))
                .flatten();
            let serializer = matches!(contender, Contender::Generated | Contender::AmiliPayments);
            let ratio_writing = serializer
                .then(|| ratio_to(Contender::RawWriting))
                .flatten();
            let ratio_rules = (contender == Contender::Cli)
                .then(|| ratio_to(Contender::CsvLoopRules))
                .flatten();
            let cpu_us: Vec<f64> = runs
                .iter()
                .filter_map(|m| Some(m.cpu?.as_secs_f64() * 1e6 / m.payments.max(1) as f64))
                .collect();
            let rss: Vec<f64> = runs
                .iter()
                .filter_map(|m| m.max_rss_kib)
                .map(|kib| kib as f64 / 1024.0)
                .collect();
            Some(Row {
                server,
                contender,
                payments: runs.first().map_or(0, |m| m.payments),
                throughput,
                ratio,
                ratio_writing,
                ratio_rules,
                cpu_us: Spread::of(&cpu_us),
                rss_mib: Spread::of(&rss),
            })
        })
        .collect()
}

fn contender_label(contender: Contender) -> &'static str {
    match contender {
        Contender::RawReqwest => "(1) raw `reqwest` + `serde_json`, pre-built bodies — baseline",
        Contender::RawWriting => {
            "(1w) raw `reqwest`, bodies written straight into bytes in the loop — for reference"
        }
        Contender::Generated => "(2) generated `amili-api` client",
        Contender::AmiliPayments => "(3) `amili-payments` submit",
        Contender::CsvLoop => "(4) `csv` + raw `reqwest` loop (process) — baseline",
        Contender::CsvLoopRules => {
            "(4r) the loop (4) with the CLI's two costliest rules: every row read first, a SQLite row per payment committed before its request — for reference"
        }
        Contender::Cli => "(5) `amili payments submit FILE` (process)",
        Contender::CliEmbedded => {
            "(6) `amili payments submit FILE --sandbox --wait` (process, its own sandbox)"
        }
    }
}

/// The targets of a row (issue 26), each with the ratio it is about: against the baseline,
/// (1w) or (4r).
fn targets(row: &Row) -> Vec<(&'static str, f64, Option<Spread>)> {
    match (row.contender, row.server) {
        (Contender::AmiliPayments, Server::Stub) => vec![("vs (1w)", 0.90, row.ratio_writing)],
        (Contender::AmiliPayments, Server::Sandbox) => vec![("vs (1)", 0.98, row.ratio)],
        (Contender::Cli, Server::Stub) => vec![("vs (4r)", 0.80, row.ratio_rules)],
        (Contender::Cli, Server::Slow(ms)) => {
            vec![("vs (4)", if ms >= 200 { 0.97 } else { 0.90 }, row.ratio)]
        }
        _ => Vec::new(),
    }
}

/// The CLI's CPU time per row target, in µs.
const CLI_CPU_US_TARGET: f64 = 4.0;

fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "**not met**" }
}

/// The Markdown table of the rows.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| contender | server | payments per run | throughput, payments/s: median (min–max) | vs baseline (1) or (4), same round: median (min–max) | vs (1w) or (4r), same round | CPU per payment | peak RSS: median (max) | target (on the median) |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for row in rows {
        let ratio = row.ratio.map_or_else(
            // (6) has no baseline: nothing else runs with its own sandbox.
            || {
                if row.contender == Contender::CliEmbedded {
                    "–"
                } else {
                    "1.00× (baseline)"
                }
                .to_owned()
            },
            |r| format!("**{:.2}×** ({:.2}–{:.2})", r.median, r.min, r.max),
        );
        let plain = |r: Option<Spread>| {
            r.map_or_else(
                || "–".to_owned(),
                |r| format!("{:.2}× ({:.2}–{:.2})", r.median, r.min, r.max),
            )
        };
        let ratio_writing = plain(row.ratio_writing.or(row.ratio_rules));
        let cpu = row
            .cpu_us
            .map_or_else(|| "–".to_owned(), |c| format!("{:.1} µs", c.median));
        let rss = row.rss_mib.map_or_else(
            || "–".to_owned(),
            |r| format!("{:.1} MiB ({:.1})", r.median, r.max),
        );
        let mut targets: Vec<String> = targets(row)
            .into_iter()
            .filter_map(|(what, target, ratio)| {
                let ratio = ratio?;
                Some(format!(
                    "{what} ≥ {target:.2}×: {}",
                    met(ratio.median >= target)
                ))
            })
            .collect();
        if let (Contender::Cli, Some(cpu)) = (row.contender, row.cpu_us) {
            let target = CLI_CPU_US_TARGET;
            targets.push(format!(
                "CPU ≤ {target:.0} µs: {}",
                met(cpu.median <= target)
            ));
        }
        if let (Some(limit), Some(rss)) = (rss_target(row.contender), row.rss_mib) {
            targets.push(format!("RSS ≤ {limit:.0} MiB: {}", met(rss.max <= limit)));
        }
        let targets = if targets.is_empty() {
            "–".to_owned()
        } else {
            targets.join("; ")
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} ({}–{}) | {} | {} | {} | {} | {} |",
            contender_label(row.contender),
            row.server,
            thousands(row.payments as f64),
            thousands(row.throughput.median),
            thousands(row.throughput.min),
            thousands(row.throughput.max),
            ratio,
            ratio_writing,
            cpu,
            rss,
            targets,
        );
    }
    out
}

/// The whole section for `BENCHMARKS.md` (heading included).
pub fn section(
    config: &Config,
    rows: &[Row],
    command: &str,
    date: &str,
    notes: &[String],
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{SECTION_HEADING}\n");
    let _ = writeln!(
        out,
        "Measured {date} on the project machine ({cpus} cores, shared with other builds; {rustc}, release profile) with:\n\n```sh\n{command}\n```\n",
        cpus = std::thread::available_parallelism().map_or(0, usize::from),
        rustc = rustc_version(),
    );
    let _ = writeln!(
        out,
        "{rounds} rounds, interleaved (each round runs every contender against every server, the order \
         rotating from round to round); {payments} payments per library run, {rows} CSV rows per \
         CLI run; {chunk} payments per request, {concurrency} requests in flight. A ratio compares \
         a contender with its baseline in the same round against the same server.\n",
        rounds = config.rounds,
        payments = thousands(config.payments as f64),
        rows = thousands(config.rows as f64),
        chunk = config.chunk_size,
        concurrency = config.concurrency,
    );
    if config.payments != FULL_PAYMENTS || config.rows != FULL_ROWS {
        let _ = writeln!(
            out,
            "**Scaled-down run**: the targets are about {} payments and {} rows.\n",
            thousands(FULL_PAYMENTS as f64),
            thousands(FULL_ROWS as f64)
        );
    }
    out.push_str(&table(rows));
    out.push('\n');
    out.push_str(METHOD);
    for note in notes {
        let _ = writeln!(out, "\n{note}");
    }
    out
}

const METHOD: &str = "\
How it is measured (`amili-bench/`, run by `cargo xtask bench`; `--help` for the flags):

- **Servers.** *stub*: a minimal hyper server inside the harness (its own 2-thread tokio
  runtime) that reads each whole body, counts its payments and answers 202 with a
  `CreatePaymentsResponse`. *sandbox*: the release `amili-sandbox` binary, a fresh process per
  run (`--batch-delay-ms 0`, the benchmark's invoices seeded, `RUST_LOG=warn`), so every run
  meets the same empty ledger; it validates every body against the spec's JSON Schema.
  *sandbox+N ms* (`--latency N,…`): the same binary answering every CreatePayments after N
  ms (`--fault create-payments:always:delay=N`), a server as slow as a real one.
- **Library contenders** (in the harness process, a 2-thread tokio runtime) are timed from
  payments in memory to every request answered, client construction and the token request
  included: (1) posts bodies serialized before the clock starts; (1w) writes each body straight
  into bytes inside the loop, the least serializing a client handed typed payments must do;
  (2) serializes the generated `CreatePaymentsRequest`s through `create_payments()`; (3) gets
  validated `amili_payments::Payment`s (validated before the clock starts) and does
  everything else itself.
- **CLI contenders** are separate processes timed from spawn to exit, with peak RSS from
  `wait4(2)`, and CPU time per payment (user + system, every thread) from the same call, all
  taken by the small launcher `amili-bench-measure` (a child's `ru_maxrss`
  includes the size of the process it was spawned from, so the harness, which holds the
  payments, does not spawn them itself). The 1M-row CSV is written once and hard-linked into
  a fresh directory per run (the CLI gets a fresh SQLite ledger in it, `--state`).
  (4) `amili-bench-csv-loop`: a reader thread parses rows with the `csv` crate and writes
  bodies of 500 with `serde_json` (amounts copied as JSON numbers), 4 posts in flight.
  (5) `amili payments submit FILE --chunk-size 500 --concurrency 4` with the connection
  flags. (6) against *embedded*: `amili payments submit FILE --sandbox --wait` with the same
  chunk size and concurrency: the CLI starts its own in-process sandbox (no SQLite ledger)
  and follows every batch to its end, so its peak RSS includes the sandbox holding every
  payment (the CSV's invoices are the sandbox's `DEMO_INVOICES`, so every payment books).
- **Checks.** Every run must have every payment accepted (202) by the contender's own count,
  and on the stub the stub's count of payments received must equal it; otherwise the harness
  fails. `amili-bench/tests/smoke.rs` runs every contender at tiny sizes against the stub.
";

fn rustc_version() -> String {
    std::process::Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned()))
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|v| v.split_whitespace().nth(1).map(|v| format!("Rust {v}")))
        .unwrap_or_else(|| "Rust (version unknown)".to_owned())
}

/// Replaces the section [`SECTION_HEADING`] of the Markdown file at `path` with `section`
/// (up to the next `## ` heading), or appends it; other sections are kept as they are.
pub fn write_section(path: &Path, section: &str) -> anyhow::Result<()> {
    let old = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let new = replace_section(&old, section);
    std::fs::write(path, new).with_context(|| format!("writing {}", path.display()))
}

fn replace_section(old: &str, section: &str) -> String {
    let section = section.trim_end();
    let mut before = String::new();
    let mut after = String::new();
    let mut state = 0; // 0: before the section, 1: inside, 2: after
    for line in old.split_inclusive('\n') {
        match state {
            0 if line.trim_end() == SECTION_HEADING => state = 1,
            0 => before.push_str(line),
            1 if line.starts_with("## ") => {
                state = 2;
                after.push_str(line);
            }
            1 => {}
            _ => after.push_str(line),
        }
    }
    let mut out = before.trim_end().to_owned();
    if !out.is_empty() {
        out.push_str("\n\n");
    }
    out.push_str(section);
    out.push('\n');
    if !after.is_empty() {
        out.push('\n');
        out.push_str(&after);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_and_numbers() {
        assert_eq!(
            Spread::of(&[3.0, 1.0, 2.0]),
            Some(Spread {
                median: 2.0,
                min: 1.0,
                max: 3.0
            })
        );
        assert_eq!(Spread::of(&[1.0, 2.0]).map(|s| s.median), Some(1.5));
        assert_eq!(Spread::of(&[]), None);
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
    }

    #[test]
    fn the_section_is_replaced_and_the_rest_kept() {
        let old = "# Benchmarks\n\nintro\n\n## A\n\na\n\n## Submission throughput (issue 9)\n\nold\n\n## B\n\nb\n";
        let new = replace_section(old, "## Submission throughput (issue 9)\n\nnew\n");
        assert_eq!(
            new,
            "# Benchmarks\n\nintro\n\n## A\n\na\n\n## Submission throughput (issue 9)\n\nnew\n\n## B\n\nb\n"
        );
        let appended = replace_section(
            "# Benchmarks\n\nintro\n",
            "## Submission throughput (issue 9)\n\nx",
        );
        assert_eq!(
            appended,
            "# Benchmarks\n\nintro\n\n## Submission throughput (issue 9)\n\nx\n"
        );
    }
}

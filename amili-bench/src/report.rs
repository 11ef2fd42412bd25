//! From measurements to the Markdown table: throughput and ratio to the baseline of the same
//! round (median and min–max over rounds), CPU per payment and peak RSS of the process
//! contenders, the targets. `BENCHMARKS.md` keeps the current figures from it.

use std::fmt::Write as _;

use crate::runner::{Contender, Measurement, Server};

/// Full sizes: the targets are about these.
pub const FULL_PAYMENTS: u64 = 100_000;
/// Full CSV size.
pub const FULL_ROWS: u64 = 1_000_000;

/// The peak RSS target of the CLI for 1M rows.
const CLI_RSS_TARGET_MIB: f64 = 64.0;
/// The peak RSS target of the CLI with its embedded sandbox for 1M rows (issue 11).
const EMBEDDED_RSS_TARGET_MIB: f64 = 128.0;

/// The peak RSS target for a contender, if it has one.
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
}

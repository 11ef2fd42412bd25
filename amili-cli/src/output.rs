//! What the user sees of a file's run: the summary table, the rows' problems.

use std::io::Write;

use amili_payments::Uuid;
use amili_payments::report::OutcomeCounts;

use crate::money::SumsBy;
use crate::report::{ReportRow, category};
use crate::validate::{Problem, Validation};

/// Prints the bad rows of a validation (capped) to stderr.
pub fn print_problems(file: &str, v: &Validation) {
    let mut err = std::io::stderr().lock();
    for note in &v.warnings {
        let _ = writeln!(err, "note: {file}: {note}");
    }
    for p in &v.problems {
        let _ = writeln!(err, "{}", problem_line(file, p));
    }
    let shown = v.problems.len() as u64;
    if v.problem_count > shown {
        let _ = writeln!(
            err,
            "… and {} more problems (raise --max-errors to see them)",
            v.problem_count - shown
        );
    }
}

fn problem_line(file: &str, p: &Problem) -> String {
    format!("{file}: {p}")
}

/// Whether a run ended well: every row accepted (with `--wait`: processed successfully; a row
/// accepted earlier whose batch could not be followed is not known to be).
pub fn all_good(counts: &OutcomeCounts, waited: bool) -> bool {
    let good = counts.succeeded
        + if waited {
            0
        } else {
            counts.accepted + counts.already_accepted
        };
    counts.total() > 0 && good == counts.total()
}

/// `3 succeeded, 1 failed` — the counts that are not zero.
pub fn summary(counts: &OutcomeCounts, plural: &str) -> String {
    let parts: Vec<String> = [
        (counts.succeeded, "succeeded"),
        (counts.accepted, "accepted"),
        (counts.already_accepted, "already accepted"),
        (counts.failed, "failed"),
        (counts.rejected, "rejected"),
        (counts.unknown, "unknown"),
        (counts.not_sent, "not sent"),
        (counts.conflict, "conflict"),
        (counts.invalid, "invalid (skipped)"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, label)| format!("{n} {label}"))
    .collect();
    if parts.is_empty() {
        format!("no {plural}")
    } else {
        parts.join(", ")
    }
}

/// The per-row table on stdout: the first `limit` rows (kept until the end, so they do not
/// tear the progress bar), then only counts.
pub struct Table {
    limit: usize,
    /// What a row is: `payment`, `correction`.
    noun: &'static str,
    /// And many: `payments`, `corrections`.
    plural: &'static str,
    shown: Vec<ReportRow>,
    pub counts: OutcomeCounts,
    /// The amounts per outcome and currency.
    pub sums: SumsBy,
    pub batches: std::collections::BTreeSet<Uuid>,
    /// The batch of the row before: a request's rows come together and share one.
    last_batch: Option<Uuid>,
}

impl Table {
    pub fn new(limit: usize, noun: &'static str, plural: &'static str) -> Table {
        Table {
            limit,
            noun,
            plural,
            shown: Vec::new(),
            counts: OutcomeCounts::default(),
            sums: SumsBy::default(),
            batches: Default::default(),
            last_batch: None,
        }
    }

    pub fn add(&mut self, row: &ReportRow) {
        self.counts.add(&row.outcome);
        if let Some(money) = &row.money {
            self.sums.add(category(&row.outcome), money);
        }
        if let Some(b) = row.batch_id
            && self.last_batch != Some(b)
        {
            self.batches.insert(b);
            self.last_batch = Some(b);
        }
        if self.shown.len() < self.limit {
            self.shown.push(row.clone());
        }
    }

    /// Prints the table (on stdout, or stderr when stdout carries JSON): the rows kept, how
    /// many were not shown, the counts, the report path.
    pub fn finish(&self, report: Option<&std::path::Path>, to_stderr: bool) {
        let mut out: Box<dyn Write> = if to_stderr {
            Box::new(std::io::stderr().lock())
        } else {
            Box::new(std::io::stdout().lock())
        };
        if !self.shown.is_empty() {
            let _ = writeln!(
                out,
                "{:<6} {:<24} {:<36} {:<10} REASON",
                "LINE",
                self.noun.to_uppercase(),
                "BATCH",
                "OUTCOME"
            );
        }
        for row in &self.shown {
            let _ = writeln!(
                out,
                "{:<6} {:<24} {:<36} {:<10} {}",
                row.line,
                truncate(&row.source_id, 24),
                row.batch_id
                    .map_or_else(|| "-".to_owned(), |b| b.to_string()),
                row.outcome.name(),
                row.reason().unwrap_or("")
            );
        }
        let total = self.counts.total() as u64;
        let shown = self.shown.len() as u64;
        if total > shown {
            let _ = writeln!(
                out,
                "… {} more {} not shown{}",
                total - shown,
                self.plural,
                match report {
                    Some(p) => format!(" (all are in {})", p.display()),
                    None => format!(" (use --report FILE for every {})", self.noun),
                }
            );
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{} rows: {} ({} batch{})",
            total,
            summary(&self.counts, self.plural),
            self.batches.len(),
            if self.batches.len() == 1 { "" } else { "es" }
        );
        print_sums(&mut out, &self.sums);
        if let Some(p) = report {
            let _ = writeln!(out, "report: {}", p.display());
        }
    }
}

/// One line per outcome (or `valid`/`invalid`) with its amounts: `  succeeded: 1234.50 NOK,
/// 10.00 SEK`.
pub fn print_sums(out: &mut dyn Write, sums: &SumsBy) {
    for (category, sums) in sums.iter() {
        let label = match category {
            "notSent" => "not sent",
            "alreadyAccepted" => "already accepted",
            other => other,
        };
        let _ = writeln!(out, "  {label}: {sums}");
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

//! What the user sees: progress (a bar on a terminal, plain lines otherwise), the summary
//! table, error lists.

use std::io::{IsTerminal as _, Write};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use amili_payments::Uuid;
use amili_payments::report::OutcomeCounts;

use crate::report::ReportRow;
use crate::validate::{Problem, Validation};

/// Progress on stderr: an indicatif bar per phase on a terminal (whole numbers and an ETA);
/// nothing when stderr is not a terminal (logs and pipes stay clean).
pub struct Progress {
    terminal: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl Progress {
    pub fn new() -> Progress {
        Progress {
            terminal: std::io::stderr().is_terminal(),
            bar: Mutex::new(None),
        }
    }

    /// Runs `f` on the current bar, starting one with `template` (and `len`) if none runs.
    fn with_bar(&self, template: &str, len: Option<u64>, f: impl FnOnce(&ProgressBar)) {
        if !self.terminal {
            return;
        }
        let Ok(mut slot) = self.bar.lock() else {
            return;
        };
        let bar = slot.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(len, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        f(bar);
    }

    /// Validation has read `rows` rows.
    pub fn validated(&self, rows: u64) {
        self.with_bar("{spinner} validating {human_pos} rows", None, |bar| {
            bar.set_position(rows);
        });
    }

    /// Starts the sending phase for `total` items (`plural`: what they are called).
    pub fn start_sending(&self, total: u64, plural: &str) {
        self.finish();
        self.with_bar(
            &format!("sending [{{bar:30}}] {{human_pos}}/{{human_len}} {plural}, {{eta}} left"),
            Some(total),
            |_| {},
        );
    }

    /// `done` of `total` items have an outcome (sent, skipped or failed; with `--wait`:
    /// processed).
    pub fn sent(&self, done: u64, total: u64) {
        self.with_bar("", Some(total), |bar| bar.set_position(done));
    }

    /// Clears the current bar (the next phase starts a new one).
    pub fn finish(&self) {
        if let Ok(mut slot) = self.bar.lock()
            && let Some(bar) = slot.take()
        {
            bar.finish_and_clear();
        }
    }
}

/// Prints the bad rows of a validation (capped) to stderr.
pub fn print_problems(file: &str, v: &Validation) {
    let mut err = std::io::stderr().lock();
    for w in &v.warnings {
        let _ = writeln!(err, "warning: {file}: {w}");
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

/// Whether a run ended well: every row accepted (with `--wait`: processed successfully).
pub fn all_good(counts: &OutcomeCounts, waited: bool) -> bool {
    let good =
        counts.succeeded + counts.already_accepted + if waited { 0 } else { counts.accepted };
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
    shown: Vec<ReportRow>,
    pub counts: OutcomeCounts,
    pub batches: std::collections::BTreeSet<Uuid>,
}

impl Table {
    pub fn new(limit: usize, noun: &'static str) -> Table {
        Table {
            limit,
            noun,
            shown: Vec::new(),
            counts: OutcomeCounts::default(),
            batches: Default::default(),
        }
    }

    pub fn add(&mut self, row: &ReportRow) {
        self.counts.add(&row.outcome);
        if let Some(b) = row.batch_id {
            self.batches.insert(b);
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
                "… {} more {}s not shown{}",
                total - shown,
                self.noun,
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
            summary(&self.counts, &format!("{}s", self.noun)),
            self.batches.len(),
            if self.batches.len() == 1 { "" } else { "es" }
        );
        if let Some(p) = report {
            let _ = writeln!(out, "report: {}", p.display());
        }
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

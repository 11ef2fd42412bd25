//! Progress on stderr while a file is read and sent.

use std::io::IsTerminal as _;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

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
    /// A `total` of 0: unknown (rows sent as they are read).
    pub fn start_sending(&self, total: u64, plural: &str) {
        self.finish();
        if total == 0 {
            self.with_bar(
                &format!("{{spinner}} sent {{human_pos}} {plural}"),
                None,
                |_| {},
            );
            return;
        }
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

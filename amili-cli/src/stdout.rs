//! Printing to stdout without panicking (std's `println!` panics when the write fails): a
//! reader that went away (`amili payments schema | head -1`) ends the output quietly, and
//! any other failed write (a full disk) is an error when the command ends.
//!
//! `main.rs` defines the crate's `println!` as [`line()`], so every command prints through here.

use std::io::{self, Write as _};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// Stdout's reader is gone: nothing more is written.
static CLOSED: AtomicBool = AtomicBool::new(false);
/// The first write that failed otherwise.
static FAILED: OnceLock<String> = OnceLock::new();

/// Writes one line to stdout.
pub fn line(text: std::fmt::Arguments<'_>) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = io::stdout().lock();
    if let Err(e) = out.write_fmt(text).and_then(|()| out.write_all(b"\n")) {
        failed(&e);
    }
}

/// Records a failed write to stdout.
pub fn failed(e: &io::Error) {
    if e.kind() == io::ErrorKind::BrokenPipe {
        CLOSED.store(true, Ordering::Relaxed);
    } else {
        let _ = FAILED.set(e.to_string());
    }
}

/// Why writing to stdout failed, if it did (other than its reader going away).
pub fn failure() -> Option<&'static str> {
    FAILED.get().map(String::as_str)
}

/// Whether `e` is stdout's reader going away (a command that wrote with `?`).
pub fn is_closed_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

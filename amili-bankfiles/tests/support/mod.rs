//! Shared by the integration tests: fixture paths and the Python second opinions.

#![allow(dead_code)] // each test binary uses a part

use std::path::{Path, PathBuf};
use std::process::Command;

/// `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The repository root (the workspace).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The Python with the pinned second opinions: `AMILI_TEST_PYTHON`, else `<repo>/.venv/bin/python`.
/// Panics (never skips) when it is missing.
pub fn python() -> PathBuf {
    let python = match std::env::var_os("AMILI_TEST_PYTHON") {
        Some(path) => PathBuf::from(path),
        None => repo_root().join(".venv/bin/python"),
    };
    assert!(
        python.exists(),
        "{} is missing: run `bash scripts/second-opinions.sh` (or set AMILI_TEST_PYTHON)",
        python.display()
    );
    python
}

/// Runs `python <args>` and returns its standard output; panics naming the setup script when
/// it fails (a missing package included).
pub fn run_python(args: &[&std::ffi::OsStr]) -> String {
    let python = python();
    let output = Command::new(&python)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(
        output.status.success(),
        "{} {:?} failed (run `bash scripts/second-opinions.sh` if a package is missing):\n{}",
        python.display(),
        args,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

//! Shared test setup: an in-process sandbox and the `amili` binary pointed at it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use amili_sandbox::Sandbox;
use assert_cmd::Command;

/// A sandbox running on its own runtime, for tests that run `amili` as a child process.
pub struct Env {
    pub sandbox: Sandbox,
    pub dir: tempfile::TempDir,
    _runtime: tokio::runtime::Runtime,
}

/// The repository root (for `examples/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

pub const HEADER: &str = "invoiceId,type,amount,currency,date,description,uniqueSourcePaymentId\n";

/// One of the sandbox's demo invoices.
pub fn invoice(i: usize) -> String {
    amili_sandbox::DEMO_INVOICES[i % amili_sandbox::DEMO_INVOICES.len()].to_string()
}

/// A valid CSV of `n` payments with ids `{prefix}-{i}`.
pub fn csv_rows(prefix: &str, n: usize) -> String {
    let mut text = HEADER.to_owned();
    for i in 0..n {
        text.push_str(&format!(
            "{},DIRECT_PAYMENT,{}.{:02},NOK,2025-03-0{}T10:00:00Z,Innbetaling {i},{prefix}-{i}\n",
            invoice(i),
            100 + i,
            i % 100,
            1 + i % 9
        ));
    }
    text
}

impl Env {
    pub fn new() -> Env {
        Env::with(|b| b)
    }

    pub fn with(
        configure: impl FnOnce(amili_sandbox::SandboxBuilder) -> amili_sandbox::SandboxBuilder,
    ) -> Env {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let builder = configure(Sandbox::builder().batch_delay(Duration::from_millis(20)));
        let sandbox = runtime.block_on(builder.start()).expect("sandbox starts");
        Env {
            sandbox,
            dir: tempfile::tempdir().expect("temp dir"),
            _runtime: runtime,
        }
    }

    /// Writes a file into the test's directory.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write test file");
        path
    }

    /// Copies `examples/{example}` into the test's directory as `name`.
    pub fn example(&self, example: &str, name: &str) -> PathBuf {
        let path = repo_root().join("examples").join(example);
        let text = std::fs::read_to_string(&path).expect("read an example file");
        self.file(name, &text)
    }

    /// `amili` with the sandbox's connection in `AMILI_*` variables (and nothing else from
    /// the environment), run in the test's directory.
    pub fn amili_std(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("amili"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AMILI_API_URL", self.sandbox.api_url())
            .env("AMILI_TOKEN_URL", self.sandbox.token_url())
            .env("AMILI_CLIENT_ID", self.sandbox.client_id())
            .env("AMILI_CLIENT_SECRET", self.sandbox.client_secret())
            .env(
                "AMILI_ORGANIZATION_ID",
                self.sandbox.organization_id().to_string(),
            )
            // Each test has a ledger of its own.
            .env("AMILI_STATE", self.ledger_path())
            .current_dir(self.dir.path());
        cmd
    }

    /// [`amili_std`](Self::amili_std) as an `assert_cmd` command with a timeout.
    pub fn amili(&self) -> Command {
        let mut cmd = Command::from_std(self.amili_std());
        cmd.timeout(Duration::from_secs(60));
        cmd
    }

    /// Runs `amili ARGS…` against the sandbox and waits for it.
    pub fn output(&self, args: &[&str]) -> std::process::Output {
        self.amili().args(args).output().expect("amili runs")
    }

    /// Runs `amili ARGS…` against the sandbox with the variable `var` set to `value`, and
    /// waits for it.
    pub fn output_with(
        &self,
        args: &[&str],
        var: &str,
        value: impl AsRef<std::ffi::OsStr>,
    ) -> std::process::Output {
        self.amili()
            .args(args)
            .env(var, value)
            .output()
            .expect("amili runs")
    }

    /// Runs `amili COMMAND… FILE EXTRA…` against the sandbox and waits for it.
    pub fn run(&self, command: &[&str], file: &Path, extra: &[&str]) -> std::process::Output {
        self.amili()
            .args(command)
            .arg(file)
            .args(extra)
            .output()
            .expect("amili runs")
    }

    /// Runs `amili COMMAND… FILE EXTRA…` as [`run`](Self::run), asserts that it exited 0 and
    /// returns its stdout.
    pub fn run_ok(&self, command: &[&str], file: &Path, extra: &[&str]) -> String {
        let out = self.run(command, file, extra);
        assert_exit(&out, 0);
        stdout(&out)
    }

    /// Writes `n` valid payment rows (ids `PREFIX-…`) to `p.csv`, submits them and asserts
    /// that the run exited 0; the file's path and the run.
    pub fn submitted(&self, prefix: &str, n: usize) -> (PathBuf, std::process::Output) {
        let file = self.file("p.csv", &csv_rows(prefix, n));
        let out = self.run(&["payments", "submit"], &file, &[]);
        assert_exit(&out, 0);
        (file, out)
    }

    /// A library client for the test's sandbox (to look at what the CLI did from the outside).
    pub fn client(&self) -> amili_payments::Client {
        amili_payments::Client::builder()
            .environment(amili_payments::Environment::custom(
                self.sandbox.api_url(),
                self.sandbox.token_url(),
            ))
            .organization_id(self.sandbox.organization_id())
            .client_credentials(
                self.sandbox.client_id().to_owned(),
                self.sandbox.client_secret().to_owned(),
            )
            .build()
            .expect("a client for the sandbox")
    }

    /// The test's ledger file.
    pub fn ledger_path(&self) -> PathBuf {
        self.dir.path().join("state").join("ledger.db")
    }

    /// How many payments the sandbox booked.
    pub fn booked(&self) -> usize {
        self.sandbox.ledger().len()
    }
}

/// `amili` with no connection settings at all.
pub fn amili_bare() -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("amili"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .timeout(Duration::from_secs(60));
    cmd
}

/// `amili ARGS` with no connection settings at all, run to its end.
pub fn bare(args: &[&str]) -> std::process::Output {
    amili_bare().args(args).output().unwrap()
}

/// `amili ARGS FILE` with no connection settings at all, run to its end.
pub fn bare_on(args: &[&str], file: &Path) -> std::process::Output {
    amili_bare().args(args).arg(file).output().unwrap()
}

pub fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts the run's exit code, showing both outputs when it differs.
#[track_caller]
pub fn assert_exit(output: &std::process::Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "{}\n{}",
        stdout(output),
        stderr(output)
    );
}

/// Asserts that the run's stdout contains `text`.
#[track_caller]
pub fn assert_stdout_has(output: &std::process::Output, text: &str) {
    let out = stdout(output);
    assert!(out.contains(text), "{out}");
}

/// Asserts that the run's stderr contains `text`.
#[track_caller]
pub fn assert_stderr_has(output: &std::process::Output, text: &str) {
    let err = stderr(output);
    assert!(err.contains(text), "{err}");
}

/// Asserts that the run was a usage error (exit 2) whose stderr says `text`.
#[track_caller]
pub fn assert_usage_error(output: &std::process::Output, text: &str) {
    assert_exit(output, 2);
    assert_stderr_has(output, text);
}

/// A fault: the answer `status`, without `Retry-After`.
pub fn fault_status(status: u16) -> amili_sandbox::Fault {
    amili_sandbox::Fault::Status {
        status,
        retry_after: None,
    }
}

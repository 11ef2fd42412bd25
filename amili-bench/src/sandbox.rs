//! Server (b): the `amili-sandbox` binary as a separate process, a fresh one per contender run
//! (its ledger grows with every booked payment, so each run starts from the same empty state).
//!
//! Started with `--addr 127.0.0.1:0 --batch-delay-ms 0`, the benchmark's client id, secret and
//! organization, and every invoice of [`crate::data::INVOICES`] seeded, so every payment is
//! valid; the URLs are read from the banner it prints on start. `RUST_LOG=warn` keeps its
//! per-request log lines out of the measurement.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, bail};
use uuid::Uuid;

use crate::data::INVOICES;
use crate::raw::Endpoint;

/// The sandbox's credentials and organization in the benchmark.
const CLIENT_ID: &str = "bench-client";
const CLIENT_SECRET: &str = "bench-secret";
const ORGANIZATION_ID: Uuid = Uuid::from_u128(0xbe4c_0000_0000_4000_8000_0000_0000_fff0);

/// A running `amili-sandbox` process; stopped (SIGTERM, then SIGKILL) when dropped.
pub struct SandboxProcess {
    child: Child,
    /// Kept open: the sandbox writes its banner here and nothing after it.
    banner: BufReader<ChildStdout>,
    endpoint: Endpoint,
}

impl SandboxProcess {
    /// Starts the binary at `binary` (answering every CreatePayments after `delay_ms`, if
    /// given) and waits until it listens.
    pub fn start(binary: &Path, delay_ms: Option<u32>) -> anyhow::Result<SandboxProcess> {
        let mut command = Command::new(binary);
        if let Some(ms) = delay_ms {
            command.args(["--fault", &format!("create-payments:always:delay={ms}")]);
        }
        command
            .args(["--addr", "127.0.0.1:0", "--batch-delay-ms", "0"])
            .args(["--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET])
            .args(["--organization-id", &ORGANIZATION_ID.to_string()])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for invoice in INVOICES {
            command.args(["--seed-invoice", &invoice.to_string()]);
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            bail!("no stdout from amili-sandbox");
        };
        let mut process = SandboxProcess {
            child,
            banner: BufReader::new(stdout),
            endpoint: Endpoint {
                api_url: String::new(),
                token_url: String::new(),
                client_id: CLIENT_ID.to_owned(),
                client_secret: CLIENT_SECRET.to_owned(),
                organization_id: ORGANIZATION_ID,
            },
        };
        // The banner: "  API base URL     http://…" and "  token URL        http://…".
        let mut line = String::new();
        while process.endpoint.api_url.is_empty() || process.endpoint.token_url.is_empty() {
            line.clear();
            if process.banner.read_line(&mut line)? == 0 {
                bail!("amili-sandbox exited before printing its URLs");
            }
            let last = line.split_whitespace().last().unwrap_or_default();
            if line.trim_start().starts_with("API base URL") {
                process.endpoint.api_url = last.to_owned();
            } else if line.trim_start().starts_with("token URL") {
                process.endpoint.token_url = last.to_owned();
            }
        }
        Ok(process)
    }

    /// Where it listens and who the benchmark is on it.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: signalling our own child process, which has not been reaped yet.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        for _ in 0..100 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! Keeps the harness from rotting: every contender at tiny sizes against the stub, with
//! the stub's own count of the payments it received checked for every run.

use std::path::{Path, PathBuf};
use std::process::Command;

use amili_bench::report;
use amili_bench::{Binaries, Config, Server};

const PAYMENTS: u64 = 1_234;
const ROWS: u64 = 2_345;
const CHUNK: usize = 500;

/// The binaries of this test's cargo profile. `amili-bench-csv-loop` is this package's; the
/// `amili` CLI is built by `cargo test --workspace`, and built here when it is missing (for
/// `cargo test -p amili-bench`).
fn binaries() -> Binaries {
    let csv_loop = PathBuf::from(env!("CARGO_BIN_EXE_amili-bench-csv-loop"));
    let dir = csv_loop.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut binaries = Binaries::in_dir(&dir);
    binaries.csv_loop = csv_loop;
    binaries.measure = PathBuf::from(env!("CARGO_BIN_EXE_amili-bench-measure"));
    if !binaries.amili.is_file() {
        let mut build = Command::new(env!("CARGO"));
        build.args(["build", "--quiet", "-p", "amili-cli", "--bin", "amili"]);
        if dir.file_name().is_some_and(|name| name == "release") {
            build.arg("--release");
        }
        if let Some(target_dir) = dir.parent() {
            build.arg("--target-dir").arg(target_dir);
        }
        let status = build.status().expect("cargo runs");
        assert!(status.success(), "building the amili CLI failed");
    }
    binaries
}

#[test]
fn every_contender_delivers_every_payment_to_the_stub() {
    let config = Config {
        payments: PAYMENTS,
        rows: ROWS,
        rounds: 1,
        chunk_size: CHUNK,
        concurrency: 4,
        servers: vec![Server::Stub],
        library: true,
        cli: true,
        binaries: binaries(),
        work_dir: None,
    };
    let measurements = amili_bench::run(&config, &mut |_| {}).expect("the harness runs");

    assert_eq!(
        measurements.len(),
        7,
        "seven contenders, one round, one server"
    );
    for m in &measurements {
        let expected = if m.contender.is_process() {
            ROWS
        } else {
            PAYMENTS
        };
        let stub = m.stub.expect("stub runs carry the stub's counts");
        let what = m.contender.short();
        assert_eq!(
            stub.payments, expected,
            "{what}: payments the stub received"
        );
        assert_eq!(
            stub.payment_requests,
            expected.div_ceil(CHUNK as u64),
            "{what}: requests of at most {CHUNK}"
        );
        assert_eq!(stub.refused, 0, "{what}: requests without token or key");
        assert!(stub.token_requests >= 1, "{what}: fetched a token");
        assert_eq!(m.payments, expected, "{what}: payments it reports accepted");
        assert_eq!(m.max_rss_kib.is_some(), m.contender.is_process(), "{what}");
        assert_eq!(m.cpu.is_some(), m.contender.is_process(), "{what}");
    }

    let table = report::table(&report::summarize(&measurements));
    for label in [
        "(1) raw",
        "(1w) raw",
        "(2) generated",
        "(3) `amili-payments`",
        "(4) `csv`",
        "(4r) the loop",
        "(5) `amili payments submit",
    ] {
        assert!(table.contains(label), "{label} missing from\n{table}");
    }
}

#[test]
fn the_stub_served_alone_answers_the_flags_it_prints() {
    use std::io::BufRead as _;
    use std::process::Stdio;

    let mut stub = Command::new(env!("CARGO_BIN_EXE_amili-bench"))
        .arg("--serve-stub")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("amili-bench starts");
    let mut line = String::new();
    std::io::BufReader::new(stub.stdout.take().expect("stdout is piped"))
        .read_line(&mut line)
        .expect("the flags are printed");
    let flags: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(flags.first(), Some(&"--api-url"), "{line}");

    let checked = Command::new(binaries().amili)
        .args(["token", "check"])
        .args(&flags)
        .output()
        .expect("amili runs");
    // Closing stdin stops the stub, which then says what it saw.
    drop(stub.stdin.take());
    let stopped = stub.wait_with_output().expect("the stub stops");
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    assert!(stopped.status.success());
    let seen = String::from_utf8_lossy(&stopped.stderr);
    assert!(seen.contains("token_requests: 1"), "{seen}");
}

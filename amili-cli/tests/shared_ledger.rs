//! Two machines (here: two processes) reporting overlapping files at once through one
//! PostgreSQL ledger send each payment exactly once. Needs a PostgreSQL server: run through
//! `scripts/with-postgres.sh` (or set `AMILI_TEST_POSTGRES_URL`); without one this test fails.

mod common;

use std::process::Stdio;
use std::time::Duration;

use amili_sandbox::{Fault, Route};
use common::{Env, HEADER, assert_exit, csv_rows, stderr, stdout};

#[test]
fn two_processes_on_overlapping_files_send_each_payment_once() {
    let url = std::env::var("AMILI_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "AMILI_TEST_POSTGRES_URL is not set: this test needs a PostgreSQL server; run \
             `bash scripts/with-postgres.sh cargo test --workspace --locked`"
        )
    });
    let env = Env::new();
    // Slow answers, so that the two runs are sending at the same time.
    env.sandbox.faults().push_n(
        Route::CreatePayments,
        Fault::Delay(Duration::from_millis(30)),
        1000,
    );
    let all = csv_rows("SHARED", 90);
    let rows: Vec<&str> = all.lines().skip(1).collect();
    let file = |name: &str, range: std::ops::Range<usize>| {
        let mut text = HEADER.to_owned();
        for row in &rows[range] {
            text.push_str(row);
            text.push('\n');
        }
        env.file(name, &text)
    };
    file("a.csv", 0..60);
    file("b.csv", 30..90);
    let run = |name: &str| {
        env.amili_std()
            .args([
                "payments",
                "submit",
                name,
                "--chunk-size",
                "5",
                "--concurrency",
                "2",
            ])
            .args(["--state", &url])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (run("a.csv"), run("b.csv"));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    for out in [&a, &b] {
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{}\n{}",
            stdout(out),
            stderr(out)
        );
    }
    // Nothing was sent twice, whatever the interleaving.
    let booked_or_queued = |id: &str| env.sandbox.times_booked(id);
    // Follow up: both files again, waiting for the batches; everything ends booked once.
    for name in ["a.csv", "b.csv"] {
        let out = env.output(&["payments", "submit", name, "--wait", "--state", &url]);
        assert_exit(&out, 0);
    }
    for i in 0..90 {
        assert_eq!(booked_or_queued(&format!("SHARED-{i}")), 1, "SHARED-{i}");
    }
    assert_eq!(env.booked(), 90);
}

//! Two machines (here: two processes) reporting overlapping files at once through one
//! PostgreSQL ledger send each payment exactly once — also when one of them is killed, or
//! loses its connection to the ledger, while its request is on its way. Needs a PostgreSQL server: run through
//! `scripts/with-postgres.sh` (or set `AMILI_TEST_POSTGRES_URL`); without one this test fails.

mod common;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use amili_sandbox::{Fault, Route};
use common::{Env, HEADER, assert_exit, csv_rows, stderr, stdout};

#[test]
fn two_processes_on_overlapping_files_send_each_payment_once() {
    let url = postgres_url();
    let env = Env::new();
    // Slow answers, so that the two runs are sending at the same time.
    env.sandbox.faults().push_n(
        Route::CreatePayments,
        Fault::Delay(Duration::from_millis(30)),
        1000,
    );
    let all = csv_rows("SHARED", 90);
    let file = |name: &str, range: std::ops::Range<usize>| env.file(name, &slice(&all, range));
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

/// How run A leaves the ledger while its first request is on its way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// `kill -9`.
    Killed,
    /// Its PostgreSQL session is terminated (a network cut, a failover); it keeps running.
    Disconnected,
}

#[test]
fn a_killed_run_s_request_is_neither_sent_again_by_another_nor_by_its_rerun() {
    takeover(Cut::Killed);
}

#[test]
fn a_run_cut_from_the_ledger_is_not_sent_again_by_another_nor_by_its_rerun() {
    takeover(Cut::Disconnected);
}

/// Run A claims its first requests and sends them to a server that takes seconds per
/// request; while the first is on its way A leaves the ledger (its liveness lock is free
/// while the request may still arrive). Run B then submits an overlapping file with other
/// chunk boundaries, and A runs again: every payment ends booked exactly once.
fn takeover(cut: Cut) {
    let url = postgres_url();
    let env = Env::new();
    env.sandbox.faults().push_n(
        Route::CreatePayments,
        Fault::Delay(Duration::from_secs(3)),
        1000,
    );
    let all = csv_rows("TAKE", 60);
    let file = |name: &str, range: std::ops::Range<usize>| env.file(name, &slice(&all, range));
    // A: requests of 10 (0..10, 10..20, …); B: requests of 7 from 5 (5..12, 12..19, …), so
    // that no request of B holds one of A's whole.
    file("a.csv", 0..40);
    file("b.csv", 5..60);
    // A's session is found by its application name.
    let session = format!("amili-takeover-{}", uuid::Uuid::new_v4().simple());
    let separator = if url.contains('?') { '&' } else { '?' };
    let a_url = format!("{url}{separator}application_name={session}");
    let submit = |name: &str, chunk: &str, state: &str| {
        env.amili_std()
            .args(["payments", "submit", name, "--chunk-size", chunk])
            .args(["--concurrency", "1", "--state", state])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };

    let mut a = submit("a.csv", "10", &a_url);
    // A's first request reached the server (which holds it for seconds).
    wait_for("A's first request", || {
        env.sandbox.stats().payment_requests >= 1
    });
    match cut {
        Cut::Killed => a.kill().unwrap(),
        Cut::Disconnected => assert!(terminate_sessions(&url, &session) >= 1),
    }
    let b = submit("b.csv", "7", &url).wait_with_output().unwrap();
    assert!(
        matches!(b.status.code(), Some(0 | 1)),
        "{}\n{}",
        stdout(&b),
        stderr(&b)
    );
    let a = wait_with_output(a);
    if cut == Cut::Disconnected {
        assert_ne!(a.status.code(), Some(0), "{}\n{}", stdout(&a), stderr(&a));
    }
    // Nothing was booked twice, whatever the interleaving so far.
    for i in 0..60 {
        assert!(
            env.sandbox.times_booked(&format!("TAKE-{i}")) <= 1,
            "TAKE-{i}"
        );
    }

    // A runs again (its requests held whole: sent again under their keys), then B.
    for (name, chunk) in [("a.csv", "10"), ("b.csv", "7")] {
        let out = env.output(&[
            "payments",
            "submit",
            name,
            "--chunk-size",
            chunk,
            "--wait",
            "--state",
            &url,
        ]);
        assert_exit(&out, 0);
    }
    for i in 0..60 {
        assert_eq!(
            env.sandbox.times_booked(&format!("TAKE-{i}")),
            1,
            "TAKE-{i}"
        );
    }
    assert_eq!(env.booked(), 60);
}

/// The PostgreSQL server's URL the tests run against.
fn postgres_url() -> String {
    std::env::var("AMILI_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "AMILI_TEST_POSTGRES_URL is not set: this test needs a PostgreSQL server; run \
             `bash scripts/with-postgres.sh cargo test --workspace --locked`"
        )
    })
}

/// The header and the data rows `range` of a CSV text.
fn slice(csv: &str, range: std::ops::Range<usize>) -> String {
    let mut text = HEADER.to_owned();
    for row in csv.lines().skip(1).take(range.end).skip(range.start) {
        text.push_str(row);
        text.push('\n');
    }
    text
}

/// Polls `done` every 50 ms, for up to a minute.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{what}: not after a minute"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits for a child for up to two minutes (then kills it and fails).
fn wait_with_output(mut child: Child) -> std::process::Output {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("the run did not end in two minutes");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// Terminates the PostgreSQL sessions named `application_name`; how many.
fn terminate_sessions(url: &str, application_name: &str) -> i64 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                 WHERE application_name = $1",
                &[&application_name],
            )
            .await
            .unwrap()
            .get(0)
    })
}

//! The ledger knows what Amili did: a payment its batch failed is reported failed on a rerun
//! (not `already_accepted`), is not resent unchanged, and its fix is sent under the same id
//! and booked; `payments status` follows what a run left unknown. With the SQLite ledger, and
//! with a PostgreSQL one (run through `scripts/with-postgres.sh`, or set
//! `AMILI_TEST_POSTGRES_URL`; without one that test fails).

mod common;

use std::time::Duration;

use common::{Env, HEADER, assert_exit, invoice, stderr, stdout};

/// Two payments: RR-1 on a known invoice, RR-2 on `rr2_invoice`.
fn file_text(rr2_invoice: &str) -> String {
    format!(
        "{HEADER}{},DIRECT_PAYMENT,100.00,NOK,2025-03-01T10:00:00Z,Innbetaling 1,RR-1\n\
         {rr2_invoice},DIRECT_PAYMENT,200.00,NOK,2025-03-02T10:00:00Z,Innbetaling 2,RR-2\n",
        invoice(0)
    )
}

/// The row of the table for `id`.
fn row<'a>(out: &'a str, id: &str) -> &'a str {
    out.lines()
        .find(|line| line.split_whitespace().nth(1) == Some(id))
        .unwrap_or_else(|| panic!("no row for {id} in:\n{out}"))
}

/// The fail → fix → resend story against the ledger `state` (a file or a URL).
fn fail_fix_resend(state: &str) {
    let env = Env::new();
    let unknown_invoice = amili_payments::Uuid::new_v4().to_string();
    let input = env.file("p.csv", &file_text(&unknown_invoice));
    let submit = |extra: &[&str]| {
        env.amili()
            .args(["payments", "submit", "p.csv", "--state", state])
            .args(extra)
            .output()
            .unwrap()
    };

    let out = submit(&["--wait"]);
    assert_exit(&out, 1);
    let so = stdout(&out);
    assert!(row(&so, "RR-1").contains("succeeded"), "{so}");
    assert!(row(&so, "RR-2").contains("failed"), "{so}");
    assert!(row(&so, "RR-2").contains("UNKNOWN_INVOICE"), "{so}");
    assert_eq!(env.sandbox.stats().payment_requests, 1);

    // Again, unchanged: the known outcomes, nothing sent, and not a clean exit.
    let out = submit(&["--wait"]);
    assert_exit(&out, 1);
    let so = stdout(&out);
    assert!(so.contains("1 succeeded, 1 failed"), "{so}");
    assert!(!so.contains("already accepted"), "{so}");
    assert!(row(&so, "RR-2").contains("UNKNOWN_INVOICE"), "{so}");
    assert_eq!(env.sandbox.stats().payment_requests, 1, "{so}");

    // RR-2 fixed: sent once more, under its id, and booked; RR-1 is not sent again.
    std::fs::write(&input, file_text(&invoice(1))).unwrap();
    let out = submit(&["--wait"]);
    assert_exit(&out, 0);
    let so = stdout(&out);
    assert!(so.contains("2 succeeded"), "{so}\n{}", stderr(&out));
    assert!(!so.contains("conflict"), "{so}");
    assert_eq!(env.sandbox.stats().payment_requests, 2, "{so}");
    assert_eq!(env.sandbox.times_booked("RR-1"), 1);
    assert_eq!(env.sandbox.times_booked("RR-2"), 1);

    // What the ledger knows now: every row succeeded.
    let out = env.output(&["payments", "status", "p.csv", "--state", state]);
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("2 succeeded"), "{}", stdout(&out));
    assert_eq!(env.sandbox.stats().payment_requests, 2);

    // The export carries each payment's outcome, after the columns it always had.
    let out = env.output(&["ledger", "export", "--state", state]);
    assert_exit(&out, 0);
    let csv = stdout(&out);
    assert!(
        csv.starts_with(
            "scope,id,idempotencyKey,batchId,updatedAt,outcome,reasonCode,reasonMessage,\
             outcomeAt\n"
        ),
        "{csv}"
    );
    let rr2 = csv
        .lines()
        .find(|l| l.contains(",RR-2,"))
        .unwrap_or_else(|| panic!("{csv}"));
    assert!(rr2.contains(",succeeded,"), "{rr2}");
}

#[test]
fn a_failed_payment_is_reported_on_a_rerun_and_its_fix_is_sent_and_booked_sqlite() {
    let env = Env::new();
    let state = env.dir.path().join("outcomes.db");
    fail_fix_resend(&state.display().to_string());
}

#[test]
fn a_failed_payment_is_reported_on_a_rerun_and_its_fix_is_sent_and_booked_postgres() {
    let url = std::env::var("AMILI_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "AMILI_TEST_POSTGRES_URL is not set: this test needs a PostgreSQL server; run \
             `bash scripts/with-postgres.sh cargo test -p amili-cli`"
        )
    });
    fail_fix_resend(&url);
}

#[test]
fn status_finishes_what_a_run_without_wait_or_past_its_timeout_left_unknown() {
    // Batches finish only when the test says so.
    let env = Env::with(|b| b.batch_delay(Duration::from_secs(3600)));
    let unknown_invoice = amili_payments::Uuid::new_v4().to_string();
    env.file("p.csv", &file_text(&unknown_invoice));
    env.file(
        "q.csv",
        &format!(
            "{HEADER}{},DIRECT_PAYMENT,300.00,NOK,2025-03-03T10:00:00Z,Innbetaling 3,RR-3\n",
            invoice(2)
        ),
    );

    // Without --wait: accepted, exit 0; nothing says yet that RR-2 will fail.
    let out = env.output(&["payments", "submit", "p.csv"]);
    assert_exit(&out, 0);
    // With --wait, given up at once: accepted, not known.
    let out = env.output(&[
        "payments",
        "submit",
        "q.csv",
        "--wait",
        "--wait-timeout",
        "0",
    ]);
    assert_exit(&out, 1);
    assert!(
        row(&stdout(&out), "RR-3").contains("accepted"),
        "{}",
        stdout(&out)
    );

    // A rerun with --wait follows the batches accepted earlier; given up at once, their
    // outcome is still not known: not a clean exit.
    let out = env.output(&[
        "payments",
        "submit",
        "p.csv",
        "--wait",
        "--wait-timeout",
        "0",
    ]);
    assert_exit(&out, 1);
    assert!(
        row(&stdout(&out), "RR-2").contains("already_accepted"),
        "{}",
        stdout(&out)
    );
    assert_eq!(env.sandbox.stats().payment_requests, 2);

    // A status before the batches finish: not known yet, not a clean exit.
    let out = env.output(&["payments", "status", "q.csv", "--wait-timeout", "0"]);
    assert_exit(&out, 1);
    assert!(
        row(&stdout(&out), "RR-3").contains("already_accepted"),
        "{}",
        stdout(&out)
    );

    env.sandbox.finish_batches();
    let out = env.output(&["payments", "status", "p.csv"]);
    assert_exit(&out, 1);
    let so = stdout(&out);
    assert!(row(&so, "RR-1").contains("succeeded"), "{so}");
    assert!(row(&so, "RR-2").contains("failed"), "{so}");
    assert!(row(&so, "RR-2").contains("UNKNOWN_INVOICE"), "{so}");
    let out = env.output(&["payments", "status", "q.csv"]);
    assert_exit(&out, 0);
    assert!(
        row(&stdout(&out), "RR-3").contains("succeeded"),
        "{}",
        stdout(&out)
    );

    // What status learned was recorded: the ledger now tells a rerun, and the export shows it.
    let reads = env.sandbox.stats().batch_gets;
    let out = env.output(&["payments", "submit", "p.csv"]);
    assert_exit(&out, 1);
    let so = stdout(&out);
    assert!(so.contains("1 succeeded, 1 failed"), "{so}");
    assert_eq!(env.sandbox.stats().payment_requests, 2, "{so}");
    assert_eq!(
        env.sandbox.stats().batch_gets,
        reads,
        "nothing was read again"
    );
    let out = env.output(&["ledger", "export", "--format", "jsonl"]);
    let rr2: serde_json::Value = stdout(&out)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["id"] == "RR-2")
        .unwrap_or_default();
    assert_eq!(rr2["outcome"], "failed", "{rr2}");
    assert_eq!(rr2["reasonCode"], "UNKNOWN_INVOICE", "{rr2}");
    assert!(
        rr2["outcomeAt"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{rr2}"
    );

    // A row never sent is `not_sent` to the ledger.
    env.file(
        "r.csv",
        &format!(
            "{HEADER}{},DIRECT_PAYMENT,400.00,NOK,2025-03-04T10:00:00Z,Innbetaling 4,RR-4\n",
            invoice(3)
        ),
    );
    let out = env.output(&["payments", "status", "r.csv"]);
    assert_exit(&out, 1);
    assert!(
        row(&stdout(&out), "RR-4").contains("not_sent"),
        "{}",
        stdout(&out)
    );
}

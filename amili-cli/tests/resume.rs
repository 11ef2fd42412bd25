//! A submission stopped mid-way (fault injection plus SIGKILL), then run again: every payment
//! is booked exactly once and the payments already accepted (the ledger knows them) are not
//! sent again.

mod common;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use amili_sandbox::{Fault, Route};
use common::{Env, assert_exit, assert_stderr_has, assert_stdout_has, csv_rows, stderr, stdout};

/// `amili payments submit payments.csv` in requests of 2, one at a time.
const ARGS: [&str; 7] = [
    "payments",
    "submit",
    "payments.csv",
    "--chunk-size",
    "2",
    "--concurrency",
    "1",
];

/// Runs [`ARGS`] and kills it (SIGKILL: no cleanup) while its third request hangs at the
/// sandbox: the first two requests are answered and recorded by then.
fn kill_during_the_third_request(env: &Env) {
    let faults = env.sandbox.faults();
    faults.push_n(Route::CreatePayments, Fault::Delay(Duration::ZERO), 2);
    faults.push(
        Route::CreatePayments,
        Fault::Delay(Duration::from_secs(120)),
    );
    let mut child = until_the_third_request(env, &ARGS, Stdio::null);
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Starts `amili ARGS` (stdout and stderr to `output()`) and returns it once its third
/// request reached the sandbox: deterministically, not by timing.
fn until_the_third_request(env: &Env, args: &[&str], output: fn() -> Stdio) -> Child {
    let mut child = env
        .amili_std()
        .args(args)
        .stdout(output())
        .stderr(output())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while env.sandbox.stats().payment_requests < 3 {
        assert!(Instant::now() < deadline, "the third request never came");
        assert!(
            child.try_wait().unwrap().is_none(),
            "amili ended before its third request"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

#[test]
fn killed_mid_way_then_rerun_books_every_payment_exactly_once() {
    let env = Env::new();
    let input = env.file("payments.csv", &csv_rows("KILL", 10));
    kill_during_the_third_request(&env);
    assert!(env.booked() <= 4, "only the first two chunks can be booked");
    let requests_before = env.sandbox.stats().payment_requests;
    // The key the killed run claimed the third request's payments under.
    let scope = format!(
        "{} org {}",
        env.sandbox.api_url(),
        env.sandbox.organization_id()
    );
    let third_key = amili_ledger::SqliteLedger::open(env.ledger_path(), scope)
        .unwrap()
        .items()
        .unwrap()
        .into_iter()
        .find(|i| i.id == "KILL-4")
        .map(|i| i.idempotency_key)
        .unwrap();

    let out = env.amili().args(ARGS).arg("--wait").output().unwrap();
    let (so, se) = (stdout(&out), stderr(&out));
    assert_exit(&out, 0);
    // The four accepted before the kill are followed too (their outcome was not known).
    assert!(
        so.contains("10 rows: 10 succeeded (5 batches)"),
        "{so}\n{se}"
    );
    assert!(
        se.contains("4 already accepted before, not sent again"),
        "{se}"
    );
    for i in 0..10 {
        assert_eq!(
            env.sandbox.times_booked(&format!("KILL-{i}")),
            1,
            "KILL-{i} booked once"
        );
    }
    assert_eq!(env.booked(), 10);
    // The two accepted chunks were not sent again: the rerun sent chunks 3, 4 and 5 only,
    // chunk 3 again under the key claimed before the kill.
    assert_eq!(env.sandbox.stats().payment_requests - requests_before, 3);
    let keys: Vec<Option<String>> = env
        .sandbox
        .ledger()
        .iter()
        .filter(|p| p.unique_source_payment_id == "KILL-4")
        .map(|p| p.idempotency_key.clone())
        .collect();
    assert_eq!(keys, [Some(third_key)]);
    drop(input);
}

#[test]
fn ctrl_c_finishes_the_request_in_flight_sends_nothing_new_and_a_rerun_completes() {
    let env = Env::new();
    let faults = env.sandbox.faults();
    faults.push_n(Route::CreatePayments, Fault::Delay(Duration::ZERO), 2);
    faults.push(Route::CreatePayments, Fault::Delay(Duration::from_secs(2)));
    env.file("payments.csv", &csv_rows("INT", 10));
    let args = [&ARGS[..], &["--report", "report.csv"]].concat();
    let child = until_the_third_request(&env, &args, Stdio::piped);
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let (so, se) = (stdout(&out), stderr(&out));
    assert_exit(&out, 1);
    assert!(se.contains("interrupted"), "{se}");
    // Said once, by the CLI; the library does not log the caller's own stop as a warning.
    assert!(!se.contains("WARN"), "{se}");
    // The request in flight finished; nothing after it was sent.
    assert!(so.contains("6 accepted, 4 not sent"), "{so}");
    assert_eq!(env.sandbox.stats().payment_requests, 3);
    let report = std::fs::read_to_string(env.dir.path().join("report.csv")).unwrap();
    assert_eq!(report.matches(",not_sent,").count(), 4, "{report}");

    let out = env.amili().args(args).arg("--wait").output().unwrap();
    assert_exit(&out, 0);
    assert_stdout_has(&out, "10 rows: 10 succeeded");
    assert_stderr_has(&out, "6 already accepted before, not sent again");
    assert_eq!(env.sandbox.stats().payment_requests, 5);
    for i in 0..10 {
        assert_eq!(env.sandbox.times_booked(&format!("INT-{i}")), 1);
    }
}

#[test]
fn a_file_edited_after_a_kill_sends_only_what_was_never_accepted() {
    let env = Env::new();
    let original = csv_rows("EDIT", 10);
    env.file("payments.csv", &original);
    kill_during_the_third_request(&env);

    // The file is edited before the rerun: rows reordered, one description of a payment not
    // yet accepted changed, and two rows added.
    let text = csv_rows("EDIT", 12);
    let mut lines: Vec<&str> = text.lines().collect();
    lines[1..].reverse();
    let edited = lines
        .join("\n")
        .replace(",Innbetaling 5,", ",Innbetaling 5 (rettet),")
        + "\n";
    assert!(edited.contains("(rettet)"));
    env.file("payments.csv", &edited);
    let out = env.amili().args(ARGS).arg("--wait").output().unwrap();
    let so = stdout(&out);
    assert_exit(&out, 1);
    // The four accepted before the kill are not sent, and --wait learns what Amili did.
    assert!(
        stderr(&out).contains("4 already accepted before, not sent again"),
        "{}",
        stderr(&out)
    );
    // The killed run's third request (EDIT-4, EDIT-5) is still at the server, which will
    // finish it: not held whole here, so not sent, and not read as "not booked" either.
    assert!(so.contains("may still arrive"), "{so}");
    for i in 0..12 {
        let expected = usize::from(!matches!(i, 4 | 5));
        assert_eq!(
            env.sandbox.times_booked(&format!("EDIT-{i}")),
            expected,
            "EDIT-{i}"
        );
    }

    // The original file holds that request whole: sent again under its key, booked once.
    env.file("payments.csv", &original);
    let out = env.amili().args(ARGS).arg("--wait").output().unwrap();
    assert_exit(&out, 0);
    for i in 0..12 {
        assert_eq!(
            env.sandbox.times_booked(&format!("EDIT-{i}")),
            1,
            "EDIT-{i} booked once"
        );
    }
}

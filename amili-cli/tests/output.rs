//! Machine-readable output, completions, dry runs and failing fast on settings.

mod common;

use common::{
    Env, amili_bare, assert_exit, assert_stderr_has, assert_stdout_has, assert_usage_error, bare,
    csv_rows, stderr, stdout,
};
use serde_json::Value;

#[test]
fn json_summary_on_stdout_matches_the_report() {
    let env = Env::new();
    env.file("p.csv", &csv_rows("JSON", 3));
    let out = env.output(&[
        "payments", "submit", "p.csv", "--wait", "--json", "--report", "r.jsonl",
    ]);
    assert_exit(&out, 0);
    let so = stdout(&out);
    // Only the JSON object on stdout; the table went to stderr.
    assert_eq!(so.lines().count(), 1, "{so}");
    let summary: Value = serde_json::from_str(&so).unwrap();
    assert_stderr_has(&out, "3 rows: 3 succeeded");
    let report = std::fs::read_to_string(env.dir.path().join("r.jsonl")).unwrap();
    let rows: Vec<Value> = report
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let succeeded = rows.iter().filter(|r| r["outcome"] == "succeeded").count();
    assert_eq!(summary["counts"]["succeeded"], succeeded);
    assert_eq!(summary["rows"], 3);
    assert_eq!(summary["batches"], 1);
    assert_eq!(summary["exitCode"], 0);
    assert_eq!(summary["report"], "r.jsonl");
}

#[test]
fn json_summary_says_why_nothing_was_sent() {
    let env = Env::new();
    env.file("p.csv", &csv_rows("BAD", 2).replace(",NOK,", ",XXX,"));
    let out = env.output(&["payments", "submit", "p.csv", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let summary: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(summary["exitCode"], 2);
    assert!(
        summary["exitReason"]
            .as_str()
            .unwrap()
            .contains("2 of 2 rows are invalid"),
        "{summary}"
    );
}

#[test]
fn dry_run_checks_settings_and_file_and_sends_nothing() {
    let env = Env::new();
    env.file("p.csv", &csv_rows("DRY", 4));
    let out = env.output(&["payments", "submit", "p.csv", "--dry-run"]);
    assert_exit(&out, 0);
    assert!(stderr(&out).contains("4 of 4 rows are valid (406.06 NOK); nothing was sent"));
    assert_eq!(env.sandbox.stats().payment_requests, 0);
    // A refused credential fails the dry run too.
    let out = env.output_with(
        &["payments", "submit", "p.csv", "--dry-run"],
        "AMILI_CLIENT_SECRET",
        "wrong",
    );
    assert_exit(&out, 2);
}

#[test]
fn settings_are_checked_before_the_file_is_read() {
    let env = Env::new();
    // A file full of problems: with refused credentials, the credentials are what is said.
    env.file("p.csv", &csv_rows("EARLY", 3).replace(",NOK,", ",XXX,"));
    let out = env.output_with(
        &["payments", "submit", "p.csv"],
        "AMILI_CLIENT_SECRET",
        "wrong",
    );
    let se = stderr(&out);
    assert_exit(&out, 2);
    assert!(se.contains("cannot get an access token"), "{se}");
    assert!(!se.contains("XXX"), "the file was read first:\n{se}");
    assert!(
        !se.contains("client-secret") && !se.contains("wrong\""),
        "{se}"
    );
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    for shell in ["bash", "zsh", "fish"] {
        let out = bare(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let text = stdout(&out);
        assert!(
            text.contains("amili") && text.contains("submit"),
            "{shell}: {text}"
        );
    }
}

#[test]
fn man_pages_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = amili_bare().arg("man").arg(dir.path()).output().unwrap();
    assert_exit(&out, 0);
    let page = std::fs::read_to_string(dir.path().join("amili.1")).unwrap();
    assert!(page.contains(".TH amili"), "{page}");
    assert!(dir.path().join("amili-payments-submit.1").exists());
}

#[test]
fn a_token_endpoint_hiccup_is_retried_and_a_gateway_500_is_not_called_rejected() {
    use amili_sandbox::{Fault, Route};
    let env = Env::new();
    let faults = env.sandbox.faults();
    let status = |status| Fault::Status {
        status,
        retry_after: None,
    };
    faults.push_n(Route::Token, status(503), 3);
    // The first CreatePayments is answered 500 after nothing was booked: looked up by its
    // key, not found, sent again under the same key.
    faults.push(Route::CreatePayments, status(500));
    env.file("p.csv", &csv_rows("HICCUP", 2));
    let out = env.output_with(
        &["payments", "submit", "p.csv", "--wait"],
        "AMILI_TIMEOUT",
        "5",
    );
    assert_exit(&out, 0);
    assert_stdout_has(&out, "2 succeeded");
    assert_eq!(env.sandbox.stats().payment_requests, 2);
    assert_eq!(env.booked(), 2);
}

#[test]
fn the_ledger_can_be_looked_at_and_exported() {
    let env = Env::new();
    env.file("p.csv", &csv_rows("LOOK", 3));
    let out = env.output(&["payments", "submit", "p.csv"]);
    assert_exit(&out, 0);
    let scope = format!(
        "{} org {}",
        env.sandbox.api_url(),
        env.sandbox.organization_id()
    );
    let out = env.output(&["ledger", "show", "--json"]);
    assert_exit(&out, 0);
    let shown: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(shown[&scope]["accepted"], 3, "{shown}");
    assert_eq!(shown[&scope]["pending"], 0, "{shown}");

    let out = env.output(&["ledger", "export"]);
    let csv = stdout(&out);
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(
        csv.starts_with("scope,id,idempotencyKey,batchId,updatedAt"),
        "{csv}"
    );
    assert!(csv.contains(",LOOK-2,"), "{csv}");

    let out = env.output_with(
        &["ledger", "show"],
        "AMILI_STATE",
        env.dir.path().join("nowhere.db"),
    );
    assert_usage_error(&out, "no ledger at");
}

#[test]
fn a_batch_that_cannot_be_read_makes_its_payments_unknown_with_why() {
    use amili_sandbox::{Fault, Route};
    let env = Env::new();
    // Every batch read answers a gateway's HTML page with 200: unreadable.
    env.sandbox
        .faults()
        .random(Route::GetBatch, Fault::HtmlError { status: 200 }, 1.0);
    env.file("p.csv", &csv_rows("UNREAD", 2));
    let out = env
        .amili()
        .args(["payments", "submit", "p.csv", "--wait", "--report", "r.csv"])
        .args(["--wait-timeout", "5"])
        .output()
        .unwrap();
    assert_exit(&out, 1);
    let report = std::fs::read_to_string(env.dir.path().join("r.csv")).unwrap();
    for row in report.lines().skip(1) {
        assert!(
            row.contains(",unknown,") && row.contains("whose answer could not be read"),
            "{row}"
        );
    }
    assert_eq!(report.lines().count(), 3, "{report}");
}

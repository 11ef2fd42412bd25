//! The other commands: validate, schema, batches, token, sandbox.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::{
    Env, assert_exit, assert_stderr_has, assert_stdout_has, assert_usage_error, bare, bare_on,
    csv_rows, stdout,
};
use serde_json::Value;

#[test]
fn validate_says_valid_or_lists_problems() {
    let env = Env::new();
    let good = env.file("good.csv", &csv_rows("V", 3));
    let out = bare_on(&["payments", "validate"], &good);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("3 payments, all valid"));

    let bad = env.file(
        "bad.csv",
        &format!(
            "{}{}",
            csv_rows("B", 2),
            "not-a-uuid,DIRECT_PAYMENT,1,NOK,2025-01-01T00:00:00Z,x,B-9\n"
        ),
    );
    let out = bare_on(&["payments", "validate"], &bad);
    assert_usage_error(&out, "line 4: invoiceId");
    assert_eq!(
        env.sandbox.stats().token_requests,
        0,
        "validate talks to no one"
    );
}

#[test]
fn schema_describes_one_row() {
    let out = bare(&["payments", "schema"]);
    assert_eq!(out.status.code(), Some(0));
    let schema: Value = serde_json::from_slice(&out.stdout).unwrap();
    for field in [
        "invoiceId",
        "type",
        "amount",
        "currency",
        "date",
        "description",
        "uniqueSourcePaymentId",
        "invoiceNumber",
        "uniqueSourceInvoiceId",
    ] {
        assert!(
            schema["properties"].get(field).is_some(),
            "{field} in {schema}"
        );
    }
}

#[test]
fn batches_get_list_and_wait() {
    let env = Env::new();
    env.file("p.csv", &csv_rows("BAT", 4));
    let out = env.output(&[
        "payments",
        "submit",
        "p.csv",
        "--chunk-size",
        "2",
        "--report",
        "r.jsonl",
    ]);
    assert_exit(&out, 0);
    let report = std::fs::read_to_string(env.dir.path().join("r.jsonl")).unwrap();
    let first: Value = serde_json::from_str(report.lines().next().unwrap()).unwrap();
    let batch = first["batchId"].as_str().unwrap().to_owned();
    assert_eq!(first["outcome"], "accepted");

    let out = env.output(&["batches", "wait", &batch]);
    assert_exit(&out, 0);
    assert_stdout_has(&out, "status     SUCCESS");

    let out = env.output(&["batches", "get", &batch, "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["id"], batch.as_str());
    assert_eq!(got["succeeded"].as_array().unwrap().len(), 2);

    let out = env.output(&["batches", "list"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains(&batch));
    assert_stderr_has(&out, "2 batches");

    let out = env.output(&["batches", "get", "00000000-0000-4000-8000-000000000000"]);
    assert_eq!(out.status.code(), Some(1));
    assert_stderr_has(&out, "404");
}

#[test]
fn token_check() {
    let env = Env::new();
    let out = env.output(&["token", "check"]);
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("token OK"));
    let out = bare(&["token", "check", "--sandbox"]);
    assert_exit(&out, 0);

    // A ready token is checked with the server too, never taken on trust.
    let tokens = env.sandbox.stats().token_requests;
    let out = env
        .amili()
        .env_remove("AMILI_CLIENT_ID")
        .env_remove("AMILI_CLIENT_SECRET")
        .args(["token", "check", "--token", "not-a-token-amili-issued"])
        .output()
        .unwrap();
    assert_exit(&out, 1);
    assert!(!stdout(&out).contains("token OK"), "{}", stdout(&out));
    assert_stderr_has(&out, "401");
    assert_eq!(
        env.sandbox.stats().token_requests,
        tokens,
        "no token was fetched"
    );
}

#[test]
fn sandbox_runs_in_the_foreground() {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("amili"))
        .args(["sandbox", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().unwrap().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        first.contains("amili-sandbox listening on 127.0.0.1:"),
        "{first}"
    );
}

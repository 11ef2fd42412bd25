//! `amili payments submit` against an in-process sandbox.

mod common;

use amili_sandbox::Route;

use common::{
    Env, assert_exit, assert_stderr_has, assert_stdout_has, assert_usage_error, csv_rows,
    fault_status, stderr, stdout,
};
use serde_json::Value;

#[test]
fn happy_path_books_every_payment_and_exits_0() {
    let env = Env::new();
    let input = env.example("payments.csv", "payments.csv");
    let so = env.run_ok(
        &["payments", "submit"],
        &input,
        &["--wait", "--report", "report.json"],
    );
    assert!(so.contains("12 rows: 12 succeeded (1 batch)"), "{so}");
    assert!(so.contains("NO-INNB-2025-000101"), "{so}");
    assert_eq!(env.booked(), 12);
    assert_eq!(env.sandbox.times_booked("NO-INNB-2025-000112"), 1);

    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(env.dir.path().join("report.json")).unwrap())
            .unwrap();
    let rows = report.as_array().unwrap();
    assert_eq!(rows.len(), 12);
    let batch = rows[0]["batchId"].as_str().unwrap().to_owned();
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["line"], i as u64 + 2);
        assert_eq!(row["outcome"], "succeeded");
        assert_eq!(row["batchId"], batch.as_str());
        assert!(row["idempotencyKey"].is_string());
        assert_eq!(row["reasonCode"], Value::Null);
        assert_eq!(row["reasonMessage"], Value::Null);
    }
    assert_eq!(rows[3]["uniqueSourcePaymentId"], "NO-INNB-2025-000104");
}

#[test]
fn without_wait_payments_are_accepted_and_exit_0() {
    let env = Env::new();
    let input = env.file("p.csv", &csv_rows("ACC", 7));
    let so = env.run_ok(&["payments", "submit"], &input, &["--chunk-size", "3"]);
    assert!(so.contains("7 rows: 7 accepted (3 batches)"), "{so}");
}

#[test]
fn bad_rows_are_all_reported_with_lines_and_nothing_is_sent() {
    let env = Env::new();
    let input = env.example("payments-with-problems.csv", "problems.csv");
    let out = env
        .amili()
        .args(["payments", "submit"])
        .arg(&input)
        .arg("--wait")
        .output()
        .unwrap();
    let se = stderr(&out);
    assert_exit(&out, 2);
    for expected in [
        "line 3: amount: \"12.345\" has 3 decimals, NOK allows 2",
        "line 4: invoiceId: \"10023\" is not a UUID",
        "line 5: date: \"03/05/2025\" is not a date",
        "line 6: amount: \"-2200.75\" is not an amount: it is negative",
        "line 6: currency: `NKR`",
        "line 7: uniqueSourcePaymentId: \"NO-INNB-2025-000201\" repeats the id of line 2",
        "line 10: uniqueSourcePaymentId: is empty",
        "6 of 9 rows are invalid; nothing was sent",
    ] {
        assert!(se.contains(expected), "missing {expected:?} in:\n{se}");
    }
    assert_eq!(env.booked(), 0);
    assert_eq!(env.sandbox.stats().payment_requests, 0);
    assert_eq!(env.sandbox.batch_count(), 0);
}

#[test]
fn skip_invalid_sends_the_rest_and_reports_the_batch_failure_with_exit_1() {
    let env = Env::new();
    let input = env.example("payments-with-problems.csv", "problems.csv");
    let out = env.run(
        &["payments", "submit"],
        &input,
        &["--wait", "--skip-invalid", "--report", "report.csv"],
    );
    let so = stdout(&out);
    assert_exit(&out, 1);
    assert!(
        so.contains("2 succeeded, 1 failed, 6 invalid (skipped)"),
        "{so}"
    );
    assert!(so.contains("UNKNOWN_INVOICE"), "{so}");
    assert_eq!(env.booked(), 2);

    let report = std::fs::read_to_string(env.dir.path().join("report.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(report.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        [
            "line",
            "uniqueSourcePaymentId",
            "invoiceId",
            "batchId",
            "idempotencyKey",
            "amount",
            "currency",
            "outcome",
            "reasonCode",
            "reasonMessage"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 9);
    let by_line = |line: &str| rows.iter().find(|r| &r[0] == line).unwrap().clone();
    assert_eq!(&by_line("2")[7], "succeeded");
    assert_eq!(&by_line("3")[7], "invalid");
    assert!(by_line("3")[9].contains("3 decimals"));
    let unknown = by_line("8");
    assert_eq!(&unknown[1], "NO-INNB-2025-000207");
    assert_eq!(&unknown[7], "failed");
    assert_eq!(&unknown[8], "UNKNOWN_INVOICE", "{unknown:?}");
    assert!(unknown[9].starts_with("unknown invoice"), "{unknown:?}");
    assert!(!unknown[3].is_empty(), "the failed row names its batch");
}

#[test]
fn skip_invalid_sends_a_csv_file_as_it_reads_it() {
    // 30 valid rows, then a line over the 64 KiB row cap: reading stops there with an error.
    // Read whole before sending, nothing goes; read as it is sent (--skip-invalid), every row
    // before the bad line is on its way before the bad line is reached.
    let env = Env::new();
    let mut text = csv_rows("S", 30);
    text.push_str(&"x".repeat(70 * 1024));
    text.push('\n');
    let input = env.file("long-line.csv", &text);
    let submit = |extra: &[&str]| {
        let flags = [&["--chunk-size", "10"], extra].concat();
        env.run(&["payments", "submit"], &input, &flags)
    };

    let out = submit(&[]);
    assert_exit(&out, 2);
    assert_stderr_has(&out, "line 32 is longer than");
    assert_eq!(env.sandbox.stats().payment_requests, 0);

    let out = submit(&["--skip-invalid", "--wait", "--report", "r.csv"]);
    // Not 2 ("nothing was sent"): the rows before the broken line went out, and are reported.
    assert_exit(&out, 1);
    assert_stderr_has(&out, "line 32 is longer than");
    assert_stdout_has(&out, "30 succeeded");
    assert_eq!(env.booked(), 30);
    let report = std::fs::read_to_string(env.dir.path().join("r.csv")).unwrap();
    assert_eq!(report.lines().count(), 31, "{report}");

    // Once the file is mended, the rerun sends nothing twice.
    env.file("long-line.csv", &csv_rows("S", 31));
    let out = submit(&["--skip-invalid", "--wait"]);
    assert_exit(&out, 0);
    assert_eq!(env.booked(), 31);
}

#[test]
fn a_file_sent_as_it_is_read_says_each_problem_as_a_file_read_whole() {
    let env = Env::new();
    let input = env.example("payments-with-problems.csv", "problems.csv");
    let submit = |extra: &[&str]| env.run(&["payments", "submit"], &input, extra);
    let whole = submit(&["--report", "whole.csv"]);
    assert_exit(&whole, 2);
    let streamed = submit(&["--skip-invalid", "--report", "streamed.csv"]);
    assert_exit(&streamed, 1);
    let problems = |out: &std::process::Output| -> Vec<String> {
        stderr(out)
            .lines()
            .filter(|l| l.contains("problems.csv: line "))
            .map(str::to_owned)
            .collect()
    };
    // The repeat of line 2's id is found by the library's stream filter as the rows go: it is
    // reported with the rows (below), not said on its own.
    let own = |out| -> Vec<String> {
        problems(out)
            .into_iter()
            .filter(|l| !l.contains("repeats the id"))
            .collect()
    };
    assert_eq!(problems(&whole).len(), 7, "{}", stderr(&whole));
    assert_eq!(own(&whole).len(), 6);
    assert_eq!(own(&whole), own(&streamed));
    let invalid = |name: &str| -> Vec<Vec<String>> {
        let text = std::fs::read_to_string(env.dir.path().join(name)).unwrap();
        csv::Reader::from_reader(text.as_bytes())
            .records()
            .map(Result::unwrap)
            .filter(|r| &r[7] == "invalid")
            .map(|r| r.iter().map(str::to_owned).collect())
            .collect()
    };
    assert_eq!(invalid("whole.csv").len(), 6);
    assert_eq!(invalid("whole.csv"), invalid("streamed.csv"));
    assert_stdout_has(&streamed, "3 accepted, 6 invalid (skipped)");
}

#[test]
fn jsonl_and_json_array_inputs() {
    let env = Env::new();
    let row = |i: usize| {
        serde_json::json!({
            "invoiceId": common::invoice(i), "type": "DIRECT_PAYMENT", "amount": 10.5 + i as f64,
            "currency": "NOK", "date": "2025-03-09T14:30:00Z", "description": "JSON",
            "uniqueSourcePaymentId": format!("J-{i}")
        })
    };
    let jsonl = env.file("p.jsonl", &format!("{}\n\n{}\n", row(0), row(1)));
    let array = env.file(
        "p.json",
        &serde_json::to_string_pretty(&vec![row(2), row(3), row(4)]).unwrap(),
    );
    for (file, n) in [(&jsonl, 2), (&array, 3)] {
        let out = env
            .amili()
            .args(["payments", "submit"])
            .arg(file)
            .arg("--wait")
            .output()
            .unwrap();
        assert_exit(&out, 0);
        assert!(stdout(&out).contains(&format!("{n} succeeded")));
    }
    assert_eq!(env.booked(), 5);

    // A bad JSON line is reported with its line number; nothing is sent.
    let bad = env.file(
        "bad.jsonl",
        &format!("{}\n{{\"amount\": \n{}\n", row(5), row(6)),
    );
    let out = env.run(&["payments", "submit"], &bad, &[]);
    assert_usage_error(&out, "line 2: not a JSON object");
    assert_eq!(env.booked(), 5);
}

#[test]
fn a_second_run_a_copy_a_symlink_or_a_moved_file_sends_nothing_again() {
    let env = Env::new();
    let input = env.file("p.csv", &csv_rows("AGAIN", 5));
    let run = |file: &std::path::Path| {
        env.amili()
            .args(["payments", "submit"])
            .arg(file)
            .args(["--wait", "--chunk-size", "2"])
            .output()
            .unwrap()
    };
    let out = run(&input);
    assert_exit(&out, 0);
    assert_stdout_has(&out, "5 succeeded (3 batches)");

    // The same file again, a copy, and the file moved to an archive folder: the ledger knows
    // every payment booked, so nothing is sent and the run still ends well.
    let copy = env.file("copy.csv", &std::fs::read_to_string(&input).unwrap());
    let link = env.dir.path().join("link.csv");
    std::os::unix::fs::symlink(&copy, &link).unwrap();
    std::fs::create_dir(env.dir.path().join("archive")).unwrap();
    let moved = env.dir.path().join("archive").join("p.csv");
    std::fs::rename(&input, &moved).unwrap();
    for file in [&copy, &link, &moved] {
        let out = run(file);
        assert_exit(&out, 0);
        assert_stdout_has(&out, "5 succeeded (3 batches)");
        assert_stdout_has(&out, "succeeded earlier; not sent again");
    }
    assert_eq!(env.sandbox.stats().payment_requests, 3);
    assert_eq!(env.booked(), 5);
    assert!(env.ledger_path().exists());
}

#[test]
fn an_edited_row_after_acceptance_is_a_conflict_and_new_rows_are_sent() {
    let env = Env::new();
    let (input, _out) = env.submitted("CHG", 3);
    // One more row, and row 2's description changed.
    let text = csv_rows("CHG", 4).replacen(",Innbetaling 1,", ",edited,", 1);
    assert!(text.contains(",edited,"), "{text}");
    env.file("p.csv", &text);
    // With --wait, the rerun also follows the batch of the two accepted earlier.
    let out = env.run(&["payments", "submit", "--wait"], &input, &[]);
    let so = stdout(&out);
    assert_exit(&out, 1);
    assert!(
        so.contains("3 succeeded") && so.contains("1 conflict"),
        "{so}"
    );
    assert_eq!(env.sandbox.stats().payment_requests, 2, "{so}");
    assert_eq!(env.booked(), 4, "{so}");
}

#[test]
fn a_403_stops_the_whole_submission_after_at_most_concurrency_requests() {
    let env = Env::new();
    env.sandbox
        .faults()
        .push_n(Route::CreatePayments, fault_status(403), 100);
    env.file("p.csv", &csv_rows("DENY", 12));
    let out = env
        .amili()
        .args([
            "payments",
            "submit",
            "p.csv",
            "--chunk-size",
            "1",
            "--concurrency",
            "3",
        ])
        .args(["--report", "r.csv"])
        .output()
        .unwrap();
    assert_exit(&out, 1);
    assert!(
        env.sandbox.stats().payment_requests <= 3,
        "{:?}",
        env.sandbox.stats()
    );
    let report = std::fs::read_to_string(env.dir.path().join("r.csv")).unwrap();
    assert_eq!(report.lines().count(), 13, "{report}");
    for row in report.lines().skip(1) {
        assert!(
            (row.contains(",rejected,") || row.contains(",not_sent,")) && row.contains("403"),
            "{row}"
        );
    }
    assert_eq!(env.booked(), 0);
}

#[test]
fn the_reported_keys_and_batches_are_the_ones_amili_knows() {
    let env = Env::new();
    env.file("p.csv", &csv_rows("KEY", 3));
    let out = env.output(&["payments", "submit", "p.csv", "--report", "r.json"]);
    assert_exit(&out, 0);
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(env.dir.path().join("r.json")).unwrap())
            .unwrap();
    let key: amili_payments::IdempotencyKey = report[0]["idempotencyKey"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let batch_id = report[0]["batchId"].as_str().unwrap().to_owned();

    // The library, talking to the same sandbox, finds the CLI's batch by the CLI's key.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let found = runtime.block_on(async {
        let client = env.client();
        client.find_batch_by_key(&key).await.unwrap()
    });
    assert_eq!(found.map(|b| b.id.to_string()), Some(batch_id));
}

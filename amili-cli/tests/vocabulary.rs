//! The machine-readable output: money in every output, camelCase keys only, Amili's reason
//! code apart, problems in `--json`, the report on a validation stop, and every command's
//! JSON checked against its schema in `schemas/`.

mod common;

use std::collections::BTreeMap;

use amili_payments::{Decimal, Uuid};
use common::{Env, HEADER, assert_exit, csv_rows, invoice, stderr, stdout};
use serde_json::{Value, json};

/// Hands `check` the validator of `schemas/{name}` (whose `$ref`s name `defs.json`).
fn with_schema(name: &str, check: impl FnOnce(&jsonschema::Validator)) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    let read = |file: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap()
    };
    let defs = read("defs.json");
    let id = defs["$id"].as_str().unwrap().to_owned();
    let registry = jsonschema::Registry::new()
        .add(id, defs)
        .unwrap()
        .prepare()
        .unwrap();
    let validator = jsonschema::options()
        .with_registry(&registry)
        .build(&read(name))
        .unwrap();
    check(&validator);
}

/// Checks `instance` against `schemas/{name}`.
fn assert_schema(name: &str, instance: &Value) {
    with_schema(name, |validator| {
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}\n{instance:#}");
    });
}

/// Every key of `value` is camelCase (`notSent`, `exitCode`); the only other keys allowed are
/// currency codes, as the keys of a sum.
fn assert_camel_case(value: &Value) {
    fn walk(value: &Value, path: &str, bad: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    let camel = key.starts_with(|c: char| c.is_ascii_lowercase())
                        && key.chars().all(|c| c.is_ascii_alphanumeric());
                    let currency = path.contains("/sums/")
                        && key.len() == 3
                        && key.chars().all(|c| c.is_ascii_uppercase());
                    if !camel && !currency {
                        bad.push(format!("{path}/{key}"));
                    }
                    walk(inner, &format!("{path}/{key}"), bad);
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{path}/{i}"), bad);
                }
            }
            _ => {}
        }
    }
    let mut bad = Vec::new();
    walk(value, "", &mut bad);
    assert!(bad.is_empty(), "keys not camelCase: {bad:?}\n{value:#}");
}

/// A run with every kind of row in two currencies: three succeed (NOK, SEK, SEK), one fails
/// in its batch (unknown invoice, NOK), one is invalid with a readable amount (SEK, a bad
/// date), one is invalid with none (NOK, `abc`).
fn mixed_file(env: &Env) -> std::path::PathBuf {
    let date = "2025-03-09T10:00:00Z";
    let rows = [
        format!("{},DIRECT_PAYMENT,100.5,NOK,{date},a,M-1", invoice(0)),
        format!("{},DIRECT_PAYMENT,20.25,SEK,{date},b,M-2", invoice(1)),
        format!("{},DIRECT_PAYMENT,30,SEK,{date},c,M-3", invoice(2)),
        format!("{},DIRECT_PAYMENT,7.10,NOK,{date},d,M-4", Uuid::new_v4()),
        format!("{},DIRECT_PAYMENT,5.5,SEK,yesterday,e,M-5", invoice(3)),
        format!("{},DIRECT_PAYMENT,abc,NOK,{date},f,M-6", invoice(4)),
    ];
    env.file("mixed.csv", &format!("{HEADER}{}\n", rows.join("\n")))
}

/// The sums the mixed run must show.
fn mixed_sums() -> Value {
    json!({
        "succeeded": {"NOK": "100.50", "SEK": "50.25"},
        "failed": {"NOK": "7.10"},
        "invalid": {"SEK": "5.50"},
    })
}

/// Sums of the report's rows per outcome (as the summary names them) and currency, exactly.
fn report_sums(rows: &[Value]) -> Value {
    let mut sums: BTreeMap<String, BTreeMap<String, Decimal>> = BTreeMap::new();
    for row in rows {
        let (Some(amount), Some(currency)) = (row["amount"].as_str(), row["currency"].as_str())
        else {
            continue;
        };
        let outcome = match row["outcome"].as_str().unwrap() {
            "not_sent" => "notSent",
            "already_accepted" => "alreadyAccepted",
            other => other,
        };
        *sums
            .entry(outcome.to_owned())
            .or_default()
            .entry(currency.to_owned())
            .or_default() += amount.parse::<Decimal>().unwrap();
    }
    serde_json::to_value(
        sums.into_iter()
            .map(|(outcome, by)| {
                let by: BTreeMap<String, String> = by
                    .into_iter()
                    .map(|(c, d)| (c, format!("{:.2}", d)))
                    .collect();
                (outcome, by)
            })
            .collect::<BTreeMap<_, _>>(),
    )
    .unwrap()
}

#[test]
fn a_mixed_run_sums_its_money_per_outcome_and_currency_in_table_json_and_report() {
    let env = Env::new();
    let file = mixed_file(&env);
    let out = env.run(
        &["payments", "submit"],
        &file,
        &["--wait", "--skip-invalid", "--json", "--report", "r.json"],
    );
    assert_exit(&out, 1);
    let summary: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_schema("submit.json", &summary);
    assert_camel_case(&summary);
    assert_eq!(summary["sums"], mixed_sums(), "{summary:#}");
    assert_eq!(summary["counts"]["succeeded"], 3);
    assert_eq!(summary["counts"]["failed"], 1);
    assert_eq!(summary["counts"]["invalid"], 2);
    assert_eq!(summary["problemCount"], 2);
    assert_eq!(summary["exitCode"], 1);

    // The table (on stderr with --json) says the same.
    let se = stderr(&out);
    assert!(se.contains("  succeeded: 100.50 NOK, 50.25 SEK\n"), "{se}");
    assert!(se.contains("  failed: 7.10 NOK\n"), "{se}");
    assert!(se.contains("  invalid: 5.50 SEK\n"), "{se}");

    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(env.dir.path().join("r.json")).unwrap())
            .unwrap();
    assert_camel_case(&report);
    let rows = report.as_array().unwrap();
    assert_eq!(rows.len(), 6);
    for row in rows {
        assert_schema("report-row.json", row);
    }
    assert_eq!(report_sums(rows), mixed_sums());
    assert_eq!(rows[0]["amount"], "100.50");
    assert_eq!(rows[2]["amount"], "30.00");
    // Amili's code apart from its message.
    assert_eq!(rows[3]["outcome"], "failed");
    assert_eq!(rows[3]["reasonCode"], "UNKNOWN_INVOICE");
    let message = rows[3]["reasonMessage"].as_str().unwrap();
    assert!(
        message.starts_with("unknown invoice") && !message.contains("UNKNOWN_INVOICE"),
        "{message}"
    );
    // An invalid row: its problems are the message, with no code; an unreadable amount is null.
    assert_eq!(rows[4]["reasonCode"], Value::Null);
    assert!(
        rows[4]["reasonMessage"].as_str().unwrap().contains("date"),
        "{report:#}"
    );
    assert_eq!(rows[5]["amount"], Value::Null);
    assert_eq!(rows[5]["currency"], Value::Null);

    // The CSV report has the same columns, camelCase.
    let out = env.run(
        &["payments", "submit"],
        &file,
        &["--skip-invalid", "--report", "r.csv"],
    );
    assert_exit(&out, 1);
    let csv = std::fs::read_to_string(env.dir.path().join("r.csv")).unwrap();
    assert!(
        csv.starts_with(
            "line,uniqueSourcePaymentId,invoiceId,batchId,idempotencyKey,amount,currency,\
             outcome,reasonCode,reasonMessage\n"
        ),
        "{csv}"
    );
    // A rerun: what Amili did is known from the ledger (nothing is sent), with its money.
    let so = stdout(&out);
    assert!(so.contains("  succeeded: 100.50 NOK, 50.25 SEK\n"), "{so}");
    assert!(so.contains("  failed: 7.10 NOK\n"), "{so}");
    assert!(!so.contains("already accepted"), "{so}");
}

#[test]
fn a_run_stopped_by_validation_says_its_problems_in_json_and_writes_the_report() {
    let env = Env::new();
    let file = mixed_file(&env);
    let out = env.run(
        &["payments", "submit"],
        &file,
        &["--json", "--report", "r.jsonl"],
    );
    assert_exit(&out, 2);
    assert_eq!(env.sandbox.stats().payment_requests, 0);
    let summary: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_schema("submit.json", &summary);
    assert_camel_case(&summary);
    let problems = summary["problems"].as_array().unwrap();
    assert_eq!(summary["problemCount"], 2);
    assert_eq!(problems.len(), 2, "{summary:#}");
    assert_eq!(problems[0]["line"], 6);
    assert_eq!(problems[0]["field"], "date");
    assert_eq!(problems[1]["line"], 7);
    assert_eq!(problems[1]["field"], "amount");
    assert!(problems[1]["message"].as_str().unwrap().contains("abc"));
    // Nothing was sent: the valid rows are counted (and summed) as not sent.
    assert_eq!(summary["counts"]["notSent"], 4);
    assert_eq!(summary["counts"]["invalid"], 2);
    assert_eq!(
        summary["sums"],
        json!({"notSent": {"NOK": "107.60", "SEK": "50.25"}, "invalid": {"SEK": "5.50"}})
    );

    // The report has every row: the invalid with their problems, the rest not sent, with why.
    let report = std::fs::read_to_string(env.dir.path().join("r.jsonl")).unwrap();
    let rows: Vec<Value> = report
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 6, "{report}");
    for row in &rows {
        assert_schema("report-row.json", row);
        assert_camel_case(row);
    }
    let outcomes: Vec<&str> = rows
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "not_sent", "not_sent", "not_sent", "not_sent", "invalid", "invalid"
        ]
    );
    assert!(
        rows[0]["reasonMessage"]
            .as_str()
            .unwrap()
            .contains("2 of 6 rows are invalid"),
        "{report}"
    );
    assert!(
        rows[5]["reasonMessage"]
            .as_str()
            .unwrap()
            .starts_with("amount:"),
        "{report}"
    );
}

#[test]
fn a_dry_run_shows_the_sum_it_would_send() {
    let env = Env::new();
    let file = mixed_file(&env);
    let out = env.run(
        &["payments", "submit"],
        &file,
        &["--dry-run", "--skip-invalid", "--json"],
    );
    assert_exit(&out, 0);
    let summary: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_schema("submit.json", &summary);
    assert_eq!(
        summary["sums"]["valid"],
        json!({"NOK": "107.60", "SEK": "50.25"})
    );
    assert!(
        stderr(&out).contains("4 of 6 rows are valid (107.60 NOK, 50.25 SEK)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_run_that_ends_in_an_error_still_prints_its_json() {
    let env = Env::new();
    let file = mixed_file(&env);
    let out = env
        .amili()
        .args(["payments", "submit"])
        .arg(&file)
        .arg("--json")
        .env("AMILI_CLIENT_SECRET", "wrong")
        .output()
        .unwrap();
    assert_exit(&out, 2);
    let summary: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_schema("submit.json", &summary);
    assert_eq!(summary["exitCode"], 2);
    assert!(
        summary["exitReason"]
            .as_str()
            .unwrap()
            .contains("cannot get an access token"),
        "{summary:#}"
    );
}

#[test]
fn validate_json_lists_every_problem_and_the_sums() {
    let env = Env::new();
    let file = mixed_file(&env);
    let out = env.run(&["payments", "validate"], &file, &["--json"]);
    assert_exit(&out, 2);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_schema("validate.json", &v);
    assert_camel_case(&v);
    assert_eq!(v["rows"], 6);
    assert_eq!(v["valid"], 4);
    assert_eq!(v["invalid"], 2);
    assert_eq!(v["exitCode"], 2);
    assert_eq!(
        v["sums"],
        json!({"valid": {"NOK": "107.60", "SEK": "50.25"}, "invalid": {"SEK": "5.50"}})
    );
    let lines: Vec<u64> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [6, 7]);

    // A valid file; and without --json, the sum in words.
    let good = env.file("good.csv", &csv_rows("V", 2));
    let out = env.run(&["payments", "validate"], &good, &["--json"]);
    assert_exit(&out, 0);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_schema("validate.json", &v);
    assert_eq!(v["problems"], json!([]));
    assert_eq!(v["sums"], json!({"valid": {"NOK": "201.01"}}));
    let out = env.run(&["payments", "validate"], &good, &[]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("2 payments, all valid (201.01 NOK)"),
        "{}",
        stdout(&out)
    );

    // Corrections too: signed amounts, summed exactly.
    let corrections = env.file(
        "c.csv",
        &format!(
            "invoiceId;amount;currency;date;description\n\
             {};-100,50;NOK;10.03.2025;x\n{};+25,00;NOK;10.03.2025;y\n",
            invoice(0),
            invoice(1)
        ),
    );
    let out = env.run(&["corrections", "validate"], &corrections, &["--json"]);
    assert_exit(&out, 0);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_schema("validate.json", &v);
    assert_eq!(v["sums"], json!({"valid": {"NOK": "-75.50"}}));

    // A file that cannot be read at all still gets its object.
    let out = env.output(&["payments", "validate", "missing.csv", "--json"]);
    assert_exit(&out, 2);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_schema("validate.json", &v);
    assert!(
        v["exitReason"].as_str().unwrap().contains("missing.csv"),
        "{v:#}"
    );
}

#[test]
fn the_ledger_exports_camel_case_keys_and_rfc_3339_times() {
    let env = Env::new();
    let (_file, _out) = env.submitted("EXP", 2);

    let out = env.output(&["ledger", "export", "--format", "jsonl"]);
    assert_exit(&out, 0);
    let rows: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_schema("ledger-export.json", row);
        assert_camel_case(row);
        let at = row["updatedAt"].as_str().unwrap();
        assert!(
            at.parse::<amili_payments::DateTime<amili_payments::Utc>>()
                .is_ok(),
            "{at}"
        );
    }

    let out = env.output(&["ledger", "show", "--json"]);
    assert_exit(&out, 0);
    let shown: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_schema("ledger-show.json", &shown);
}

#[test]
fn a_schema_refuses_what_the_commands_must_not_write() {
    // The schemas are strict: an old snake_case key, a float amount, or a missing key fails,
    // so a change to the output that the schema does not follow fails the tests above.
    let mut summary = json!({
        "file": "p.csv", "rows": 1, "batches": 0, "report": null, "problems": [],
        "problemCount": 0, "warnings": [], "exitCode": 0, "exitReason": "x",
        "sums": {"valid": {"NOK": "1.00"}},
        "counts": {"accepted": 0, "succeeded": 0, "failed": 0, "unknown": 0, "rejected": 0,
                   "notSent": 0, "alreadyAccepted": 0, "conflict": 0, "invalid": 0},
    });
    assert_schema("submit.json", &summary);
    with_schema("submit.json", |validator| {
        summary["exit_code"] = json!(0);
        assert!(!validator.is_valid(&summary));
        summary.as_object_mut().unwrap().remove("exit_code");
        summary["sums"]["valid"]["NOK"] = json!(1.0);
        assert!(!validator.is_valid(&summary));
        summary["sums"]["valid"]["NOK"] = json!("1.00");
        summary.as_object_mut().unwrap().remove("problems");
        assert!(!validator.is_valid(&summary));
    });
}

#[test]
fn a_bank_files_json_and_report_keep_to_their_schemas() {
    let env = Env::new();
    let file = env.example("bank-camt054.xml", "camt.xml");
    let naming = [
        "--reference-as",
        "invoiceNumber",
        "--reference-pattern",
        r"^0*(\d+)\d$",
    ];
    let mut args = vec!["--json"];
    args.extend(naming);
    let out = env.run(&["payments", "validate"], &file, &args);
    assert_exit(&out, 1);
    let validated: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_schema("validate.json", &validated);
    assert_eq!(validated["notTaken"], 3);
    assert_eq!(validated["sums"]["notTaken"], json!({"NOK": "205.00"}));

    args.extend(["--report", "r.jsonl"]);
    let out = env.run(&["payments", "submit"], &file, &args);
    assert_exit(&out, 1);
    let summary: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_schema("submit.json", &summary);
    assert_eq!(summary["notTaken"], 3);
    assert_eq!(summary["counts"]["notSent"], 3);
    let report = std::fs::read_to_string(env.dir.path().join("r.jsonl")).unwrap();
    for line in report.lines() {
        assert_schema("report-row.json", &serde_json::from_str(line).unwrap());
    }
}

//! Bank files end to end: `examples/bank-ocr-giro.txt` and `examples/bank-camt054.xml` sent to
//! the sandbox with exactly their credits, what is not a payment reported and held back, and
//! a rerun (or a renamed copy) sending nothing.

mod common;

use std::path::Path;

use amili_payments::Decimal;
use amili_sandbox::DEMO_INVOICES;
use common::{Env, assert_exit, assert_stderr_has, assert_stdout_has, stderr, stdout};

/// The KID names the invoice number: leading zeros and the check digit dropped.
const NAMING: [&str; 4] = [
    "--reference-as",
    "invoiceNumber",
    "--reference-pattern",
    r"^0*(\d+)\d$",
];

/// What the sandbox booked: (id, invoice, amount, currency, date), by id.
fn booked(env: &Env) -> Vec<(String, amili_payments::Uuid, Decimal, String, String)> {
    let mut booked: Vec<_> = env
        .sandbox
        .ledger()
        .into_iter()
        .map(|p| {
            (
                p.unique_source_payment_id,
                p.invoice_id,
                p.amount,
                p.currency,
                p.date,
            )
        })
        .collect();
    booked.sort();
    booked
}

/// The report's rows as (line, outcome, reason, amount and currency).
fn report(path: &Path) -> Vec<(u64, String, String, String)> {
    std::fs::read_to_string(path)
        .expect("the report")
        .lines()
        .map(|line| {
            let row: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            (
                row["line"].as_u64().unwrap_or_default(),
                row["outcome"].as_str().unwrap_or_default().to_owned(),
                row["reasonMessage"].as_str().unwrap_or_default().to_owned(),
                format!(
                    "{} {}",
                    row["amount"].as_str().unwrap_or_default(),
                    row["currency"].as_str().unwrap_or_default()
                ),
            )
        })
        .collect()
}

fn submit(env: &Env, file: &Path, report: &str) -> std::process::Output {
    let mut extra = vec!["--wait", "--report", report];
    extra.extend(NAMING);
    env.run(&["payments", "submit"], file, &extra)
}

fn nok(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

#[test]
fn an_ocr_file_sends_exactly_its_credits_and_a_rerun_sends_nothing() {
    let env = Env::new();
    let file = env.example("bank-ocr-giro.txt", "OCR.D100325.txt");
    let out = submit(&env, &file, "first.jsonl");
    // The reversal and the transaction without a KID are not sent: the operator's to handle.
    assert_exit(&out, 1);
    assert_stderr_has(
        &out,
        "2 bank transactions are not payments and are not sent",
    );
    assert_stderr_has(&out, "handle them by hand");
    let id = |n: u32| format!("ocr:001234567:0000001:{n:07}:20250310");
    // 2025-03-10 in Norway is 23:00 the day before in UTC, as a CSV's day would be.
    let date = "2025-03-09T23:00:00Z".to_owned();
    let expected = vec![
        (
            id(1),
            DEMO_INVOICES[10],
            nok(150000),
            "NOK".to_owned(),
            date.clone(),
        ),
        (
            id(2),
            DEMO_INVOICES[11],
            nok(78050),
            "NOK".to_owned(),
            date.clone(),
        ),
        (
            id(3),
            DEMO_INVOICES[12],
            nok(25000),
            "NOK".to_owned(),
            date.clone(),
        ),
        (
            id(4),
            DEMO_INVOICES[12],
            nok(320000),
            "NOK".to_owned(),
            date.clone(),
        ),
    ];
    assert_eq!(booked(&env), expected);
    let rows = report(&env.dir.path().join("first.jsonl"));
    let outcomes: Vec<(u64, &str, &str)> = rows
        .iter()
        .map(|(l, o, _, m)| (*l, o.as_str(), m.as_str()))
        .collect();
    assert_eq!(
        outcomes,
        [
            (3, "succeeded", "1500.00 NOK"),
            (5, "succeeded", "780.50 NOK"),
            (7, "succeeded", "250.00 NOK"),
            (9, "succeeded", "3200.00 NOK"),
            (11, "not_sent", "-100.00 NOK"),
            (13, "not_sent", "45.00 NOK"),
        ]
    );
    assert!(rows[4].2.contains("a reversal, NOK -100.00"), "{rows:?}");
    assert!(
        rows[5].2.contains("no payment reference, NOK 45.00"),
        "{rows:?}"
    );

    // The same transactions again, under another name: nothing is sent twice.
    let copy = env.file(
        "renamed.txt",
        &std::fs::read_to_string(&file).expect("the example"),
    );
    let requests = env.sandbox.stats().payment_requests;
    let again = submit(&env, &copy, "again.jsonl");
    assert_exit(&again, 1);
    assert_eq!(env.sandbox.stats().payment_requests, requests);
    assert_eq!(booked(&env), expected);
    let outcomes: Vec<String> = report(&env.dir.path().join("again.jsonl"))
        .into_iter()
        .map(|(_, o, _, _)| o)
        .collect();
    assert_eq!(
        outcomes,
        // The first run followed its batches, so the ledger knows they succeeded.
        [
            "succeeded",
            "succeeded",
            "succeeded",
            "succeeded",
            "not_sent",
            "not_sent"
        ]
    );
}

#[test]
fn a_camt054_file_sends_exactly_its_credits_and_a_rerun_sends_nothing() {
    let env = Env::new();
    let file = env.example("bank-camt054.xml", "camt054.xml");
    let out = submit(&env, &file, "first.jsonl");
    assert_exit(&out, 1);
    assert_stderr_has(&out, "3 bank transactions are not payments");
    let id = |n: u32| format!("camt:NO9398765432103:NO-TX-250312-{n:04}");
    let date = "2025-03-11T23:00:00Z".to_owned();
    let expected = vec![
        (
            id(1),
            DEMO_INVOICES[10],
            nok(99000),
            "NOK".to_owned(),
            date.clone(),
        ),
        (
            id(2),
            DEMO_INVOICES[11],
            nok(40000),
            "NOK".to_owned(),
            date.clone(),
        ),
        (
            id(3),
            DEMO_INVOICES[12],
            nok(60000),
            "NOK".to_owned(),
            date.clone(),
        ),
    ];
    assert_eq!(booked(&env), expected);
    let rows = report(&env.dir.path().join("first.jsonl"));
    let held: Vec<&str> = rows
        .iter()
        .filter(|(_, o, _, _)| o == "not_sent")
        .map(|(_, _, r, _)| r.as_str())
        .collect();
    assert_eq!(held.len(), 3, "{rows:?}");
    assert!(held[0].contains("(entry 3 transaction 1): a reversal, NOK -150.00"));
    assert!(held[1].contains("no payment reference, NOK 55.00"));
    assert!(held[2].contains("not booked (status PDNG), NOK 300.00"));

    let requests = env.sandbox.stats().payment_requests;
    let again = submit(&env, &file, "again.jsonl");
    assert_exit(&again, 1);
    assert_eq!(env.sandbox.stats().payment_requests, requests);
    assert_eq!(booked(&env), expected);
}

#[test]
fn validate_prints_what_each_reference_names() {
    let env = Env::new();
    let file = env.example("bank-ocr-giro.txt", "ocr.txt");
    let out = env.run(&["payments", "validate"], &file, &NAMING);
    assert_exit(&out, 1);
    assert_stdout_has(
        &out,
        "line 3: KID 0020250114 → invoiceNumber \"2025011\": NOK 1500.00 on 2025-03-10, id \
         ocr:001234567:0000001:0000001:20250310",
    );
    assert_stdout_has(&out, "line 11: bank transaction not sent: a reversal");
    assert_stdout_has(
        &out,
        "4 payments, all valid (5730.50 NOK); 2 bank transactions",
    );

    let camt = env.example("bank-camt054.xml", "camt.xml");
    let out = env.run(&["payments", "validate"], &camt, &NAMING);
    assert_stdout_has(
        &out,
        "line 3 (entry 2 transaction 2): KID 0020250130 → invoiceNumber \"2025013\"",
    );
}

#[test]
fn a_reference_naming_no_invoice_is_that_lines_problem() {
    let env = Env::new();
    let file = env.example("bank-ocr-giro.txt", "ocr.txt");
    // Without the pattern the whole KID is taken as the number: no invoice has it.
    let out = env.run(
        &["payments", "submit"],
        &file,
        &["--reference-as", "invoiceNumber"],
    );
    assert_exit(&out, 2);
    assert_stderr_has(
        &out,
        "line 3: invoiceNumber: \"0020250114\" matches no invoice",
    );
    assert_eq!(env.booked(), 0);

    // A pattern the reference does not match.
    let out = env.run(
        &["payments", "validate"],
        &file,
        &[
            "--reference-as",
            "invoiceNumber",
            "--reference-pattern",
            r"^(9\d+)$",
        ],
    );
    assert_exit(&out, 2);
    assert_stderr_has(
        &out,
        "line 3: invoiceNumber: \"0020250114\" does not match --reference-pattern",
    );
}

#[test]
fn a_file_that_does_not_add_up_is_refused_whole() {
    let env = Env::new();
    let text = std::fs::read_to_string(common::repo_root().join("examples/bank-ocr-giro.txt"))
        .expect("the example");
    // The transmission's total (record 89) one øre off.
    let broken = text.replace(
        "NY000089000000060000001600000000000567550",
        "NY000089000000060000001600000000000567551",
    );
    assert_ne!(broken, text);
    let file = env.file("broken.txt", &broken);
    let out = submit(&env, &file, "r.jsonl");
    assert_exit(&out, 2);
    assert_stderr_has(&out, "the file does not add up and is refused whole");
    assert_eq!(env.booked(), 0);
    assert_eq!(env.sandbox.stats().payment_requests, 0);
}

#[test]
fn a_bank_file_needs_reference_as_and_holds_no_corrections() {
    let env = Env::new();
    let file = env.example("bank-camt054.xml", "camt.xml");
    let out = env.run(&["payments", "validate"], &file, &[]);
    assert_exit(&out, 2);
    assert_stderr_has(
        &out,
        "--reference-as invoiceNumber, uniqueSourceInvoiceId or invoiceId",
    );
    let out = env.run(&["corrections", "validate"], &file, &NAMING);
    assert_exit(&out, 2);
    assert_stderr_has(&out, "a bank file holds payments, not corrections");
    // Flags for another kind of file are said to be ignored.
    let mut extra = vec!["--decimal", "comma"];
    extra.extend(NAMING);
    let out = env.run(&["payments", "validate"], &file, &extra);
    assert_stderr_has(&out, "--decimal does not apply to a bank file: ignored");
    let csv = env.example("payments.csv", "payments.csv");
    let out = env.run(&["payments", "validate"], &csv, &NAMING[..2]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "--reference-as does not apply to a csv file");
    // `--format` forces the format: this XML is no OCR giro file.
    let mut extra = vec!["--format", "ocr"];
    extra.extend(NAMING);
    let out = env.run(&["payments", "validate"], &file, &extra);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("OCR giro line 1"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
}

//! Usage errors exit 2 with a clear message; secrets never show.

mod common;

use common::{
    Env, amili_bare, assert_exit, assert_stderr_has, assert_usage_error, bare, bare_on, csv_rows,
    stderr, stdout,
};

#[test]
fn a_missing_file_is_a_usage_error() {
    let out = bare(&[
        "payments",
        "submit",
        "/nonexistent/payments.csv",
        "--sandbox",
    ]);
    assert_usage_error(&out, "cannot open /nonexistent/payments.csv");
}

#[test]
fn an_unreadable_or_unknown_file_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    // A directory cannot be read as a file.
    let sub = dir.path().join("data.csv");
    std::fs::create_dir(&sub).unwrap();
    let out = bare_on(&["payments", "validate"], &sub);
    assert_usage_error(&out, "is a directory");

    // No extension and no --format.
    let plain = dir.path().join("payments.txt");
    std::fs::write(&plain, "x").unwrap();
    let out = bare_on(&["payments", "validate"], &plain);
    assert_usage_error(&out, "pass --format csv, jsonl, json, ocr or camt");
}

#[test]
fn the_wrong_format_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("p.json");
    std::fs::write(&json, "{\"invoiceId\": \"x\"}\n").unwrap();
    // A JSON object where an array is expected.
    let out = bare_on(&["payments", "validate"], &json);
    assert_usage_error(&out, "--format jsonl");
    // JSON read as CSV: the header lacks the API's columns.
    let out = bare_on(&["payments", "validate", "--format", "csv"], &json);
    assert_usage_error(&out, "missing columns invoiceId, type");
}

#[test]
fn a_file_without_any_header_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("p.csv");
    std::fs::write(&empty, "").unwrap();
    let out = bare_on(&["payments", "validate"], &empty);
    assert_exit(&out, 2);
    assert_stderr_has(&out, "the file is empty; expected a header row");
}

#[test]
fn a_header_without_rows_is_nothing_to_send() {
    // A scheduled export's empty day: a header, maybe Excel's empty rows, no payments.
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("p.csv");
    std::fs::write(&empty, format!("{}{}", common::HEADER, ",,,,,,\n,,,,,,\n")).unwrap();
    let out = bare_on(&["payments", "submit", "--sandbox"], &empty);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "nothing to send");
    assert_stderr_has(&out, "2 empty rows skipped");
    let out = bare_on(&["payments", "validate"], &empty);
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("no rows"), "{}", stdout(&out));
}

#[test]
fn bad_flags_are_usage_errors() {
    let out = bare(&["payments", "submit", "x.csv", "--chunk-size", "0"]);
    assert_eq!(out.status.code(), Some(2));
    let out = bare(&["payments", "frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn missing_credentials_say_what_to_set() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("p.csv");
    std::fs::write(&input, csv_rows("CRED", 1)).unwrap();
    let out = amili_bare()
        .args(["payments", "submit"])
        .arg(&input)
        .args(["--organization-id", "3fa85f64-5717-4562-b3fc-2c963f66afa6"])
        .output()
        .unwrap();
    assert_usage_error(&out, "AMILI_CLIENT_SECRET");
}

#[test]
fn secrets_are_never_printed() {
    const SECRET: &str = "s3cr3t-do-not-print-4711";
    let env = Env::new();
    env.file("p.csv", &csv_rows("SEC", 2));
    // A wrong secret: the token call fails, the payments are not sent.
    let out = env.output_with(
        &["payments", "submit", "p.csv", "-vv"],
        "AMILI_CLIENT_SECRET",
        SECRET,
    );
    // Refused credentials are a settings error: exit 2, nothing sent.
    assert_exit(&out, 2);
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!all.contains(SECRET), "the secret leaked:\n{all}");
    assert_eq!(env.booked(), 0);

    let out = env.output_with(&["token", "check"], "AMILI_CLIENT_SECRET", SECRET);
    assert_eq!(out.status.code(), Some(1));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!all.contains(SECRET), "the secret leaked:\n{all}");

    // The other commands that fetch a token: corrections, and the look-ups.
    env.file(
        "c.csv",
        &format!(
            "invoiceId,amount,currency,date,description\n{},-1.00,NOK,2025-03-09,x\n",
            common::invoice(0)
        ),
    );
    for command in [
        &["corrections", "submit", "c.csv", "-vv"][..],
        &["invoices", "list", "-vv"],
        &["invoices", "find", "--number", "INV-2025-001", "-vv"],
        &[
            "settlements",
            "list",
            "--from",
            "2025-03-01",
            "--to",
            "2025-03-31",
            "-vv",
        ],
    ] {
        let out = env
            .amili()
            .env("AMILI_CLIENT_SECRET", SECRET)
            .args(command)
            .output()
            .unwrap();
        assert_ne!(out.status.code(), Some(0), "{command:?}");
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(
            !all.contains(SECRET),
            "{command:?}: the secret leaked:\n{all}"
        );
        assert!(
            all.contains("401") || all.contains("token"),
            "{command:?}: {all}"
        );
    }
    assert!(env.sandbox.corrections().is_empty());

    let out = env.output_with(
        &["payments", "submit", "--help"],
        "AMILI_CLIENT_SECRET",
        SECRET,
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(!stdout(&out).contains(SECRET));
    assert!(stdout(&out).contains("--client-secret"));
}

#[test]
fn a_utf16_file_is_refused_saying_how_to_save_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.csv");
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(common::HEADER.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    std::fs::write(&path, utf16).unwrap();
    let out = bare_on(&["payments", "validate"], &path);
    assert_exit(&out, 2);
    assert_stderr_has(&out, "is UTF-16");
}

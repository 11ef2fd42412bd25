//! `amili invoices …` and `amili settlements …` against the sandbox over loopback: the
//! sandbox pages invoices by 4 and settlements by 3, so every listing here crosses pages.

mod common;

use std::process::Output;
use std::time::Duration;

use amili_payments::NaiveDate;
use amili_sandbox::{DEMO_INVOICES, Fault, Route, parse_invoice_csv};
use common::{
    Env, HEADER, amili_bare, assert_exit, assert_stderr_has, assert_stdout_has, assert_usage_error,
    fault_status, stderr, stdout,
};
use serde_json::Value;

const UNKNOWN: &str = "00000000-0000-4000-8000-000000000000";

/// `amili ARGS` with no connection settings (for `--sandbox`).
fn run_bare(args: &[&str]) -> Output {
    amili_bare().args(args).output().unwrap()
}

/// The JSON Lines of a run's stdout.
fn json_lines(out: &Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn ids(lines: &[Value], field: &str) -> Vec<String> {
    lines
        .iter()
        .map(|v| v[field].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn demo_ids(indexes: &[usize]) -> Vec<String> {
    indexes
        .iter()
        .map(|&i| DEMO_INVOICES[i].to_string())
        .collect()
}

/// The value of a `key  value` line of a record.
fn field(text: &str, key: &str) -> Option<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix(key))
        .find(|rest| rest.starts_with("  "))
        .map(|rest| rest.trim().to_owned())
}

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

#[test]
fn invoices_get_prints_one_invoice_and_names_an_unknown_id() {
    let env = Env::new();
    let first = DEMO_INVOICES[0].to_string();
    let out = env.output(&["invoices", "get", &first]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    for (key, value) in [
        ("invoice", first.as_str()),
        ("number", "INV-2025-001"),
        ("source id", "erp-order-9981"),
        ("customer", "10001"),
        ("type", "PAYMENT_REMINDER"),
        ("status", "OPEN"),
        ("created", "2025-03-01T09:00:00Z"),
    ] {
        assert_eq!(
            field(&text, key).as_deref(),
            Some(value),
            "{key} in\n{text}"
        );
    }
    let out = env.output(&["invoices", "get", &first, "--json"]);
    assert_exit(&out, 0);
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["id"], first.as_str());
    assert_eq!(got["invoiceNumber"], "INV-2025-001");

    let out = env.output(&["invoices", "get", UNKNOWN]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("invoice {UNKNOWN}")) && err.contains("404"),
        "{err}"
    );

    let out = env.output(&["invoices", "get", "INV-2025-001"]);
    assert_usage_error(&out, "'INV-2025-001'");
    assert_eq!(env.sandbox.stats().invoice_reads, 3, "a bad id is not sent");
}

#[test]
fn invoices_list_follows_every_page_and_stops_at_the_limit() {
    let env = Env::new();
    let out = env.output(&["invoices", "list", "--json"]);
    assert_exit(&out, 0);
    let lines = json_lines(&out);
    let every: Vec<usize> = (0..DEMO_INVOICES.len()).collect();
    assert_eq!(ids(&lines, "id"), demo_ids(&every));
    assert_eq!(
        env.sandbox.stats().invoice_reads,
        4,
        "13 invoices, 4 a page"
    );

    // The limit is reached on the second page: no third page is asked for.
    let out = env.output(&["invoices", "list", "--json", "--limit", "5"]);
    assert_exit(&out, 0);
    assert_eq!(ids(&json_lines(&out), "id"), demo_ids(&[0, 1, 2, 3, 4]));
    assert_eq!(env.sandbox.stats().invoice_reads, 4 + 2);

    let out = env.output(&["invoices", "list"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 14, "a header and 13 invoices:\n{text}");
    assert!(rows[0].starts_with("INVOICE") && rows[0].contains("SOURCE ID"));
    for field in [
        DEMO_INVOICES[2].to_string().as_str(),
        "INV-2025-003",
        "erp-order-9983",
        "10003",
        "NOTICE",
        "OPEN",
        "2025-03-03T09:00:00Z",
    ] {
        assert!(rows[3].contains(field), "{field} in {}", rows[3]);
    }
    assert_stderr_has(&out, "13 invoices");
}

#[test]
fn invoices_list_filters_combine() {
    let env = Env::new();
    let list = |args: &[&str]| {
        let out = env
            .amili()
            .args(["invoices", "list", "--json"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        ids(&json_lines(&out), "id")
    };
    // Case does not matter for the open sets.
    assert_eq!(list(&["--type", "notice"]), demo_ids(&[2, 5, 8, 11]));
    assert_eq!(
        list(&["--customer-number", "10001"]),
        demo_ids(&[0, 3, 6, 9, 12])
    );
    assert_eq!(
        list(&["--customer-number", "10001", "--type", "PAYMENT_REMINDER"]),
        demo_ids(&[0, 3, 6, 9, 12])
    );
    assert_eq!(list(&["--invoice-number", "INV-2025-007"]), demo_ids(&[6]));
    assert_eq!(list(&["--source-id", "erp-order-9990"]), demo_ids(&[9]));
    assert_eq!(list(&["--status", "PAID"]), Vec::<String>::new());
    // Days are midnight in Norway; --from is inclusive, --to exclusive.
    assert_eq!(
        list(&["--from", "2025-03-02", "--to", "04.03.2025"]),
        demo_ids(&[1, 2])
    );
    assert_eq!(
        list(&["--from", "2025-03-09T09:00:00Z"]),
        demo_ids(&[8, 9, 10, 11, 12])
    );

    let out = env.output(&["invoices", "list", "--from", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("--from") && err.contains("yesterday"), "{err}");

    let out = env.output(&[
        "invoices",
        "list",
        "--from",
        "2025-03-05",
        "--to",
        "2025-03-01",
    ]);
    assert_usage_error(&out, "is after --to");
}

#[test]
fn a_listing_that_fails_midway_says_so_and_exits_1() {
    let env = Env::new();
    let faults = env.sandbox.faults();
    faults.push(Route::ListInvoices, Fault::Delay(Duration::ZERO));
    faults.push(Route::ListInvoices, fault_status(403));
    let out = env.output(&["invoices", "list", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_lines(&out).len(), 4, "the first page was printed");
    let err = stderr(&out);
    assert!(
        err.contains("listing invoices") && err.contains("403"),
        "{err}"
    );
}

#[test]
fn invoice_amounts_are_printed_exactly() {
    let priced = parse_invoice_csv(
        "priced.csv",
        "invoiceId,invoiceNumber,originalInvoiceAmount,currency\n\
         7b0c1d3e-0000-4000-8000-0000000000a1,BIG-1,1234567890123.45,NOK\n\
         7b0c1d3e-0000-4000-8000-0000000000a2,SMALL-1,0.30,SEK\n",
    )
    .unwrap();
    let env = Env::with(|b| b.demo_invoices(false).seed_invoice_records(priced));

    let out = env.output(&["invoices", "list"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert!(rows[1].contains(" 1234567890123.45 NOK "), "{}", rows[1]);
    assert!(rows[2].contains(" 0.3 SEK "), "{}", rows[2]);

    let out = env.output(&["invoices", "find", "--number", "BIG-1"]);
    assert_exit(&out, 0);
    assert_eq!(
        field(&stdout(&out), "amount").as_deref(),
        Some("1234567890123.45 NOK")
    );

    let out = env.output(&["invoices", "list", "--json"]);
    let lines = json_lines(&out);
    assert_eq!(lines[0]["originalInvoiceAmount"], "1234567890123.45");
    assert_eq!(lines[1]["currency"], "SEK");
}

#[test]
fn invoices_find_exactly_one_none_or_ambiguous() {
    let twins = parse_invoice_csv(
        "twins.csv",
        "invoiceId,invoiceNumber,uniqueSourceInvoiceId\n\
         7b0c1d3e-0000-4000-8000-000000000001,DUP-1,erp-a\n\
         7b0c1d3e-0000-4000-8000-000000000002,DUP-1,erp-b\n",
    )
    .unwrap();
    let env = Env::with(|b| b.seed_invoice_records(twins));

    let out = env.output(&["invoices", "find", "--number", "INV-2025-003", "--json"]);
    assert_exit(&out, 0);
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["id"], DEMO_INVOICES[2].to_string());

    let out = env.output(&["invoices", "find", "--source-id", "erp-b"]);
    assert_exit(&out, 0);
    assert_eq!(
        field(&stdout(&out), "invoice").as_deref(),
        Some("7b0c1d3e-0000-4000-8000-000000000002"),
        "{}",
        stdout(&out)
    );

    let out = env.output(&["invoices", "find", "--number", "INV-404"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).is_empty());
    assert_stderr_has(&out, r#"invoiceNumber "INV-404": no invoice matches"#);

    let out = env.output(&["invoices", "find", "--number", "DUP-1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).is_empty());
    let err = stderr(&out);
    assert!(
        err.contains(r#"invoiceNumber "DUP-1": 2 invoices match"#)
            && err.contains("7b0c1d3e-0000-4000-8000-000000000001")
            && err.contains("7b0c1d3e-0000-4000-8000-000000000002"),
        "{err}"
    );

    for args in [
        &["invoices", "find"][..],
        &["invoices", "find", "--number", "A", "--source-id", "B"],
    ] {
        let out = env.amili().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_stderr_has(&out, "--number");
    }
}

#[test]
fn settlements_list_a_range_of_days_exactly() {
    let env = Env::new();
    // Two payments on one invoice settle as one: 0.10 + 0.20 is exactly 0.3 (not
    // 0.30000000000000004, as through f64).
    let mut csv = HEADER.to_owned();
    csv.push_str(&format!(
        "{},DIRECT_PAYMENT,0.10,NOK,2025-03-01,a,S-a\n{},DIRECT_PAYMENT,0.20,NOK,2025-03-01,b,S-b\n",
        DEMO_INVOICES[0], DEMO_INVOICES[0]
    ));
    for (i, invoice) in DEMO_INVOICES.iter().enumerate().take(7).skip(1) {
        csv.push_str(&format!(
            "{invoice},DIRECT_PAYMENT,1000.0{i},NOK,2025-03-01,p,S-{i}\n"
        ));
    }
    env.file("p.csv", &csv);
    let out = env.output(&["payments", "submit", "p.csv", "--wait"]);
    assert_exit(&out, 0);
    // 7 settlements on March 10th, then one more on the 11th.
    assert_eq!(env.sandbox.settle(day("2025-03-10")).len(), 7);
    env.file(
        "q.csv",
        &format!(
            "{HEADER}{},DIRECT_PAYMENT,5,NOK,2025-03-02,c,S-late\n",
            DEMO_INVOICES[9]
        ),
    );
    let out = env.output(&["payments", "submit", "q.csv", "--wait"]);
    assert_exit(&out, 0);
    assert_eq!(env.sandbox.settle(day("2025-03-11")).len(), 1);

    // `settlements list --from F --to T MORE…`, which must succeed.
    let list = |from: &str, to: &str, more: &[&str]| {
        let mut args = vec!["settlements", "list", "--from", from, "--to", to];
        args.extend(more);
        let out = env.output(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        out
    };
    let reads = env.sandbox.stats().settlement_reads;
    let out = list("2025-03-01", "10.03.2025", &["--json"]);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 7, "the 11th is outside");
    assert_eq!(env.sandbox.stats().settlement_reads - reads, 3, "3 a page");
    assert_eq!(ids(&lines, "invoiceId"), demo_ids(&[0, 1, 2, 3, 4, 5, 6]));
    assert_eq!(lines[0]["amount"].to_string(), r#""0.3""#);

    let out = list("2025-03-10", "2025-03-11", &[]);
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1 + 8, "{text}");
    let first = text.lines().nth(1).unwrap_or_default();
    assert!(
        first.contains("2025-03-10")
            && first.contains(" 0.3 NOK ")
            && first.contains("INV-2025-001"),
        "{first}"
    );
    // 0.3 + 1000.01 + … + 1000.06 + 5, exactly.
    assert_stderr_has(&out, "8 settlements, total NOK 6005.51");

    let out = list("2025-03-01", "2025-03-31", &["--limit", "2", "--json"]);
    assert_eq!(json_lines(&out).len(), 2);

    let late = env
        .sandbox
        .settlements()
        .into_iter()
        .find(|s| s.settlement_date == day("2025-03-11"))
        .unwrap();
    let out = env.output(&["settlements", "get", &late.id.to_string()]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    for (key, value) in [
        ("settlement", late.id.to_string()),
        ("date", "2025-03-11".to_owned()),
        ("amount", "5 NOK".to_owned()),
        ("invoice", DEMO_INVOICES[9].to_string()),
        ("number", "INV-2025-010".to_owned()),
        ("collection", "REMINDER".to_owned()),
    ] {
        assert_eq!(field(&text, key), Some(value), "{key} in\n{text}");
    }

    let out = env.output(&["settlements", "get", UNKNOWN]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("settlement {UNKNOWN}")) && err.contains("404"),
        "{err}"
    );
}

#[test]
fn settlement_days_are_checked_before_anything_is_sent() {
    let env = Env::new();
    for (args, flag, value) in [
        (
            ["--from", "2025-13-01", "--to", "2025-03-31"],
            "--from",
            "2025-13-01",
        ),
        (
            ["--from", "2025-03-01", "--to", "31/03/2025"],
            "--to",
            "31/03/2025",
        ),
    ] {
        let out = env
            .amili()
            .args(["settlements", "list"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains(flag) && err.contains(value), "{err}");
    }
    let out = env.output(&[
        "settlements",
        "list",
        "--from",
        "2025-03-31",
        "--to",
        "2025-03-01",
    ]);
    assert_usage_error(&out, "--from 2025-03-31 is after --to 2025-03-01");
    assert_eq!(env.sandbox.stats().token_requests, 0, "nothing was sent");
}

#[test]
fn lookups_work_against_the_embedded_sandbox() {
    let out = run_bare(&["invoices", "list", "--sandbox", "--json"]);
    assert_exit(&out, 0);
    assert_eq!(json_lines(&out).len(), DEMO_INVOICES.len());

    let out = run_bare(&[
        "invoices",
        "find",
        "--source-id",
        "erp-order-9981",
        "--sandbox",
    ]);
    assert_exit(&out, 0);
    assert_stdout_has(&out, "INV-2025-001");

    let out = run_bare(&[
        "settlements",
        "list",
        "--from",
        "2025-01-01",
        "--to",
        "2025-12-31",
        "--sandbox",
    ]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "0 settlements");
}

#[test]
fn a_reader_that_stops_early_ends_the_listing_quietly() {
    // More JSON than a pipe holds, so the command is still writing when the reader leaves.
    let many: Vec<amili_sandbox::SeedInvoice> = (0..600u128)
        .map(|n| {
            amili_sandbox::SeedInvoice::new(
                uuid::Uuid::from_u128(0x5eed_0000_0000_4000_8000_0000_0000_0000 + n),
                format!("BULK-{n:04}-{}", "x".repeat(100)),
            )
        })
        .collect();
    let env = Env::with(|b| b.seed_invoice_records(many));
    let mut child = env
        .amili_std()
        .args(["invoices", "list", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut reader, &mut first).unwrap();
    assert!(first.contains(&DEMO_INVOICES[0].to_string()), "{first}");
    drop(reader);
    let out = child.wait_with_output().unwrap();
    assert_exit(&out, 0);
    // Only the line naming the Amili in use: no error about the closed pipe.
    let said = stderr(&out);
    assert!(
        said.lines().count() == 1 && said.starts_with("using a custom Amili at "),
        "{said}"
    );
    let pages = env.sandbox.stats().invoice_reads;
    assert!(pages < 610 / 4, "it stopped asking for pages: {pages}");
}

//! Payment files as people have them: Excel with Norwegian settings (`;`, decimal comma,
//! no-break-space thousands, BOM, CRLF, dd.mm.yyyy), headers in other case, and the
//! fix-and-rerun loop.

mod common;

use amili_payments::Decimal;
use common::{Env, assert_exit, assert_stdout_has, stderr, stdout};

fn excel_example() -> String {
    std::fs::read_to_string(common::repo_root().join("examples/payments-excel-no.csv")).unwrap()
}

#[test]
fn an_excel_file_is_booked_with_the_amounts_it_shows() {
    let env = Env::new();
    let text = excel_example();
    env.file("excel.csv", &text);
    let out = env.output(&["payments", "submit", "excel.csv", "--wait"]);
    assert_exit(&out, 0);
    // Every amount of the file, in major units, is what the sandbox booked.
    let mut expected: Vec<(String, Decimal)> = text
        .trim_start_matches('\u{feff}')
        .lines()
        .skip(1)
        .map(|line| {
            let cells: Vec<&str> = line.trim_end_matches('\r').split(';').collect();
            let amount = cells[2].replace(['\u{a0}', ' '], "").replace(',', ".");
            (cells[6].to_owned(), amount.parse().unwrap())
        })
        .collect();
    let mut booked: Vec<(String, Decimal)> = env
        .sandbox
        .ledger()
        .into_iter()
        .map(|p| (p.unique_source_payment_id, p.amount.normalize()))
        .collect();
    expected.iter_mut().for_each(|e| e.1 = e.1.normalize());
    expected.sort();
    booked.sort();
    assert_eq!(booked, expected);
    assert!(
        expected.iter().any(|(_, a)| *a >= Decimal::new(1000, 0)),
        "thousands covered"
    );
}

#[test]
fn a_bad_row_in_an_excel_file_is_named_by_its_physical_line() {
    let env = Env::new();
    // Row 4 of the file (line 4 with the header as line 1) gets an ambiguous amount.
    let text: Vec<String> = excel_example()
        .split("\r\n")
        .enumerate()
        .map(|(i, line)| {
            if i == 3 {
                let mut cells: Vec<&str> = line.split(';').collect();
                cells[2] = "1.250";
                cells.join(";")
            } else {
                line.to_owned()
            }
        })
        .collect();
    env.file("excel.csv", &text.join("\r\n"));
    let out = env.output(&["payments", "submit", "excel.csv"]);
    let se = stderr(&out);
    assert_exit(&out, 2);
    assert!(se.contains("line 4: amount: \"1.250\""), "{se}");
    assert!(se.contains("reads two ways"), "{se}");
    assert_eq!(env.sandbox.stats().payment_requests, 0);
}

#[test]
fn fix_and_rerun_sends_only_the_fixed_rows() {
    let env = Env::new();
    let good = common::csv_rows("FIX", 4);
    // Line 3 (FIX-1) has a bad amount.
    let broken = good.replacen(",101.01,", ",101.0.1,", 1);
    assert_ne!(broken, good);
    env.file("p.csv", &broken);
    let args = ["payments", "submit", "p.csv", "--wait"];
    let out = env
        .amili()
        .args(args)
        .arg("--skip-invalid")
        .output()
        .unwrap();
    assert_exit(&out, 1);
    assert_stdout_has(&out, "3 succeeded, 1 invalid");
    let requests = env.sandbox.stats().payment_requests;

    // Fixed, and run again: only the fixed row is sent; the others are known as accepted.
    env.file("p.csv", &good);
    let out = env.amili().args(args).output().unwrap();
    let so = stdout(&out);
    assert_exit(&out, 0);
    assert!(so.contains("4 succeeded"), "{so}");
    assert_eq!(
        so.matches("succeeded earlier; not sent again").count(),
        3,
        "{so}"
    );
    assert_eq!(env.sandbox.stats().payment_requests, requests + 1);
    for i in 0..4 {
        assert_eq!(env.sandbox.times_booked(&format!("FIX-{i}")), 1);
    }
}

#[test]
fn a_wrong_url_first_does_not_block_the_corrected_run() {
    let env = Env::new();
    env.file("p.csv", &common::csv_rows("URL", 2));
    let out = env
        .amili()
        .args(["payments", "submit", "p.csv"])
        .env("AMILI_API_URL", "http://127.0.0.1:9/collection/v1")
        .env("AMILI_TIMEOUT", "2")
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0), "{}", stdout(&out));
    let out = env.output(&["payments", "submit", "p.csv"]);
    assert_exit(&out, 0);
    // The failed run reached nothing; the corrected one sent the file once.
    assert_eq!(env.sandbox.stats().payment_requests, 1);
}

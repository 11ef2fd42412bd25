//! Files as Norwegian offices save them: Windows-1252 from Excel's "CSV
//! (semikolonseparert)", Norwegian column names, trailing empty rows, no type or currency
//! column; standard input; and a file given to the wrong command.

mod common;

use std::io::Write as _;
use std::process::Stdio;

use amili_payments::Decimal;
use common::{Env, assert_exit, assert_stderr_has, stderr, stdout};

/// An Excel export with Norwegian settings, as Windows-1252 bytes: the invoices named by
/// number, no type and no currency column, Excel's empty rows at the end.
fn excel_1252() -> Vec<u8> {
    let text = "Fakturanr;Beløp;Betalingsdato;Tekst;Bilagsnr\r\n\
                INV-2025-001;1\u{a0}500,50;03.03.2025;Innbetaling Ærlige Østby – KID 001;BILAG-1\r\n\
                INV-2025-002;780,25;04.03.2025;Avtalegiro «mars»;BILAG-2\r\n\
                ;;;;\r\n\
                ;;;;\r\n";
    text.chars()
        .map(|c| match c {
            '–' => 0x96,
            c => u8::try_from(u32::from(c)).expect("a Latin-1 character"),
        })
        .collect()
}

const MAPPING: [&str; 10] = [
    "--column",
    "Fakturanr=invoiceNumber",
    "--column",
    "Beløp=amount",
    "--column",
    "betalingsdato=date",
    "--column",
    "Tekst=description",
    "--column",
    "Bilagsnr=uniqueSourcePaymentId",
];

#[test]
fn an_excel_file_in_windows_1252_with_norwegian_columns_is_booked_exactly() {
    let env = Env::new();
    let path = env.dir.path().join("bank.csv");
    std::fs::write(&path, excel_1252()).unwrap();
    let mut args = vec!["payments", "submit", "bank.csv", "--wait"];
    args.extend(MAPPING);
    args.extend(["--type", "direct_payment", "--currency", "nok"]);
    let out = env.output(&args);
    assert_exit(&out, 0);
    let err = stderr(&out);
    assert!(
        err.contains("bank.csv is not UTF-8; reading it as Windows-1252"),
        "{err}"
    );
    assert_eq!(err.matches("not UTF-8").count(), 1, "{err}");
    assert!(err.contains("2 empty rows skipped"), "{err}");
    let mut booked: Vec<_> = env
        .sandbox
        .ledger()
        .into_iter()
        .map(|p| {
            (
                p.unique_source_payment_id,
                p.amount.normalize(),
                p.currency,
                p.payment_type,
                p.description,
            )
        })
        .collect();
    booked.sort();
    let expected = |id: &str, amount: i64, description: &str| {
        (
            id.to_owned(),
            Decimal::new(amount, 2).normalize(),
            "NOK".to_owned(),
            "DIRECT_PAYMENT".to_owned(),
            description.to_owned(),
        )
    };
    assert_eq!(
        booked,
        [
            expected("BILAG-1", 150050, "Innbetaling Ærlige Østby – KID 001"),
            expected("BILAG-2", 78025, "Avtalegiro «mars»"),
        ]
    );
}

#[test]
fn norwegian_columns_without_a_mapping_are_refused_naming_them_and_the_accepted_names() {
    let env = Env::new();
    let path = env.dir.path().join("bank.csv");
    std::fs::write(&path, excel_1252()).unwrap();
    let out = env.output(&["payments", "validate", "bank.csv"]);
    assert_exit(&out, 2);
    let err = stderr(&out);
    for said in [
        "unknown columns \"Fakturanr\", \"Beløp\"",
        "invoiceId (or invoiceNumber, uniqueSourceInvoiceId)",
        "--column NAME=FIELD",
        "--currency",
    ] {
        assert!(err.contains(said), "{said}: {err}");
    }
    assert!(!err.contains("--delimiter"), "{err}");
}

#[test]
fn a_bad_row_of_a_windows_1252_file_is_named_by_its_physical_line() {
    let env = Env::new();
    // The second data row (line 3) gets an amount that reads two ways.
    let mut bad = excel_1252();
    let at = bad.windows(6).position(|w| w == b"780,25").unwrap();
    bad.splice(at..at + 6, *b"1.250");
    let path = env.dir.path().join("bank.csv");
    std::fs::write(&path, bad).unwrap();
    let mut args = vec![
        "payments",
        "validate",
        "bank.csv",
        "--type",
        "DIRECT_PAYMENT",
    ];
    args.extend(MAPPING);
    args.extend(["--currency", "NOK"]);
    let out = env.output(&args);
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(err.contains("bank.csv: line 3: amount: \"1.250\""), "{err}");
    assert_eq!(err.matches("line ").count(), 1, "{err}");
}

#[test]
fn an_unknown_column_is_refused_then_accepted_when_ignored() {
    let env = Env::new();
    let text = common::csv_rows("IGN", 2).replacen(
        "uniqueSourcePaymentId",
        "uniqueSourcePaymentId,Avdeling",
        1,
    );
    let text: String = text
        .lines()
        .enumerate()
        .map(|(i, line)| {
            if i == 0 {
                format!("{line}\n")
            } else {
                format!("{line},Oslo\n")
            }
        })
        .collect();
    let file = env.file("p.csv", &text);
    let out = env.run(&["payments", "submit"], &file, &[]);
    assert_exit(&out, 2);
    assert_stderr_has(&out, "unknown column \"Avdeling\"");
    assert_eq!(env.booked(), 0);
    let out = env.run(
        &["payments", "submit"],
        &file,
        &["--ignore-column", "avdeling", "--wait"],
    );
    assert_exit(&out, 0);
    assert_eq!(env.booked(), 2);
}

#[test]
fn a_payment_file_given_to_corrections_is_refused_naming_payments_submit() {
    let env = Env::new();
    let file = env.example("payments.csv", "payments.csv");
    let out = env.run(&["corrections", "submit"], &file, &["--wait"]);
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(err.contains("use `amili payments submit`"), "{err}");
    assert_eq!(env.sandbox.corrections().len(), 0);
}

#[test]
fn lower_case_types_and_currencies_are_read() {
    let env = Env::new();
    let text = common::csv_rows("LOW", 2)
        .replace(",DIRECT_PAYMENT,", ",direct_payment,")
        .replace(",NOK,", ",nok,");
    let file = env.file("p.csv", &text);
    let out = env.run(&["payments", "submit"], &file, &["--wait"]);
    assert_exit(&out, 0);
    assert!(
        env.sandbox
            .ledger()
            .iter()
            .all(|p| p.currency == "NOK" && p.payment_type == "DIRECT_PAYMENT")
    );
}

/// `amili ARGS -` with `input` on standard input.
fn with_stdin(env: &Env, args: &[&str], input: &[u8]) -> std::process::Output {
    let mut child = env
        .amili_std()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input).unwrap();
    drop(stdin);
    child.wait_with_output().unwrap()
}

#[test]
fn a_dash_reads_standard_input_as_csv_or_json_by_content() {
    let env = Env::new();
    let csv = common::csv_rows("STDIN", 3);
    let out = with_stdin(&env, &["payments", "submit", "-", "--wait"], csv.as_bytes());
    assert_exit(&out, 0);
    assert_eq!(env.booked(), 3);
    let json = format!(
        "[{{\"invoiceId\":\"{}\",\"type\":\"DIRECT_PAYMENT\",\"amount\":\"12.50\",\"currency\":\
         \"NOK\",\"date\":\"2025-03-01\",\"uniqueSourcePaymentId\":\"STDIN-JSON\"}}]",
        common::invoice(0)
    );
    let out = with_stdin(&env, &["payments", "validate", "-"], json.as_bytes());
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("1 payment, all valid"),
        "{}",
        stdout(&out)
    );
}

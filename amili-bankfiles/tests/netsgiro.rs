//! Differential test against netsgiro (PyPI, pinned in `tests/requirements.txt`): random valid
//! OCR giro files written by netsgiro's own writer, and our fixtures, read by both; every
//! record field, amount, KID, date and control figure must agree.
//!
//! Needs `bash scripts/second-opinions.sh` (fails, never skips, without it).

mod support;

use std::ffi::OsStr;
use std::path::Path;

use amili_bankfiles::ocr::records::Record;
use amili_bankfiles::ocr::{OcrReader, OcrRecords};
use amili_bankfiles::{Item, read_checked};
use rust_decimal::Decimal;
use serde_json::{Value, json};

fn oracle() -> &'static OsStr {
    OsStr::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/netsgiro_oracle.py"
    ))
}

fn date(d: Option<chrono::NaiveDate>) -> Value {
    d.map_or(Value::Null, |d| json!(d.to_string()))
}

/// Our record layer in the oracle's JSON shape.
fn ours(record: &Record) -> Value {
    match record {
        Record::TransmissionStart(r) => json!({"type": 10,
            "transmission_number": r.transmission_number, "data_transmitter": r.data_transmitter,
            "data_recipient": r.data_recipient}),
        Record::TransmissionEnd(r) => json!({"type": 89, "transactions": r.transactions,
            "records": r.records, "total": r.total_ore as i64, "date": date(r.date)}),
        Record::AssignmentStart(r) => json!({"type": 20, "service_code": r.service_code,
            "agreement_id": r.agreement_id, "assignment_number": r.assignment_number,
            "account": r.account}),
        Record::AssignmentEnd(r) => json!({"type": 88, "transactions": r.transactions,
            "records": r.records, "total": r.total_ore as i64, "date": date(r.date),
            "earliest": date(r.earliest), "latest": date(r.latest)}),
        Record::AmountItem1(r) => json!({"type": 30, "transaction_type": r.transaction_type,
            "number": r.transaction_number, "date": r.settlement_date.to_string(),
            "amount": r.amount_ore, "negative": r.negative, "kid": r.kid,
            "centre_id": r.centre_id, "serial_number": r.serial_number}),
        Record::AmountItem2(r) => {
            let reference = r.archive_reference.trim();
            json!({"type": 31, "transaction_type": r.transaction_type,
                "number": r.transaction_number, "form_number": r.form_number,
                "archive_reference": (!reference.is_empty()).then_some(reference),
                "bank_date": date(r.bank_date), "debit_account": r.debit_account})
        }
        Record::AmountItem3(r) => {
            let text = r.text.trim();
            json!({"type": 32, "transaction_type": r.transaction_type,
                "number": r.transaction_number, "text": (!text.is_empty()).then_some(text)})
        }
        other => panic!("unexpected record {other:?}"),
    }
}

/// Compares one file's records with netsgiro's, and the credit view with the amount items.
fn compare(path: &Path, theirs: &[Value]) -> usize {
    let bytes = std::fs::read(path).expect("file");
    let records: Vec<_> = OcrRecords::new(&bytes[..])
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        records.len(),
        theirs.len(),
        "{}: number of records",
        path.display()
    );
    for (ours_record, theirs) in records.iter().zip(theirs) {
        assert_eq!(
            &ours(&ours_record.record),
            theirs,
            "{} line {}",
            path.display(),
            ours_record.line
        );
    }
    // Every control figure adds up for us too, and the credit view carries the amount
    // items' amount, KID and date.
    read_checked(std::io::Cursor::new(&bytes))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let items: Vec<Item> = OcrReader::new(&bytes[..])
        .collect::<Result<_, _>>()
        .expect("reads");
    let amount_items: Vec<&Value> = theirs.iter().filter(|r| r["type"] == 30).collect();
    assert_eq!(items.len(), amount_items.len(), "{}", path.display());
    for (item, theirs) in items.iter().zip(amount_items) {
        let credit = match item {
            Item::Credit(c) => c,
            Item::NotTaken(n) => n.transaction.as_ref().expect("a transaction"),
        };
        let ore = theirs["amount"].as_i64().expect("øre");
        let sign = if theirs["negative"] == true { -1 } else { 1 };
        assert_eq!(
            credit.amount,
            Decimal::new(sign * ore, 2),
            "{}",
            path.display()
        );
        assert_eq!(
            credit
                .reference
                .as_ref()
                .map(|r| json!(r.value))
                .unwrap_or(Value::Null),
            theirs["kid"]
        );
        assert_eq!(json!(credit.booking_date.to_string()), theirs["date"]);
    }
    records.len()
}

fn files(json: &str) -> Vec<(String, Vec<Value>)> {
    let parsed: Value = serde_json::from_str(json).expect("oracle JSON");
    parsed["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            (
                f["file"].as_str().expect("name").to_owned(),
                f["records"].as_array().expect("records").clone(),
            )
        })
        .collect()
}

#[test]
fn random_files_written_by_netsgiro_read_the_same() {
    let dir = tempfile::tempdir().expect("tempdir");
    let seed = std::env::var("AMILI_NETSGIRO_SEED").unwrap_or_else(|_| "20261207".into());
    let json = support::run_python(&[
        oracle(),
        OsStr::new("generate"),
        dir.path().as_os_str(),
        OsStr::new("80"),
        OsStr::new(&seed),
    ]);
    let files = files(&json);
    assert_eq!(files.len(), 80);
    let mut records = 0;
    let mut kinds = std::collections::BTreeSet::new();
    let mut negatives = 0;
    for (file, theirs) in &files {
        records += compare(Path::new(file), theirs);
        for r in theirs.iter().filter(|r| r["type"] == 30) {
            kinds.insert(r["transaction_type"].as_u64().expect("type"));
            negatives += usize::from(r["negative"] == true);
        }
    }
    // The generator covered what it should (seed {seed}).
    assert!(records > 1000, "{records} records");
    assert_eq!(kinds.len(), 12, "transaction types 10–21: {kinds:?}");
    assert!(negatives > 10, "{negatives} negative amounts");
}

#[test]
fn our_fixtures_read_the_same_in_netsgiro() {
    let names = ["ocr-demo.ocr", "ocr-lf-no-final-newline.ocr"];
    let paths: Vec<_> = names.iter().map(|n| support::fixture(n)).collect();
    let mut args = vec![oracle(), OsStr::new("parse")];
    args.extend(paths.iter().map(|p| p.as_os_str()));
    let files = files(&support::run_python(&args));
    assert_eq!(files.len(), names.len());
    for (path, (_, theirs)) in paths.iter().zip(&files) {
        compare(path, theirs);
    }
}

//! Payment files that name invoices by `invoiceNumber` or `uniqueSourceInvoiceId`: resolved
//! through the sandbox's invoice look-ups before anything is sent.

mod common;

use amili_payments::Uuid;
use amili_sandbox::{DEMO_INVOICES, Fault, Route, SeedInvoice};
use common::{Env, assert_exit, assert_stderr_has, assert_stdout_has, fault_status, stderr};
use serde_json::Value;

const BY_NUMBER: &str =
    "invoiceNumber,type,amount,currency,date,description,uniqueSourcePaymentId\n";

#[test]
fn payments_named_by_invoice_number_are_booked_on_their_invoices() {
    let env = Env::new();
    let input = env.file(
        "by-number.csv",
        &format!(
            "{BY_NUMBER}\
             INV-2025-001,DIRECT_PAYMENT,100.00,NOK,2025-03-09,a,REF-1\n\
             INV-2025-003,DIRECT_PAYMENT,200.00,NOK,2025-03-09,b,REF-2\n\
             INV-2025-001,DIRECT_PAYMENT,300.00,NOK,2025-03-09,c,REF-3\n"
        ),
    );
    let reads_before = env.sandbox.stats().invoice_reads;
    let out = env.run(
        &["payments", "submit"],
        &input,
        &["--wait", "--report", "report.json"],
    );
    let se = stderr(&out);
    assert_exit(&out, 0);
    assert!(se.contains("looking up 2 invoice references"), "{se}");
    // Each distinct number is looked up once.
    assert_eq!(env.sandbox.stats().invoice_reads - reads_before, 2);
    let booked: Vec<(String, Uuid)> = env
        .sandbox
        .ledger()
        .into_iter()
        .map(|p| (p.unique_source_payment_id, p.invoice_id))
        .collect();
    assert_eq!(booked.len(), 3, "{booked:?}");
    for (id, invoice) in [
        ("REF-1", DEMO_INVOICES[0]),
        ("REF-2", DEMO_INVOICES[2]),
        ("REF-3", DEMO_INVOICES[0]),
    ] {
        assert!(
            booked.contains(&(id.to_owned(), invoice)),
            "{id}: {booked:?}"
        );
    }
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(env.dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report[1]["invoiceId"], DEMO_INVOICES[2].to_string());
    assert_eq!(report[1]["outcome"], "succeeded");
}

#[test]
fn payments_named_by_source_invoice_id_in_json_lines() {
    let env = Env::new();
    let row = |source: &str, id: &str| {
        format!(
            r#"{{"uniqueSourceInvoiceId":"{source}","amount":"50.00","currency":"NOK","date":"2025-03-09","uniqueSourcePaymentId":"{id}"}}"#
        )
    };
    let input = env.file(
        "by-source.jsonl",
        &[
            row("erp-order-9982", "SRC-1"),
            row("erp-order-9990", "SRC-2"),
        ]
        .join("\n"),
    );
    let out = env.run(&["payments", "submit"], &input, &["--wait"]);
    assert_exit(&out, 0);
    let mut booked: Vec<Uuid> = env.sandbox.ledger().iter().map(|p| p.invoice_id).collect();
    booked.sort();
    let mut expected = vec![DEMO_INVOICES[1], DEMO_INVOICES[9]];
    expected.sort();
    assert_eq!(booked, expected);
}

#[test]
fn unknown_and_ambiguous_numbers_are_reported_with_lines_and_nothing_is_sent() {
    let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
    let env = Env::with(|b| {
        b.seed_invoice_records([
            SeedInvoice::new(first, "INV-DUP"),
            SeedInvoice::new(second, "INV-DUP"),
        ])
    });
    let input = env.file(
        "refs.csv",
        &format!(
            "{BY_NUMBER}\
             INV-2025-001,DIRECT_PAYMENT,100.00,NOK,2025-03-09,a,BAD-1\n\
             INV-NOPE,DIRECT_PAYMENT,100.00,NOK,2025-03-09,b,BAD-2\n\
             INV-DUP,DIRECT_PAYMENT,100.00,NOK,2025-03-09,c,BAD-3\n\
             INV-NOPE,DIRECT_PAYMENT,12.345,NOK,2025-03-09,d,BAD-4\n"
        ),
    );
    let out = env.run(&["payments", "submit"], &input, &[]);
    let se = stderr(&out);
    assert_exit(&out, 2);
    assert!(
        se.contains("line 3: invoiceNumber: \"INV-NOPE\" matches no invoice"),
        "{se}"
    );
    assert!(
        se.contains("line 4: invoiceNumber: \"INV-DUP\" matches 2 invoices ("),
        "{se}"
    );
    assert!(
        se.contains(&first.to_string()) && se.contains(&second.to_string()),
        "{se}"
    );
    // A row with a bad reference has its other problems named too.
    assert!(
        se.contains("line 5: invoiceNumber: \"INV-NOPE\" matches no invoice"),
        "{se}"
    );
    assert!(
        se.contains("line 5: amount: \"12.345\" has 3 decimals"),
        "{se}"
    );
    assert!(
        se.contains("3 of 4 rows are invalid; nothing was sent"),
        "{se}"
    );
    assert_eq!(env.sandbox.stats().payment_requests, 0);
    assert_eq!(env.booked(), 0);

    // --skip-invalid sends the one good row, and reports the others with their reference.
    let out = env.run(
        &["payments", "submit"],
        &input,
        &["--skip-invalid", "--wait", "--report", "r.csv"],
    );
    assert_exit(&out, 1);
    assert_eq!(env.booked(), 1);
    let report = std::fs::read_to_string(env.dir.path().join("r.csv")).unwrap();
    assert!(
        report.contains("3,BAD-2,INV-NOPE,,,100.00,NOK,invalid,"),
        "{report}"
    );
}

#[test]
fn a_failed_look_up_sends_nothing_and_says_why() {
    let env = Env::new();
    env.sandbox
        .faults()
        .push_n(Route::ListInvoices, fault_status(400), 1);
    let input = env.file(
        "refs.csv",
        &format!("{BY_NUMBER}INV-2025-002,DIRECT_PAYMENT,1.00,NOK,2025-03-09,a,F-1\n"),
    );
    let out = env.run(&["payments", "submit"], &input, &[]);
    let se = stderr(&out);
    assert_exit(&out, 1);
    assert!(
        se.contains("cannot look up 1 of the file's invoice references")
            && se.contains("nothing was sent"),
        "{se}"
    );
    assert!(se.contains("invoiceNumber \"INV-2025-002\""), "{se}");
    assert_eq!(env.sandbox.stats().payment_requests, 0);

    // Once Amili answers, the same command sends it.
    let out = env.run(&["payments", "submit"], &input, &["--wait"]);
    assert_exit(&out, 0);
    assert_eq!(env.sandbox.ledger()[0].invoice_id, DEMO_INVOICES[1]);
}

#[test]
fn the_invoice_is_named_once_per_file_and_per_row() {
    let env = Env::new();
    let both_columns = env.file(
        "both.csv",
        "invoiceId,invoiceNumber,type,amount,currency,date,description,uniqueSourcePaymentId\n",
    );
    let out = env.run(&["payments", "validate"], &both_columns, &[]);
    let se = stderr(&out);
    assert_exit(&out, 2);
    assert!(
        se.contains("line 1: header: the invoice is named by both invoiceId and invoiceNumber"),
        "{se}"
    );

    let twice = env.file(
        "twice.jsonl",
        &format!(
            r#"{{"invoiceId":"{}","invoiceNumber":"INV-2025-001","amount":1,"currency":"NOK","date":"2025-03-09","uniqueSourcePaymentId":"T-1"}}"#,
            DEMO_INVOICES[0]
        ),
    );
    let out = env.run(&["payments", "validate"], &twice, &[]);
    let se = stderr(&out);
    assert_exit(&out, 2);
    assert!(
        se.contains("line 1: invoiceNumber: the invoice is named twice"),
        "{se}"
    );

    // Validating offline checks everything but the references, and says so.
    let offline = env.file(
        "offline.csv",
        &format!("{BY_NUMBER}INV-ANY,DIRECT_PAYMENT,1.00,NOK,2025-03-09,a,O-1\n"),
    );
    let reads_before = env.sandbox.stats().invoice_reads;
    let out = env.run(&["payments", "validate"], &offline, &[]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "1 distinct invoice reference");
    assert_eq!(env.sandbox.stats().invoice_reads, reads_before);
}

#[test]
fn look_ups_are_retried_and_one_that_times_out_every_time_sends_nothing() {
    let env = Env::new();
    let input = env.file(
        "refs.csv",
        &format!("{BY_NUMBER}INV-2025-002,DIRECT_PAYMENT,1.00,NOK,2025-03-09,a,T-1\n"),
    );
    // A 503 then a slow answer: retried, then resolved and sent.
    let faults = env.sandbox.faults();
    faults.push(Route::ListInvoices, fault_status(503));
    let out = env.run(&["payments", "submit"], &input, &["--wait"]);
    assert_exit(&out, 0);
    assert_eq!(env.booked(), 1);

    // Every look-up slower than the timeout: the run ends, naming the reference; nothing sent.
    faults.push_n(
        Route::ListInvoices,
        Fault::Delay(std::time::Duration::from_secs(5)),
        20,
    );
    let other = env.file(
        "refs2.csv",
        &format!("{BY_NUMBER}INV-2025-003,DIRECT_PAYMENT,1.00,NOK,2025-03-09,a,T-2\n"),
    );
    let requests = env.sandbox.stats().payment_requests;
    let out = env.run(&["payments", "submit"], &other, &["--timeout", "1"]);
    let se = stderr(&out);
    assert_exit(&out, 1);
    assert!(se.contains("nothing was sent"), "{se}");
    assert!(se.contains("invoiceNumber \"INV-2025-003\""), "{se}");
    assert!(se.contains("timed out"), "{se}");
    assert_eq!(env.sandbox.stats().payment_requests, requests);
}

/// A row booked by an earlier run whose invoice number no longer resolves (it became
/// ambiguous) is reported from the ledger — its id is known without the look-up — and does not
/// stop the rerun; a row never sent with such a number is still invalid.
#[test]
fn a_booked_row_whose_reference_no_longer_resolves_is_reported_from_the_ledger() {
    let env = Env::new();
    let booked_rows = format!(
        "{BY_NUMBER}\
         INV-2025-001,DIRECT_PAYMENT,100.00,NOK,2025-03-09,a,LED-1\n\
         INV-2025-003,DIRECT_PAYMENT,200.00,NOK,2025-03-09,b,LED-2\n"
    );
    let first = env.file("first.csv", &booked_rows);
    assert_exit(&env.run(&["payments", "submit"], &first, &["--wait"]), 0);
    assert_eq!(env.booked(), 2);

    // INV-2025-001 now names two invoices, and the ids found earlier are forgotten.
    env.sandbox
        .seed_invoice_records([SeedInvoice::new(Uuid::new_v4(), "INV-2025-001")]);
    std::fs::remove_file(env.dir.path().join("state").join("invoice-ids.jsonl")).unwrap();

    // The same file again: nothing to send, nothing invalid.
    let requests = env.sandbox.stats().payment_requests;
    let out = env.run(&["payments", "submit"], &first, &["--report", "again.csv"]);
    assert_exit(&out, 0);
    for said in [
        "1 row whose invoice reference does not resolve now was accepted by an earlier run",
        "nothing to send: all 2 payments already accepted",
    ] {
        assert_stderr_has(&out, said);
    }
    assert_eq!(env.sandbox.stats().payment_requests, requests);
    let report = std::fs::read_to_string(env.dir.path().join("again.csv")).unwrap();
    let row = report
        .lines()
        .find(|l| l.starts_with("2,LED-1,"))
        .unwrap_or_default();
    assert!(row.contains(",succeeded,"), "{report}");
    assert!(
        row.contains("succeeded earlier; not sent again: invoiceNumber: \"\"INV-2025-001\"\" matches 2 invoices"),
        "{report}"
    );

    // A new row with the ambiguous number is invalid; the booked one is not.
    let more = env.file(
        "more.csv",
        &format!(
            "{booked_rows}\
             INV-2025-001,DIRECT_PAYMENT,300.00,NOK,2025-03-09,c,LED-3\n\
             INV-2025-003,DIRECT_PAYMENT,400.00,NOK,2025-03-09,d,LED-4\n"
        ),
    );
    let out = env.run(&["payments", "submit"], &more, &[]);
    assert_exit(&out, 2);
    for said in [
        "line 4: invoiceNumber: \"INV-2025-001\" matches 2 invoices",
        "1 of 4 rows is invalid; nothing was sent",
    ] {
        assert_stderr_has(&out, said);
    }
    assert!(!stderr(&out).contains("line 2:"), "{}", stderr(&out));
    let out = env.run(
        &["payments", "submit"],
        &more,
        &["--skip-invalid", "--wait", "--report", "more.jsonl"],
    );
    assert_exit(&out, 1);
    assert_eq!(env.booked(), 3);
    let outcomes: Vec<(String, String)> =
        std::fs::read_to_string(env.dir.path().join("more.jsonl"))
            .unwrap()
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                let text = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
                (text("uniqueSourcePaymentId"), text("outcome"))
            })
            .collect();
    let outcome = |id: &str| {
        outcomes
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, o)| o.as_str())
            .unwrap_or_default()
    };
    assert_eq!(
        [
            outcome("LED-1"),
            outcome("LED-2"),
            outcome("LED-3"),
            outcome("LED-4")
        ],
        ["succeeded", "succeeded", "invalid", "succeeded"],
        "{outcomes:?}"
    );

    // A file of that row alone has nothing valid to send, and is not refused for it.
    let alone = env.file(
        "alone.csv",
        &format!("{BY_NUMBER}INV-2025-001,DIRECT_PAYMENT,100.00,NOK,2025-03-09,a,LED-1\n"),
    );
    let out = env.run(&["payments", "submit"], &alone, &[]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "nothing to send: the payment was already accepted");
    assert_eq!(env.sandbox.stats().payment_requests, requests + 1);

    // `payments status` reports it from the ledger too.
    let out = env.run(&["payments", "status"], &alone, &[]);
    assert_exit(&out, 0);
    assert_stdout_has(&out, "succeeded earlier");
}

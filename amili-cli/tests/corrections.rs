//! `amili corrections submit|validate` against an in-process sandbox.

mod common;

use amili_payments::{Decimal, Uuid};
use amili_sandbox::{DEMO_INVOICES, Fault, Route};
use common::{Env, assert_exit, assert_stdout_has, csv_rows, stderr, stdout};

const HEADER: &str = "invoiceId;amount;currency;date;description\n";

/// Two corrections in the Norwegian Excel dialect, naming their invoices by number.
fn corrections_file(env: &Env) -> std::path::PathBuf {
    env.file(
        "corrections.csv",
        "invoiceNumber;amount;currency;date;description\n\
         INV-2025-001;-100,50;NOK;10.03.2025;P-0 was reported 100,50 too high\n\
         INV-2025-002;+25,00;NOK;10.03.2025;P-1 was reported 25,00 too low\n",
    )
}

#[test]
fn corrections_are_booked_once_and_a_rerun_sends_nothing() {
    let env = Env::new();
    // The payments they correct.
    let payments = env.file("p.csv", &csv_rows("P", 2));
    let out = env.run(&["payments", "submit"], &payments, &["--wait"]);
    assert_exit(&out, 0);
    let paid_before = env.sandbox.paid_on(DEMO_INVOICES[0]);

    let input = corrections_file(&env);
    let so = env.run_ok(
        &["corrections", "submit"],
        &input,
        &["--wait", "--report", "report.csv"],
    );
    assert!(so.contains("2 rows: 2 succeeded (1 batch)"), "{so}");
    assert!(so.contains("CORRECTION"), "{so}");
    let booked = env.sandbox.corrections();
    assert_eq!(booked.len(), 2, "{booked:?}");
    assert_eq!(
        env.sandbox.paid_on(DEMO_INVOICES[0]),
        paid_before - Decimal::new(10050, 2)
    );
    assert!(
        booked
            .iter()
            .any(|c| c.invoice_id == DEMO_INVOICES[1] && c.amount == Decimal::new(2500, 2))
    );
    let report = std::fs::read_to_string(env.dir.path().join("report.csv")).unwrap();
    let mut lines = report.lines();
    assert_eq!(
        lines.next(),
        Some(
            "line,correctionId,invoiceId,batchId,idempotencyKey,amount,currency,outcome,\
             reasonCode,reasonMessage"
        )
    );
    let first: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    assert_eq!(first[0], "2");
    assert!(
        first[1].starts_with("C-") && first[1].len() == 34,
        "{report}"
    );
    assert_eq!(first[2], DEMO_INVOICES[0].to_string());
    assert_eq!(first[7], "succeeded");

    // The ledger remembers them (apart from payments), and that their batch booked them: the
    // same file sends nothing again.
    let requests = env.sandbox.stats().correction_requests;
    let so = env.run_ok(&["corrections", "submit"], &input, &[]);
    assert!(so.contains("2 rows: 2 succeeded"), "{so}");
    assert!(so.contains("succeeded earlier; not sent again"), "{so}");
    assert_eq!(env.sandbox.stats().correction_requests, requests);
    assert_eq!(env.sandbox.corrections().len(), 2);
    let out = env.output(&["ledger", "show"]);
    let so = stdout(&out);
    assert!(so.contains(" corrections: 2 accepted"), "{so}");
    assert!(
        so.contains(&format!(
            "org {}: 2 accepted",
            env.sandbox.organization_id()
        )),
        "{so}"
    );
}

#[test]
fn a_lost_answer_is_settled_by_its_key_and_nothing_is_booked_twice() {
    let env = Env::new();
    let input = corrections_file(&env);
    env.sandbox
        .faults()
        .push(Route::CreateCorrections, Fault::DropAfterProcessing);
    let so = env.run_ok(&["corrections", "submit"], &input, &["--wait"]);
    assert!(so.contains("2 rows: 2 succeeded"), "{so}");
    assert_eq!(env.sandbox.corrections().len(), 2);
    // Resent under the same key or found by it: never a second batch.
    assert_eq!(env.sandbox.batch_count(), 1);
}

#[test]
fn bad_corrections_are_all_reported_with_lines_and_nothing_is_sent() {
    let env = Env::new();
    let input = env.file(
        "bad.csv",
        &format!(
            "{HEADER}\
             {id};0,00;NOK;10.03.2025;zero\n\
             {id};--5;NOK;10.03.2025;two signs\n\
             not-a-uuid;-5;NOK;31.02.2025;x\n\
             {id};-5,00;NOK;10.03.2025;same\n\
             {id};-5;NOK;10.03.2025;same\n",
            id = DEMO_INVOICES[3]
        ),
    );
    let out = env.run(&["corrections", "submit"], &input, &[]);
    let se = stderr(&out);
    assert_exit(&out, 2);
    for expected in [
        "line 2: amount: \"0,00\": is 0: a correction must change the amount",
        "line 3: amount: \"--5\" is not an amount: it has two signs",
        "line 4: invoiceId: \"not-a-uuid\" is not a UUID",
        "line 4: date: \"31.02.2025\"",
        // -5,00 and -5 are one amount: the same correction twice.
        "line 6: repeats line 5 exactly",
        "4 of 5 rows are invalid; nothing was sent",
    ] {
        assert!(se.contains(expected), "missing {expected:?} in\n{se}");
    }
    assert_eq!(env.sandbox.stats().correction_requests, 0);

    let out = env.run(&["corrections", "validate"], &input, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_stdout_has(&out, "4 of 5 rows are invalid");
}

#[test]
fn a_correction_amili_refuses_is_failed_with_its_reason_and_exit_1() {
    let env = Env::new();
    let unknown = Uuid::new_v4();
    let input = env.file(
        "c.csv",
        &format!(
            "{HEADER}{};-5,00;NOK;10.03.2025;x\n{unknown};-5,00;NOK;10.03.2025;x\n",
            DEMO_INVOICES[4]
        ),
    );
    let out = env.run(&["corrections", "submit"], &input, &["--wait", "--json"]);
    let (so, se) = (stdout(&out), stderr(&out));
    assert_exit(&out, 1);
    let summary: serde_json::Value = serde_json::from_str(so.trim()).unwrap();
    assert_eq!(summary["counts"]["succeeded"], 1, "{so}");
    assert_eq!(summary["counts"]["failed"], 1, "{so}");
    assert_eq!(summary["exitReason"], "not every correction was booked");
    // The table (on stderr with --json) names Amili's reason on the failed row.
    let failed = se.lines().find(|l| l.starts_with("3 ")).unwrap_or_default();
    assert!(
        failed.contains("failed") && failed.contains(&format!("unknown invoice {unknown}")),
        "{se}"
    );
}

#[test]
fn the_documented_examples_run_with_the_embedded_sandbox() {
    // README: the payments named by invoice number, then the corrections that move one of
    // them to another invoice, each against its own `--sandbox` (no connection settings).
    for (kind, file, rows) in [
        ("payments", "examples/payments-by-invoice-number.csv", 4),
        ("corrections", "examples/corrections.csv", 2),
    ] {
        let out = common::amili_bare()
            .args([kind, "submit"])
            .arg(common::repo_root().join(file))
            .args(["--sandbox", "--wait"])
            .output()
            .unwrap();
        let so = stdout(&out);
        assert_eq!(out.status.code(), Some(0), "{file}: {so}\n{}", stderr(&out));
        assert!(
            so.contains(&format!("{rows} rows: {rows} succeeded")),
            "{file}: {so}"
        );
    }
}

/// Several corrections of one invoice in one request map back to their batch items (Amili's
/// items carry no id for a correction; they are told apart by content): each gets its own
/// outcome, none is `unknown`.
#[test]
fn several_corrections_of_one_invoice_in_one_request_each_get_their_outcome() {
    let env = Env::new();
    let payments = env.file("p.csv", &csv_rows("P", 1));
    assert_exit(&env.run(&["payments", "submit"], &payments, &["--wait"]), 0);
    let input = env.file(
        "corrections.csv",
        "invoiceNumber;amount;currency;date;description\n\
         INV-2025-001;-10,00;NOK;10.03.2025;first\n\
         INV-2025-001;-20,00;NOK;10.03.2025;second\n\
         INV-2025-001;+5,00;NOK;10.03.2025;third\n",
    );
    let out = env.run(&["corrections", "submit"], &input, &["--wait"]);
    assert_exit(&out, 0);
    let so = stdout(&out);
    assert!(
        so.contains("3 rows: 3 succeeded (1 batch)"),
        "{so}\n{}",
        stderr(&out)
    );
    assert_eq!(env.sandbox.corrections().len(), 3);
}

/// A correction's description is normalized before its content-derived id is taken: the same
/// correction typed again with a zero-width space, a non-breaking hyphen, a no-break space or
/// a decomposed letter is recognised on a rerun as the one already booked, and not sent.
#[test]
fn a_correction_spelled_otherwise_on_a_rerun_is_not_sent_again() {
    let env = Env::new();
    let payments = env.file("p.csv", &csv_rows("P", 1));
    assert_exit(&env.run(&["payments", "submit"], &payments, &["--wait"]), 0);
    let file = |name: &str, description: &str| {
        env.file(
            name,
            &format!(
                "{HEADER}{};-10,00;NOK;10.03.2025;{description}\n",
                DEMO_INVOICES[0]
            ),
        )
    };
    let first = file("first.csv", "P-0 på kafé rapportert 10,00 for høyt");
    let out = env.run(&["corrections", "submit"], &first, &["--wait"]);
    assert_exit(&out, 0);
    assert_stdout_has(&out, "1 succeeded");
    let requests = env.sandbox.stats().correction_requests;

    let again = file(
        "again.csv",
        "P\u{2011}0\u{a0}på kafe\u{301} rapportert\u{200b} 10,00 for\u{2009}høyt",
    );
    let out = env.run(&["corrections", "submit"], &again, &[]);
    let so = stdout(&out);
    assert_exit(&out, 0);
    assert!(so.contains("succeeded earlier; not sent again"), "{so}");
    assert_eq!(env.sandbox.stats().correction_requests, requests);
    let booked = env.sandbox.corrections();
    assert_eq!(booked.len(), 1, "{booked:?}");
    assert_eq!(
        booked[0].description,
        "P-0 på kafé rapportert 10,00 for høyt"
    );
}

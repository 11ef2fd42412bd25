//! Invoice look-ups that fail: a look-up endpoint that is down trips the circuit breaker,
//! `--skip-invalid` makes a failed look-up its rows' problem, found answers are not asked for
//! again on a rerun, and an over-long reference is never sent.

mod common;

use amili_payments::Uuid;
use amili_sandbox::{Fault, Route, SeedInvoice};
use common::{Env, assert_exit, fault_status, stderr};

const BY_NUMBER: &str =
    "invoiceNumber,type,amount,currency,date,description,uniqueSourcePaymentId\n";

fn unavailable() -> Fault {
    fault_status(503)
}

/// `n` seeded invoices `INV-L-{i}` and a file paying each once.
fn seeded(n: usize, fault_seed: u64) -> (Env, std::path::PathBuf) {
    let env = Env::with(|b| {
        b.fault_seed(fault_seed).seed_invoice_records(
            (0..n).map(|i| {
                SeedInvoice::new(Uuid::from_u128(0xA000 + i as u128), format!("INV-L-{i}"))
            }),
        )
    });
    let mut text = BY_NUMBER.to_owned();
    for i in 0..n {
        text.push_str(&format!(
            "INV-L-{i},DIRECT_PAYMENT,10.00,NOK,2025-03-09,row {i},L-{i}\n"
        ));
    }
    let input = env.file("refs.csv", &text);
    (env, input)
}

#[test]
fn a_look_up_endpoint_that_is_down_trips_the_breaker_and_sends_nothing() {
    let (env, input) = seeded(200, 1);
    env.sandbox
        .faults()
        .random(Route::ListInvoices, unavailable(), 1.0);
    let before = env.sandbox.stats().invoice_reads;
    let out = env.run(&["payments", "submit"], &input, &["--concurrency", "2"]);
    let se = stderr(&out);
    assert_exit(&out, 1);
    assert_eq!(se.matches("invoice look-up is failing").count(), 1, "{se}");
    assert!(se.contains("references not looked up"), "{se}");
    assert!(se.contains("nothing was sent"), "{se}");
    assert!(se.contains("503"), "{se}");
    // At most the breaker's 5 failures plus the look-up already in flight, each with its 5
    // attempts: bounded by the breaker, not by the 200 references.
    let reads = env.sandbox.stats().invoice_reads - before;
    assert!(reads <= (5 + 1) * 5, "{reads} look-up requests");
    assert_eq!(env.sandbox.stats().payment_requests, 0);
}

#[test]
fn with_skip_invalid_a_failed_look_up_is_its_rows_problem_and_the_rest_is_sent() {
    let (env, input) = seeded(20, 7);
    let faults = env.sandbox.faults();
    // The first look-up fails all 5 of its attempts; every later request has 30 % of 503s
    // (drawn from the seed: one look-up at a time, the same draws every run).
    faults.push_n(Route::ListInvoices, unavailable(), 5);
    faults.random(Route::ListInvoices, unavailable(), 0.3);
    let out = env.run(
        &["payments", "submit"],
        &input,
        &[
            "--skip-invalid",
            "--concurrency",
            "1",
            "--wait",
            "--report",
            "report.csv",
        ],
    );
    let se = stderr(&out);
    assert_exit(&out, 1);
    assert!(se.contains("with --skip-invalid"), "{se}");
    // Each failed row's problem line: `FILE: line N: invoiceNumber: … the look-up failed …`.
    let failed = se
        .lines()
        .filter(|l| l.contains(": line ") && l.contains("the look-up failed"))
        .count();
    assert!(failed >= 1, "{se}");
    assert_eq!(env.booked() + failed, 20, "{se}");
    let report = std::fs::read_to_string(env.dir.path().join("report.csv")).unwrap();
    assert_eq!(report.matches(",invalid,").count(), failed, "{report}");
    assert_eq!(
        report.matches(",succeeded,").count(),
        20 - failed,
        "{report}"
    );
}

#[test]
fn a_rerun_does_not_look_up_again_what_was_found() {
    let (env, _) = seeded(0, 1);
    let input = env.file(
        "refs.csv",
        &format!(
            "{BY_NUMBER}\
             INV-2025-001,DIRECT_PAYMENT,100.00,NOK,2025-03-09,a,R-1\n\
             INV-2025-003,DIRECT_PAYMENT,200.00,NOK,2025-03-09,b,R-2\n\
             INV-NOPE,DIRECT_PAYMENT,300.00,NOK,2025-03-09,c,R-3\n"
        ),
    );
    let submit = || {
        env.run(
            &["payments", "submit"],
            &input,
            &["--skip-invalid", "--wait"],
        )
    };
    let before = env.sandbox.stats().invoice_reads;
    let out = submit();
    assert_exit(&out, 1);
    assert_eq!(env.sandbox.stats().invoice_reads - before, 3);
    assert_eq!(env.booked(), 2);

    // Found answers come from the state folder; "no invoice matches" is asked again.
    let before = env.sandbox.stats().invoice_reads;
    let out = submit();
    let se = stderr(&out);
    assert_exit(&out, 1);
    assert!(se.contains("2 of them found by an earlier run"), "{se}");
    assert!(se.contains("\"INV-NOPE\" matches no invoice"), "{se}");
    assert_eq!(env.sandbox.stats().invoice_reads - before, 1, "{se}");
    assert_eq!(env.booked(), 2, "nothing is sent twice");
    assert!(
        env.ledger_path()
            .with_file_name("invoice-ids.jsonl")
            .exists()
    );
}

#[test]
fn an_over_long_reference_is_refused_before_any_look_up() {
    let env = Env::new();
    // Within the 64 KiB row cap (a longer row is refused whole, with its line).
    let long = "9".repeat(60 * 1024);
    let input = env.file(
        "long.csv",
        &format!(
            "{BY_NUMBER}\
             INV-2025-001,DIRECT_PAYMENT,1.00,NOK,2025-03-09,a,O-1\n\
             {long},DIRECT_PAYMENT,1.00,NOK,2025-03-09,b,O-2\n"
        ),
    );
    let before = env.sandbox.stats().invoice_reads;
    let out = env.run(&["payments", "submit"], &input, &[]);
    let se = stderr(&out);
    assert_exit(&out, 2);
    assert!(
        se.contains("line 3: invoiceNumber: 61440 characters, at most 255 are allowed"),
        "{se:.2000}"
    );
    assert!(se.len() < 4000, "the reference is not echoed whole");
    // Only the other row's reference was looked up (every row's problems are said at once).
    assert_eq!(env.sandbox.stats().invoice_reads - before, 1, "{se:.2000}");
    assert_eq!(env.sandbox.stats().payment_requests, 0);
}

//! Settings errors are said once: every missing setting in one line, a wrong organization id
//! before anything is sent (exit 2, one line), and the Amili in use named on every run.

mod common;

use amili_sandbox::Route;
use common::{Env, amili_bare, assert_exit, bare, csv_rows, fault_status, stderr, stdout};

/// The lines a run wrote to stderr.
fn stderr_lines(out: &std::process::Output) -> Vec<String> {
    stderr(out).lines().map(str::to_owned).collect()
}

fn using(env: &Env, organization: &str) -> String {
    format!(
        "using a custom Amili at {} for organization {organization}",
        env.sandbox.api_url()
    )
}

const WRONG_ORG: &str = "00000000-0000-4000-8000-00000000dead";

fn refused_organization(env: &Env) -> String {
    format!(
        "organization {WRONG_ORG} is not yours: {} refuses these credentials for it (403); \
         check AMILI_ORGANIZATION_ID (--organization-id)",
        env.sandbox.api_url()
    )
}

#[test]
fn every_missing_setting_is_named_at_once() {
    let out = bare(&["token", "check"]);
    assert_exit(&out, 2);
    assert_eq!(
        stderr_lines(&out),
        [
            "error: missing settings: AMILI_ENVIRONMENT (--environment production|staging; or \
             AMILI_API_URL and AMILI_TOKEN_URL); AMILI_ORGANIZATION_ID (--organization-id); \
             AMILI_CLIENT_ID and AMILI_CLIENT_SECRET (or AMILI_TOKEN) (or try --sandbox)"
        ]
    );

    let out = amili_bare()
        .args(["token", "check", "--environment", "production"])
        .env("AMILI_CLIENT_ID", "someone")
        .output()
        .unwrap();
    assert_exit(&out, 2);
    assert_eq!(
        stderr_lines(&out),
        [
            "error: missing settings: AMILI_ORGANIZATION_ID (--organization-id); \
             AMILI_CLIENT_SECRET (or AMILI_TOKEN) (or try --sandbox)"
        ]
    );
}

#[test]
fn the_amili_in_use_is_named_on_every_run() {
    let env = Env::new();
    let organization = env.sandbox.organization_id().to_string();
    let out = env.output(&["token", "check"]);
    assert_exit(&out, 0);
    assert_eq!(stderr_lines(&out), [using(&env, &organization)]);

    let out = bare(&["token", "check", "--sandbox"]);
    assert_exit(&out, 0);
    let said = stderr_lines(&out);
    assert!(
        said.len() == 1
            && said[0].starts_with("using an embedded sandbox at http://127.0.0.1:")
            && said[0].ends_with(" (nothing leaves this machine)"),
        "{said:?}"
    );
}

#[test]
fn token_check_proves_the_organization() {
    let env = Env::new();
    let out = env.output_with(&["token", "check"], "AMILI_ORGANIZATION_ID", WRONG_ORG);
    assert_exit(&out, 2);
    assert_eq!(stdout(&out), "", "no \"token OK\" for another organization");
    assert_eq!(
        stderr_lines(&out),
        [
            using(&env, WRONG_ORG),
            format!("error: {}", refused_organization(&env))
        ]
    );
}

#[test]
fn an_organization_that_is_not_found_is_named() {
    let env = Env::new();
    env.sandbox
        .faults()
        .push(Route::ListBatches, fault_status(404));
    let out = env.output(&["token", "check"]);
    assert_exit(&out, 2);
    let said = stderr_lines(&out);
    assert_eq!(
        said.last().map(String::as_str),
        Some(
            format!(
                "error: organization {} not found at {} (404); check AMILI_ORGANIZATION_ID \
                 (--organization-id)",
                env.sandbox.organization_id(),
                env.sandbox.api_url()
            )
            .as_str()
        )
    );
}

#[test]
fn submitting_for_a_wrong_organization_is_one_settings_error_and_sends_nothing() {
    let env = Env::new();
    let file = env.file("p.csv", &csv_rows("WRONG-ORG", 12));
    let out = env
        .amili()
        .env("AMILI_ORGANIZATION_ID", WRONG_ORG)
        .args(["payments", "submit"])
        .arg(&file)
        .output()
        .unwrap();
    assert_exit(&out, 2);
    assert_eq!(stdout(&out), "", "no row per payment");
    assert_eq!(
        stderr_lines(&out),
        [
            using(&env, WRONG_ORG),
            format!("error: nothing was sent: {}", refused_organization(&env))
        ]
    );
    assert_eq!(env.sandbox.stats().payment_requests, 0);
    assert_eq!(env.booked(), 0);
}

#[test]
fn an_id_that_is_not_a_uuid_is_named_for_what_it_should_be() {
    for (command, what) in [
        ("invoices", "an invoice"),
        ("batches", "a batch"),
        ("settlements", "a settlement"),
    ] {
        let out = bare(&[command, "get", "12345", "--sandbox"]);
        assert_exit(&out, 2);
        assert_eq!(
            stderr_lines(&out).first().map(String::as_str),
            Some(
                format!(
                    "error: invalid value '12345' for '<ID>': not {what} id (a UUID such as \
                     3fa85f64-5717-4562-b3fc-2c963f66afa6)"
                )
                .as_str()
            )
        );
    }
}

#[test]
fn a_rerun_says_nothing_is_sent_and_counts_are_singular_or_plural() {
    let env = Env::new();
    let (file, out) = env.submitted("RERUN", 1);
    let said = stderr(&out);
    assert!(said.contains("submitting 1 payment from "), "{said}");
    assert!(said.contains("p.csv, up to 500 per request\n"), "{said}");
    assert!(said.contains("\nsent 1 payment; done in "), "{said}");

    let out = env.run(&["payments", "submit"], &file, &[]);
    assert_exit(&out, 0);
    let said = stderr(&out);
    assert!(
        said.contains("\nnothing to send: the payment was already accepted; done in "),
        "{said}"
    );
    assert_eq!(env.sandbox.stats().payment_requests, 1);

    let out = env.output(&["payments", "validate", "p.csv"]);
    assert_exit(&out, 0);
    let said = stdout(&out);
    assert!(said.starts_with("p.csv: 1 payment, all valid ("), "{said}");
}

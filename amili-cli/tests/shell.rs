//! Shell habits: output piped into a reader that leaves early (`| head -1`), logs redirected
//! to a file.

mod common;

use std::process::Stdio;

use common::{Env, assert_exit, bare_on, stderr};

/// Runs `cmd` with a stdout whose reader is already gone, so the first write fails.
fn with_closed_stdout_of(mut cmd: std::process::Command) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    cmd.stdout(Stdio::from(writer)).stderr(Stdio::piped());
    cmd.output().unwrap()
}

/// `amili ARGS` (no settings) with a closed stdout.
fn with_closed_stdout(args: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("amili"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .args(args);
    with_closed_stdout_of(cmd)
}

#[test]
fn a_closed_stdout_ends_printing_commands_quietly() {
    for args in [
        &["payments", "schema"][..],
        &["completions", "zsh"],
        &["completions", "bash"],
    ] {
        let out = with_closed_stdout(args);
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.contains("Broken pipe"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    }
    let example = common::repo_root().join("examples/payments.csv");
    let example = example.to_string_lossy();
    let out = with_closed_stdout(&["payments", "validate", &example]);
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_closed_stdout_ends_a_ledger_export_quietly() {
    let env = Env::new();
    let file = env.example("payments.csv", "payments.csv");
    assert_exit(&env.run(&["payments", "submit"], &file, &[]), 0);
    for format in ["csv", "jsonl"] {
        let mut cmd = env.amili_std();
        cmd.args(["ledger", "export", "--format", format]);
        let out = with_closed_stdout_of(cmd);
        assert_eq!(out.status.code(), Some(0), "{format}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{format}");
    }
}

#[test]
fn logs_to_a_file_have_no_colour_codes_unless_asked() {
    let env = Env::new();
    let file = env.example("payments.csv", "payments.csv");
    let out = env.run(&["-v", "payments", "submit"], &file, &[]);
    assert_exit(&out, 0);
    let err = stderr(&out);
    assert!(err.contains("INFO"), "logs were written: {err}");
    assert!(!err.contains('\u{1b}'), "{err}");
    // Asked for: colour even into a file.
    let out = bare_on(
        &["-v", "--color", "always", "payments", "submit", "--sandbox"],
        &file,
    );
    assert_exit(&out, 0);
    assert!(stderr(&out).contains('\u{1b}'), "{}", stderr(&out));
}

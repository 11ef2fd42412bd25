//! Maintainer tasks. `cargo xtask regen [--check]`.
//!
//! `regen` regenerates the client from `openapi/autocollect.yaml` and accepts the insta
//! snapshot of the generated source (`amili-api/tests/snapshots/generated_client.snap`), so a
//! spec change shows up as a reviewable diff in git. `regen --check` changes nothing and fails
//! with insta's diff when the committed snapshot is stale.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "usage: cargo xtask regen [--check]\n\n  regen          regenerate amili-api from openapi/autocollect.yaml and accept the snapshot\n  regen --check  fail with a diff if the committed snapshot is stale (CI)";

const SNAPSHOT: &str = "amili-api/tests/snapshots/generated_client.snap";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let check = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["regen"] => false,
        ["regen", "--check"] => true,
        ["-h" | "--help" | "help"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match regen(check) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn regen(check: bool) -> Result<(), String> {
    // Generate here first: a broken spec gives one readable line instead of a failed build.
    let generated = amili_codegen::generate_file(&amili_codegen::default_spec_path())
        .map_err(|e| e.to_string())?;
    println!(
        "generated amili-api: {} operations, {} schemas, {} lines",
        generated.operations, generated.types, generated.lines
    );

    // The snapshot test compares with the same generator; insta owns the file format.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut test = Command::new(cargo);
    test.current_dir(workspace_root()).args([
        "test",
        "--quiet",
        "-p",
        "amili-api",
        "--test",
        "generated_snapshot",
    ]);
    // insta's diff is the readable part; a panic backtrace would bury it.
    test.env("RUST_BACKTRACE", "0");
    if check {
        test.env("CI", "true").env("INSTA_UPDATE", "no");
    } else {
        test.env_remove("CI").env("INSTA_UPDATE", "always");
    }
    let status = test
        .status()
        .map_err(|e| format!("cannot run cargo test: {e}"))?;
    if !status.success() {
        return Err(if check {
            format!(
                "{SNAPSHOT} is stale: the spec or the generator changed. Run `cargo xtask regen` and commit the snapshot."
            )
        } else {
            "the snapshot test failed; see the output above".to_owned()
        });
    }
    if check {
        println!("{SNAPSHOT} is up to date");
    } else {
        println!("accepted {SNAPSHOT}; review it with `git diff {SNAPSHOT}`");
    }
    Ok(())
}

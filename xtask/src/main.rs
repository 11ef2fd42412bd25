//! Maintainer tasks. `cargo xtask regen [--check]`, `cargo xtask bench [FLAGS]`.
//!
//! `regen` regenerates the client from `openapi/autocollect.yaml` and accepts the insta
//! snapshot of the generated source (`amili-api/tests/snapshots/generated_client.snap`), so a
//! spec change shows up as a reviewable diff in git. `regen --check` changes nothing and fails
//! with insta's diff when the committed snapshot is stale.
//!
//! `bench` builds the release binaries of `amili-cli`, `amili-sandbox` and `amili-bench`, then
//! runs the submission throughput harness of issue 9 (`amili-bench`; its flags pass through,
//! e.g. `--payments 2000 --rows 20000 --rounds 1` for a smoke run) and writes its table into
//! the root `BENCHMARKS.md` unless `--no-write` is given.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "usage: cargo xtask regen [--check]\n       cargo xtask bench [--no-write] [HARNESS FLAGS]\n\n  regen          regenerate amili-api from openapi/autocollect.yaml and accept the snapshot\n  regen --check  fail with a diff if the committed snapshot is stale (CI)\n  bench          build release binaries and run the submission throughput harness (issue 9);\n                 writes BENCHMARKS.md unless --no-write; `cargo xtask bench --help` for its flags";

const SNAPSHOT: &str = "amili-api/tests/snapshots/generated_client.snap";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("bench") {
        return match bench(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("error: {message}");
                ExitCode::FAILURE
            }
        };
    }
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

/// `cargo xtask bench [--no-write] [FLAGS]`: the harness in release mode, with the binaries it
/// runs as processes built beside it.
fn bench(args: &[String]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let root = workspace_root();
    let no_write = args.iter().any(|a| a == "--no-write");
    let help = args.iter().any(|a| a == "-h" || a == "--help");
    let flags: Vec<&String> = args.iter().filter(|a| *a != "--no-write").collect();

    let status = Command::new(&cargo)
        .current_dir(&root)
        .args(["build", "--release", "--locked", "--bins"])
        .args([
            "-p",
            "amili-cli",
            "-p",
            "amili-sandbox",
            "-p",
            "amili-bench",
        ])
        .status()
        .map_err(|e| format!("cannot run cargo build: {e}"))?;
    if !status.success() {
        return Err("building the release binaries failed".to_owned());
    }

    let mut run = Command::new(&cargo);
    run.current_dir(&root).args([
        "run",
        "--release",
        "--locked",
        "--quiet",
        "-p",
        "amili-bench",
        "--bin",
        "amili-bench",
        "--",
    ]);
    if !no_write && !help {
        let command = std::iter::once("cargo xtask bench")
            .chain(args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ");
        run.arg("--write")
            .arg(root.join("BENCHMARKS.md"))
            .arg("--command")
            .arg(command);
    }
    run.args(flags);
    let status = run
        .status()
        .map_err(|e| format!("cannot run the harness: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err("the benchmark harness failed; see the output above".to_owned())
    }
}

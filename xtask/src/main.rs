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

    // Run the binary itself: `cargo run -p amili-bench` would resolve features for that one
    // package and rebuild it.
    let harness = target_dir(&cargo, &root)?
        .join("release")
        .join(format!("amili-bench{}", std::env::consts::EXE_SUFFIX));
    let mut run = Command::new(&harness);
    run.current_dir(&root);
    if !no_write && !help {
        let command = recorded_command(args);
        run.arg("--write")
            .arg(root.join("BENCHMARKS.md"))
            .arg("--command")
            .arg(command);
    }
    run.args(flags);
    let status = run
        .status()
        .map_err(|e| format!("cannot run {}: {e}", harness.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err("the benchmark harness failed; see the output above".to_owned())
    }
}

/// The command line written above the table: the measuring flags, shell-quoted; `--note`
/// texts (printed under the table anyway) and `--no-write` left out.
fn recorded_command(args: &[String]) -> String {
    let mut words = vec!["cargo xtask bench".to_owned()];
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--note" {
            args.next();
        } else if arg == "--no-write" || arg.starts_with("--note=") {
        } else if !arg.is_empty()
            && arg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_=.,/:".contains(c))
        {
            words.push(arg.clone());
        } else {
            words.push(format!("'{}'", arg.replace('\'', r"'\''")));
        }
    }
    words.join(" ")
}

/// Cargo's target directory, from `cargo metadata`.
fn target_dir(cargo: &str, root: &Path) -> Result<PathBuf, String> {
    let output = Command::new(cargo)
        .current_dir(root)
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    json_string_field(&text, "target_directory")
        .map(PathBuf::from)
        .ok_or_else(|| "cargo metadata did not name the target directory".to_owned())
}

/// The value of the first string field `key` in a JSON text (enough for `cargo metadata`).
fn json_string_field(json: &str, key: &str) -> Option<String> {
    let start = json.find(&format!("\"{key}\":\""))? + key.len() + 4;
    let mut value = String::new();
    let mut chars = json[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(value),
            '\\' => match chars.next()? {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                other => value.push(other),
            },
            c => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_a_string_field() {
        let json = r#"{"a":1,"target_directory":"/w/t\\x \"q\"","b":"c"}"#;
        assert_eq!(
            super::json_string_field(json, "target_directory").as_deref(),
            Some(r#"/w/t\x "q""#)
        );
        assert_eq!(super::json_string_field(json, "nope"), None);
    }

    #[test]
    fn the_recorded_command_leaves_notes_out() {
        let args = ["--rounds", "3", "--note", "a b", "--work-dir", "/t/x y"].map(String::from);
        assert_eq!(
            super::recorded_command(&args),
            "cargo xtask bench --rounds 3 --work-dir '/t/x y'"
        );
    }
}

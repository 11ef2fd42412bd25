//! `cargo xtask bench [--no-write] [FLAGS]`: the submission throughput harness (`amili-bench`)
//! in release mode, with the binaries it runs as processes built beside it; its table goes
//! into the root `BENCHMARKS.md` unless `--no-write`.

use crate::util::{cargo, run_status, target_dir, workspace_root};

pub fn run(args: &[&str]) -> Result<(), String> {
    let no_write = args.contains(&"--no-write");
    let help = args.iter().any(|a| *a == "-h" || *a == "--help");
    let flags: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| *a != "--no-write")
        .collect();

    run_status(
        cargo()
            .args(["build", "--release", "--locked", "--bins"])
            .args([
                "-p",
                "amili-cli",
                "-p",
                "amili-sandbox",
                "-p",
                "amili-bench",
            ]),
        "building the release binaries",
    )?;
    // Run the binary itself: `cargo run -p amili-bench` would resolve features for that one
    // package and rebuild it.
    let harness = target_dir()?
        .join("release")
        .join(format!("amili-bench{}", std::env::consts::EXE_SUFFIX));
    let root = workspace_root();
    let mut run = std::process::Command::new(&harness);
    run.current_dir(&root);
    if !no_write && !help {
        run.arg("--write")
            .arg(root.join("BENCHMARKS.md"))
            .arg("--command")
            .arg(recorded_command(args));
    }
    run.args(flags);
    run_status(&mut run, "the benchmark harness")
}

/// The command line written above the table: the measuring flags, shell-quoted; `--note`
/// texts (printed under the table anyway) and `--no-write` left out.
fn recorded_command(args: &[&str]) -> String {
    let mut words = vec!["cargo xtask bench".to_owned()];
    let mut args = args.iter();
    while let Some(&arg) = args.next() {
        if arg == "--note" {
            args.next();
        } else if arg == "--no-write" || arg.starts_with("--note=") {
        } else if !arg.is_empty()
            && arg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_=.,/:".contains(c))
        {
            words.push(arg.to_owned());
        } else {
            words.push(format!("'{}'", arg.replace('\'', r"'\''")));
        }
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_recorded_command_leaves_notes_out() {
        let args = ["--rounds", "3", "--note", "a b", "--work-dir", "/t/x y"];
        assert_eq!(
            super::recorded_command(&args),
            "cargo xtask bench --rounds 3 --work-dir '/t/x y'"
        );
    }
}

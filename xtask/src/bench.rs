//! `cargo xtask bench [FLAGS]`: the submission throughput harness (`amili-bench`) in release
//! mode, with the binaries it runs as processes built beside it; its flags are the harness's
//! (`--help`), its table goes to stdout.

use crate::util::{cargo, run_status, target_dir, workspace_root};

pub fn run(args: &[&str]) -> Result<(), String> {
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
    let mut run = std::process::Command::new(&harness);
    run.current_dir(workspace_root()).args(args);
    run_status(&mut run, "the benchmark harness")
}

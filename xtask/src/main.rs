//! Maintainer tasks: `cargo xtask <command>`.
//!
//! - `regen [--check]`: regenerate the client from `openapi/autocollect.yaml` and accept the
//!   insta snapshot of the generated source (`amili-api/tests/snapshots/generated_client.snap`),
//!   so a spec change shows up as a reviewable diff in git; `--check` changes nothing and fails
//!   with insta's diff when the committed snapshot is stale, or when a crate's shipped spec
//!   (`amili-api/openapi.yaml`, `amili-sandbox/openapi.yaml`) is not the workspace's one file.
//! - `downstream [--offline]`: package the crates and build, in a fresh crate outside the
//!   workspace that depends only on the packaged `amili-payments` and `tokio`, the quickstart
//!   of `amili-payments/README.md`.
//! - `msrv-check`: the workspace's `rust-version` is at least every locked dependency's.
//! - `bench [FLAGS]`: the submission throughput harness (see BENCHMARKS.md).
//! - `man [DIR]`: the `amili` man pages from its clap definition.
//! - `bench-build`: cold build times of a downstream crate against an openapi-generator-like
//!   client (see BENCHMARKS.md).

mod bench;
mod bench_build;
mod downstream;
mod man;
mod msrv;
mod regen;
mod util;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

  regen                 regenerate amili-api from openapi/autocollect.yaml and accept the snapshot
  regen --check         fail with a diff if the committed snapshot is stale, or if a crate's
                        openapi.yaml is not the workspace's spec (CI)
  downstream [--offline] [--readme FILE]
                        package the crates and compile amili-payments/README.md's (or FILE's)
                        quickstart in a fresh crate outside the workspace (amili-payments + tokio
                        only)
  msrv-check            fail if a locked dependency declares a rust-version above the workspace's
  bench [HARNESS FLAGS]
                        build release binaries and run the submission throughput harness; its
                        table to stdout (`cargo xtask bench --help` for its flags)
  man [DIR]             write the amili man pages into DIR (default target/man)
  bench-build [--rounds N] [--amili DIR] [--only-amili] [--keep]
                        cold debug build times: a crate depending on amili-payments (from DIR,
                        default this workspace) vs an openapi-generator-like client; alternating
                        contenders, N rounds each (default 3); prints medians and the slowest units";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["regen"] => regen::run(false),
        ["regen", "--check"] => regen::run(true),
        ["downstream", rest @ ..] => {
            let mut offline = false;
            let mut readme = None;
            let mut rest = rest.iter();
            while let Some(arg) = rest.next() {
                match (*arg, rest.clone().next()) {
                    ("--offline", _) => offline = true,
                    ("--readme", Some(path)) => {
                        readme = Some(std::path::PathBuf::from(path));
                        rest.next();
                    }
                    _ => return usage_error(),
                }
            }
            downstream::run(offline, readme.as_deref())
        }
        ["msrv-check"] => msrv::run(),
        ["bench", rest @ ..] => bench::run(rest),
        ["man"] => man::run(None),
        ["man", dir] => man::run(Some(dir)),
        ["bench-build", rest @ ..] => match bench_build::Options::parse(rest) {
            Some(options) => bench_build::run(&options),
            None => return usage_error(),
        },
        ["-h" | "--help" | "help"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => return usage_error(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn usage_error() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}

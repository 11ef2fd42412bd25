//! `cargo xtask man [DIR]`: the `amili` man pages, generated from its clap definition
//! (clap_mangen, run by the binary itself), into DIR (default `target/man`).

use std::path::PathBuf;

use crate::util::{cargo, run_status, target_dir};

pub fn run(dir: Option<&str>) -> Result<(), String> {
    let dir = match dir {
        Some(dir) => PathBuf::from(dir),
        None => target_dir()?.join("man"),
    };
    run_status(
        cargo()
            .args(["run", "--quiet", "--locked", "-p", "amili-cli", "--", "man"])
            .arg(&dir),
        "amili man",
    )
}

//! `amili completions SHELL` and the man pages (`cargo xtask man`), from the clap definition.

use std::path::Path;

use anyhow::Context as _;
use clap::CommandFactory as _;

use crate::args::Cli;
use crate::exit::Exit;

pub fn print(shell: clap_complete::Shell) -> anyhow::Result<Exit> {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "amili", &mut std::io::stdout());
    Ok(Exit::Success)
}

pub fn man(dir: &Path) -> anyhow::Result<Exit> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    clap_mangen::generate_to(Cli::command(), dir)
        .with_context(|| format!("cannot write the man pages into {}", dir.display()))?;
    eprintln!("man pages written to {}", dir.display());
    Ok(Exit::Success)
}

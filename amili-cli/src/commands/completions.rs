//! `amili completions SHELL` and the man pages (`cargo xtask man`), from the clap definition.

use std::path::Path;

use anyhow::Context as _;

use crate::exit::Exit;

/// Prints the completion script of `command` (the whole command line).
pub fn print(mut command: clap::Command, shell: clap_complete::Shell) -> anyhow::Result<Exit> {
    // Written whole by us: clap_complete panics when its own write fails (`| head`).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "amili", &mut script);
    std::io::Write::write_all(&mut std::io::stdout().lock(), &script)?;
    Ok(Exit::Success)
}

/// Writes the man pages of `command` (the whole command line) into `dir`.
pub fn man(command: clap::Command, dir: &Path) -> anyhow::Result<Exit> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    clap_mangen::generate_to(command, dir)
        .with_context(|| format!("cannot write the man pages into {}", dir.display()))?;
    eprintln!("man pages written to {}", dir.display());
    Ok(Exit::Success)
}

//! `amili sandbox`: the `amili-sandbox` binary, in the foreground.

use crate::exit::Exit;

pub async fn run(args: amili_sandbox::cli::Args) -> anyhow::Result<Exit> {
    amili_sandbox::cli::run(args)
        .await
        .map_err(|e| anyhow::anyhow!("sandbox: {e}"))?;
    Ok(Exit::Success)
}

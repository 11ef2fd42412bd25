//! `amili-sandbox`: a local Amili AutoCollect API (the binary, above everything: it only runs
//! [`amili_sandbox::cli`]). See `amili-sandbox --help`.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

/// A stateful local Amili AutoCollect API (tokens, payments, batches, faults) for tests and
/// demos. Logs go to stderr (RUST_LOG, default info); the start banner goes to stdout.
#[derive(Debug, Parser)]
#[command(name = "amili-sandbox", version)]
struct Cli {
    #[command(flatten)]
    args: amili_sandbox::cli::Args,

    /// Colour in the logs: `auto` only when stderr is a terminal and `NO_COLOR` is not set.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = clap::ColorChoice::Auto)]
    color: clap::ColorChoice,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(amili_sandbox::cli::colour_logs(cli.color))
        .init();
    match amili_sandbox::cli::run(cli.args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("amili-sandbox: {error}");
            ExitCode::FAILURE
        }
    }
}

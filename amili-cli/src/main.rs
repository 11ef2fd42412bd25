//! `amili`: report payments from files to Amili's AutoCollect API and follow them.
//!
//! See `amili --help`. Exit codes: 0 success, 1 some payments or corrections failed /
//! unknown / not sent (or a look-up found nothing, more than one, or failed), 2 usage or
//! validation error.

mod args;
mod cli;
mod commands;
mod config;
mod exit;
mod import;
mod input;
mod kind;
mod malloc;
mod money;
mod output;
mod progress;
mod read_ahead;
mod report;
mod secret;
mod show;
mod spool;
mod state;
mod submit;
mod validate;

use std::process::ExitCode;

use clap::Parser as _;

use crate::cli::Cli;
use crate::exit::Exit;

fn main() -> ExitCode {
    malloc::tune();
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return Exit::Failures.into();
        }
    };
    let result = runtime.block_on(cli.command.run());
    // Do not wait for blocked readers or lingering connections on the way out.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(exit) => exit.into(),
        Err(e) => {
            eprintln!("error: {e:#}");
            exit::for_error(&e).into()
        }
    }
}

fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "info,amili_cli=info",
        _ => "debug",
    };
    // RUST_LOG, when set, says exactly what to log; -v is the shorthand.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

//! `amili`: report payments from files to Amili's AutoCollect API and follow them.
//!
//! See `amili --help`. Exit codes: 0 success, 1 some payments or corrections failed /
//! unknown / not sent (or a look-up found nothing, more than one, or failed), 2 usage or
//! validation error.

/// The crate's `println!`: std's, except that a failed write does not panic (see
/// `stdout.rs`). Defined before the modules, so it is the one they all use.
macro_rules! println {
    () => {
        $crate::stdout::line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::stdout::line(format_args!($($arg)*))
    };
}

mod args;
mod cli;
mod commands;
mod config;
mod exit;
mod from_ledger;
mod import;
mod input;
mod invoice_cache;
mod kind;
mod malloc;
mod money;
mod output;
mod progress;
mod read_ahead;
mod report;
mod secret;
mod show;
mod source;
mod spool;
mod state;
mod stdout;
mod submit;
mod validate;
mod words;

use std::process::ExitCode;

use clap::Parser as _;

use crate::cli::Cli;
use crate::exit::Exit;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Parsing starts no thread. The settings pay only where the heap grows for the whole run:
    // a sandbox in this process keeps every payment (see `malloc.rs`).
    if matches!(cli.command, cli::Command::Sandbox(_))
        || std::env::args_os().any(|arg| arg == "--sandbox")
    {
        malloc::tune();
    }
    init_tracing(cli.verbose, cli.color);
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
    let exit = match result {
        // Stdout's reader went away (`| head`): what it wanted was printed.
        Err(e) if stdout::is_closed_pipe(&e) => Exit::Success,
        Ok(exit) => exit,
        Err(e) => {
            eprintln!("error: {e:#}");
            return exit::for_error(&e).into();
        }
    };
    match stdout::failure() {
        Some(why) if exit == Exit::Success => {
            eprintln!("error: cannot write to stdout: {why}");
            Exit::Failures.into()
        }
        _ => exit.into(),
    }
}

/// Logs go to stderr, coloured only for a terminal (and not under `NO_COLOR`) unless
/// `--color` says otherwise.
fn init_tracing(verbose: u8, color: clap::ColorChoice) {
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
        .with_ansi(amili_sandbox::cli::colour_logs(color))
        .try_init();
}

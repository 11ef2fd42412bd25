//! The command line: `amili payments …`, `amili corrections …`, `amili batches …`,
//! `amili invoices …`, `amili settlements …`, `amili token check`, `amili sandbox`, …, and
//! which command runs each.

use std::path::PathBuf;

use clap::{CommandFactory as _, Parser, Subcommand};

use crate::commands::{
    batches, completions, corrections, invoices, ledger, payments, sandbox, settlements, token,
    webhooks,
};
use crate::exit::Exit;

/// Report payments to Amili's AutoCollect API from files and follow the batches Amili creates;
/// look up invoices and settlements.
///
/// Connection settings come from flags, then `AMILI_*` environment variables, then defaults.
/// `--sandbox` runs against an embedded local Amili instead (no credentials, no network).
#[derive(Debug, Parser)]
#[command(name = "amili", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Log details to stderr (`-v` info, `-vv` debug); `RUST_LOG`, when set, wins.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Colour in the logs: `auto` only when stderr is a terminal and `NO_COLOR` is not set.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = clap::ColorChoice::Auto)]
    pub color: clap::ColorChoice,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Submit, validate and describe payment files.
    #[command(subcommand)]
    Payments(payments::PaymentsCommand),
    /// Submit and validate correction files (CreateCorrections).
    #[command(subcommand)]
    Corrections(corrections::CorrectionsCommand),
    /// Look at the batches Amili created.
    #[command(subcommand)]
    Batches(batches::BatchesCommand),
    /// Look up invoices: by id, filtered listings, by invoice number or your own id.
    #[command(subcommand)]
    Invoices(invoices::InvoicesCommand),
    /// List what Amili paid out over a range of days, or show one settlement.
    #[command(subcommand)]
    Settlements(settlements::SettlementsCommand),
    /// Check credentials.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Run the local Amili sandbox in the foreground (same flags as `amili-sandbox`).
    Sandbox(amili_sandbox::cli::Args),
    /// Look at the ledger: what was sent, per API and organization.
    #[command(subcommand)]
    Ledger(ledger::LedgerCommand),
    /// Print a shell completion script (`amili completions bash > /etc/bash_completion.d/amili`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Write the man pages (amili.1 and one per subcommand) into a folder (`cargo xtask man`).
    #[command(hide = true)]
    Man {
        /// The folder.
        dir: PathBuf,
    },
    /// Receive Amili's webhooks.
    #[command(subcommand)]
    Webhooks(webhooks::WebhooksCommand),
}

impl Command {
    /// Runs the command.
    pub async fn run(self) -> anyhow::Result<Exit> {
        match self {
            Command::Payments(command) => payments::run(command).await,
            Command::Corrections(command) => corrections::run(command).await,
            Command::Batches(command) => batches::run(command).await,
            Command::Invoices(command) => invoices::run(command).await,
            Command::Settlements(command) => settlements::run(command).await,
            Command::Token(command) => token::run(command).await,
            Command::Sandbox(args) => sandbox::run(args).await,
            Command::Ledger(command) => ledger::run(command).await,
            Command::Completions { shell } => completions::print(Cli::command(), shell),
            Command::Man { dir } => completions::man(Cli::command(), &dir),
            Command::Webhooks(command) => webhooks::run(command).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}

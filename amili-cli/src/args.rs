//! The command line: `amili payments …`, `amili batches …`, `amili token check`, `amili sandbox`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::input::Format;

/// The largest `--chunk-size`.
pub const MAX_CHUNK_SIZE: u64 = 100_000;
use crate::report::ReportFormat;

/// Report payments to Amili's AutoCollect API from files and follow the batches Amili creates.
///
/// Connection settings come from flags, then `AMILI_*` environment variables, then defaults.
/// `--sandbox` runs against an embedded local Amili instead (no credentials, no network).
#[derive(Debug, Parser)]
#[command(name = "amili", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Log details to stderr (`-v` info, `-vv` debug); `RUST_LOG` also works.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Submit, validate and describe payment files.
    #[command(subcommand)]
    Payments(PaymentsCommand),
    /// Look at the batches Amili created.
    #[command(subcommand)]
    Batches(BatchesCommand),
    /// Check credentials.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Run the local Amili sandbox in the foreground (same flags as `amili-sandbox`).
    Sandbox(amili_sandbox::cli::Args),
    /// Receive Amili's webhooks.
    #[command(subcommand)]
    Webhooks(crate::commands::webhooks::WebhooksCommand),
}

#[derive(Debug, Subcommand)]
pub enum PaymentsCommand {
    /// Validate a file, then report its payments to Amili.
    ///
    /// Every row is validated first; if any is bad, all bad rows are listed (with line number
    /// and field) and nothing is sent, unless --skip-invalid. A journal beside the input
    /// makes the command safe to run again after a crash, a kill or Ctrl-C: nothing is sent
    /// twice and the rest is completed.
    ///
    /// Exit codes: 0 every payment accepted (with --wait: booked); 1 some failed, unknown or
    /// not sent; 2 usage or validation error.
    Submit(Box<SubmitArgs>),
    /// Validate a file without sending anything (exit 0 valid, 2 invalid).
    Validate(ValidateArgs),
    /// Print the JSON Schema of one input row.
    Schema,
}

#[derive(Debug, Args)]
pub struct InputArgs {
    /// The payment file: CSV with a header of the API's field names
    /// (invoiceId,type,amount,currency,date,description,uniqueSourcePaymentId), JSON Lines
    /// (.jsonl) or a JSON array (.json).
    pub file: PathBuf,

    /// The file's format (default: from the extension).
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// How many bad rows to print at most (all are counted).
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub max_errors: usize,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub input: InputArgs,
}

#[derive(Debug, Args)]
pub struct SubmitArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Skip rows that fail validation (they are reported as `invalid`) and send the rest.
    #[arg(long)]
    pub skip_invalid: bool,

    /// Follow the batches until Amili has processed them and report each payment's outcome.
    #[arg(long)]
    pub wait: bool,

    /// Give up following batches after this many seconds (with --wait).
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub wait_timeout: u64,

    /// Write a per-payment report (line, uniqueSourcePaymentId, invoiceId, batch id,
    /// idempotency key, outcome, Amili's reason). Format from the extension: .csv, .jsonl,
    /// otherwise JSON.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// The report's format (default: from the report file's extension).
    #[arg(long, value_enum, requires = "report")]
    pub report_format: Option<ReportFormat>,

    /// The ledger that remembers every payment sent, so that no rerun, copy or renamed file
    /// sends one twice (default: `$XDG_STATE_HOME/amili/ledger.db`, else
    /// `~/.local/state/amili/ledger.db`). Not used with --sandbox (its state dies with the run).
    #[arg(long, env = "AMILI_STATE", value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// How many payments one request carries at most.
    #[arg(long, env = "AMILI_MAX_PAYMENTS_PER_REQUEST", value_name = "N",
          default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=MAX_CHUNK_SIZE))]
    pub chunk_size: u64,

    /// How many requests are in flight at once.
    #[arg(long, env = "AMILI_CONCURRENCY", value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u64).range(1..=64))]
    pub concurrency: u64,

    /// How many per-payment lines the summary table prints before it only counts.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub table_limit: usize,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, Subcommand)]
pub enum BatchesCommand {
    /// Show one batch with its succeeded and failed items.
    Get {
        /// The batch id.
        id: uuid::Uuid,
        #[command(flatten)]
        output: OutputArgs,
        #[command(flatten)]
        connection: ConnectionArgs,
    },
    /// List the organization's batches (all pages).
    List {
        /// Only batches with this status (QUEUED, SUCCESS, PARTIAL, FAILED, …).
        #[arg(long)]
        status: Option<String>,
        /// Only the batch created with this idempotency key.
        #[arg(long)]
        idempotency_key: Option<String>,
        /// Stop after this many batches.
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        #[command(flatten)]
        output: OutputArgs,
        #[command(flatten)]
        connection: ConnectionArgs,
    },
    /// Wait until a batch is processed; exit 0 if it succeeded, 1 otherwise.
    Wait {
        /// The batch id.
        id: uuid::Uuid,
        /// Give up after this many seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 600)]
        wait_timeout: u64,
        #[command(flatten)]
        output: OutputArgs,
        #[command(flatten)]
        connection: ConnectionArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Fetch a token with the configured credentials and say whether it works (never prints it).
    Check {
        #[command(flatten)]
        connection: ConnectionArgs,
    },
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Which Amili to talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EnvironmentArg {
    Production,
    Staging,
}

/// Where and as whom to connect. Flags win over `AMILI_*` variables.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Connection")]
pub struct ConnectionArgs {
    /// Run against an embedded sandbox (a local Amili seeded with the examples' invoices):
    /// no credentials, no network.
    /// The connection flags and `AMILI_*` variables below are ignored with it.
    #[arg(long)]
    pub sandbox: bool,

    /// Amili's environment.
    #[arg(long, env = "AMILI_ENVIRONMENT", value_enum)]
    pub environment: Option<EnvironmentArg>,

    /// The collection API base URL (overrides --environment; needs --token-url).
    #[arg(long, env = "AMILI_API_URL", value_name = "URL")]
    pub api_url: Option<String>,

    /// The token endpoint (overrides --environment; needs --api-url).
    #[arg(long, env = "AMILI_TOKEN_URL", value_name = "URL")]
    pub token_url: Option<String>,

    /// The OAuth2 client id Amili issued.
    #[arg(long, env = "AMILI_CLIENT_ID", value_name = "ID")]
    pub client_id: Option<String>,

    /// The OAuth2 client secret (prefer the AMILI_CLIENT_SECRET variable: flags show in `ps`).
    #[arg(long, env = "AMILI_CLIENT_SECRET", value_name = "SECRET", hide_env_values = true,
          value_parser = crate::config::Secret::parse)]
    pub client_secret: Option<crate::config::Secret>,

    /// A ready bearer token instead of client credentials (prefer the AMILI_TOKEN variable).
    #[arg(long = "token", env = "AMILI_TOKEN", value_name = "TOKEN", hide_env_values = true,
          value_parser = crate::config::Secret::parse)]
    pub bearer_token: Option<crate::config::Secret>,

    /// The organization id Amili issued.
    #[arg(long, env = "AMILI_ORGANIZATION_ID", value_name = "UUID")]
    pub organization_id: Option<uuid::Uuid>,

    /// The per-request timeout in seconds.
    #[arg(long, env = "AMILI_TIMEOUT", value_name = "SECONDS")]
    pub timeout: Option<u64>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}

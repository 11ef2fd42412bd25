//! The command line: `amili payments …`, `amili corrections …`, `amili batches …`,
//! `amili invoices …`, `amili settlements …`, `amili token check`, `amili sandbox`, …

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::input::Format;

/// The largest `--chunk-size`.
pub const MAX_CHUNK_SIZE: u64 = 100_000;
use crate::report::ReportFormat;

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
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Submit, validate and describe payment files.
    #[command(subcommand)]
    Payments(PaymentsCommand),
    /// Submit and validate correction files (CreateCorrections).
    #[command(subcommand)]
    Corrections(CorrectionsCommand),
    /// Look at the batches Amili created.
    #[command(subcommand)]
    Batches(BatchesCommand),
    /// Look up invoices: by id, filtered listings, by invoice number or your own id.
    #[command(subcommand)]
    Invoices(crate::commands::invoices::InvoicesCommand),
    /// List what Amili paid out over a range of days, or show one settlement.
    #[command(subcommand)]
    Settlements(crate::commands::settlements::SettlementsCommand),
    /// Check credentials.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Run the local Amili sandbox in the foreground (same flags as `amili-sandbox`).
    Sandbox(amili_sandbox::cli::Args),
    /// Look at the ledger: what was sent, per API and organization.
    #[command(subcommand)]
    Ledger(LedgerCommand),
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
    Webhooks(crate::commands::webhooks::WebhooksCommand),
}

#[derive(Debug, Subcommand)]
pub enum PaymentsCommand {
    /// Validate a file, then report its payments to Amili.
    ///
    /// The connection settings are checked first (a token is fetched). Then every row is
    /// validated; if any is bad, all bad rows are listed (with line number and field) and
    /// nothing is sent, unless --skip-invalid. A ledger of every payment sent (see --state)
    /// makes the command safe to run again — after a crash, a kill, Ctrl-C, or with a fixed,
    /// copied or moved file: a payment Amili accepted is never sent twice.
    ///
    /// Files: CSV with a header naming the API's fields (any case; `invoiceId`, `type`,
    /// `amount`, `currency`, `date`, `description`, `uniqueSourcePaymentId`), delimited by `,`,
    /// `;` or tab (detected); JSON Lines; a JSON array. Amounts in major units: `4500.00`, or
    /// in `;`/tab files as Excel writes them with Norwegian settings, `4 500,00` / `4.500,00`.
    /// Dates: RFC 3339 (`2025-03-09T14:30:00Z`) or a day (`2025-03-09`, `09.03.2025`: midnight
    /// in Norway). A UTF-8 byte-order mark and CRLF line ends are fine; line numbers are the
    /// file's physical lines.
    ///
    /// The invoice may be named by an `invoiceNumber` or `uniqueSourceInvoiceId` column
    /// instead of `invoiceId` (one of the three per file): each distinct reference is looked up
    /// in Amili before anything is sent, and a row whose reference matches no invoice, or more
    /// than one, is invalid (with its line and value).
    ///
    /// Exit codes: 0 every payment accepted (with --wait: booked); 1 some failed, unknown,
    /// in conflict or not sent; 2 usage, settings or validation error (nothing sent).
    Submit(Box<SubmitArgs>),
    /// Validate a file without sending anything (exit 0 valid, 2 invalid).
    Validate(ValidateArgs),
    /// Print the JSON Schema of one input row.
    Schema,
}

#[derive(Debug, Subcommand)]
pub enum CorrectionsCommand {
    /// Validate a file of corrections, then send them to Amili (CreateCorrections).
    ///
    /// A correction changes what was reported paid on an invoice: a negative `amount` takes
    /// money off (a payment reported too high, or on the wrong invoice), a positive one adds.
    /// Files as for `payments submit`, with the columns `invoiceId` (or `invoiceNumber` /
    /// `uniqueSourceInvoiceId`), `amount` (signed: `-150.00`, `-1 500,00`), `currency`,
    /// `date`, `description`.
    ///
    /// Amili gives a correction no id of the creditor's, so each row is identified by its
    /// content (a digest of invoice, amount, currency, date and description, the report's
    /// `correctionId`): the ledger never sends the same correction twice, and two rows with the
    /// same content are one correction (tell them apart in the description if both are meant).
    /// Corrections are remembered in the ledger apart from payments.
    ///
    /// Exit codes as for `payments submit`: 0 every correction accepted (with --wait:
    /// booked); 1 some failed, unknown, in conflict or not sent; 2 usage, settings or
    /// validation error (nothing sent).
    Submit(Box<SubmitArgs>),
    /// Validate a file of corrections without sending anything (exit 0 valid, 2 invalid).
    Validate(ValidateArgs),
}

#[derive(Debug, Args)]
pub struct InputArgs {
    /// The file: CSV with a header of the API's field names (payments:
    /// invoiceId,type,amount,currency,date,description,uniqueSourcePaymentId; corrections:
    /// invoiceId,amount,currency,date,description), JSON Lines (.jsonl) or a JSON array
    /// (.json).
    pub file: PathBuf,

    /// The file's format (default: from the extension).
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// How many bad rows to print at most (all are counted).
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub max_errors: usize,

    /// The CSV delimiter: `,`, `;` or `tab` (default: the one the header line uses most).
    #[arg(long, value_name = "CHAR", value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,

    /// How amounts separate decimals (default: `comma` for `;`- and tab-separated files, as
    /// Excel writes them with Norwegian settings; `point` otherwise).
    #[arg(long, value_enum, value_name = "MARK")]
    pub decimal: Option<DecimalMark>,

    /// One more date format to accept, as a strftime pattern (e.g. `%d/%m/%Y`). Always
    /// accepted: RFC 3339 date-times, and days as `2025-03-09` or `09.03.2025` (midnight in
    /// Norway, Europe/Oslo, converted to UTC).
    #[arg(long, value_name = "PATTERN")]
    pub date_format: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Counts per API and organization: payments accepted, and pending (claimed by a run that
    /// never recorded the answer; the next submission settles them).
    Show {
        /// The ledger: a SQLite file or a `postgres://` URL (default as for `submit`).
        #[arg(long, env = "AMILI_STATE", value_name = "FILE|URL")]
        state: Option<String>,
        /// One JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Every payment the ledger remembers, as CSV or JSON Lines on stdout (scope, id,
    /// idempotency key, batch, last update).
    Export {
        /// The ledger: a SQLite file or a `postgres://` URL (default as for `submit`).
        #[arg(long, env = "AMILI_STATE", value_name = "FILE|URL")]
        state: Option<String>,
        /// `csv` or `jsonl`.
        #[arg(long, value_enum, default_value = "csv")]
        format: ReportFormat,
    },
}

/// How amounts in a file separate decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DecimalMark {
    /// `4500.00`, thousands as `4 500.00` or `4,500.00`.
    Point,
    /// `4500,00`, thousands as `4 500,00` or `4.500,00`.
    Comma,
}

fn parse_delimiter(text: &str) -> Result<u8, String> {
    match text {
        "," | "comma" => Ok(b','),
        ";" | "semicolon" => Ok(b';'),
        "\t" | "tab" | "\\t" => Ok(b'\t'),
        other => Err(format!(
            "{other:?} is not a delimiter: use `,`, `;` or `tab`"
        )),
    }
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

    /// Follow the batches until Amili has processed them and report each row's outcome.
    #[arg(long)]
    pub wait: bool,

    /// With --wait: learn that batches finished from Amili's BATCH_COMPLETED webhooks,
    /// received on this local port (127.0.0.1), instead of polling often; the batch is still
    /// read from the API before its outcomes are reported, and polled slowly in case no event
    /// comes. With --sandbox the embedded sandbox sends them.
    #[arg(long, value_name = "PORT", requires = "wait")]
    pub webhook_port: Option<u16>,

    /// The shared webhook secret for --webhook-port (signatures: HMAC-SHA256 of the body).
    /// Prefer AMILI_WEBHOOK_SECRET: flags show in `ps`. With --sandbox a random one is used.
    #[arg(long, env = "AMILI_WEBHOOK_SECRET", value_name = "SECRET", hide_env_values = true,
          value_parser = crate::secret::Secret::parse)]
    pub webhook_secret: Option<crate::secret::Secret>,

    /// Check the settings and validate the file, and send nothing.
    #[arg(long, conflicts_with = "wait")]
    pub dry_run: bool,

    /// Print the final summary as one JSON object on stdout (the table then goes to stderr).
    #[arg(long)]
    pub json: bool,

    /// Give up following batches after this many seconds (with --wait).
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub wait_timeout: u64,

    /// Write a per-row report (line, uniqueSourcePaymentId or correctionId, invoiceId, batch
    /// id, idempotency key, outcome, Amili's reason). Format from the extension: .csv, .jsonl,
    /// otherwise JSON.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// The report's format (default: from the report file's extension).
    #[arg(long, value_enum, requires = "report")]
    pub report_format: Option<ReportFormat>,

    /// The ledger that remembers every payment sent, so that no rerun, copy or renamed file
    /// sends one twice: a SQLite file (default: `$XDG_STATE_HOME/amili/ledger.db`, else
    /// `~/.local/state/amili/ledger.db`), or a `postgres://user@host/db` URL shared by several
    /// machines. Not used with --sandbox (its state dies with the run).
    #[arg(long, env = "AMILI_STATE", value_name = "FILE|URL")]
    pub state: Option<String>,

    /// How many payments (or corrections) one request carries at most.
    #[arg(long, env = "AMILI_MAX_PAYMENTS_PER_REQUEST", value_name = "N",
          default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=MAX_CHUNK_SIZE))]
    pub chunk_size: u64,

    /// How many requests (and invoice look-ups) are in flight at once.
    #[arg(long, env = "AMILI_CONCURRENCY", value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u64).range(1..=64))]
    pub concurrency: u64,

    /// How many per-row lines the summary table prints before it only counts.
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
          value_parser = crate::secret::Secret::parse)]
    pub client_secret: Option<crate::secret::Secret>,

    /// A ready bearer token instead of client credentials (prefer the AMILI_TOKEN variable).
    #[arg(long = "token", env = "AMILI_TOKEN", value_name = "TOKEN", hide_env_values = true,
          value_parser = crate::secret::Secret::parse)]
    pub bearer_token: Option<crate::secret::Secret>,

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

//! The option groups several commands share: the input file (`InputArgs`), the output
//! (`OutputArgs`), a run over a file's rows (`RunArgs`: `submit` and `status`) and the
//! connection (`ConnectionArgs`). Each command's own arguments live with
//! the command (`commands/`); the top of the command line is `cli.rs`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::input::{Encoding, Format};
use crate::report::ReportFormat;

/// The largest `--chunk-size`.
pub const MAX_CHUNK_SIZE: u64 = 100_000;

#[derive(Debug, Args)]
pub struct InputArgs {
    /// The file: CSV with a header of the API's field names (payments:
    /// invoiceId,type,amount,currency,date,description,uniqueSourcePaymentId; corrections:
    /// invoiceId,amount,currency,date,description), JSON Lines (.jsonl) or a JSON array
    /// (.json). `-` reads standard input.
    pub file: PathBuf,

    /// The file's format (default: a bank file is told from its content, an OCR giro file by
    /// its `NY000010` start record, camt.053/054 by its ISO 20022 namespace; other files from
    /// the extension; for `-`, from the content).
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// The file's text encoding (default: UTF-8; a file that is not valid UTF-8 is read as
    /// Windows-1252, as Excel saves "CSV (semikolonseparert)", and a note says so).
    #[arg(long, value_enum, value_name = "ENCODING")]
    pub encoding: Option<Encoding>,

    /// Read a CSV column of another name as one of the API's fields (repeatable), e.g.
    /// `--column Fakturanr=invoiceNumber --column Beløp=amount`.
    #[arg(long = "column", value_name = "NAME=FIELD", value_parser = parse_column)]
    pub columns: Vec<(String, String)>,

    /// A CSV column or JSON key to ignore (repeatable). Columns and keys that are neither
    /// fields, mapped nor ignored are an error.
    #[arg(long = "ignore-column", value_name = "NAME")]
    pub ignored_columns: Vec<String>,

    /// The payment type of rows without one, e.g. for files with no `type` column (a value in
    /// a `type` column wins). Payments only.
    #[arg(long = "type", value_name = "TYPE")]
    pub payment_type: Option<String>,

    /// The currency of rows without one, e.g. for files with no `currency` column (a value in
    /// a `currency` column wins).
    #[arg(long, value_name = "CODE")]
    pub currency: Option<String>,

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

    #[command(flatten)]
    pub bank: crate::input::bank::BankArgs,

    /// Standard input (`-`), copied aside: the file is read more than once.
    #[arg(skip)]
    pub stdin_copy: Option<tempfile::TempPath>,
}

impl InputArgs {
    /// The file to open: the given one, or the copy of standard input.
    pub fn path_to_read(&self) -> &std::path::Path {
        self.stdin_copy.as_deref().unwrap_or(&self.file)
    }
}

/// `NAME=FIELD` of `--column`.
fn parse_column(text: &str) -> Result<(String, String), String> {
    match text.rsplit_once('=') {
        Some((name, field)) if !name.trim().is_empty() && !field.trim().is_empty() => {
            Ok((name.trim().to_owned(), field.trim().to_owned()))
        }
        _ => Err(format!(
            "{text:?} is not NAME=FIELD (e.g. `Fakturanr=invoiceNumber`)"
        )),
    }
}

/// How amounts in a file separate decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DecimalMark {
    /// `4500.00`, thousands as `4 500.00` or `4,500.00`.
    Point,
    /// `4500,00`, thousands as `4 500,00` or `4.500,00`.
    Comma,
}

/// Reads an id of `what` (a UUID); clap shows the text itself before the message.
fn parse_id(text: &str, what: &str) -> Result<uuid::Uuid, String> {
    uuid::Uuid::parse_str(text.trim())
        .map_err(|_| format!("not {what} id (a UUID such as 3fa85f64-5717-4562-b3fc-2c963f66afa6)"))
}

/// Amili's invoice id.
pub fn parse_invoice_id(text: &str) -> Result<uuid::Uuid, String> {
    parse_id(text, "an invoice")
}

/// Amili's batch id.
pub fn parse_batch_id(text: &str) -> Result<uuid::Uuid, String> {
    parse_id(text, "a batch")
}

/// Amili's settlement id.
pub fn parse_settlement_id(text: &str) -> Result<uuid::Uuid, String> {
    parse_id(text, "a settlement")
}

/// The organization id Amili issued.
fn parse_organization_id(text: &str) -> Result<uuid::Uuid, String> {
    parse_id(text, "an organization")
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
pub struct OutputArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// A run over a file's rows, as `submit` and `status` share it: the ledger, the requests, how
/// long batches are followed, the per-row report and the summary table.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Give up following batches after this many seconds (`submit`: with --wait); the rows of
    /// a batch not processed by then can be checked later with `status`.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub wait_timeout: u64,

    /// Write a per-row report (line, uniqueSourcePaymentId or correctionId, invoiceId, batchId,
    /// idempotencyKey, amount, currency, outcome, reasonCode, reasonMessage); `submit` writes
    /// it also when validation stops the run. Format from the extension: .csv, .jsonl,
    /// otherwise JSON.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// The report's format (default: from the report file's extension).
    #[arg(long, value_enum, requires = "report")]
    pub report_format: Option<ReportFormat>,

    /// The ledger that remembers every payment sent, so that no rerun, copy or renamed file
    /// sends one twice, and that `status` reads: a SQLite file (default:
    /// `$XDG_STATE_HOME/amili/ledger.db`, else `~/.local/state/amili/ledger.db`), or a
    /// `postgres://user@host/db` URL shared by several machines. Not used with --sandbox (its
    /// state dies with the run).
    #[arg(long, env = "AMILI_STATE", value_name = "FILE|URL")]
    pub state: Option<String>,

    /// How many payments (or corrections) one request carries at most, and how many rows are
    /// looked up in the ledger at once.
    #[arg(long, env = "AMILI_MAX_PAYMENTS_PER_REQUEST", value_name = "N",
          default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=MAX_CHUNK_SIZE))]
    pub chunk_size: u64,

    /// How many requests (sends, invoice look-ups, batch reads) are in flight at once.
    #[arg(long, env = "AMILI_CONCURRENCY", value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u64).range(1..=64))]
    pub concurrency: u64,

    /// How many per-row lines the summary table prints before it only counts.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub table_limit: usize,
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
    #[arg(long, env = "AMILI_ORGANIZATION_ID", value_name = "UUID",
          value_parser = parse_organization_id)]
    pub organization_id: Option<uuid::Uuid>,

    /// The per-request timeout in seconds.
    #[arg(long, env = "AMILI_TIMEOUT", value_name = "SECONDS")]
    pub timeout: Option<u64>,
}

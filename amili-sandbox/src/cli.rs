//! The command line of the `amili-sandbox` binary (top floor), reusable by other binaries
//! (`#[command(flatten)] args: amili_sandbox::cli::Args`, then [`run`]).

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use uuid::Uuid;

use crate::config::API_BASE_PATH;
use crate::domain::faults::{FaultMode, FaultSpec};
use crate::domain::invoices::{DEMO_INVOICES, demo_invoices, parse_invoice_csv};
use crate::error::SandboxError;
use crate::headers::IDEMPOTENCY_KEY_HEADER;
use crate::sandbox::{
    DEFAULT_BATCH_TYPE, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_ORGANIZATION_ID, Sandbox, SandboxBuilder,
};
use crate::webhooks::{
    DEFAULT_WEBHOOK_ATTEMPTS, DEFAULT_WEBHOOK_BACKOFF, DEFAULT_WEBHOOK_SECRET,
    DEFAULT_WEBHOOK_TIMEOUT, WebhookFault,
};

/// Settings of a sandbox started from the command line.
#[derive(Debug, Clone, clap::Args)]
#[non_exhaustive]
pub struct Args {
    /// Address to listen on.
    #[arg(
        long,
        value_name = "HOST:PORT",
        default_value = "127.0.0.1:8080",
        env = "AMILI_SANDBOX_ADDR"
    )]
    pub addr: SocketAddr,

    /// Token lifetime in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub token_lifetime: u64,

    /// Send the token answer's `not_before`, `expires_in`, `expires_on` as strings.
    #[arg(long)]
    pub token_times_as_strings: bool,

    /// How long a batch stays QUEUED before it is processed, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 200)]
    pub batch_delay_ms: u64,

    /// An invoice id whose payments succeed (repeatable; the demo invoices are always known
    /// unless --no-demo-invoices).
    #[arg(long = "seed-invoice", value_name = "UUID")]
    pub seed_invoices: Vec<Uuid>,

    /// A CSV file of invoices to know, with numbers and source ids (repeatable). Header:
    /// invoiceId,invoiceNumber and optionally uniqueSourceInvoiceId, customerNumber, type,
    /// status, originalInvoiceAmount with currency; values without commas or quotes.
    #[arg(long = "seed-invoices-csv", value_name = "FILE")]
    pub seed_invoices_csv: Vec<std::path::PathBuf>,

    /// Do not know the built-in demo invoices.
    #[arg(long)]
    pub no_demo_invoices: bool,

    /// Treat every invoice id as known (payments fail only as duplicates or for invalid
    /// amounts/currencies).
    #[arg(long)]
    pub accept_any_invoice: bool,

    /// The test client id of the main organization.
    #[arg(long, default_value = DEFAULT_CLIENT_ID)]
    pub client_id: String,

    /// The test client secret of the main organization.
    #[arg(long, default_value = DEFAULT_CLIENT_SECRET)]
    pub client_secret: String,

    /// The main organization id.
    #[arg(long, value_name = "UUID", default_value_t = DEFAULT_ORGANIZATION_ID)]
    pub organization_id: Uuid,

    /// The `type` of payment batches (undocumented by Amili; the spec's `BatchType` is open).
    #[arg(long, default_value = DEFAULT_BATCH_TYPE)]
    pub batch_type: String,

    /// The largest request body accepted, in bytes (larger: 413).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,

    /// A fault, `ROUTE:[MODE:]KIND[:OPTION]` (repeatable). ROUTE: token, create-payments,
    /// create-corrections, get-batch, list-batches, get-invoice, list-invoices, get-settlement, list-settlements.
    /// MODE: once (default), times=N, always, random=P. KIND: a status
    /// (e.g. 503, with retry-after=SECS), delay=MS, drop-before, drop-after, html=STATUS,
    /// truncate. Examples: create-payments:503:retry-after=2, get-batch:drop-before,
    /// create-payments:random=0.1:500.
    #[arg(long = "fault", value_name = "ROUTE:SPEC")]
    pub faults: Vec<FaultSpec>,

    /// Seed of the random faults (the same seed reproduces the same faults).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub fault_seed: u64,

    /// Post a BATCH_COMPLETED webhook to this URL whenever a batch finishes, and a
    /// SETTLEMENT_CREATED for every settlement (signed, retried with backoff until a 2xx
    /// answer).
    #[arg(long, value_name = "URL", env = "AMILI_SANDBOX_WEBHOOK_URL")]
    pub webhook_url: Option<String>,

    /// The shared secret of the webhook signature (X-Webhook-Signature: hex HMAC-SHA256 of
    /// the body; an assumption, Amili does not document its algorithm).
    #[arg(long, value_name = "SECRET", default_value = DEFAULT_WEBHOOK_SECRET,
          env = "AMILI_SANDBOX_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: String,

    /// How many times one webhook delivery is tried.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_WEBHOOK_ATTEMPTS)]
    pub webhook_attempts: u32,

    /// The first pause between webhook attempts in milliseconds (it doubles, up to 30 s).
    #[arg(long, value_name = "MS", default_value_t = duration_ms(DEFAULT_WEBHOOK_BACKOFF))]
    pub webhook_backoff_ms: u64,

    /// How long one webhook attempt may take, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = duration_ms(DEFAULT_WEBHOOK_TIMEOUT))]
    pub webhook_timeout_ms: u64,

    /// Misbehave on every webhook event (repeatable): `twice` (deliver each event twice) or
    /// `out-of-order` (swap events pairwise).
    #[arg(long = "webhook-fault", value_name = "FAULT", requires = "webhook_url")]
    pub webhook_faults: Vec<WebhookFault>,
}

const fn duration_ms(duration: Duration) -> u64 {
    // The defaults are small; `as` cannot truncate them.
    duration.as_millis() as u64
}

impl Args {
    /// A builder configured from these arguments (faults are installed by [`run`]).
    pub fn builder(&self) -> SandboxBuilder {
        let builder = Sandbox::builder()
            .bind(self.addr)
            .token_lifetime(Duration::from_secs(self.token_lifetime))
            .token_times_as_strings(self.token_times_as_strings)
            .batch_delay(Duration::from_millis(self.batch_delay_ms))
            .seed_invoices(self.seed_invoices.iter().copied())
            .demo_invoices(!self.no_demo_invoices)
            .accept_any_invoice(self.accept_any_invoice)
            .client_credentials(self.client_id.clone(), self.client_secret.clone())
            .organization_id(self.organization_id)
            .batch_type(self.batch_type.clone())
            .max_body_bytes(self.max_body_bytes)
            .fault_seed(self.fault_seed);
        let Some(url) = &self.webhook_url else {
            return builder;
        };
        let mut builder = builder
            .webhook_url(url.clone())
            .webhook_secret(self.webhook_secret.clone())
            .webhook_retries(
                self.webhook_attempts,
                Duration::from_millis(self.webhook_backoff_ms),
            )
            .webhook_timeout(Duration::from_millis(self.webhook_timeout_ms));
        for fault in &self.webhook_faults {
            builder = builder.webhook_fault(*fault);
        }
        builder
    }

    /// Starts the sandbox these arguments describe and installs their faults.
    ///
    /// # Errors
    ///
    /// As [`SandboxBuilder::start`](crate::SandboxBuilder::start): an invalid configuration
    /// ([`SandboxError::Config`], also for a `--seed-invoices-csv` file that cannot be read or
    /// parsed, naming the file and line) or an address that cannot be bound
    /// ([`SandboxError::Bind`]).
    pub async fn start(&self) -> Result<Sandbox, SandboxError> {
        let mut builder = self.builder();
        for path in &self.seed_invoices_csv {
            let source = path.display().to_string();
            let text = std::fs::read_to_string(path)
                .map_err(|e| SandboxError::Config(format!("{source}: cannot read: {e}")))?;
            let invoices = parse_invoice_csv(&source, &text).map_err(SandboxError::Config)?;
            builder = builder.seed_invoice_records(invoices);
        }
        let sandbox = builder.start().await?;
        for fault in &self.faults {
            fault.install(sandbox.faults());
        }
        Ok(sandbox)
    }
}

/// What the binary prints on start: URLs, test credentials, organizations, faults and a
/// ready-to-paste curl example.
pub fn banner(sandbox: &Sandbox, args: &Args) -> String {
    let other = sandbox.other_organization();
    let invoice = DEMO_INVOICES[1];
    let faults = if args.faults.is_empty() {
        "none".to_owned()
    } else {
        args.faults
            .iter()
            .map(|f| {
                let mode = match f.mode {
                    FaultMode::Times(1) => "once".to_owned(),
                    FaultMode::Times(n) => format!("{n} times"),
                    FaultMode::Random(p) => format!("with probability {p}"),
                };
                format!("{} {} {mode}", f.route, f.fault)
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let webhooks = match &args.webhook_url {
        None => "off (--webhook-url URL)".to_owned(),
        Some(url) => {
            let faults = args
                .webhook_faults
                .iter()
                .map(|f| f.name())
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "BATCH_COMPLETED to {url}, signed with {secret}{faults}",
                // A secret of the user's own is never printed.
                secret = if args.webhook_secret == DEFAULT_WEBHOOK_SECRET {
                    format!("the test secret {DEFAULT_WEBHOOK_SECRET}")
                } else {
                    "the secret given".to_owned()
                },
                faults = if faults.is_empty() {
                    String::new()
                } else {
                    format!("; faults: {faults}")
                },
            )
        }
    };
    let demo = if args.no_demo_invoices {
        "none".to_owned()
    } else {
        demo_invoices()
            .iter()
            .map(|i| {
                format!(
                    "{}  {}  {}",
                    i.id,
                    i.invoice_number.as_deref().unwrap_or_default(),
                    i.unique_source_invoice_id.as_deref().unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("\n                   ")
    };
    let settle = format!(
        "{}/admin/settle",
        sandbox.api_url().trim_end_matches(API_BASE_PATH)
    );
    // A secret of the user's own is never printed; the test secret is, so the banner's curl
    // lines work as they stand.
    let (client_secret, secret_note) = if sandbox.client_secret() == DEFAULT_CLIENT_SECRET {
        (DEFAULT_CLIENT_SECRET, "(a test secret)")
    } else {
        (
            "$CLIENT_SECRET",
            "(the secret given with --client-secret; not shown)",
        )
    };
    format!(
        "amili-sandbox listening on {addr}
  API base URL     {api}
  token URL        {token}
  client id        {client_id}
  client secret    {client_secret}   {secret_note}
  organization id  {org}
  other org        {other_org} (client id {other_id}, secret {other_secret})
  demo invoices    {demo}
  settle payments  curl -X POST '{settle}?date=2025-03-31'   (then GET {api}/orgs/{org}/settlements)
  batch delay      {delay} ms; token lifetime {lifetime} s; batch type {batch_type}
  faults           {faults} (seed {seed})
  webhooks         {webhooks}

Try it (the batch named in the answer reaches a terminal status after the batch delay):
  TOKEN=$(curl -s {token} -d grant_type=client_credentials -d client_id={client_id} -d client_secret={client_secret} | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')
  curl -i -X POST {api}/orgs/{org}/payments -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' -H '{idem}: demo-1' --data-raw '{{\"payments\":[{{\"invoiceId\":\"{invoice}\",\"type\":\"DIRECT_PAYMENT\",\"amount\":4500.00,\"currency\":\"NOK\",\"date\":\"2025-03-09T14:30:00Z\",\"description\":\"Bank transfer\",\"uniqueSourcePaymentId\":\"demo-payment-1\"}}]}}'
  curl -s {api}/orgs/{org}/batches -H \"Authorization: Bearer $TOKEN\"
",
        addr = sandbox.addr(),
        api = sandbox.api_url(),
        token = sandbox.token_url(),
        client_id = sandbox.client_id(),
        org = sandbox.organization_id(),
        other_org = other.organization_id,
        other_id = other.client_id,
        other_secret = other.client_secret,
        delay = args.batch_delay_ms,
        lifetime = args.token_lifetime,
        batch_type = args.batch_type,
        seed = args.fault_seed,
        idem = IDEMPOTENCY_KEY_HEADER,
    )
}

/// Waits for Ctrl-C (or SIGTERM on Unix).
async fn stop_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = ctrl_c => {}
            () = term => {}
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await;
}

/// Runs a sandbox until Ctrl-C (or SIGTERM), printing the [`banner`] on start, then shuts it
/// down gracefully.
///
/// # Errors
///
/// When the sandbox cannot start (see [`Args::start`]); once it runs, it stops only on a
/// signal and returns `Ok`.
pub async fn run(args: Args) -> Result<(), SandboxError> {
    let sandbox = args.start().await?;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{}", banner(&sandbox, &args));
    let _ = stdout.flush();
    drop(stdout);
    stop_signal().await;
    tracing::info!("shutting down");
    sandbox.shutdown().await;
    Ok(())
}

/// Whether logs on stderr are coloured: `--color always|never`, or with `auto` only when
/// stderr is a terminal and `NO_COLOR` is not set (the rule of `amili-sandbox` and `amili`).
pub fn colour_logs(color: clap::ColorChoice) -> bool {
    match color {
        clap::ColorChoice::Always => true,
        clap::ColorChoice::Never => false,
        clap::ColorChoice::Auto => {
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

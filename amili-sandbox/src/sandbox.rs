//! The [`Sandbox`] handle and its [`SandboxBuilder`] (the floor under the command line): it
//! builds the state, starts the server and the webhook tasks, and reads the state for tests.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::config::{Config, OrgConfig};
use crate::domain::corrections::BookedCorrection;
use crate::domain::events::WebhookAttempt;
use crate::domain::faults::Faults;
use crate::domain::invoices::{Invoices, SeedInvoice, demo_invoices};
use crate::domain::ledger::BookedPayment;
use crate::domain::settlements::Settlement;
use crate::domain::stats::Stats;
use crate::domain::store::Store;
use crate::domain::tokens::TokenIssuer;
use crate::error::SandboxError;
use crate::schema::WriteSchemas;
use crate::server;
use crate::state::AppState;
use crate::webhooks::{
    self, Courier, DEFAULT_WEBHOOK_ATTEMPTS, DEFAULT_WEBHOOK_BACKOFF, DEFAULT_WEBHOOK_SECRET,
    DEFAULT_WEBHOOK_TIMEOUT, WebhookFault, WebhookSettings,
};

/// The default test client id of the sandbox's main organization.
pub const DEFAULT_CLIENT_ID: &str = "sandbox-client";
/// The default test client secret of the sandbox's main organization (a test value).
pub const DEFAULT_CLIENT_SECRET: &str = "sandbox-secret";
/// The default main organization id (the organization id of the spec's examples).
pub const DEFAULT_ORGANIZATION_ID: Uuid = Uuid::from_u128(0x3fa85f64_5717_4562_b3fc_2c963f66afa6);
/// The default test client id of the second organization.
pub const OTHER_CLIENT_ID: &str = "sandbox-other-client";
/// The default test client secret of the second organization.
pub const OTHER_CLIENT_SECRET: &str = "sandbox-other-secret";
/// The default second organization id.
pub const OTHER_ORGANIZATION_ID: Uuid = Uuid::from_u128(0x0b0e7a11_0000_4000_8000_000000000002);

/// The `type` the sandbox gives payment batches by default. The spec documents only `NONE`
/// and `INVOICE` (and assumes `CORRECTION` for corrections) and says the set is open; the value Amili uses for payment batches is not
/// documented, so the sandbox sends an undocumented one to keep clients honest.
pub const DEFAULT_BATCH_TYPE: &str = "PAYMENT";
/// Default token lifetime.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// Default delay between a batch's creation and its processing.
pub const DEFAULT_BATCH_DELAY: Duration = Duration::from_millis(200);
/// Default request body limit (4 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The credentials and id of an organization the sandbox knows.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TestOrganization {
    /// Its test client id.
    pub client_id: String,
    /// Its test client secret.
    pub client_secret: String,
    /// Its organization id.
    pub organization_id: Uuid,
}

impl TestOrganization {
    /// An organization with these credentials.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        organization_id: Uuid,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            organization_id,
        }
    }
}

/// Configures and starts a [`Sandbox`]. Every setting has a default.
#[derive(Debug, Clone)]
#[must_use]
pub struct SandboxBuilder {
    bind: SocketAddr,
    token_lifetime: Duration,
    token_times_as_strings: bool,
    batch_delay: Duration,
    batch_type: String,
    invoice_ids: Vec<Uuid>,
    invoices: Vec<SeedInvoice>,
    demo_invoices: bool,
    accept_any_invoice: bool,
    main: TestOrganization,
    other: TestOrganization,
    max_body_bytes: usize,
    fault_seed: u64,
    webhooks: Option<WebhookSettings>,
}

impl Default for SandboxBuilder {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            token_times_as_strings: false,
            batch_delay: DEFAULT_BATCH_DELAY,
            batch_type: DEFAULT_BATCH_TYPE.to_owned(),
            invoice_ids: Vec::new(),
            invoices: Vec::new(),
            demo_invoices: true,
            accept_any_invoice: false,
            main: TestOrganization::new(
                DEFAULT_CLIENT_ID,
                DEFAULT_CLIENT_SECRET,
                DEFAULT_ORGANIZATION_ID,
            ),
            other: TestOrganization::new(
                OTHER_CLIENT_ID,
                OTHER_CLIENT_SECRET,
                OTHER_ORGANIZATION_ID,
            ),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            fault_seed: 0,
            webhooks: None,
        }
    }
}

impl SandboxBuilder {
    /// The address to listen on (default `127.0.0.1:0`, a free port).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// How long issued tokens stay valid (default 3600 s; sub-second values work, the token
    /// answer's `expires_in` is then rounded down to whole seconds).
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = lifetime;
        self
    }

    /// Send `not_before`, `expires_in` and `expires_on` as strings, as Azure-AD-style token
    /// services do (default: numbers).
    pub fn token_times_as_strings(mut self, yes: bool) -> Self {
        self.token_times_as_strings = yes;
        self
    }

    /// How long a batch stays `QUEUED` before it is processed (default 200 ms; zero is allowed,
    /// and so is `Duration::MAX`, leaving batches queued until [`Sandbox::finish_batches`]).
    pub fn batch_delay(mut self, delay: Duration) -> Self {
        self.batch_delay = delay;
        self
    }

    /// The `type` of payment batches (default [`DEFAULT_BATCH_TYPE`], `PAYMENT`).
    pub fn batch_type(mut self, batch_type: impl Into<String>) -> Self {
        self.batch_type = batch_type.into();
        self
    }

    /// Invoices whose payments succeed, in addition to [`crate::DEMO_INVOICES`] (known by id only:
    /// no number or source id).
    pub fn seed_invoices(mut self, ids: impl IntoIterator<Item = Uuid>) -> Self {
        self.invoice_ids.extend(ids);
        self
    }

    /// Invoices with numbers and source ids, whose payments succeed and which the invoice
    /// lookups find (one with a demo invoice's id replaces its description).
    pub fn seed_invoice_records(mut self, invoices: impl IntoIterator<Item = SeedInvoice>) -> Self {
        self.invoices.extend(invoices);
        self
    }

    /// Whether the sandbox also knows [`crate::DEMO_INVOICES`], described as [`demo_invoices`]
    /// says (default `true`).
    pub fn demo_invoices(mut self, yes: bool) -> Self {
        self.demo_invoices = yes;
        self
    }

    /// Treat every invoice id as known (default `false`: only seeded invoices are).
    pub fn accept_any_invoice(mut self, yes: bool) -> Self {
        self.accept_any_invoice = yes;
        self
    }

    /// The main organization's test client id and secret.
    pub fn client_credentials(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        self.main.client_id = client_id.into();
        self.main.client_secret = client_secret.into();
        self
    }

    /// The main organization's id.
    pub fn organization_id(mut self, id: Uuid) -> Self {
        self.main.organization_id = id;
        self
    }

    /// The second organization (for 403 tests).
    pub fn other_organization(mut self, other: TestOrganization) -> Self {
        self.other = other;
        self
    }

    /// The largest request body accepted (default 4 MiB); larger ones get 413.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// The seed of random faults (default 0).
    pub fn fault_seed(mut self, seed: u64) -> Self {
        self.fault_seed = seed;
        self
    }

    fn webhooks_mut(&mut self) -> &mut WebhookSettings {
        self.webhooks.get_or_insert_with(|| WebhookSettings {
            url: String::new(),
            secret: DEFAULT_WEBHOOK_SECRET.to_owned(),
            attempts: DEFAULT_WEBHOOK_ATTEMPTS,
            backoff: DEFAULT_WEBHOOK_BACKOFF,
            timeout: DEFAULT_WEBHOOK_TIMEOUT,
            faults: Vec::new(),
        })
    }

    /// Post a `BATCH_COMPLETED` event to this URL whenever a batch finishes (default: no
    /// webhooks). Batches then finish on time by themselves, without anybody reading them.
    pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhooks_mut().url = url.into();
        self
    }

    /// The shared secret webhook signatures are made with (default
    /// [`DEFAULT_WEBHOOK_SECRET`](crate::DEFAULT_WEBHOOK_SECRET), a test value).
    pub fn webhook_secret(mut self, secret: impl Into<String>) -> Self {
        self.webhooks_mut().secret = secret.into();
        self
    }

    /// How many times one delivery is tried (default 6, at least 1) and the first pause
    /// between tries (default 500 ms, doubling up to 30 s).
    pub fn webhook_retries(mut self, attempts: u32, backoff: Duration) -> Self {
        let settings = self.webhooks_mut();
        settings.attempts = attempts.max(1);
        settings.backoff = backoff;
        self
    }

    /// How long one delivery attempt may take (default 10 s); a timeout is a failed attempt.
    pub fn webhook_timeout(mut self, timeout: Duration) -> Self {
        self.webhooks_mut().timeout = timeout;
        self
    }

    /// Misbehave on every webhook event: deliver it twice, or out of order.
    pub fn webhook_fault(mut self, fault: WebhookFault) -> Self {
        let faults = &mut self.webhooks_mut().faults;
        if !faults.contains(&fault) {
            faults.push(fault);
        }
        self
    }

    fn validate(&self) -> Result<(), SandboxError> {
        let bad = |why: &str| Err(SandboxError::Config(why.to_owned()));
        if self.main.client_id.is_empty() || self.main.client_secret.is_empty() {
            return bad("the client id and secret must not be empty");
        }
        if self.other.client_id.is_empty() || self.other.client_secret.is_empty() {
            return bad("the other organization's client id and secret must not be empty");
        }
        if self.main.client_id == self.other.client_id {
            return bad("the two organizations need different client ids");
        }
        if self.main.organization_id == self.other.organization_id {
            return bad("the two organizations need different ids");
        }
        if self.batch_type.is_empty() {
            return bad("the batch type must not be empty");
        }
        if let Some(webhooks) = &self.webhooks {
            match reqwest::Url::parse(&webhooks.url) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => {}
                Ok(_) => return bad("the webhook URL must be http:// or https://"),
                Err(e) => {
                    return Err(SandboxError::Config(format!(
                        "the webhook URL {:?} is not a URL: {e}",
                        webhooks.url
                    )));
                }
            }
            if webhooks.secret.is_empty() {
                return bad("the webhook secret must not be empty");
            }
        }
        Ok(())
    }

    /// Binds the address and starts serving (on the current tokio runtime).
    ///
    /// # Errors
    ///
    /// - [`SandboxError::Config`]: an empty client id, secret or batch type, or two test
    ///   organizations that share a client id or an organization id;
    /// - [`SandboxError::Bind`]: the address cannot be bound (in use, not local, …);
    /// - [`SandboxError::Spec`]: the embedded spec cannot be turned into the request schema
    ///   (a defect of the crate, not of the caller).
    pub async fn start(self) -> Result<Sandbox, SandboxError> {
        self.validate()?;
        let schemas = WriteSchemas::load()?;
        let listener = TcpListener::bind(self.bind)
            .await
            .map_err(|source| SandboxError::Bind {
                addr: self.bind,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SandboxError::Bind {
            addr: self.bind,
            source,
        })?;
        let host = if addr.ip().is_unspecified() {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port())
        } else {
            addr
        };
        let org = |o: &TestOrganization| OrgConfig {
            client_id: o.client_id.clone(),
            client_secret: o.client_secret.clone(),
            organization_id: o.organization_id,
            created_by: Uuid::new_v4(),
        };
        let config = Config {
            origin: format!("http://{host}"),
            orgs: vec![org(&self.main), org(&self.other)],
            batch_delay: self.batch_delay,
            batch_type: self.batch_type.clone(),
            max_body_bytes: self.max_body_bytes,
        };
        let mut described = Invoices::default();
        if self.demo_invoices {
            described.seed(demo_invoices());
        }
        described.seed(self.invoices.iter().cloned());
        described.know(self.invoice_ids.iter().copied());
        let invoices = described.ids();
        let (courier, to_deliver) = match self.webhooks {
            Some(_) => {
                let (sender, receiver) = mpsc::unbounded_channel();
                (Some(sender), Some(receiver))
            }
            None => (None, None),
        };
        let state = Arc::new(AppState::new(
            config,
            TokenIssuer::new(self.token_lifetime, self.token_times_as_strings),
            schemas,
            Faults::new(self.fault_seed),
            Store::new(invoices, self.accept_any_invoice),
            described,
            courier,
        ));
        let mut background = Vec::new();
        if let (Some(settings), Some(to_deliver)) = (self.webhooks, to_deliver) {
            let url = settings.url.clone();
            let courier = Courier::new(settings, Arc::clone(&state))
                .map_err(|e| SandboxError::Config(format!("webhook HTTP client: {e}")))?;
            background.push(tokio::spawn(courier.run(to_deliver)));
            background.push(tokio::spawn(webhooks::clock(Arc::clone(&state))));
            tracing::info!(%url, "delivering webhooks");
        }
        let (shutdown, receiver) = watch::channel(false);
        let task = server::spawn(listener, Arc::clone(&state), receiver);
        tracing::info!(%addr, "sandbox listening");
        Ok(Sandbox {
            state,
            addr,
            main: self.main,
            other: self.other,
            shutdown,
            task: Some(task),
            background,
        })
    }
}

/// A running local Amili. Dropping it, or [`shutdown`](Self::shutdown), stops it gracefully.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let sandbox = amili_sandbox::Sandbox::start().await?;
/// # let _ = rustls::crypto::ring::default_provider().install_default();
/// let token: serde_json::Value = reqwest::Client::new()
///     .post(sandbox.token_url())
///     .form(&[
///         ("grant_type", "client_credentials"),
///         ("client_id", sandbox.client_id()),
///         ("client_secret", sandbox.client_secret()),
///     ])
///     .send()
///     .await?
///     .json()
///     .await?;
/// assert_eq!(token["token_type"], "Bearer");
/// assert_eq!(sandbox.stats().token_requests, 1);
/// sandbox.shutdown().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Sandbox {
    state: Arc<AppState>,
    addr: SocketAddr,
    main: TestOrganization,
    other: TestOrganization,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    /// The webhook clock and courier, when webhooks are configured.
    background: Vec<JoinHandle<()>>,
}

impl Sandbox {
    /// A builder with every default.
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }

    /// Starts a sandbox with the defaults on `127.0.0.1:0`.
    ///
    /// # Errors
    ///
    /// As [`SandboxBuilder::start`]: in practice only when no local port can be bound.
    pub async fn start() -> Result<Sandbox, SandboxError> {
        Self::builder().start().await
    }

    /// The API base URL, `http://127.0.0.1:PORT/collection/v1` (the real base path).
    pub fn api_url(&self) -> String {
        self.state.config.api_url()
    }

    /// The token endpoint, `http://127.0.0.1:PORT/token`.
    pub fn token_url(&self) -> String {
        format!("{}/token", self.state.config.origin)
    }

    /// The address the sandbox listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The main organization's test client id.
    pub fn client_id(&self) -> &str {
        &self.main.client_id
    }

    /// The main organization's test client secret.
    pub fn client_secret(&self) -> &str {
        &self.main.client_secret
    }

    /// The main organization's id.
    pub fn organization_id(&self) -> Uuid {
        self.main.organization_id
    }

    /// The main organization, credentials included.
    pub fn organization(&self) -> TestOrganization {
        self.main.clone()
    }

    /// A second organization, for "token of another organization → 403" tests.
    pub fn other_organization(&self) -> TestOrganization {
        self.other.clone()
    }

    /// The absolute URL of a batch of the main organization.
    pub fn batch_url(&self, batch_id: Uuid) -> String {
        self.state
            .config
            .batch_url(self.main.organization_id, batch_id)
    }

    /// Makes payments for these invoices succeed from now on (known by id only).
    pub fn seed_invoices(&self, ids: impl IntoIterator<Item = Uuid>) {
        self.state.seed_invoice_ids(ids.into_iter().collect());
    }

    /// Describes these invoices (number, source id, …) and makes their payments succeed.
    pub fn seed_invoice_records(&self, invoices: impl IntoIterator<Item = SeedInvoice>) {
        self.state.seed_invoices(invoices.into_iter().collect());
    }

    /// Settles every booked payment and correction not settled yet, on `date`: one
    /// settlement per organization, invoice and currency, for the sum of their amounts.
    /// Returns the new ones.
    pub fn settle(&self, date: chrono::NaiveDate) -> Vec<Settlement> {
        self.state.settle(date)
    }

    /// Every settlement produced so far, by settlement date.
    pub fn settlements(&self) -> Vec<Settlement> {
        self.state.settlements().all().to_vec()
    }

    /// Every booked payment, in booking order (due batches are processed first).
    pub fn ledger(&self) -> Vec<BookedPayment> {
        self.state.observe().ledger().collect()
    }

    /// Every booked correction, in booking order (due batches are processed first).
    pub fn corrections(&self) -> Vec<BookedCorrection> {
        let _store = self.state.observe();
        self.state.corrections().ledger().to_vec()
    }

    /// What was paid on `invoice`: its booked payments plus its booked corrections, in any
    /// organization and currency (the sandbox's invoices have one currency in practice).
    pub fn paid_on(&self, invoice: Uuid) -> rust_decimal::Decimal {
        let store = self.state.observe();
        let payments = store
            .ledger()
            .filter(|p| p.invoice_id == invoice)
            .map(|p| p.amount);
        let corrections = self.state.corrections();
        let corrected = corrections
            .ledger()
            .iter()
            .filter(|c| c.invoice_id == invoice)
            .map(|c| c.amount);
        payments.chain(corrected).sum()
    }

    /// How many times `unique_source_payment_id` was booked, in any organization.
    pub fn times_booked(&self, unique_source_payment_id: &str) -> usize {
        self.state.observe().times_booked(unique_source_payment_id)
    }

    /// How many batches exist (all organizations, replays not counted).
    pub fn batch_count(&self) -> usize {
        self.state.observe().batches().len()
    }

    /// Processes every queued batch now, whatever its delay.
    pub fn finish_batches(&self) {
        self.state.finish_all();
    }

    /// Every webhook request sent so far, in order (empty without
    /// [`SandboxBuilder::webhook_url`]).
    pub fn webhook_attempts(&self) -> Vec<WebhookAttempt> {
        self.state.webhook_log.all()
    }

    /// Request counters.
    pub fn stats(&self) -> Stats {
        self.state.stats.snapshot()
    }

    /// The fault script.
    pub fn faults(&self) -> &Faults {
        &self.state.faults
    }

    /// Makes every token issued so far invalid (the next call with one gets 401).
    pub fn expire_tokens(&self) {
        self.state.tokens.expire_all();
    }

    /// Stops accepting connections, lets requests in flight finish (up to a few seconds),
    /// and returns when the server is down.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for task in &self.background {
            task.abort();
        }
        if let Some(task) = self.task.take()
            && let Err(error) = task.await
        {
            tracing::warn!(%error, "sandbox server task failed");
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        for task in &self.background {
            task.abort();
        }
    }
}

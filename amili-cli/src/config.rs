//! From flags, `AMILI_*` variables and defaults to a connected [`amili_payments::Client`].
//!
//! Precedence is flags, then environment variables, then defaults; clap resolves the first
//! two (every connection flag has its `AMILI_*` variable, the same names `amili-payments`'
//! `ClientBuilder::from_env` reads). `--sandbox` ignores them all and starts an embedded
//! sandbox instead.

use std::time::Duration;

use amili_payments::{Backoff, Client, Environment, Poller};
use amili_sandbox::Sandbox;

use crate::args::{ConnectionArgs, EnvironmentArg};
use crate::exit::UsageError;
use crate::secret::Secret;

/// How submissions are paced.
#[derive(Debug, Clone)]
pub struct Tuning {
    pub concurrency: usize,
    /// Where the embedded sandbox posts its webhooks (URL and secret), with `--webhook-port`.
    pub sandbox_webhook: Option<(String, Secret)>,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            concurrency: 4,
            sandbox_webhook: None,
        }
    }
}

/// A client, and the embedded sandbox it talks to when `--sandbox` was given (kept alive as
/// long as the connection).
pub struct Connection {
    pub client: Client,
    pub sandbox: Option<Sandbox>,
}

impl Connection {
    /// Stops the embedded sandbox, if any.
    pub async fn close(self) {
        if let Some(sandbox) = self.sandbox {
            sandbox.shutdown().await;
        }
    }

    /// The name the ledger keeps `kind`'s items under for this API and organization.
    pub fn ledger_scope(&self, kind: amili_payments::ledger::Kind) -> String {
        amili_payments::ledger::scope(self.client.api_url(), self.client.organization_id(), kind)
    }

    /// `result`, after stopping the embedded sandbox when it is an error (the command ends
    /// with it).
    pub async fn closed_on_error<T, E>(&mut self, result: Result<T, E>) -> Result<T, E> {
        if result.is_err()
            && let Some(sandbox) = self.sandbox.take()
        {
            sandbox.shutdown().await;
        }
        result
    }
}

/// How long the embedded sandbox keeps a batch `QUEUED` (so `--wait` has something to wait
/// for, briefly).
const EMBEDDED_BATCH_DELAY: Duration = Duration::from_millis(300);

/// Builds the client the arguments describe (starting the embedded sandbox for `--sandbox`).
pub async fn connect(args: &ConnectionArgs, tuning: Tuning) -> anyhow::Result<Connection> {
    // The submission's chunk size comes from --chunk-size; the client's limit is its bound.
    let mut builder = Client::builder()
        .max_payments_per_request(crate::args::MAX_CHUNK_SIZE as usize)
        .concurrency(tuning.concurrency)
        .user_agent(format!("amili-cli/{}", env!("CARGO_PKG_VERSION")));
    if let Some(secs) = args.timeout {
        builder = builder.timeout(Duration::from_secs(secs));
    }
    if args.sandbox {
        let mut sandbox = Sandbox::builder().batch_delay(EMBEDDED_BATCH_DELAY);
        if let Some((url, secret)) = &tuning.sandbox_webhook {
            sandbox = sandbox
                .webhook_url(url.clone())
                .webhook_secret(secret.expose().to_owned());
        }
        let sandbox = sandbox
            .start()
            .await
            .map_err(|e| anyhow::anyhow!("cannot start the embedded sandbox: {e}"))?;
        eprintln!("{}", sandbox_said(&sandbox.api_url()));
        let client = builder
            .environment(Environment::custom(sandbox.api_url(), sandbox.token_url()))
            .organization_id(sandbox.organization_id())
            .client_credentials(
                sandbox.client_id().to_owned(),
                sandbox.client_secret().to_owned(),
            )
            .build()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        return Ok(Connection {
            client,
            sandbox: Some(sandbox),
        });
    }

    let settings = settings(args).map_err(UsageError)?;
    eprintln!("{}", settings.said);
    builder = builder
        .environment(settings.environment)
        .organization_id(settings.organization_id);
    builder = match (&args.bearer_token, &args.client_id, &args.client_secret) {
        (Some(token), _, _) => builder.bearer_token(token.expose().to_owned()),
        (None, Some(id), Some(secret)) => {
            builder.client_credentials(id.clone(), secret.expose().to_owned())
        }
        // `settings` named missing credentials already.
        (None, _, _) => builder,
    };
    let client = builder
        .build()
        .map_err(|e| UsageError(format!("invalid connection settings: {e}")))?;
    Ok(Connection {
        client,
        sandbox: None,
    })
}

/// Proves the organization id before anything is sent (a token is issued for a wrong one
/// too): `403` or `404` for the organization is a settings error (exit 2), said in one line.
pub async fn check_organization(client: &Client) -> anyhow::Result<()> {
    let Err(e) = client.check_organization().await else {
        return Ok(());
    };
    let (id, url) = (client.organization_id(), client.api_url());
    match e.status() {
        Some(403) => Err(UsageError(organization_refused(id, url, 403)).into()),
        Some(404) => Err(UsageError(organization_refused(id, url, 404)).into()),
        _ => Err(anyhow::anyhow!(
            "cannot read organization {id} at {url}: {e}"
        )),
    }
}

/// What a `403` or `404` for the organization means, for the person who set it.
fn organization_refused(id: uuid::Uuid, url: &str, status: u16) -> String {
    let what = if status == 404 {
        format!("organization {id} not found at {url} (404)")
    } else {
        format!("organization {id} is not yours: {url} refuses these credentials for it (403)")
    };
    format!("{what}; check AMILI_ORGANIZATION_ID (--organization-id)")
}

/// The connection settings of a run against Amili (not `--sandbox`), and the line that says
/// which Amili it talks to.
struct Settings {
    environment: Environment,
    organization_id: uuid::Uuid,
    said: String,
}

/// Reads the environment and organization from the arguments, naming every missing setting
/// at once. No environment is a missing setting, not a quiet staging: a run that meant
/// production must not go to staging, nor the reverse.
fn settings(args: &ConnectionArgs) -> Result<Settings, String> {
    let mut missing = Vec::new();
    let environment = match (&args.api_url, &args.token_url, args.environment) {
        (Some(api), Some(token), _) => Some(Environment::custom(api.clone(), token.clone())),
        // A ready token needs no token endpoint.
        (Some(api), None, _) if args.bearer_token.is_some() => {
            Some(Environment::custom(api.clone(), String::new()))
        }
        (Some(_), None, _) => {
            missing.push("AMILI_TOKEN_URL (--token-url), which goes with AMILI_API_URL");
            None
        }
        (None, Some(_), _) => {
            missing.push("AMILI_API_URL (--api-url), which goes with AMILI_TOKEN_URL");
            None
        }
        (None, None, Some(EnvironmentArg::Production)) => Some(Environment::Production),
        (None, None, Some(EnvironmentArg::Staging)) => Some(Environment::Staging),
        (None, None, None) => {
            missing.push(
                "AMILI_ENVIRONMENT (--environment production|staging; or AMILI_API_URL and \
                 AMILI_TOKEN_URL)",
            );
            None
        }
    };
    if args.organization_id.is_none() {
        missing.push("AMILI_ORGANIZATION_ID (--organization-id)");
    }
    if args.bearer_token.is_none() && (args.client_id.is_none() || args.client_secret.is_none()) {
        missing.push(match (&args.client_id, &args.client_secret) {
            (Some(_), None) => "AMILI_CLIENT_SECRET (or AMILI_TOKEN)",
            (None, Some(_)) => "AMILI_CLIENT_ID (--client-id; or AMILI_TOKEN)",
            _ => "AMILI_CLIENT_ID and AMILI_CLIENT_SECRET (or AMILI_TOKEN)",
        });
    }
    match (environment, args.organization_id) {
        (Some(environment), Some(organization_id)) if missing.is_empty() => {
            let said = environment_said(&environment, args.environment, organization_id);
            Ok(Settings {
                environment,
                organization_id,
                said,
            })
        }
        _ => Err(missing_settings(&missing)),
    }
}

/// One error naming every missing setting.
fn missing_settings(missing: &[&str]) -> String {
    let (noun, list) = match missing {
        [one] => ("setting", (*one).to_owned()),
        many => ("settings", many.join("; ")),
    };
    format!("missing {noun}: {list} (or try --sandbox)")
}

/// The line every run that talks to Amili prints first (stderr): which Amili, for whom.
fn environment_said(
    environment: &Environment,
    named: Option<EnvironmentArg>,
    organization_id: uuid::Uuid,
) -> String {
    let which = match (environment, named) {
        (Environment::Production, _) => "Amili production",
        (Environment::Staging, _) => "Amili staging",
        (_, None) => "a custom Amili",
        (_, Some(_)) => "a custom Amili (AMILI_API_URL wins over AMILI_ENVIRONMENT)",
    };
    format!(
        "using {which} at {} for organization {organization_id}",
        environment.api_url()
    )
}

/// The line a `--sandbox` run prints first (stderr).
fn sandbox_said(api_url: &str) -> String {
    format!("using an embedded sandbox at {api_url} (nothing leaves this machine)")
}

/// Runs `call` with a client for `args` (default tuning), then closes the connection
/// (stopping the embedded sandbox) whatever `call` returned: the look-up commands' frame.
pub async fn with_client<T>(
    args: &ConnectionArgs,
    call: impl AsyncFnOnce(&Client) -> T,
) -> anyhow::Result<T> {
    let conn = connect(args, Tuning::default()).await?;
    let result = call(&conn.client).await;
    conn.close().await;
    Ok(result)
}

/// The poller the CLI follows batches with: quick at first (the sandbox and small batches
/// finish in moments), at most every 5 s, giving up after `timeout` per batch.
pub fn poller(client: &Client, timeout: Duration) -> Poller<'_> {
    client
        .poller()
        .with_timeout(timeout)
        .with_backoff(Backoff::new(
            Duration::from_millis(250),
            Duration::from_secs(5),
        ))
}

#[cfg(test)]
mod tests {
    use super::organization_refused;

    #[test]
    fn a_refused_organization_is_named_with_what_to_check() {
        let id = uuid::Uuid::nil();
        assert_eq!(
            organization_refused(id, "https://api.amili.no/collection/v1", 403),
            "organization 00000000-0000-0000-0000-000000000000 is not yours: \
             https://api.amili.no/collection/v1 refuses these credentials for it (403); check \
             AMILI_ORGANIZATION_ID (--organization-id)"
        );
        assert_eq!(
            organization_refused(id, "http://127.0.0.1:9/v1", 404),
            "organization 00000000-0000-0000-0000-000000000000 not found at \
             http://127.0.0.1:9/v1 (404); check AMILI_ORGANIZATION_ID (--organization-id)"
        );
    }
}

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
        tracing::info!(api = %sandbox.api_url(), "embedded sandbox started");
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

    let environment = match (&args.api_url, &args.token_url) {
        (Some(api), Some(token)) => Environment::custom(api.clone(), token.clone()),
        // A ready token needs no token endpoint.
        (Some(api), None) if args.bearer_token.is_some() => {
            Environment::custom(api.clone(), String::new())
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(UsageError(
                "--api-url and --token-url (AMILI_API_URL, AMILI_TOKEN_URL) go together: \
                 give both, or neither and --environment"
                    .to_owned(),
            )
            .into());
        }
        (None, None) => match args.environment {
            Some(EnvironmentArg::Production) => Environment::Production,
            Some(EnvironmentArg::Staging) | None => Environment::Staging,
        },
    };
    let Some(organization_id) = args.organization_id else {
        return Err(UsageError(
            "no organization id: pass --organization-id or set AMILI_ORGANIZATION_ID \
             (or try --sandbox)"
                .to_owned(),
        )
        .into());
    };
    builder = builder
        .environment(environment)
        .organization_id(organization_id);
    builder = match (&args.bearer_token, &args.client_id, &args.client_secret) {
        (Some(token), _, _) => builder.bearer_token(token.expose().to_owned()),
        (None, Some(id), Some(secret)) => {
            builder.client_credentials(id.clone(), secret.expose().to_owned())
        }
        (None, _, _) => {
            return Err(UsageError(
                "no credentials: set AMILI_CLIENT_ID and AMILI_CLIENT_SECRET (or pass \
                 --client-id; prefer the variable for the secret), or AMILI_TOKEN \
                 (or try --sandbox)"
                    .to_owned(),
            )
            .into());
        }
    };
    let client = builder
        .build()
        .map_err(|e| UsageError(format!("invalid connection settings: {e}")))?;
    Ok(Connection {
        client,
        sandbox: None,
    })
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

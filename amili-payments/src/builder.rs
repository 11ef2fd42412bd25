//! Configuring a [`Client`](crate::Client): the settings, their checks, and the [`Shared`]
//! state they turn into ([`ClientBuilder::build`](crate::ClientBuilder::build) wraps it).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderValue;
use secrecy::SecretString;
use url::Url;
use uuid::Uuid;

use crate::credentials::{StaticToken, TokenProvider};
use crate::environment::{Environment, check_url};
use crate::error::Error;
use crate::hooks::Hooks;
use crate::retry::RetryPolicy;
use crate::token::{ClientCredentialsProvider, TokenCache};

/// Default most payments per request (Amili documents no maximum).
pub const DEFAULT_MAX_PAYMENTS_PER_REQUEST: usize = 500;
/// Default number of requests `submit` runs at once.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// Default time limit of one HTTP request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default time limit for connecting.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time before expiry at which a token is refreshed (at most half its lifetime).
pub const DEFAULT_TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(60);

enum Credentials {
    OAuth {
        client_id: String,
        client_secret: SecretString,
    },
    Bearer(SecretString),
    Provider(Arc<dyn TokenProvider>),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::OAuth { client_id, .. } => f
                .debug_struct("ClientCredentials")
                .field("client_id", client_id)
                .field("client_secret", &"[redacted]")
                .finish(),
            Credentials::Bearer(_) => f.write_str("Bearer([redacted])"),
            Credentials::Provider(p) => f.debug_tuple("Provider").field(&p.kind()).finish(),
        }
    }
}

/// Configures a [`Client`](crate::Client). Only the organization id and credentials are
/// required.
///
/// ```
/// use std::time::Duration;
/// use amili_payments::{Client, Environment, RetryPolicy};
///
/// let client = Client::builder()
///     .environment(Environment::Staging)
///     .organization_id("3fa85f64-5717-4562-b3fc-2c963f66afa6".parse()?)
///     .client_credentials("my-client-id", "my-client-secret")
///     .timeout(Duration::from_secs(20))
///     .retry_policy(RetryPolicy::default().with_max_attempts(3))
///     .max_payments_per_request(200)
///     .concurrency(2)
///     .build()?;
/// assert!(!format!("{client:?}").contains("my-client-secret"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[must_use]
pub struct ClientBuilder {
    environment: Environment,
    organization_id: Option<Uuid>,
    credentials: Option<Credentials>,
    timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
    max_payments_per_request: usize,
    concurrency: usize,
    http_client: Option<reqwest::Client>,
    user_agent: Option<String>,
    send_idempotency_key: bool,
    token_refresh_margin: Duration,
}

/// What a built client holds: the configuration and connections its clones share.
pub(crate) struct Shared {
    pub(crate) raw: amili_api::Client,
    pub(crate) organization_id: Uuid,
    pub(crate) api_url: String,
    pub(crate) tokens: Arc<TokenCache>,
    pub(crate) retry: RetryPolicy,
    /// Each attempt's timeout.
    pub(crate) timeout: Duration,
    pub(crate) max_payments_per_request: usize,
    pub(crate) concurrency: usize,
    pub(crate) send_idempotency_key: bool,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientBuilder {
    /// Defaults: staging, 30 s timeout, the default [`RetryPolicy`], 500 payments per
    /// request, 4 requests at once, the idempotency header on.
    pub fn new() -> Self {
        Self {
            environment: Environment::default(),
            organization_id: None,
            credentials: None,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            retry: RetryPolicy::default(),
            max_payments_per_request: DEFAULT_MAX_PAYMENTS_PER_REQUEST,
            concurrency: DEFAULT_CONCURRENCY,
            http_client: None,
            user_agent: None,
            send_idempotency_key: true,
            token_refresh_margin: DEFAULT_TOKEN_REFRESH_MARGIN,
        }
    }

    /// A builder from the process environment:
    ///
    /// | variable | meaning |
    /// |---|---|
    /// | `AMILI_ORGANIZATION_ID` | the organization id (required) |
    /// | `AMILI_CLIENT_ID`, `AMILI_CLIENT_SECRET` | client credentials |
    /// | `AMILI_TOKEN` | a static bearer token (instead of client credentials) |
    /// | `AMILI_ENVIRONMENT` | `production` or `staging` (default) |
    /// | `AMILI_API_URL`, `AMILI_TOKEN_URL` | a custom API base and token URL (instead of `AMILI_ENVIRONMENT`; the token URL is not needed with `AMILI_TOKEN`) |
    ///
    /// Every missing or invalid variable is named in one error. Other settings can still be
    /// changed on the returned builder.
    ///
    /// # Errors
    ///
    /// [`Error`] naming every variable that is missing or invalid.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup` (tests, config
    /// files).
    ///
    /// # Errors
    ///
    /// As [`from_env`](Self::from_env).
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut problems = Vec::new();
        let mut builder = Self::new();

        match get("AMILI_ORGANIZATION_ID") {
            Some(text) => match Uuid::parse_str(&text) {
                Ok(id) => builder = builder.organization_id(id),
                Err(_) => problems.push(format!("AMILI_ORGANIZATION_ID {text:?} is not a UUID")),
            },
            None => problems.push("AMILI_ORGANIZATION_ID is not set".to_owned()),
        }

        let static_token = get("AMILI_TOKEN");
        let client_id = get("AMILI_CLIENT_ID");
        let client_secret = lookup("AMILI_CLIENT_SECRET").filter(|v| !v.trim().is_empty());
        match (static_token, client_id, client_secret) {
            (Some(token), _, _) => builder = builder.bearer_token(token),
            (None, Some(id), Some(secret)) => builder = builder.client_credentials(id, secret),
            (None, Some(_), None) => problems.push("AMILI_CLIENT_SECRET is not set".to_owned()),
            (None, None, Some(_)) => problems.push("AMILI_CLIENT_ID is not set".to_owned()),
            (None, None, None) => problems.push(
                "no credentials: set AMILI_CLIENT_ID and AMILI_CLIENT_SECRET, or AMILI_TOKEN"
                    .to_owned(),
            ),
        }

        let api_url = get("AMILI_API_URL");
        let token_url = get("AMILI_TOKEN_URL");
        let named = get("AMILI_ENVIRONMENT");
        match (api_url, token_url, named) {
            (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => problems.push(
                "set either AMILI_ENVIRONMENT or AMILI_API_URL/AMILI_TOKEN_URL, not both"
                    .to_owned(),
            ),
            (Some(api), token, None) => {
                builder = builder.environment(Environment::custom(api, token.unwrap_or_default()))
            }
            (None, Some(_), None) => {
                problems.push("AMILI_TOKEN_URL is set but AMILI_API_URL is not".to_owned())
            }
            (None, None, Some(name)) => match Environment::from_name(&name) {
                Ok(env) => builder = builder.environment(env),
                Err(_) => problems.push(format!(
                    "AMILI_ENVIRONMENT {name:?} is neither `production` nor `staging`"
                )),
            },
            (None, None, None) => {}
        }

        if problems.is_empty() {
            Ok(builder)
        } else {
            Err(Error::Config(problems.join("; ")))
        }
    }

    /// Which Amili to talk to (default [`Environment::Staging`]).
    pub fn environment(mut self, environment: Environment) -> Self {
        self.environment = environment;
        self
    }

    /// The organization id Amili issued (required).
    pub fn organization_id(mut self, organization_id: Uuid) -> Self {
        self.organization_id = Some(organization_id);
        self
    }

    /// OAuth2 client credentials: tokens are fetched from the environment's token URL.
    pub fn client_credentials(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<SecretString>,
    ) -> Self {
        self.credentials = Some(Credentials::OAuth {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        });
        self
    }

    /// A fixed bearer token, never refreshed.
    pub fn bearer_token(mut self, token: impl Into<SecretString>) -> Self {
        self.credentials = Some(Credentials::Bearer(token.into()));
        self
    }

    /// Your own token source.
    pub fn token_provider(mut self, provider: Arc<dyn TokenProvider>) -> Self {
        self.credentials = Some(Credentials::Provider(provider));
        self
    }

    /// The time limit of one HTTP request (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The time limit for connecting (default 10 s; ignored with [`http_client`](Self::http_client)).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How failed requests are retried.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The most payments in one request (default 500).
    pub fn max_payments_per_request(mut self, max: usize) -> Self {
        self.max_payments_per_request = max;
        self
    }

    /// How many requests `submit` runs at once (default 4).
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency;
        self
    }

    /// Your own `reqwest::Client` (proxies, TLS roots, …). Its redirect policy is yours:
    /// reqwest drops `Authorization` when a redirect leaves the host. The client built by
    /// default follows redirects only within the same origin.
    ///
    /// Build it with [`http_client_builder`](crate::http_client_builder): with the
    /// `rustls-ring` feature that installs the `ring` crypto provider, without which
    /// `reqwest::Client::new()` panics (the default `rustls` feature needs none).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// The `User-Agent` (default `amili-payments/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Whether to send the `IdempotencyKey` header on `CreatePayments` (default on).
    ///
    /// **Assumption**: Amili does not document how a client sets a batch's idempotency key;
    /// this crate assumes a request header. With it off, a request that was sent but got no
    /// answer cannot be checked and its payments are reported as *outcome unknown*; `502` and
    /// `504` answers are then also taken as unknown rather than retried.
    pub fn send_idempotency_key(mut self, send: bool) -> Self {
        self.send_idempotency_key = send;
        self
    }

    /// How long before expiry a token is refreshed (default 60 s), plus a random extra of up to
    /// half the margin; at most half the token's lifetime.
    pub fn token_refresh_margin(mut self, margin: Duration) -> Self {
        self.token_refresh_margin = margin;
        self
    }

    /// Checks the configuration and makes what a client's clones share (what
    /// [`ClientBuilder::build`](crate::ClientBuilder::build) does, without the client).
    pub(crate) fn into_shared(self) -> Result<Shared, Error> {
        let mut problems = Vec::new();
        if self.organization_id.is_none() {
            problems.push("the organization id is not set".to_owned());
        }
        if self.credentials.is_none() {
            problems.push(
                "no credentials: use client_credentials, bearer_token or token_provider".to_owned(),
            );
        }
        if self.max_payments_per_request == 0 {
            problems.push("max_payments_per_request must be at least 1".to_owned());
        }
        if self.concurrency == 0 {
            problems.push("concurrency must be at least 1".to_owned());
        }
        if self.timeout.is_zero() {
            problems.push("the timeout must be positive".to_owned());
        }
        let api_url = match check_url("API URL", self.environment.api_url()) {
            Ok(url) => Some(url),
            Err(e) => {
                problems.push(config_text(e));
                None
            }
        };
        let token_url = match &self.credentials {
            Some(Credentials::OAuth { .. }) => {
                match check_url("token URL", self.environment.token_url()) {
                    Ok(url) => Some(url),
                    Err(e) => {
                        problems.push(config_text(e));
                        None
                    }
                }
            }
            _ => None,
        };
        let user_agent = self
            .user_agent
            .clone()
            .unwrap_or_else(|| format!("amili-payments/{}", env!("CARGO_PKG_VERSION")));
        let user_agent = match HeaderValue::try_from(user_agent) {
            Ok(v) => Some(v),
            Err(_) => {
                problems.push("the user agent has characters not allowed in a header".to_owned());
                None
            }
        };
        let http = match self.http_client.clone() {
            Some(client) => Some(client),
            None => match default_http_client(self.connect_timeout, user_agent.clone()) {
                Ok(client) => Some(client),
                Err(e) => {
                    problems.push(format!("cannot build the HTTP client: {e}"));
                    None
                }
            },
        };
        let (Some(organization_id), Some(credentials), Some(api_url), Some(user_agent), Some(http)) = (
            self.organization_id,
            self.credentials,
            api_url,
            user_agent,
            http,
        ) else {
            return Err(Error::Config(problems.join("; ")));
        };
        if !problems.is_empty() {
            return Err(Error::Config(problems.join("; ")));
        }

        let provider: Arc<dyn TokenProvider> = match credentials {
            Credentials::OAuth {
                client_id,
                client_secret,
            } => {
                let Some(token_url) = token_url else {
                    return Err(Error::Config("the token URL is not set".to_owned()));
                };
                Arc::new(
                    ClientCredentialsProvider::new(
                        http.clone(),
                        token_url,
                        client_id,
                        client_secret,
                    )
                    .with_timeout(self.timeout),
                )
            }
            Credentials::Bearer(token) => Arc::new(StaticToken::new(token)),
            Credentials::Provider(provider) => provider,
        };
        let tokens = Arc::new(TokenCache::new(provider, self.token_refresh_margin));
        let hooks = Hooks {
            tokens: tokens.clone(),
            user_agent,
            timeout: Some(self.timeout),
        };
        let base = api_base(&api_url);
        let raw = amili_api::Client::new_with_client(
            &base,
            http,
            amili_api::hooks::Inner::new(Arc::new(hooks)),
        );
        Ok(Shared {
            raw,
            organization_id,
            api_url: base,
            tokens,
            retry: self.retry,
            timeout: self.timeout,
            max_payments_per_request: self.max_payments_per_request,
            concurrency: self.concurrency,
            send_idempotency_key: self.send_idempotency_key,
        })
    }
}

fn config_text(e: Error) -> String {
    match e {
        Error::Config(text) => text,
        other => other.to_string(),
    }
}

/// The base URL without a trailing slash (the generated client appends `/orgs/…`).
fn api_base(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

/// The HTTP client built when the caller supplies none: redirects are followed only within
/// the same origin (scheme, host, port), so neither the token nor the payments go elsewhere.
fn default_http_client(
    connect_timeout: Duration,
    user_agent: Option<HeaderValue>,
) -> Result<reqwest::Client, reqwest::Error> {
    let policy = reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() > 5 {
            return attempt.error("too many redirects");
        }
        let same_origin = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        if same_origin {
            attempt.follow()
        } else {
            attempt.stop()
        }
    });
    let mut builder = amili_api::tls::client_builder()
        .connect_timeout(connect_timeout)
        .redirect(policy);
    if let Some(user_agent) = user_agent {
        builder = builder.user_agent(user_agent);
    }
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const ORG: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

    #[test]
    fn from_env_with_client_credentials() -> Result<(), Error> {
        let client = ClientBuilder::from_env_with(vars(&[
            ("AMILI_ORGANIZATION_ID", ORG),
            ("AMILI_CLIENT_ID", "id"),
            ("AMILI_CLIENT_SECRET", "s3cr3t-value"),
            ("AMILI_ENVIRONMENT", "production"),
        ]))?
        .build()?;
        assert_eq!(client.api_url(), crate::environment::PRODUCTION_API_URL);
        assert!(!format!("{client:?}").contains("s3cr3t-value"));
        Ok(())
    }

    #[test]
    fn from_env_with_a_static_token_and_custom_urls() -> Result<(), Error> {
        let client = ClientBuilder::from_env_with(vars(&[
            ("AMILI_ORGANIZATION_ID", ORG),
            ("AMILI_TOKEN", "tok-value"),
            ("AMILI_API_URL", "http://127.0.0.1:9/collection/v1/"),
        ]))?
        .build()?;
        assert_eq!(client.api_url(), "http://127.0.0.1:9/collection/v1");
        assert!(!format!("{client:?}").contains("tok-value"));
        Ok(())
    }

    #[test]
    fn from_env_names_every_problem() {
        let err = ClientBuilder::from_env_with(vars(&[
            ("AMILI_ORGANIZATION_ID", "nope"),
            ("AMILI_CLIENT_ID", "id"),
            ("AMILI_ENVIRONMENT", "moon"),
        ]))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("AMILI_ORGANIZATION_ID"), "{err}");
        assert!(err.contains("AMILI_CLIENT_SECRET"), "{err}");
        assert!(err.contains("AMILI_ENVIRONMENT"), "{err}");
    }

    #[test]
    fn plain_http_to_a_remote_host_is_refused() {
        let err = ClientBuilder::new()
            .organization_id(Uuid::nil())
            .client_credentials("id", "secret")
            .environment(Environment::custom(
                "http://api.amili.no/collection/v1",
                "https://auth.amili.no/token",
            ))
            .build()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("https is required"), "{err}");
    }

    #[test]
    fn build_names_every_missing_setting() {
        let err = ClientBuilder::new()
            .concurrency(0)
            .build()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("organization id"), "{err}");
        assert!(err.contains("no credentials"), "{err}");
        assert!(err.contains("concurrency"), "{err}");
    }
}

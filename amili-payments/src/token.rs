//! OAuth2 client credentials and the token cache.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tracing::Instrument;
use url::Url;

use crate::credentials::{AccessToken, TokenInfo, TokenProvider};
use crate::error::{ApiError, ApiErrorParts, Error};
use crate::http::{read_body, request_id, summarize_body};

/// When the token endpoint gives no lifetime, the token is taken to live this long.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

/// Fetches tokens with the OAuth2 client-credentials grant: a form `POST` of `grant_type`,
/// `client_id` and `client_secret` to the token URL.
///
/// The answer's `expires_in` (seconds) or `expires_on` (Unix seconds) may be numbers or
/// strings; with neither, the token is taken to live 5 minutes. `Debug` never shows the
/// secret.
pub struct ClientCredentialsProvider {
    http: reqwest::Client,
    token_url: Url,
    client_id: String,
    client_secret: SecretString,
    timeout: Option<Duration>,
}

impl ClientCredentialsProvider {
    /// A provider posting to `token_url` with `http`.
    pub fn new(
        http: reqwest::Client,
        token_url: Url,
        client_id: impl Into<String>,
        client_secret: SecretString,
    ) -> Self {
        Self {
            http,
            token_url,
            client_id: client_id.into(),
            client_secret,
            timeout: None,
        }
    }

    /// A time limit for each token request.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    async fn fetch(&self) -> Result<AccessToken, Error> {
        const OP: &str = "token";
        let started = Instant::now();
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose_secret()),
        ];
        let mut request = self
            .http
            .post(self.token_url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form);
        if let Some(timeout) = self.timeout {
            request = request.timeout(timeout);
        }
        let response = request
            .send()
            .await
            .map_err(|e| crate::http::transport_error(OP, e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = read_body(response).await;
        let span = tracing::Span::current();
        span.record("status", status.as_u16());
        span.record("duration_ms", started.elapsed().as_millis() as u64);
        if status.is_success() {
            let body = body.map_err(|e| crate::http::transport_error(OP, e))?;
            return parse_token(&body);
        }
        let body = body.unwrap_or_default();
        let oauth: Option<OAuthError> = serde_json::from_slice(&body).ok();
        let explained = oauth
            .as_ref()
            .and_then(|o| match (&o.error, &o.error_description) {
                (Some(code), Some(text)) => Some(format!("{code}: {text}")),
                (Some(code), None) => Some(code.clone()),
                (None, Some(text)) => Some(text.clone()),
                (None, None) => None,
            })
            .or_else(|| summarize_body(&body, &headers));
        match status.as_u16() {
            400 | 401 | 403 => Err(Error::Authentication {
                message: format!(
                    "the token endpoint refused the client credentials (HTTP {}){}; check the \
                     client id and secret and the environment",
                    status.as_u16(),
                    explained.map(|e| format!(": {e}")).unwrap_or_default()
                ),
                status: Some(status.as_u16()),
                request_id: request_id(&headers),
            }),
            _ => Err(Error::Api(ApiError::from(ApiErrorParts {
                operation: OP,
                status: status.as_u16(),
                message: explained,
                content_type: headers
                    .get(reqwest::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
                request_id: request_id(&headers),
                retry_after: headers
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(crate::retry::parse_retry_after),
                body,
            }))),
        }
    }
}

impl fmt::Debug for ClientCredentialsProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentialsProvider")
            .field("token_url", &self.token_url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish()
    }
}

impl TokenProvider for ClientCredentialsProvider {
    fn token(&self) -> BoxFuture<'_, Result<AccessToken, Error>> {
        let span = tracing::info_span!(
            "amili.token",
            operation = "token",
            status = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        Box::pin(self.fetch().instrument(span))
    }

    fn kind(&self) -> &'static str {
        "client credentials"
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<Number>,
    #[serde(default)]
    expires_on: Option<Number>,
}

#[derive(Deserialize)]
struct OAuthError {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// A number that may come as a JSON number or a string (Azure AD v1 sends strings).
#[derive(Deserialize)]
#[serde(untagged)]
enum Number {
    Int(i64),
    Float(f64),
    Text(String),
}

impl Number {
    fn seconds(&self) -> Option<i64> {
        match self {
            Number::Int(n) => Some(*n),
            Number::Float(f) if f.is_finite() => Some(*f as i64),
            Number::Float(_) => None,
            Number::Text(t) => t
                .trim()
                .parse::<i64>()
                .ok()
                .or_else(|| t.trim().parse::<f64>().ok().map(|f| f as i64)),
        }
    }
}

/// The shortest token lifetime believed (a zero or negative `expires_in` would otherwise mean
/// one token call per request).
const MIN_LIFETIME_SECS: i64 = 5;
/// The longest token lifetime believed (a huge `expires_in` must neither overflow nor keep a
/// revoked token for ever).
const MAX_LIFETIME_SECS: i64 = 24 * 60 * 60;

fn parse_token(body: &[u8]) -> Result<AccessToken, Error> {
    let invalid = |message: String| Error::InvalidResponse {
        operation: "token",
        status: None,
        message,
    };
    let parsed: TokenResponse = serde_json::from_slice(body).map_err(|e| {
        invalid(format!(
            "the token endpoint's answer is not the expected JSON ({e})"
        ))
    })?;
    if let Some(kind) = &parsed.token_type
        && !kind.eq_ignore_ascii_case("bearer")
    {
        return Err(invalid(format!(
            "the token endpoint issued a {kind:?} token; only bearer tokens are supported"
        )));
    }
    if parsed.access_token.is_empty() {
        return Err(invalid("the token endpoint returned an empty token".into()));
    }
    let now = Utc::now();
    let expires_at = parsed
        .expires_in
        .as_ref()
        .and_then(Number::seconds)
        .map(|s| now + chrono::Duration::seconds(s.clamp(MIN_LIFETIME_SECS, MAX_LIFETIME_SECS)))
        .or_else(|| {
            parsed
                .expires_on
                .as_ref()
                .and_then(Number::seconds)
                .map(|s| {
                    let left = s.saturating_sub(now.timestamp());
                    now + chrono::Duration::seconds(
                        left.clamp(MIN_LIFETIME_SECS, MAX_LIFETIME_SECS),
                    )
                })
        })
        .unwrap_or_else(|| {
            now + chrono::Duration::from_std(DEFAULT_LIFETIME).unwrap_or(chrono::Duration::zero())
        });
    Ok(AccessToken::new(parsed.access_token, Some(expires_at)))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A token handed out by the cache, with the generation it belongs to.
#[derive(Clone, Debug)]
pub(crate) struct Lease {
    pub(crate) token: AccessToken,
    pub(crate) generation: u64,
}

struct Cached {
    token: AccessToken,
    generation: u64,
    refresh_at: Option<DateTime<Utc>>,
}

/// Caches a provider's token, refreshes it ahead of expiry (one refresh at a time) and drops
/// it when Amili refuses it.
pub(crate) struct TokenCache {
    provider: Arc<dyn TokenProvider>,
    margin: Duration,
    state: Mutex<Option<Cached>>,
    refresh: tokio::sync::Mutex<()>,
    generations: AtomicU64,
    /// The last failed fetch: callers that were waiting for it share its error instead of
    /// each asking the token endpoint again.
    failed: Mutex<Option<(Instant, Error)>>,
}

impl TokenCache {
    pub(crate) fn new(provider: Arc<dyn TokenProvider>, margin: Duration) -> Self {
        Self {
            provider,
            margin,
            state: Mutex::new(None),
            refresh: tokio::sync::Mutex::new(()),
            generations: AtomicU64::new(0),
            failed: Mutex::new(None),
        }
    }

    fn state(&self) -> MutexGuard<'_, Option<Cached>> {
        lock(&self.state)
    }

    fn fresh(&self) -> Option<Lease> {
        let state = self.state();
        let cached = state.as_ref()?;
        match cached.refresh_at {
            Some(at) if Utc::now() >= at => None,
            _ => Some(Lease {
                token: cached.token.clone(),
                generation: cached.generation,
            }),
        }
    }

    /// A valid token: the cached one, or a fresh one (only one fetch runs at a time).
    pub(crate) async fn get(&self) -> Result<Lease, Error> {
        if let Some(lease) = self.fresh() {
            return Ok(lease);
        }
        let waiting_since = Instant::now();
        let _single_flight = self.refresh.lock().await;
        if let Some(lease) = self.fresh() {
            return Ok(lease);
        }
        if let Some((at, error)) = lock(&self.failed).as_ref()
            && *at >= waiting_since
        {
            return Err(error.clone());
        }
        let token = match self.provider.token().await {
            Ok(token) => token,
            Err(error) => {
                *lock(&self.failed) = Some((Instant::now(), error.clone()));
                return Err(error);
            }
        };
        let now = Utc::now();
        let refresh_at = token.expires_at().map(|expires_at| {
            let lifetime = (expires_at - now).to_std().unwrap_or(Duration::ZERO);
            // Up to half the margin again, at random: processes started together then do not
            // all ask the token endpoint at the same instant.
            let jitter = self.margin.mul_f64(fastrand::f64() * 0.5);
            let margin = (self.margin + jitter).min(lifetime / 2);
            expires_at - chrono::Duration::from_std(margin).unwrap_or(chrono::Duration::zero())
        });
        let generation = self.generations.fetch_add(1, Ordering::Relaxed) + 1;
        *self.state() = Some(Cached {
            token: token.clone(),
            generation,
            refresh_at,
        });
        tracing::debug!(generation, expires_at = ?token.expires_at(), "fetched an access token");
        Ok(Lease { token, generation })
    }

    /// Amili refused the token of `generation`: forget it, unless a newer one is cached.
    pub(crate) fn invalidate(&self, generation: u64) {
        let mut state = self.state();
        if state.as_ref().is_some_and(|c| c.generation == generation) {
            *state = None;
            drop(state);
            self.provider.invalidate();
            tracing::debug!(generation, "access token refused; it will be fetched again");
        }
    }

    pub(crate) fn info(&self, lease: &Lease) -> TokenInfo {
        TokenInfo {
            kind: self.provider.kind(),
            expires_at: lease.token.expires_at(),
        }
    }

    pub(crate) fn kind(&self) -> &'static str {
        self.provider.kind()
    }
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only the provider's kind: a caller's provider may derive a `Debug` that shows more
        // than it should.
        f.debug_struct("TokenCache")
            .field("provider", &self.provider.kind())
            .field("margin", &self.margin)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn expiry_as_numbers_or_strings() -> Result<(), Error> {
        let t = parse_token(br#"{"access_token":"a","token_type":"Bearer","expires_in":3600}"#)?;
        let left = t.expires_at().map(|at| (at - Utc::now()).num_seconds());
        assert!(left.is_some_and(|s| (3590..=3600).contains(&s)));
        let t = parse_token(br#"{"access_token":"a","expires_in":"60"}"#)?;
        assert!(t.expires_at().is_some_and(|at| at > Utc::now()));
        let on = Utc::now().timestamp() + 600;
        let t = parse_token(format!(r#"{{"access_token":"a","expires_on":"{on}"}}"#).as_bytes())?;
        assert!(
            t.expires_at()
                .is_some_and(|at| (at.timestamp() - on).abs() <= 1)
        );
        Ok(())
    }

    #[test]
    fn lifetimes_are_clamped_never_panic() -> Result<(), Error> {
        let left = |body: &str| -> Result<Option<i64>, Error> {
            let t = parse_token(body.as_bytes())?;
            Ok(t.expires_at().map(|at| (at - Utc::now()).num_seconds()))
        };
        let day = MAX_LIFETIME_SECS;
        let floor = MIN_LIFETIME_SECS;
        for huge in ["18446744073709551615", "9223372036854775807", "1e300"] {
            let got = left(&format!(r#"{{"access_token":"a","expires_in":{huge}}}"#))?;
            assert!(
                got.is_some_and(|s| (day - 5..=day).contains(&s)),
                "{huge}: {got:?}"
            );
        }
        for short in ["0", "-5", "\"-99999999999999\""] {
            let got = left(&format!(r#"{{"access_token":"a","expires_in":{short}}}"#))?;
            assert!(
                got.is_some_and(|s| (floor - 2..=floor).contains(&s)),
                "{short}: {got:?}"
            );
        }
        // An expiry in the past is the floor too.
        let got = left(r#"{"access_token":"a","expires_on":"1709303600"}"#)?;
        assert!(
            got.is_some_and(|s| (floor - 2..=floor).contains(&s)),
            "{got:?}"
        );
        let t = parse_token(br#"{"access_token":"a"}"#)?;
        assert!(t.expires_at().is_some());
        assert!(parse_token(br#"{"access_token":"a","token_type":"MAC"}"#).is_err());
        assert!(parse_token(b"<html>").is_err());
        Ok(())
    }

    #[derive(Debug, Default)]
    struct Counting(AtomicUsize);

    impl TokenProvider for Counting {
        fn token(&self) -> BoxFuture<'_, Result<AccessToken, Error>> {
            Box::pin(async move {
                let n = self.0.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok(AccessToken::new(
                    format!("t{n}"),
                    Some(Utc::now() + chrono::Duration::hours(1)),
                ))
            })
        }
    }

    #[derive(Debug, Default)]
    struct Refusing(AtomicUsize);

    impl TokenProvider for Refusing {
        fn token(&self) -> BoxFuture<'_, Result<AccessToken, Error>> {
            Box::pin(async move {
                self.0.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                Err(Error::Authentication {
                    message: "refused".into(),
                    status: Some(401),
                    request_id: None,
                })
            })
        }
    }

    #[tokio::test]
    async fn refresh_is_planned_a_jittered_margin_before_expiry() -> Result<(), Error> {
        let margin = Duration::from_secs(60);
        let mut planned = std::collections::HashSet::new();
        for _ in 0..20 {
            let cache = TokenCache::new(Arc::new(Counting::default()), margin);
            cache.get().await?;
            let times = cache
                .state()
                .as_ref()
                .and_then(|c| Some((c.token.expires_at()?, c.refresh_at?)));
            let (expires, refresh) = times.ok_or(Error::Usage("no refresh time".into()))?;
            let ahead = (expires - refresh).num_milliseconds();
            // Between the margin and one and a half margins ahead of expiry.
            assert!((60_000..=90_000).contains(&ahead), "{ahead} ms");
            planned.insert(ahead);
        }
        // The extra is random, not a constant.
        assert!(planned.len() > 1, "{planned:?}");
        Ok(())
    }

    #[tokio::test]
    async fn callers_waiting_on_a_failed_fetch_share_its_error() {
        let provider = Arc::new(Refusing::default());
        let cache = TokenCache::new(provider.clone(), Duration::from_secs(60));
        let results = futures::future::join_all((0..16).map(|_| cache.get())).await;
        assert!(results.iter().all(Result::is_err));
        assert_eq!(provider.0.load(Ordering::SeqCst), 1);
        // A later call asks again.
        assert!(cache.get().await.is_err());
        assert_eq!(provider.0.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn one_fetch_under_concurrency_and_invalidation_by_generation() -> Result<(), Error> {
        let provider = Arc::new(Counting::default());
        let cache = Arc::new(TokenCache::new(provider.clone(), Duration::from_secs(60)));
        let leases = futures::future::join_all((0..16).map(|_| cache.get())).await;
        assert_eq!(provider.0.load(Ordering::SeqCst), 1);
        let first = leases
            .into_iter()
            .next()
            .ok_or(Error::Usage("none".into()))??;
        cache.invalidate(first.generation);
        let second = cache.get().await?;
        assert_eq!(provider.0.load(Ordering::SeqCst), 2);
        // A stale invalidation does not drop the newer token.
        cache.invalidate(first.generation);
        let third = cache.get().await?;
        assert_eq!(third.generation, second.generation);
        assert_eq!(provider.0.load(Ordering::SeqCst), 2);
        Ok(())
    }
}

//! Credentials: access tokens, the `TokenProvider` trait and a static bearer.

pub use crate::token::ClientCredentialsProvider;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use secrecy::SecretString;

use crate::error::Error;

/// A bearer token and when it expires. `Debug` never shows the token.
///
/// ```
/// use amili_payments::credentials::AccessToken;
///
/// let token = AccessToken::new("eyJ0eXAi.secret", None);
/// assert!(!format!("{token:?}").contains("secret"));
/// ```
#[derive(Clone)]
pub struct AccessToken {
    secret: Arc<SecretString>,
    expires_at: Option<DateTime<Utc>>,
}

impl AccessToken {
    /// A token, expiring at `expires_at` (`None`: valid until the server refuses it).
    pub fn new(token: impl Into<String>, expires_at: Option<DateTime<Utc>>) -> Self {
        Self {
            secret: Arc::new(SecretString::from(token.into())),
            expires_at,
        }
    }

    /// The token itself; use `secrecy::ExposeSecret` to read it.
    pub fn secret(&self) -> &SecretString {
        &self.secret
    }

    /// When the token expires, if known.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.expires_at
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A source of access tokens: implement it to plug in your own (a vault, a sidecar).
///
/// The client caches what [`token`](Self::token) returns until shortly before
/// [`AccessToken::expires_at`], asks again then (one request at a time, however many calls
/// run), and calls [`invalidate`](Self::invalidate) when Amili refuses a token with `401`.
/// Errors should be [`Error::Authentication`] when the credentials are refused and a
/// retryable error ([`Error::Transport`], [`Error::Api`] with 5xx) when the source is
/// temporarily unavailable.
///
/// ```
/// use amili_payments::Error;
/// use amili_payments::credentials::{AccessToken, TokenProvider};
/// use futures::future::BoxFuture;
///
/// #[derive(Debug)]
/// struct FromVault;
///
/// impl TokenProvider for FromVault {
///     fn token(&self) -> BoxFuture<'_, Result<AccessToken, Error>> {
///         Box::pin(async { Ok(AccessToken::new("token-from-the-vault", None)) })
///     }
/// }
/// ```
pub trait TokenProvider: Send + Sync + fmt::Debug {
    /// A valid token.
    fn token(&self) -> BoxFuture<'_, Result<AccessToken, Error>>;

    /// The last token was refused; forget anything cached.
    fn invalidate(&self) {}

    /// What kind of source this is, for diagnostics (`"client credentials"`, `"static"`, …).
    fn kind(&self) -> &'static str {
        "custom"
    }
}

/// A fixed bearer token (`AMILI_TOKEN`): never refreshed.
pub struct StaticToken(AccessToken);

impl StaticToken {
    /// The token.
    pub fn new(token: SecretString) -> Self {
        Self(AccessToken {
            secret: Arc::new(token),
            expires_at: None,
        })
    }
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticToken([redacted])")
    }
}

impl TokenProvider for StaticToken {
    fn token(&self) -> BoxFuture<'_, Result<AccessToken, Error>> {
        let token = self.0.clone();
        Box::pin(async move { Ok(token) })
    }

    fn kind(&self) -> &'static str {
        "static bearer token"
    }
}

/// What is known about the current token, without the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenInfo {
    /// The source: `"client credentials"`, `"static bearer token"` or a custom provider's kind.
    pub kind: &'static str,
    /// When the token expires, if known.
    pub expires_at: Option<DateTime<Utc>>,
}

//! The client: cheap to clone, shared configuration behind an `Arc`.

use std::fmt;
use std::sync::Arc;

use uuid::Uuid;

use crate::builder::ClientBuilder;
use crate::credentials::TokenInfo;
use crate::error::Error;
use crate::retry::RetryPolicy;
use crate::token::TokenCache;

/// The Amili payments client. Build one with [`Client::builder`] (or
/// [`ClientBuilder::from_env`]); clone it freely — clones share the token cache and the
/// connection pool.
///
/// `Debug` shows the configuration, never a secret or token.
#[derive(Clone)]
pub struct Client {
    pub(crate) shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub(crate) raw: amili_api::Client,
    pub(crate) organization_id: Uuid,
    pub(crate) api_url: String,
    pub(crate) tokens: Arc<TokenCache>,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_payments_per_request: usize,
    pub(crate) concurrency: usize,
    pub(crate) send_idempotency_key: bool,
}

impl Client {
    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// The organization every call acts for.
    pub fn organization_id(&self) -> Uuid {
        self.shared.organization_id
    }

    /// The collection API base URL.
    pub fn api_url(&self) -> &str {
        &self.shared.api_url
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.shared.retry
    }

    /// The most payments sent in one request.
    pub fn max_payments_per_request(&self) -> usize {
        self.shared.max_payments_per_request
    }

    /// How many requests `submit` runs at once.
    pub fn concurrency(&self) -> usize {
        self.shared.concurrency
    }

    /// Whether the `IdempotencyKey` header is sent.
    pub fn sends_idempotency_key(&self) -> bool {
        self.shared.send_idempotency_key
    }

    /// The generated `amili-api` client underneath, for calls this crate does not wrap.
    ///
    /// Its requests still carry the bearer token (from the same cache) and the tracing spans,
    /// but no retries, no validation and no error mapping: its errors are progenitor's.
    pub fn raw(&self) -> &amili_api::Client {
        &self.shared.raw
    }

    /// Fetches (or reuses) a token and tells what is known about it — never the token itself.
    /// Use it to check credentials (`amili token check`). A temporary failure of the token
    /// endpoint (`429`, `5xx`, no connection) is retried like any call, with the
    /// [`RetryPolicy`].
    ///
    /// # Errors
    ///
    /// [`Error::Authentication`] when the credentials are refused; the last error when the
    /// token endpoint stays unavailable.
    pub async fn check_token(&self) -> Result<TokenInfo, Error> {
        let lease = self.token_with_retries().await?;
        Ok(self.shared.tokens.info(&lease))
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.shared;
        f.debug_struct("Client")
            .field("api_url", &s.api_url)
            .field("organization_id", &s.organization_id)
            .field("credentials", &s.tokens.kind())
            .field("retry", &s.retry)
            .field("max_payments_per_request", &s.max_payments_per_request)
            .field("concurrency", &s.concurrency)
            .field("send_idempotency_key", &s.send_idempotency_key)
            .finish()
    }
}

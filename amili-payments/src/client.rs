//! The client: cheap to clone, shared configuration behind an `Arc`. Every public method of
//! [`Client`] is listed on it, with the file that holds it.

use std::fmt;
use std::sync::Arc;

use uuid::Uuid;

use crate::builder::{ClientBuilder, Shared};
use crate::credentials::TokenInfo;
use crate::error::Error;
use crate::retry::RetryPolicy;

/// The Amili payments client. Build one with [`Client::builder`] (or
/// [`ClientBuilder::from_env`]); clone it freely — clones share the token cache and the
/// connection pool.
///
/// `Debug` shows the configuration, never a secret or token.
///
/// # Methods, and where they live
///
/// | method | what it does | file |
/// |---|---|---|
/// | [`Client::builder`] | starts configuring a client ([`ClientBuilder::build`] ends it) | `client.rs` |
/// | [`Client::organization_id`], [`Client::api_url`], [`Client::retry_policy`], [`Client::max_payments_per_request`], [`Client::concurrency`], [`Client::sends_idempotency_key`] | the configuration | `client.rs` |
/// | [`Client::raw`] | the generated `amili-api` client underneath | `client.rs` |
/// | [`Client::check_token`] | fetches a token and tells what is known about it | `client.rs` |
/// | [`Client::submit`], [`Client::submit_stream`] | starts a [`Submission`](crate::Submission) of payments or corrections (its `status` report: `status.rs`) | `submission.rs` |
/// | [`Client::poller`] | a [`Poller`](crate::Poller) that follows batches to their end | `poller.rs` |
/// | [`Client::batch`], [`Client::batches_page`], [`Client::batches`], [`Client::find_batch_by_key`] | reads batches | `batches.rs` |
/// | [`Client::check_organization`] | proves the credentials may act for the organization | `batches.rs` |
/// | [`Client::invoice`], [`Client::invoices_page`], [`Client::invoices`], [`Client::find_invoices_by_number`], [`Client::find_invoices_by_source_id`], [`Client::invoice_resolver`] | reads invoices, resolves references to them | `invoices.rs` |
/// | [`Client::settlement`], [`Client::settlements_page`], [`Client::settlements`] | reads settlements | `settlements.rs` |
///
/// Every call runs through the one call loop in `call.rs` (retries, token refresh, look-up
/// of a write by its key).
#[derive(Clone)]
pub struct Client {
    pub(crate) shared: Arc<Shared>,
}

impl ClientBuilder {
    /// Checks the configuration and builds the client. Makes no request.
    ///
    /// # Errors
    ///
    /// [`Error`] naming every problem at once: no organization id, no credentials, an
    /// invalid URL, or an HTTP client that cannot be built.
    pub fn build(self) -> Result<Client, Error> {
        let shared = self.into_shared()?;
        Ok(Client {
            shared: Arc::new(shared),
        })
    }
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

#[cfg(test)]
mod tests {
    /// The files that hold an `impl Client` block, as the table on [`super::Client`] names
    /// them.
    const FILES: [(&str, &str); 6] = [
        ("client.rs", include_str!("client.rs")),
        ("submission.rs", include_str!("submission.rs")),
        ("poller.rs", include_str!("poller.rs")),
        ("batches.rs", include_str!("batches.rs")),
        ("invoices.rs", include_str!("invoices.rs")),
        ("settlements.rs", include_str!("settlements.rs")),
    ];

    /// The public methods in `text`'s `impl Client` blocks.
    fn public_methods(text: &str) -> Vec<&str> {
        let mut methods = Vec::new();
        let mut inside = false;
        for line in text.lines() {
            if line == "impl Client {" {
                inside = true;
            } else if line == "}" {
                inside = false;
            } else if inside {
                let rest = line
                    .strip_prefix("    pub fn ")
                    .or_else(|| line.strip_prefix("    pub async fn "));
                if let Some(rest) = rest {
                    let end = rest.find(['(', '<']).unwrap_or(rest.len());
                    methods.push(&rest[..end]);
                }
            }
        }
        methods
    }

    #[test]
    fn the_table_on_client_lists_every_public_method_and_its_file() {
        let table = include_str!("client.rs");
        for (file, text) in FILES {
            let methods = public_methods(text);
            assert!(!methods.is_empty(), "{file} has no public method of Client");
            for method in methods {
                let row = table.lines().find(|l| {
                    l.starts_with("/// |") && l.contains(&format!("[`Client::{method}`]"))
                });
                assert!(
                    row.is_some_and(|r| r.ends_with(&format!("| `{file}` |"))),
                    "Client::{method} ({file}) is not in the table on Client with its file"
                );
            }
        }
    }
}

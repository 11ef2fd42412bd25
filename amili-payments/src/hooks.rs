//! The request hooks: bearer token, user agent, timeout and a tracing span per attempt.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::BoxFuture;
use reqwest::header::{AUTHORIZATION, HeaderValue, USER_AGENT};
use secrecy::ExposeSecret;
use tracing::Instrument;
use tracing::field::Empty;

use crate::credentials::AccessToken;
use crate::token::TokenCache;

tokio::task_local! {
    /// Set by the attempt loop around one generated call: which attempt it is and the token
    /// it fetched (so the hook needs no second, untyped fetch).
    static ATTEMPT: AttemptContext;
}

#[derive(Clone)]
pub(crate) struct AttemptContext {
    pub(crate) attempt: u32,
    pub(crate) token: AccessToken,
    /// A write's body, serialized once by the caller: it replaces the (empty) body the
    /// generated builder serialized, so retries resend the same bytes without serializing or
    /// cloning the payments again.
    pub(crate) body: Option<Bytes>,
}

/// Runs `future` (one generated call) as attempt `context.attempt` with its token.
pub(crate) async fn in_attempt<F: Future>(context: AttemptContext, future: F) -> F::Output {
    ATTEMPT.scope(context, future).await
}

pub(crate) struct Hooks {
    pub(crate) tokens: Arc<TokenCache>,
    pub(crate) user_agent: HeaderValue,
    pub(crate) timeout: Option<Duration>,
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field("tokens", &self.tokens)
            .field("user_agent", &self.user_agent)
            .field("timeout", &self.timeout)
            .finish()
    }
}

pub(crate) fn bearer(token: &AccessToken) -> Result<HeaderValue, String> {
    let mut value = HeaderValue::try_from(format!("Bearer {}", token.secret().expose_secret()))
        .map_err(|_| {
            "the access token has characters that cannot be sent in a header".to_owned()
        })?;
    value.set_sensitive(true);
    Ok(value)
}

impl amili_api::RequestHooks for Hooks {
    fn prepare<'a>(
        &'a self,
        request: &'a mut reqwest::Request,
        _operation_id: &'static str,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let (token, body) = match ATTEMPT.try_with(|c| (c.token.clone(), c.body.clone())) {
                Ok(context) => context,
                // A call through `Client::raw()`: use (or fill) the cache.
                Err(_) => (
                    self.tokens.get().await.map_err(|e| e.to_string())?.token,
                    None,
                ),
            };
            if let Some(body) = body {
                *request.body_mut() = Some(reqwest::Body::from(body));
            }
            request.headers_mut().insert(AUTHORIZATION, bearer(&token)?);
            request
                .headers_mut()
                .insert(USER_AGENT, self.user_agent.clone());
            if request.timeout().is_none() {
                *request.timeout_mut() = self.timeout;
            }
            Ok(())
        })
    }

    fn execute<'a>(
        &'a self,
        client: &'a reqwest::Client,
        request: reqwest::Request,
        operation_id: &'static str,
    ) -> BoxFuture<'a, reqwest::Result<reqwest::Response>> {
        let attempt = ATTEMPT.try_with(|c| c.attempt).unwrap_or(1);
        let span = tracing::info_span!(
            "amili.attempt",
            operation = operation_id,
            attempt,
            method = %request.method(),
            path = request.url().path(),
            status = Empty,
            duration_ms = Empty,
            request_id = Empty,
            error = Empty,
        );
        Box::pin(
            async move {
                let started = Instant::now();
                let result = client.execute(request).await;
                let span = tracing::Span::current();
                span.record("duration_ms", started.elapsed().as_millis() as u64);
                match &result {
                    Ok(response) => {
                        span.record("status", response.status().as_u16());
                        if let Some(id) = crate::http::request_id(response.headers()) {
                            span.record("request_id", id.as_str());
                        }
                        tracing::debug!(status = response.status().as_u16(), "answered");
                    }
                    Err(e) => {
                        let text = crate::http::error_chain(e);
                        span.record("error", text.as_str());
                        tracing::debug!(error = %text, "no answer");
                    }
                }
                result
            }
            .instrument(span),
        )
    }
}

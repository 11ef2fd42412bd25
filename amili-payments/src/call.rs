//! One attempt of a generated call, and how its failure is classified.

use std::time::Instant;

use progenitor_client::{ByteStream, ResponseValue};

use crate::client::Client;
use crate::error::Error;
use crate::hooks::{AttemptContext, in_attempt};
use crate::http::{api_error, read_stream, transport_error};

/// The raw result of one generated call.
pub(crate) type RawResult<T> = Result<ResponseValue<T>, progenitor_client::Error<ByteStream>>;

/// Why an attempt failed, and so what may be done next.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Provably not sent (a refused connection, the token source temporarily down): retry.
    NotSent(Error),
    /// The server asked to come back later (`429`, `502`, `503`, `504`): retry.
    Throttled(Error),
    /// `401`: refresh the token (of this generation) once and retry.
    Unauthorized(Error, u64),
    /// Sent, but no usable answer: for a write, the outcome must be checked.
    Ambiguous(Error),
    /// Final.
    Fatal(Error),
}

impl Client {
    /// Runs one attempt: gets a token (typed errors), runs the generated call with it, and
    /// classifies a failure.
    pub(crate) async fn attempt<T, Fut>(
        &self,
        operation: &'static str,
        attempt: u32,
        call: Fut,
    ) -> Result<T, Failure>
    where
        Fut: Future<Output = RawResult<T>>,
    {
        let lease = match self.shared.tokens.get().await {
            Ok(lease) => lease,
            Err(e) if e.is_retryable() => return Err(Failure::NotSent(e)),
            Err(e) => return Err(Failure::Fatal(e)),
        };
        let context = AttemptContext {
            attempt,
            token: lease.token.clone(),
        };
        match in_attempt(context, call).await {
            Ok(value) => Ok(value.into_inner()),
            Err(e) => Err(classify(operation, e, lease.generation).await),
        }
    }

    /// Runs a read (a `GET`): every transport failure and throttling answer is retried, a
    /// `401` refreshes the token once.
    pub(crate) async fn run_read<T, F, Fut>(
        &self,
        operation: &'static str,
        mut call: F,
    ) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = RawResult<T>>,
    {
        let policy = &self.shared.retry;
        let started = Instant::now();
        let mut attempt = 0;
        let mut retries = 0;
        let mut refreshed = false;
        loop {
            attempt += 1;
            let failure = match self.attempt(operation, attempt, call()).await {
                Ok(value) => return Ok(value),
                Err(failure) => failure,
            };
            match failure {
                Failure::Unauthorized(e, generation) => {
                    self.shared.tokens.invalidate(generation);
                    if refreshed {
                        return Err(unauthorized_after_refresh(e));
                    }
                    refreshed = true;
                }
                Failure::NotSent(e) | Failure::Throttled(e) | Failure::Ambiguous(e) => {
                    match policy.delay(retries, started.elapsed(), e.retry_after()) {
                        Some(delay) => {
                            tracing::debug!(operation, attempt, ?delay, error = %e, "retrying");
                            retries += 1;
                            tokio::time::sleep(delay).await;
                        }
                        None => return Err(e),
                    }
                }
                Failure::Fatal(e) => return Err(e),
            }
        }
    }
}

/// A `401` even with a freshly fetched token.
pub(crate) fn unauthorized_after_refresh(e: Error) -> Error {
    let detail = match &e {
        Error::Api(api) => api.message().map(|m| format!(": {m}")).unwrap_or_default(),
        _ => String::new(),
    };
    Error::Authentication {
        message: format!(
            "Amili refused a freshly fetched token with 401{detail}; check that the credentials \
             belong to this environment and organization"
        ),
        status: Some(401),
        request_id: e.request_id().map(str::to_owned),
    }
}

/// Classifies a failed generated call. progenitor's own error text is never shown.
pub(crate) async fn classify(
    operation: &'static str,
    error: progenitor_client::Error<ByteStream>,
    generation: u64,
) -> Failure {
    use progenitor_client::Error as E;
    match error {
        E::ErrorResponse(response) => {
            let status = response.status();
            let headers = response.headers().clone();
            let mut stream = response.into_inner_stream();
            let body = read_stream(&mut stream).await.unwrap_or_default();
            by_status(
                api_error(operation, status.as_u16(), &headers, body),
                generation,
            )
        }
        E::UnexpectedResponse(response) => {
            let status = response.status();
            let headers = response.headers().clone();
            if status.is_success() {
                // A success status the spec does not list (200 instead of 202, say): it may
                // have been processed.
                return Failure::Ambiguous(Error::InvalidResponse {
                    operation,
                    status: Some(status.as_u16()),
                    message: format!("unexpected success status {status}"),
                });
            }
            let body = crate::http::read_body(response).await.unwrap_or_default();
            let mut api = api_error(operation, status.as_u16(), &headers, body);
            if status.is_redirection() {
                api = api.or_message(
                    "a redirect to another host was not followed (it would have carried the \
                     credentials and the payments elsewhere)",
                );
            }
            by_status(api, generation)
        }
        E::CommunicationError(e) => {
            let connect = e.is_connect();
            let builder = e.is_builder();
            let error = transport_error(operation, e);
            if connect {
                Failure::NotSent(error)
            } else if builder {
                Failure::Fatal(error)
            } else {
                Failure::Ambiguous(error)
            }
        }
        E::ResponseBodyError(e) => Failure::Ambiguous(Error::Transport {
            operation,
            message: format!(
                "the success answer's body could not be read ({})",
                crate::http::error_chain(&e)
            ),
            maybe_sent: true,
            cause: Some(std::sync::Arc::new(e)),
        }),
        E::InvalidResponsePayload(_, e) => Failure::Ambiguous(Error::InvalidResponse {
            operation,
            status: None,
            message: format!("the success answer is not the documented JSON ({e})"),
        }),
        E::Custom(message) => Failure::Fatal(Error::Authentication {
            message,
            status: None,
            request_id: None,
        }),
        E::InvalidRequest(_) => Failure::Fatal(Error::Usage(format!(
            "{operation}: the request could not be built from its arguments"
        ))),
        E::InvalidUpgrade(_) => Failure::Fatal(Error::InvalidResponse {
            operation,
            status: None,
            message: "unexpected protocol upgrade".to_owned(),
        }),
    }
}

fn by_status(api: crate::error::ApiError, generation: u64) -> Failure {
    match api.status() {
        401 => Failure::Unauthorized(Error::Api(api), generation),
        429 | 502 | 503 | 504 => Failure::Throttled(Error::Api(api)),
        _ => Failure::Fatal(Error::Api(api)),
    }
}

//! The one call loop: attempts of a generated call, how a failure is classified, and what is
//! done next (retry, refresh the token, look a write up by its key, give up).

use std::time::Instant;

use bytes::Bytes;
use progenitor_client::{ByteStream, ResponseValue};
use tracing::Instrument;
use uuid::Uuid;

use crate::batches::Batch;
use crate::client::Client;
use crate::error::Error;
use crate::hooks::{AttemptContext, in_attempt};
use crate::http::{api_error, read_stream, transport_error};
use crate::idempotency::IdempotencyKey;
use crate::pages::Envelope;

/// The raw result of one generated call.
pub(crate) type RawResult<T> = Result<ResponseValue<T>, progenitor_client::Error<ByteStream>>;

/// Why an attempt failed, and so what may be done next.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Provably not sent (a refused connection, the token source temporarily down): retry.
    NotSent(Error),
    /// The server did not take the request (`429`, `503`): retry.
    Throttled(Error),
    /// `401`: refresh the token (of this generation) once and retry.
    Unauthorized(Error, u64),
    /// Sent, and maybe processed (no usable answer, a timeout, `500`, `502`, `504`): a read is
    /// retried, a write is looked up by its key first.
    Ambiguous(Error),
    /// Final.
    Fatal(Error),
}

/// What kind of call runs through the loop, and so what may be retried.
#[derive(Clone, Copy)]
pub(crate) enum Idempotency<'a> {
    /// A `GET`: any transport failure or `5xx`/`429` is retried.
    Read,
    /// A write (a `POST` that creates a batch) under its idempotency key, with the request
    /// body serialized once: a failure after which the request may have been processed is
    /// resolved by looking the batch up by `key` before anything is resent.
    Write {
        key: &'a IdempotencyKey,
        body: &'a Bytes,
    },
}

/// How a call ended well.
pub(crate) enum Answer<T> {
    /// The server's answer.
    Fresh(T),
    /// A write whose answer was lost, found afterwards by its idempotency key.
    FoundByKey(Batch),
}

impl Client {
    /// The one call loop, for reads and writes: gets a token, runs `call` (one generated
    /// call), classifies a failure and decides — retry after a backoff (same key), refresh the
    /// token once after a `401`, look a write up by its key, or give up.
    ///
    /// A write never ends in a plain error after it may have been processed: if the last
    /// look-up cannot prove the batch absent *and* no retry is left, the error is
    /// [`Error::OutcomeUnknown`].
    pub(crate) async fn call<T, F, Fut>(
        &self,
        operation: &'static str,
        idempotency: Idempotency<'_>,
        mut call: F,
    ) -> Result<Answer<T>, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = RawResult<T>>,
    {
        let shared = &self.shared;
        let started = Instant::now();
        let mut attempt = 0;
        let mut retries = 0;
        let mut refreshed = false;
        loop {
            attempt += 1;
            let body = match idempotency {
                Idempotency::Write { body, .. } => Some(body.clone()),
                Idempotency::Read => None,
            };
            let failure = match self.attempt(operation, attempt, body, call()).await {
                Ok(value) => return Ok(Answer::Fresh(value)),
                Err(failure) => failure,
            };
            // The error to retry after, and whether the request may have been processed.
            let (error, maybe_processed) = match failure {
                // A write's key used before with another body: a batch may exist under it.
                Failure::Fatal(e) if e.status() == Some(409) => {
                    if let Idempotency::Write { key, .. } = idempotency {
                        return Err(Error::OutcomeUnknown {
                            idempotency_key: Some(key.clone()),
                            reason: format!(
                                "{e}: the idempotency key was used before, maybe with other \
                                 payments, so a batch may exist under it; check the batches in \
                                 Amili before sending these again"
                            ),
                        });
                    }
                    return Err(e);
                }
                Failure::Fatal(e) => return Err(e),
                Failure::Unauthorized(e, generation) => {
                    shared.tokens.invalidate(generation);
                    if refreshed {
                        return Err(unauthorized_after_refresh(e));
                    }
                    refreshed = true;
                    continue;
                }
                Failure::NotSent(e) | Failure::Throttled(e) => (e, false),
                Failure::Ambiguous(e) => (e, true),
            };
            let delay = shared
                .retry
                .delay(retries, started.elapsed(), error.retry_after());
            if let (Idempotency::Write { key, .. }, true) = (idempotency, maybe_processed) {
                match self.resolve_by_key(key, &error, delay.is_some()).await {
                    Resolved::Found(batch) => return Ok(Answer::FoundByKey(batch)),
                    Resolved::Absent => {}
                    Resolved::Unknown(unknown) => return Err(unknown),
                }
            }
            let Some(delay) = delay else {
                return Err(error);
            };
            tracing::info!(operation, attempt, ?delay, error = %error, "retrying");
            retries += 1;
            tokio::time::sleep(delay).await;
        }
    }

    /// A token, fetching it through the same retry rules as a call: a temporary failure of the
    /// token endpoint (`429`, `5xx`, no connection) is retried after the policy's backoff.
    pub(crate) async fn token_with_retries(&self) -> Result<crate::token::Lease, Error> {
        let started = Instant::now();
        let mut retries = 0;
        loop {
            let error = match self.shared.tokens.get().await {
                Ok(lease) => return Ok(lease),
                Err(e) if e.is_retryable() => e,
                Err(e) => return Err(e),
            };
            let delay = self
                .shared
                .retry
                .delay(retries, started.elapsed(), error.retry_after());
            let Some(delay) = delay else {
                return Err(error);
            };
            tracing::info!(?delay, error = %error, "token endpoint unavailable; retrying");
            retries += 1;
            tokio::time::sleep(delay).await;
        }
    }

    /// After a write that may have been processed: is there a batch with its key?
    /// `retry_left` tells whether the caller may still resend (same key); without it, a batch
    /// not found *yet* cannot be ruled out (it may be committed late), so the outcome is
    /// unknown.
    async fn resolve_by_key(
        &self,
        key: &IdempotencyKey,
        error: &Error,
        retry_left: bool,
    ) -> Resolved {
        let unknown = |reason: String| {
            Resolved::Unknown(Error::OutcomeUnknown {
                idempotency_key: self.shared.send_idempotency_key.then(|| key.clone()),
                reason,
            })
        };
        if !self.shared.send_idempotency_key {
            return unknown(format!(
                "the request may have been processed ({error}); without an idempotency key it \
                 cannot be checked"
            ));
        }
        tracing::warn!(error = %error, "the request may have been processed; looking its batch up by idempotency key");
        // Boxed: the look-up is itself a call through this loop (a read).
        match Box::pin(self.find_batch_by_key(key)).await {
            Ok(Some(batch)) => {
                tracing::info!(batch_id = %batch.id, "found the batch by idempotency key");
                Resolved::Found(batch)
            }
            Ok(None) if retry_left => {
                tracing::info!("no batch has the key: not booked, resending with the same key");
                Resolved::Absent
            }
            Ok(None) => unknown(format!(
                "the request may have been processed ({error}); no batch had its idempotency key \
                 yet, and no retry was left to settle it"
            )),
            Err(lookup) => unknown(format!(
                "the request may have been processed ({error}), and looking the batch up by its \
                 idempotency key failed ({lookup})"
            )),
        }
    }

    /// Runs one attempt: gets a token (a temporary failure of the token endpoint is retried
    /// like any other), runs the generated call with it, and classifies a failure.
    async fn attempt<T, Fut>(
        &self,
        operation: &'static str,
        attempt: u32,
        body: Option<Bytes>,
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
            body,
        };
        match in_attempt(context, call).await {
            Ok(value) => Ok(value.into_inner()),
            Err(e) => Err(classify(operation, e, lease.generation).await),
        }
    }

    /// A read through the call loop.
    pub(crate) async fn read<T, F, Fut>(&self, operation: &'static str, call: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = RawResult<T>>,
    {
        match self.call(operation, Idempotency::Read, call).await? {
            Answer::Fresh(value) => Ok(value),
            // Only a write is ever looked up by key.
            Answer::FoundByKey(batch) => Err(Error::InvalidResponse {
                operation,
                status: None,
                message: format!("a read was answered by batch {}", batch.id),
            }),
        }
    }

    /// A read in `span` of an answer in an [`Envelope`]: `call(raw client, organization id)`
    /// makes the generated call. Gives the answer's data (one object, or a page of them) and
    /// the next page's cursor.
    pub(crate) async fn read_in<'c, E, F, Fut>(
        &'c self,
        operation: &'static str,
        span: tracing::Span,
        mut call: F,
    ) -> Result<(E::Data, Option<String>), Error>
    where
        E: Envelope,
        F: FnMut(&'c amili_api::Client, Uuid) -> Fut,
        Fut: Future<Output = RawResult<E>>,
    {
        let shared = &self.shared;
        let answer = self
            .read(operation, || call(&shared.raw, shared.organization_id))
            .instrument(span)
            .await?;
        Ok(answer.into_parts())
    }

    /// A write that creates a batch, through the call loop under `key` with the pre-serialized
    /// `body` (swapped in by the request hook): the batch id from the answer (`batch_id`), or
    /// the batch found by key after an ambiguous failure.
    pub(crate) async fn create_batch<T, F, Fut>(
        &self,
        operation: &'static str,
        key: &IdempotencyKey,
        body: &Bytes,
        call: F,
        batch_id: fn(T) -> uuid::Uuid,
    ) -> Result<crate::submittable::Created, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = RawResult<T>>,
    {
        match self
            .call(operation, Idempotency::Write { key, body }, call)
            .await?
        {
            Answer::Fresh(answer) => Ok((batch_id(answer), false)),
            Answer::FoundByKey(batch) => Ok((batch.id, true)),
        }
    }
}

enum Resolved {
    Found(Batch),
    Absent,
    Unknown(Error),
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
async fn classify(
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
        429 | 503 => Failure::Throttled(Error::Api(api)),
        500 | 502 | 504 => Failure::Ambiguous(Error::Api(api)),
        _ => Failure::Fatal(Error::Api(api)),
    }
}

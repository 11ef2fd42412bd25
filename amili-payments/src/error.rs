//! The one public error type.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::idempotency::IdempotencyKey;
use crate::validation::ValidationErrors;

/// Everything that can go wrong. Display is written for the person who has to act on it; the
/// predicates ([`is_retryable`](Self::is_retryable), [`is_outcome_unknown`](Self::is_outcome_unknown),
/// …) are for code. No variant ever carries a token or a client secret.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// One or more payments are invalid; nothing was sent. Lists every problem.
    #[error("{0}")]
    Validation(ValidationErrors),

    /// The same id (a payment's `uniqueSourcePaymentId`, a correction's content-derived id)
    /// appears more than once in one submission; nothing was sent.
    #[error("{}", describe_duplicates(id_name, duplicates))]
    DuplicateSourceId {
        /// What the id is (`uniqueSourcePaymentId`, `content-derived id`).
        id_name: &'static str,
        /// Each repeated id with the positions it appears at (counting from 0).
        duplicates: Vec<DuplicateSourceId>,
    },

    /// The credentials were refused: by the token endpoint, or with a `401` from the API even
    /// after a fresh token.
    #[error("authentication failed: {message}")]
    Authentication {
        /// What happened, for a person.
        message: String,
        /// The HTTP status, when there was an answer.
        status: Option<u16>,
        /// The server's request id, when it sent one.
        request_id: Option<String>,
    },

    /// Amili (or a gateway in front of it) answered with an error status.
    #[error("{0}")]
    Api(ApiError),

    /// The request could not be sent, or its answer not received.
    #[error("{operation}: {message}")]
    Transport {
        /// The operation, such as `create_payments`.
        operation: &'static str,
        /// What happened, for a person.
        message: String,
        /// Whether the request may have reached the server (`false`: provably unsent, such as
        /// a refused connection).
        maybe_sent: bool,
        /// The underlying error.
        #[source]
        cause: Option<Arc<reqwest::Error>>,
    },

    /// A time limit passed: a request's timeout, the retry policy's deadline, or a `wait`.
    #[error("{operation}: timed out: {message}")]
    Timeout {
        /// The operation, such as `create_payments` or `wait`.
        operation: &'static str,
        /// What timed out, for a person.
        message: String,
    },

    /// Payments were sent but whether Amili booked them cannot be told (the request went out,
    /// no answer came, and looking the batch up by its idempotency key did not decide).
    /// **Do not resend them under a new key**: resend with the same key, or check with Amili.
    #[error(
        "outcome unknown for the request sent with idempotency key {}: {reason}; resend only \
         with the same key, or check the batches in Amili before resending",
        idempotency_key.as_ref().map_or("(none)", IdempotencyKey::as_str)
    )]
    OutcomeUnknown {
        /// The key the request was sent with, if any.
        idempotency_key: Option<IdempotencyKey>,
        /// Why the outcome cannot be told.
        reason: String,
    },

    /// Not every item of a submission was accepted
    /// ([`SubmitReport::ensure_accepted`](crate::report::SubmitReport::ensure_accepted)).
    #[error(
        "{} of {} item(s) were not accepted (first: {first}); see the report for each",
        counts.total() - counts.accepted_total(),
        counts.total()
    )]
    NotAccepted {
        /// How many items are in each outcome.
        counts: crate::outcome::OutcomeCounts,
        /// The first item not accepted, with its outcome.
        first: String,
    },

    /// A submission stopped by an answer every request would get (the credentials refused
    /// even after a fresh token, `403` not allowed for the organization, `404` the
    /// organization unknown): returned by [`Submission::send`](crate::Submission::send)
    /// however many items were accepted before it. The whole report is
    /// [`report`](Self::report).
    #[error("{}", describe_refused(cause, counts))]
    Refused {
        /// The answer that stopped the submission.
        cause: Box<Error>,
        /// How many items are in each outcome.
        counts: crate::outcome::OutcomeCounts,
        /// The whole report, read through [`Error::report`].
        report: Refusal,
    },

    /// The ledger could not be read or written; what it could not record was not sent.
    #[error("ledger: {0}")]
    Ledger(crate::ledger::LedgerError),

    /// The server answered something this client cannot read (a success status with a body
    /// that is not the documented JSON, a cursor that repeats, …).
    #[error("{operation}: unreadable answer{}: {message}", status.map(|s| format!(" ({s})")).unwrap_or_default())]
    InvalidResponse {
        /// The operation.
        operation: &'static str,
        /// The HTTP status, when known.
        status: Option<u16>,
        /// What is wrong, for a person.
        message: String,
    },

    /// The client configuration is incomplete or invalid.
    #[error("configuration: {0}")]
    Config(String),

    /// A call was used in a way it does not support (for example more payments in one
    /// `create` than the configured maximum).
    #[error("{0}")]
    Usage(String),
}

/// One id that appears more than once in a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateSourceId {
    /// The repeated id.
    pub source_id: String,
    /// Every position it appears at, counting from 0.
    pub indexes: Vec<usize>,
}

fn describe_refused(cause: &Error, counts: &crate::outcome::OutcomeCounts) -> String {
    let (total, accepted) = (counts.total(), counts.accepted_total());
    let items = if total == 1 { "item" } else { "items" };
    if accepted == 0 {
        format!("submission refused, none of {total} {items} accepted: {cause}")
    } else {
        format!("submission stopped, {accepted} of {total} {items} accepted: {cause}")
    }
}

/// The report a [`Error::Refused`] carries (read it with [`Error::report`]). Held without
/// naming its type here: the report holds errors, so the error cannot hold it by name.
#[derive(Clone)]
pub struct Refusal(pub(crate) Arc<dyn std::any::Any + Send + Sync>);

impl fmt::Debug for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SubmitReport { .. }")
    }
}

fn describe_duplicates(id_name: &str, duplicates: &[DuplicateSourceId]) -> String {
    const SHOWN: usize = 10;
    let mut text = format!(
        "{} {id_name}(s) appear more than once in the submission; nothing was sent:",
        duplicates.len()
    );
    for d in duplicates.iter().take(SHOWN) {
        let at: Vec<String> = d.indexes.iter().map(|i| format!("#{i}")).collect();
        text.push_str(&format!(" {} at {};", d.source_id, at.join(", ")));
    }
    if duplicates.len() > SHOWN {
        text.push_str(&format!(" and {} more", duplicates.len() - SHOWN));
    }
    text.trim_end_matches(';').to_owned()
}

impl Error {
    /// Whether trying the same call again later (with the same idempotency key) may succeed:
    /// `429`, `502`, `503`, `504`, failures before the request was sent, timeouts.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(e) => e.is_retryable(),
            Error::Transport { .. } | Error::Timeout { .. } => true,
            _ => false,
        }
    }

    /// Whether payments may or may not have been booked (see [`Error::OutcomeUnknown`]).
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Error::OutcomeUnknown { .. })
    }

    /// Whether the payments themselves were refused before anything was sent.
    pub fn is_validation(&self) -> bool {
        matches!(self, Error::Validation(_) | Error::DuplicateSourceId { .. })
    }

    /// Whether the credentials were refused.
    pub fn is_authentication(&self) -> bool {
        matches!(self.cause(), Error::Authentication { .. })
    }

    /// Whether a time limit passed.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }

    /// Whether the request could not be sent or answered.
    pub fn is_transport(&self) -> bool {
        matches!(self, Error::Transport { .. })
    }

    /// The HTTP status of an error answer.
    pub fn status(&self) -> Option<u16> {
        match self.cause() {
            Error::Api(e) => Some(e.status()),
            Error::Authentication { status, .. } | Error::InvalidResponse { status, .. } => *status,
            _ => None,
        }
    }

    /// The server's request id, to quote to Amili's support.
    pub fn request_id(&self) -> Option<&str> {
        match self.cause() {
            Error::Api(e) => e.request_id(),
            Error::Authentication { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// How long the server asked to wait (`Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api(e) => e.retry_after(),
            _ => None,
        }
    }

    /// The API error, when Amili answered with an error status.
    pub fn as_api(&self) -> Option<&ApiError> {
        match self.cause() {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The validation problems, when payments were invalid.
    pub fn validation_errors(&self) -> Option<&ValidationErrors> {
        match self {
            Error::Validation(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ValidationErrors> for Error {
    fn from(errors: ValidationErrors) -> Self {
        Error::Validation(errors)
    }
}

/// An error status from Amili (or a gateway in front of it), with everything it said.
#[derive(Clone)]
pub struct ApiError(Box<ApiErrorParts>);

/// The fields of an [`ApiError`] (boxed: errors stay small on the happy path).
#[derive(Clone)]
pub(crate) struct ApiErrorParts {
    pub(crate) operation: &'static str,
    pub(crate) status: u16,
    pub(crate) message: Option<String>,
    pub(crate) body: Bytes,
    pub(crate) content_type: Option<String>,
    pub(crate) request_id: Option<String>,
    pub(crate) retry_after: Option<Duration>,
}

impl From<ApiErrorParts> for ApiError {
    fn from(parts: ApiErrorParts) -> Self {
        Self(Box::new(parts))
    }
}

impl ApiError {
    /// Sets the message when the body had none.
    pub(crate) fn or_message(mut self, message: &str) -> Self {
        if self.0.message.is_none() {
            self.0.message = Some(message.to_owned());
        }
        self
    }

    /// The operation that failed, such as `create_payments`.
    pub fn operation(&self) -> &'static str {
        self.0.operation
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.0.status
    }

    /// Amili's message, when the body could be read as one.
    pub fn message(&self) -> Option<&str> {
        self.0.message.as_deref()
    }

    /// The raw body, whatever its content type (at most 64 KiB are kept).
    pub fn body(&self) -> &[u8] {
        &self.0.body
    }

    /// The body as text, when it is UTF-8.
    pub fn body_text(&self) -> Option<&str> {
        std::str::from_utf8(&self.0.body).ok()
    }

    /// The `Content-Type` of the body.
    pub fn content_type(&self) -> Option<&str> {
        self.0.content_type.as_deref()
    }

    /// The server's request id (`X-Amili-Request-Id`, `X-Request-Id`, `Request-Id`).
    pub fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }

    /// How long the server asked to wait (`Retry-After`, seconds or an HTTP date).
    pub fn retry_after(&self) -> Option<Duration> {
        self.0.retry_after
    }

    /// Whether the status says "try again later": 429, 500, 502, 503 or 504. (On a write, a
    /// 500, 502 or 504 may come after the server committed: the call loop looks the batch up
    /// by idempotency key before it retries one.)
    pub fn is_retryable(&self) -> bool {
        matches!(self.0.status, 429 | 500 | 502 | 503 | 504)
    }

    fn hint(&self) -> Option<&'static str> {
        Some(match self.0.status {
            400 | 422 => "the request was refused as invalid; fix the payments before resending",
            401 => "the token was refused; check the client id and secret",
            403 => "the credentials are not allowed to act for this organization",
            404 => "check the organization id (and batch id)",
            409 => "a conflict: the payments or idempotency key may have been sent before",
            429 => "rate limited; try again later",
            500 => "Amili failed to process the request",
            502..=504 => "Amili is temporarily unavailable; try again later",
            _ => return None,
        })
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reason = reqwest::StatusCode::from_u16(self.0.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        write!(
            f,
            "{}: Amili answered {} {reason}",
            self.0.operation, self.0.status
        )?;
        match (&self.0.message, self.hint()) {
            (Some(message), _) => write!(f, ": {message}")?,
            (None, Some(hint)) => write!(f, ": {hint}")?,
            (None, None) => {}
        }
        if self.0.message.is_none() && !self.0.body.is_empty() {
            write!(
                f,
                " ({} bytes of {})",
                self.0.body.len(),
                self.0.content_type.as_deref().unwrap_or("unknown content")
            )?;
        }
        if let Some(after) = self.0.retry_after {
            write!(f, " (retry after {}s)", after.as_secs())?;
        }
        if let Some(id) = &self.0.request_id {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("operation", &self.0.operation)
            .field("status", &self.0.status)
            .field("message", &self.0.message)
            .field("request_id", &self.0.request_id)
            .field("retry_after", &self.0.retry_after)
            .field("content_type", &self.0.content_type)
            .field("body_len", &self.0.body.len())
            .finish()
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, message: Option<&str>) -> ApiError {
        ApiError::from(ApiErrorParts {
            operation: "create_payments",
            status,
            message: message.map(str::to_owned),
            body: Bytes::from_static(b"<html>bad gateway</html>"),
            content_type: Some("text/html".into()),
            request_id: Some("req-1".into()),
            retry_after: None,
        })
    }

    #[test]
    fn api_errors_read_well() {
        let text = Error::Api(api(422, Some("amount must be positive"))).to_string();
        assert_eq!(
            text,
            "create_payments: Amili answered 422 Unprocessable Entity: amount must be positive \
             [request id req-1]"
        );
        let text = Error::Api(api(502, None)).to_string();
        assert!(text.contains("502 Bad Gateway"), "{text}");
        assert!(text.contains("24 bytes of text/html"), "{text}");
        assert!(Error::Api(api(503, None)).is_retryable());
        assert!(!Error::Api(api(400, None)).is_retryable());
        assert_eq!(Error::Api(api(400, None)).request_id(), Some("req-1"));
    }

    #[test]
    fn duplicates_name_every_position() {
        let e = Error::DuplicateSourceId {
            id_name: "uniqueSourcePaymentId",
            duplicates: vec![DuplicateSourceId {
                source_id: "P-1".into(),
                indexes: vec![0, 4],
            }],
        };
        assert!(e.to_string().contains("P-1 at #0, #4"), "{e}");
        assert!(e.is_validation());
    }

    #[test]
    fn outcome_unknown_says_what_to_do() {
        let e = Error::OutcomeUnknown {
            idempotency_key: "k-1".parse().ok(),
            reason: "the connection dropped".into(),
        };
        let text = e.to_string();
        assert!(text.contains("k-1") && text.contains("same key"), "{text}");
    }
}

//! The crate's errors (base floor): why a sandbox could not start ([`SandboxError`]), and the
//! error answers of the collection API, in the shape of the spec's `ErrorBody`.

use std::net::SocketAddr;

use axum::Json;
use axum::http::header::{HeaderName, HeaderValue, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

/// Why a sandbox could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The address could not be bound.
    #[error("could not listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The embedded OpenAPI description could not be used.
    #[error("OpenAPI description: {0}")]
    Spec(String),
    /// The configuration is inconsistent.
    #[error("invalid sandbox configuration: {0}")]
    Config(String),
}

/// One problem named by an error body (`ErrorDetail` in the spec).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ErrorDetail {
    /// Index of the payment in the request, when the problem is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) item: Option<usize>,
    /// The field (or parameter) at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) field: Option<String>,
    /// What is wrong, self-contained (it names the item and the field too).
    pub(crate) message: String,
}

/// A non-2xx answer of the collection API: status, message, details and extra headers.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
    errors: Vec<ErrorDetail>,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            errors: Vec::new(),
            headers: Vec::new(),
        }
    }

    pub(crate) fn with_errors(mut self, errors: Vec<ErrorDetail>) -> Self {
        self.errors = errors;
        self
    }

    pub(crate) fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// A problem with one named parameter or field (no item index).
    pub(crate) fn invalid_field(
        status: StatusCode,
        field: &str,
        message: impl Into<String>,
    ) -> Self {
        let message = message.into();
        Self::new(status, message.clone()).with_errors(vec![ErrorDetail {
            item: None,
            field: Some(field.to_owned()),
            message,
        }])
    }

    /// A 400 naming the query or path parameter (or header) at fault.
    pub(crate) fn bad_param(name: &str, message: impl Into<String>) -> Self {
        Self::invalid_field(StatusCode::BAD_REQUEST, name, message)
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        let message = message.into();
        let challenge = if message.contains("missing") {
            HeaderValue::from_static("Bearer")
        } else {
            HeaderValue::from_static("Bearer error=\"invalid_token\"")
        };
        Self::new(StatusCode::UNAUTHORIZED, message).with_header(WWW_AUTHENTICATE, challenge)
    }

    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    pub(crate) fn message(&self) -> &str {
        &self.message
    }
}

/// The JSON error body every collection-API error uses.
pub(crate) fn error_body(message: &str, errors: &[ErrorDetail]) -> serde_json::Value {
    json!({
        "summary": { "status": "ERROR" },
        "message": message,
        "errors": errors,
    })
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut headers = HeaderMap::new();
        for (name, value) in self.headers {
            headers.append(name, value);
        }
        (
            self.status,
            headers,
            Json(error_body(&self.message, &self.errors)),
        )
            .into_response()
    }
}

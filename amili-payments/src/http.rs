//! Turning HTTP answers and failures into [`Error`]s.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use serde_json::Value;

use crate::error::{ApiError, ApiErrorParts, Error};

/// At most this much of an error body is kept.
pub(crate) const MAX_ERROR_BODY: usize = 64 * 1024;

/// The headers a request id may come in, most specific first.
const REQUEST_ID_HEADERS: [&str; 4] = [
    "x-amili-request-id",
    "x-request-id",
    "request-id",
    "x-correlation-id",
];

pub(crate) fn request_id(headers: &HeaderMap) -> Option<String> {
    REQUEST_ID_HEADERS.iter().find_map(|name| {
        headers
            .get(*name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(200).collect())
    })
}

/// Reads a response body, keeping at most [`MAX_ERROR_BODY`] bytes.
pub(crate) async fn read_body(response: reqwest::Response) -> Result<Bytes, reqwest::Error> {
    let mut stream = response.bytes_stream();
    read_stream(&mut stream).await
}

pub(crate) async fn read_stream<S>(stream: &mut S) -> Result<Bytes, reqwest::Error>
where
    S: futures::Stream<Item = reqwest::Result<Bytes>> + Unpin,
{
    let mut body = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        let room = MAX_ERROR_BODY.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_ERROR_BODY {
            break;
        }
    }
    Ok(body.freeze())
}

/// An [`ApiError`] from an error answer.
pub(crate) fn api_error(
    operation: &'static str,
    status: u16,
    headers: &HeaderMap,
    body: Bytes,
) -> ApiError {
    ApiError::from(ApiErrorParts {
        operation,
        status,
        message: summarize_body(&body, headers),
        content_type: headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        request_id: request_id(headers),
        retry_after: headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(crate::retry::parse_retry_after),
        body,
    })
}

/// Amili's message, when the body is JSON that carries one. Error bodies are undocumented:
/// this looks for `message`, `error_description`, `error`, `detail`, `title` and an `errors`
/// list of `{item, field, message}` (the spec's guessed `ErrorBody`).
pub(crate) fn summarize_body(body: &[u8], headers: &HeaderMap) -> Option<String> {
    let json_like = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|ct| ct.contains("json"));
    if !json_like && !body.starts_with(b"{") {
        return None;
    }
    let value: Value = serde_json::from_slice(body).ok()?;
    fn text(v: Option<&Value>) -> Option<&str> {
        v.and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
    let mut parts: Vec<String> = Vec::new();
    let headline = text(value.get("message"))
        .or_else(|| text(value.get("error_description")))
        .or_else(|| text(value.get("detail")))
        .or_else(|| text(value.get("title")))
        .or_else(|| text(value.get("error")))
        .or_else(|| text(value.pointer("/summary/message")))
        .or_else(|| {
            text(value.pointer("/summary/status")).filter(|s| !s.eq_ignore_ascii_case("SUCCESS"))
        });
    if let Some(headline) = headline {
        parts.push(headline.to_owned());
    }
    if let Some(errors) = value.get("errors").and_then(Value::as_array) {
        for e in errors.iter().take(5) {
            let message = text(e.get("message")).unwrap_or("invalid");
            let place = match (e.get("item").and_then(Value::as_i64), text(e.get("field"))) {
                (Some(item), Some(field)) => format!("payments[{item}].{field}: "),
                (Some(item), None) => format!("payments[{item}]: "),
                (None, Some(field)) => format!("{field}: "),
                (None, None) => String::new(),
            };
            parts.push(format!("{place}{message}"));
        }
        if errors.len() > 5 {
            parts.push(format!("and {} more", errors.len() - 5));
        }
    }
    if parts.is_empty() {
        return None;
    }
    let mut joined = parts.join("; ");
    if joined.chars().count() > 1000 {
        joined = joined.chars().take(1000).collect::<String>() + "…";
    }
    Some(joined)
}

/// A transport failure of a request, with whether it may have reached the server.
pub(crate) fn transport_error(operation: &'static str, e: reqwest::Error) -> Error {
    if e.is_timeout() && !e.is_connect() {
        return Error::Timeout {
            operation,
            message: format!("no answer in time ({})", error_chain(&e)),
        };
    }
    let maybe_sent = !e.is_connect() && !e.is_builder();
    let message = if e.is_connect() {
        format!("could not connect, nothing was sent ({})", error_chain(&e))
    } else {
        format!("the connection failed ({})", error_chain(&e))
    };
    Error::Transport {
        operation,
        message,
        maybe_sent,
        cause: Some(Arc::new(e)),
    }
}

/// The error and its sources, on one line.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            CONTENT_TYPE,
            reqwest::header::HeaderValue::from_static("application/json"),
        );
        h
    }

    #[test]
    fn messages_from_guessed_error_bodies() {
        let h = json_headers();
        assert_eq!(
            summarize_body(br#"{"message":"bad amount"}"#, &h).as_deref(),
            Some("bad amount")
        );
        assert_eq!(
            summarize_body(
                br#"{"summary":{"status":"ERROR"},"errors":[{"item":2,"field":"amount","message":"must be positive"}]}"#,
                &h
            )
            .as_deref(),
            Some("ERROR; payments[2].amount: must be positive")
        );
        assert_eq!(
            summarize_body(br#"{"error":"invalid_client"}"#, &h).as_deref(),
            Some("invalid_client")
        );
        assert_eq!(
            summarize_body(b"<html>oops</html>", &HeaderMap::new()),
            None
        );
        assert_eq!(summarize_body(br#"{"other":1}"#, &h), None);
    }
}

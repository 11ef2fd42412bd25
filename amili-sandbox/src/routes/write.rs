//! What every write (`CreatePayments`, `CreateCorrections`) shares, on the routes floor: the
//! checks before its body is used and the `202` answer naming the batch.

use axum::Json;
use axum::body::Body;
use axum::extract::Path;
use axum::extract::rejection::PathRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::domain::store::{Caller, Created};
use crate::error::{ApiError, ErrorDetail};
use crate::headers::IDEMPOTENCY_KEY_HEADER;
use crate::request;
use crate::routes::auth;
use crate::schema::RequestValidator;
use crate::state::AppState;

/// The `202` answer of a write: the batch created (or, for a replayed key, the original).
pub(crate) fn accepted(state: &AppState, organization: Uuid, created: Created) -> Response {
    let batch_id = created.batch_id();
    match created {
        Created::New(_) => {
            state.created_batch();
            tracing::info!(%batch_id, "batch queued");
        }
        Created::Replayed(_) => tracing::info!(%batch_id, "idempotent replay"),
    }
    let answer = json!({
        "summary": { "status": "SUCCESS" },
        "data": {
            "batchId": batch_id,
            "batchUrl": state.config.batch_url(organization, batch_id),
        }
    });
    (StatusCode::ACCEPTED, Json(answer)).into_response()
}

/// The checks every write (`CreatePayments`, `CreateCorrections`) makes before its body is
/// used, in order: token and organization, `Content-Type`, the `IdempotencyKey` header, body
/// size, JSON syntax and the operation's request schema (422 naming every problem).
pub(crate) async fn read_write_request(
    state: &AppState,
    path: Result<Path<String>, PathRejection>,
    headers: &HeaderMap,
    body: Body,
    schema: &RequestValidator,
) -> Result<(Caller, Option<String>, Value), ApiError> {
    let caller = auth::org_caller(state, headers, path)?;
    if request::media_type(headers).is_none() {
        // No Content-Type: an absent body is a malformed request (400), a body of unknown
        // type is unsupported (415).
        let bytes = request::read_body(headers, body, state.config.max_body_bytes).await?;
        return Err(if bytes.is_empty() {
            ApiError::bad_request("the request body is required (application/json)")
        } else {
            ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Content-Type must be application/json",
            )
        });
    }
    request::require_media_type(headers, "application/json")?;
    let idempotency_key = idempotency_key(headers)?;
    let bytes = request::read_body(headers, body, state.config.max_body_bytes).await?;
    let body: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))?;
    if let Err(errors) = schema.check(&body) {
        let first = errors
            .first()
            .map(|e| e.message.clone())
            .unwrap_or_default();
        let more = errors.len().saturating_sub(1);
        let message = if more == 0 {
            format!("invalid request body: {first}")
        } else {
            format!("invalid request body: {first} (and {more} more)")
        };
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message).with_errors(errors));
    }
    Ok((caller, idempotency_key, body))
}

/// The `IdempotencyKey` header: absent is fine; empty, over 255 characters or not visible
/// ASCII is a 400.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY_HEADER) else {
        return Ok(None);
    };
    let bad = |why: &str| {
        ApiError::bad_param(
            IDEMPOTENCY_KEY_HEADER,
            format!("the IdempotencyKey header {why}"),
        )
    };
    let key = value.to_str().map_err(|_| bad("must be visible ASCII"))?;
    if key.is_empty() {
        return Err(bad("must not be empty"));
    }
    if key.chars().count() > 255 {
        return Err(bad("must be at most 255 characters"));
    }
    Ok(Some(key.to_owned()))
}

/// The typed items of the list `name` of a body that passed the schema.
pub(crate) fn parse_items<T: DeserializeOwned>(
    body: &Value,
    name: &str,
) -> Result<Vec<T>, ApiError> {
    let items = body.get(name).and_then(Value::as_array).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{name} is missing"),
        )
    })?;
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            serde_json::from_value::<T>(item.clone()).map_err(|e| {
                let message = format!("{name}[{index}]: {e}");
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message.clone()).with_errors(vec![
                    ErrorDetail {
                        item: Some(index),
                        field: None,
                        message,
                    },
                ])
            })
        })
        .collect()
}

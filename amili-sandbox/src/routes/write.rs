//! What every write (`CreatePayments`, `CreateCorrections`) shares, on the routes floor: the
//! checks before its body is used and the `202` answer naming the batch.

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::domain::compact::IncomingPayment;
use crate::domain::store::{Caller, Created, NewBatch};
use crate::error::{ApiError, ErrorDetail};
use crate::headers::IDEMPOTENCY_KEY_HEADER;
use crate::request;
use crate::routes::auth::Org;
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

/// A write (`CreatePayments`, `CreateCorrections`) that passed the checks every write makes
/// before its body is used, in order: token and organization ([`Org`]), `Content-Type`, the
/// `IdempotencyKey` header, body size and JSON syntax. The operation's request schema comes
/// last, with [`Write::items`].
pub(crate) struct Write {
    pub(crate) state: Arc<AppState>,
    pub(crate) caller: Caller,
    pub(crate) idempotency_key: Option<String>,
    pub(crate) body: Value,
}

impl FromRequest<Arc<AppState>> for Write {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &Arc<AppState>) -> Result<Self, ApiError> {
        let (mut parts, body) = request.into_parts();
        let Org { state, caller, .. } = Org::from_request_parts(&mut parts, state).await?;
        let headers = &parts.headers;
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
        let body: Value = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::bad_request(format!("the request body is not valid JSON: {e}"))
        })?;
        Ok(Write {
            state,
            caller,
            idempotency_key,
            body,
        })
    }
}

impl Write {
    /// The typed items of the body's list `name`, once the body passed the operation's request
    /// `schema` (422 naming every problem otherwise).
    pub(crate) fn items<T: DeserializeOwned>(
        &self,
        schema: &RequestValidator,
        name: &str,
    ) -> Result<Vec<T>, ApiError> {
        if let Err(errors) = schema.check(&self.body) {
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
            return Err(
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message).with_errors(errors)
            );
        }
        parse_items(&self.body, name)
    }

    /// The batch this write asks for: of `batch_type`, booking `payments` (none for
    /// corrections, which are queued beside it).
    pub(crate) fn into_batch(self, batch_type: String, payments: Vec<IncomingPayment>) -> NewBatch {
        NewBatch {
            caller: self.caller,
            batch_type,
            idempotency_key: self.idempotency_key,
            body: self.body,
            payments,
            delay: self.state.config.batch_delay,
        }
    }
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
fn parse_items<T: DeserializeOwned>(body: &Value, name: &str) -> Result<Vec<T>, ApiError> {
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

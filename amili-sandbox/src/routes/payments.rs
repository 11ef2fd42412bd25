//! `POST /collection/v1/orgs/{organizationId}/payments` (CreatePayments), on the routes floor.
//!
//! Checks, in order: bearer token (401), organization (400 when the path id is not a UUID,
//! 403 when the token is for another one), `Content-Type: application/json` (415; but no
//! `Content-Type` and no body at all is a 400, a missing required body), the
//! `IdempotencyKey` header (400 when empty or longer than 255 characters, as the spec says),
//! body size (413), JSON syntax (400), the spec's `CreatePaymentsRequest` schema (422, one
//! error per problem naming `payments[i].field`). Then the payments are queued as one batch
//! (202). A repeated `IdempotencyKey` with the same body answers 202 with the original batch
//! and queues nothing; with a different body it is refused with 409.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;

use crate::domain::store::NewBatch;
use crate::error::ApiError;
use crate::routes::write::{accepted, parse_items, read_write_request};
use crate::state::AppState;

/// `POST …/orgs/{organizationId}/payments`.
pub(crate) async fn create_payments(
    State(state): State<Arc<AppState>>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let (caller, idempotency_key, body) =
        read_write_request(&state, path, &headers, body, &state.schemas.payments).await?;
    let payments = parse_items(&body, "payments")?;
    let organization = caller.organization_id;
    let created = state.store().create(NewBatch {
        caller,
        batch_type: state.config.batch_type.clone(),
        idempotency_key,
        body,
        payments,
        delay: state.config.batch_delay,
    })?;
    Ok(accepted(&state, organization, created))
}

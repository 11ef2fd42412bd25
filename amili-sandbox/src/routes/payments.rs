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

use axum::response::Response;

use crate::error::ApiError;
use crate::routes::write::{Write, accepted};

/// `POST …/orgs/{organizationId}/payments`.
pub(crate) async fn create_payments(write: Write) -> Result<Response, ApiError> {
    let payments = write.items(&write.state.schemas.payments, "payments")?;
    let state = Arc::clone(&write.state);
    let batch = write.into_batch(state.config.batch_type.clone(), payments);
    let organization = batch.caller.organization_id;
    let created = state.store().create(batch)?;
    Ok(accepted(&state, organization, created))
}

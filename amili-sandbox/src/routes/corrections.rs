//! `POST …/orgs/{organizationId}/corrections` (CreateCorrections), on the routes floor.
//!
//! The request goes through the same checks as `CreatePayments` (token, `Content-Type`,
//! `IdempotencyKey`, size, JSON, the spec's `CreateCorrectionsRequest` schema: 422 naming
//! `corrections[i].field`) and creates a batch of type [`CORRECTION_BATCH_TYPE`] in the same
//! store; its corrections wait in the corrections ledger until the batch is processed.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;

use crate::domain::corrections::{CORRECTION_BATCH_TYPE, IncomingCorrection};
use crate::domain::store::{Created, NewBatch};
use crate::error::ApiError;
use crate::routes::write::{accepted, parse_items, read_write_request};
use crate::state::AppState;

/// `POST …/orgs/{organizationId}/corrections`.
pub(crate) async fn create_corrections(
    State(state): State<Arc<AppState>>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let (caller, idempotency_key, body) =
        read_write_request(&state, path, &headers, body, &state.schemas.corrections).await?;
    let corrections: Vec<IncomingCorrection> = parse_items(&body, "corrections")?;
    let organization = caller.organization_id;
    let created = {
        // The corrections are queued while the store is locked, so no observer can process
        // the batch before they are there.
        let mut store = state.store();
        let created = store.create(NewBatch {
            caller,
            batch_type: CORRECTION_BATCH_TYPE.to_owned(),
            idempotency_key,
            body,
            payments: Vec::new(),
            delay: state.config.batch_delay,
        })?;
        if let Created::New(id) = created {
            state.corrections().queue(id, corrections);
        }
        created
    };
    Ok(accepted(&state, organization, created))
}

//! `POST …/orgs/{organizationId}/corrections` (CreateCorrections), on the routes floor.
//!
//! The request goes through the same checks as `CreatePayments` (token, `Content-Type`,
//! `IdempotencyKey`, size, JSON, the spec's `CreateCorrectionsRequest` schema: 422 naming
//! `corrections[i].field`) and creates a batch of type [`CORRECTION_BATCH_TYPE`] in the same
//! store; its corrections wait in the corrections ledger until the batch is processed.

use std::sync::Arc;

use axum::response::Response;

use crate::domain::corrections::{CORRECTION_BATCH_TYPE, IncomingCorrection};
use crate::domain::store::Created;
use crate::error::ApiError;
use crate::routes::write::{Write, accepted};

/// `POST …/orgs/{organizationId}/corrections`.
pub(crate) async fn create_corrections(write: Write) -> Result<Response, ApiError> {
    let corrections: Vec<IncomingCorrection> =
        write.items(&write.state.schemas.corrections, "corrections")?;
    let state = Arc::clone(&write.state);
    let batch = write.into_batch(CORRECTION_BATCH_TYPE.to_owned(), Vec::new());
    let organization = batch.caller.organization_id;
    let created = {
        // The corrections are queued while the store is locked, so no observer can process
        // the batch before they are there.
        let mut store = state.store();
        let created = store.create(batch)?;
        if let Created::New(id) = created {
            state.corrections().queue(id, corrections);
        }
        created
    };
    Ok(accepted(&state, organization, created))
}

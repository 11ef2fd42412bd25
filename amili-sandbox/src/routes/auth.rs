//! Who may call the collection API (routes floor, shared by the handlers): bearer token →
//! organization, checked against the path; [`Org`], the extractor every collection API
//! handler starts from.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use uuid::Uuid;

use crate::domain::store::Caller;
use crate::domain::tokens::Claims;
use crate::error::ApiError;
use crate::request;
use crate::state::AppState;

/// Checks the bearer token (401 when missing, invalid or expired), parses the path's
/// organization id (400 when it is not a UUID) and checks that the token is for it (403).
pub(crate) fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    organization_id: &str,
) -> Result<Caller, ApiError> {
    let token = request::bearer_token(headers)
        .ok_or_else(|| ApiError::unauthorized("missing bearer token"))?;
    let claims: Claims = state
        .tokens
        .verify(token)
        .map_err(|rejection| ApiError::unauthorized(rejection.message()))?;
    let organization_id = parse_uuid("organizationId", organization_id)?;
    if claims.org != organization_id {
        return Err(ApiError::forbidden(format!(
            "this token is not for organization {organization_id}"
        )));
    }
    let created_by = state
        .config
        .org(organization_id)
        .map(|org| org.created_by)
        .ok_or_else(|| ApiError::forbidden("unknown organization"))?;
    Ok(Caller {
        organization_id,
        created_by,
    })
}

/// What every handler of the collection API starts from: the sandbox's state and the caller of
/// a route under `…/orgs/{organizationId}/…` (an extractor: a path that does not fit is a 400,
/// then [`authorize`]), and the id of the item the route names after the organization, if it
/// names one (`…/{id}`, read with [`Org::item_id`]).
pub(crate) struct Org {
    pub(crate) state: Arc<AppState>,
    pub(crate) caller: Caller,
    item: Option<String>,
}

impl Org {
    /// The id of the item the route names, a UUID (400 naming the parameter `name` otherwise).
    pub(crate) fn item_id(&self, name: &str) -> Result<Uuid, ApiError> {
        parse_uuid(name, self.item.as_deref().unwrap_or_default())
    }
}

impl FromRequestParts<Arc<AppState>> for Org {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let Path(params) = Path::<Vec<String>>::from_request_parts(parts, state)
            .await
            .map_err(request::path_error)?;
        let mut params = params.into_iter();
        let organization_id = params.next().unwrap_or_default();
        let caller = authorize(state, &parts.headers, &organization_id)?;
        Ok(Org {
            state: Arc::clone(state),
            caller,
            item: params.next(),
        })
    }
}

/// A path or query parameter that must be a UUID (400 naming it otherwise).
pub(crate) fn parse_uuid(name: &str, value: &str) -> Result<Uuid, ApiError> {
    Uuid::try_parse(value).map_err(|_| ApiError::bad_param(name, format!("{name} must be a UUID")))
}

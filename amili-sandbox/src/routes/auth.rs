//! Who may call the collection API (routes floor, shared by the handlers): bearer token →
//! organization, checked against the path.

use axum::extract::Path;
use axum::extract::rejection::PathRejection;
use axum::http::HeaderMap;
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

/// The caller of a route under `…/orgs/{organizationId}`: a path that does not fit is a 400,
/// then [`authorize`].
pub(crate) fn org_caller(
    state: &AppState,
    headers: &HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Caller, ApiError> {
    let Path(organization_id) = path.map_err(request::path_error)?;
    authorize(state, headers, &organization_id)
}

/// The caller and the item id of a route under `…/orgs/{organizationId}/…/{id}`: as
/// [`org_caller`], then the id, a UUID (400 naming `id_name` otherwise).
pub(crate) fn item_caller(
    state: &AppState,
    headers: &HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
    id_name: &str,
) -> Result<(Caller, Uuid), ApiError> {
    let Path((organization_id, id)) = path.map_err(request::path_error)?;
    let caller = authorize(state, headers, &organization_id)?;
    Ok((caller, parse_uuid(id_name, &id)?))
}

/// A path or query parameter that must be a UUID (400 naming it otherwise).
pub(crate) fn parse_uuid(name: &str, value: &str) -> Result<Uuid, ApiError> {
    Uuid::try_parse(value).map_err(|_| ApiError::bad_param(name, format!("{name} must be a UUID")))
}

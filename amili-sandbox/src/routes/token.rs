//! `POST /token` (OAuth2 client credentials), on the routes floor: a form in, a token
//! (`domain::tokens`) or an OAuth2 error answer out.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, HeaderValue};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::ApiError;
use crate::request::{self, BodyError};
use crate::state::AppState;

/// An OAuth2 error answer (RFC 6749 §5.2): `{"error": …, "error_description": …}`.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `POST /token`.
pub(crate) async fn token_endpoint(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(error) = request::require_media_type(&headers, "application/x-www-form-urlencoded") {
        return oauth_error(error.status(), "invalid_request", error.message());
    }
    let bytes = match request::read_body(&headers, body, state.config.max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(error @ BodyError::TooLarge { .. }) => {
            let error = ApiError::from(error);
            return oauth_error(error.status(), "invalid_request", error.message());
        }
        Err(BodyError::Read(message)) => {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &message);
        }
    };
    let form = request::pairs(&bytes);
    match request::first(&form, "grant_type") {
        None | Some("") => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is missing",
            );
        }
        Some("client_credentials") => {}
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only grant_type=client_credentials is supported",
            );
        }
    }
    let client_id = request::first(&form, "client_id").unwrap_or_default();
    let client_secret = request::first(&form, "client_secret").unwrap_or_default();
    let Some(org) = state
        .config
        .org_by_client(client_id)
        .filter(|org| org.client_secret == client_secret && !client_secret.is_empty())
    else {
        tracing::info!("token request refused: wrong client credentials");
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed: unknown client_id or wrong client_secret",
        );
    };
    match state.tokens.issue(org) {
        Some(answer) => {
            let mut response = (StatusCode::OK, Json(answer)).into_response();
            response
                .headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        None => oauth_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "could not sign a token",
        ),
    }
}

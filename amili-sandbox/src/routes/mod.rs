//! The HTTP routes (the routes floor, above [`AppState`]): one file per resource of the
//! collection API, the token endpoint and the sandbox's admin route, and the router that
//! joins them. Handlers answer JSON; a collection API handler starts from the shared
//! [`AppState`] and the caller the token proves (`auth::Org`, `auth::OrgItem`, or a checked
//! write, `write::Write`); `auth`, `write` and `paging` are what several of them share.

use std::sync::Arc;

use axum::Router;
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};

use crate::config::API_BASE_PATH;
use crate::error::ApiError;
use crate::state::AppState;

mod auth;
pub(crate) mod batches;
mod corrections;
pub(crate) mod invoices;
mod paging;
mod payments;
pub(crate) mod settlements;
mod token;
mod write;

async fn not_found(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no route for {method} {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed on {}", uri.path()),
    )
}

/// The sandbox's routes.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let api = API_BASE_PATH;
    Router::new()
        .route("/token", post(token::token_endpoint))
        .route(
            &format!("{api}/orgs/{{organization_id}}/payments"),
            post(payments::create_payments),
        )
        .route(
            &format!("{api}/orgs/{{organization_id}}/corrections"),
            post(corrections::create_corrections),
        )
        .route(
            &format!("{api}/orgs/{{organization_id}}/batches/{{batch_id}}"),
            get(batches::get_batch),
        )
        .route(
            &format!("{api}/orgs/{{organization_id}}/batches"),
            get(batches::list_batches),
        )
        .route(
            &format!("{api}/orgs/{{organization_id}}/invoices"),
            get(invoices::list_invoices),
        )
        .route(
            &format!("{api}/orgs/{{organization_id}}/invoices/{{invoice_id}}"),
            get(invoices::get_invoice),
        )
        .route(
            &format!("{api}/orgs/{{organization_id}}/settlements"),
            get(settlements::list_settlements),
        )
        .route(
            &format!("{api}/orgs/{{organization_id}}/settlements/{{settlement_id}}"),
            get(settlements::get_settlement),
        )
        .route("/admin/settle", post(settlements::admin_settle))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

//! `GET …/orgs/{organizationId}/settlements` (GetSettlements),
//! `GET …/orgs/{organizationId}/settlements/{settlementId}` (GetSettlementById) and the
//! sandbox's own `POST /admin/settle?date=YYYY-MM-DD`, on the routes floor.
//!
//! The list takes `fromDate`/`toDate` (days, both inclusive, compared with `settlementDate`),
//! `pageSize` (1 to 2147483647; default [`SETTLEMENT_PAGE_SIZE`], at most
//! [`MAX_SETTLEMENT_PAGE_SIZE`] served) and `pageToken`; it is ordered by `settlementDate`,
//! then creation. A settlement of another organization is a 404, like an unknown one.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::Uri;
use chrono::NaiveDate;
use serde_json::{Value, json};

use crate::domain::settlements::Settlement;
use crate::error::ApiError;
use crate::request;
use crate::routes::auth::Org;
use crate::routes::paging;
use crate::state::AppState;

/// Page size of `GetSettlements` when `pageSize` is absent (small, so that clients and tests
/// meet several pages).
pub const SETTLEMENT_PAGE_SIZE: usize = 3;
/// The largest page of settlements the sandbox serves.
pub const MAX_SETTLEMENT_PAGE_SIZE: usize = 100;

/// A `YYYY-MM-DD` query parameter (400 naming it otherwise).
pub(crate) fn parse_day(name: &str, value: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
        ApiError::bad_param(name, format!("{name} {value:?} is not a date (YYYY-MM-DD)"))
    })
}

const CURSOR_PREFIX: &str = "settlements-after-";

/// `GET …/orgs/{organizationId}/settlements`.
pub(crate) async fn list_settlements(org: Org, uri: Uri) -> Result<Json<Value>, ApiError> {
    let Org { state, caller, .. } = org;
    let pairs = request::pairs(uri.query().unwrap_or_default().as_bytes());
    let get = |name| request::first(&pairs, name);
    let from = get("fromDate")
        .map(|v| parse_day("fromDate", v))
        .transpose()?;
    let to = get("toDate").map(|v| parse_day("toDate", v)).transpose()?;
    let page_size = paging::page_size(
        get("pageSize"),
        "pageSize",
        SETTLEMENT_PAGE_SIZE,
        MAX_SETTLEMENT_PAGE_SIZE,
    )?;
    let offset = paging::offset(get("pageToken"), CURSOR_PREFIX, "pageToken")?;
    let settlements = state.settlements();
    let matching: Vec<&Settlement> = settlements
        .all()
        .iter()
        .filter(|s| s.organization_id == caller.organization_id)
        .filter(|s| from.is_none_or(|from| s.settlement_date >= from))
        .filter(|s| to.is_none_or(|to| s.settlement_date <= to))
        .collect();
    Ok(Json(paging::page(
        &matching,
        offset,
        page_size,
        CURSOR_PREFIX,
        |s| s.render(),
    )))
}

/// `GET …/orgs/{organizationId}/settlements/{settlementId}`.
pub(crate) async fn get_settlement(org: Org) -> Result<Json<Value>, ApiError> {
    let settlement_id = org.item_id("settlementId")?;
    let Org { state, caller, .. } = org;
    let settlements = state.settlements();
    let settlement = settlements
        .all()
        .iter()
        .find(|s| s.id == settlement_id && s.organization_id == caller.organization_id)
        .ok_or_else(|| ApiError::not_found(format!("settlement {settlement_id} not found")))?;
    Ok(Json(json!({
        "summary": {"status": "SUCCESS"},
        "data": settlement.render(),
    })))
}

/// `POST /admin/settle?date=YYYY-MM-DD` (the sandbox's own route, not Amili's; no token):
/// settles every booked payment not settled yet, on `date` (default: today, UTC), and answers
/// `{"data":[…]}` with the new settlements.
pub(crate) async fn admin_settle(
    State(state): State<Arc<AppState>>,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    let pairs = request::pairs(uri.query().unwrap_or_default().as_bytes());
    let date = match request::first(&pairs, "date") {
        Some(value) => parse_day("date", value)?,
        None => chrono::Utc::now().date_naive(),
    };
    let created = state.settle(date);
    let data: Vec<Value> = created.iter().map(Settlement::render).collect();
    Ok(Json(
        json!({"summary": {"status": "SUCCESS"}, "data": data}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_checked() {
        assert!(parse_day("fromDate", "2025-02-30").is_err());
        assert!(parse_day("fromDate", "2025-02-28").is_ok());
    }
}

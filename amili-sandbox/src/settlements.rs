//! Settlements: money the sandbox "pays out" for booked payments, produced on demand
//! ([`crate::Sandbox::settle`], or `POST /admin/settle?date=YYYY-MM-DD`) and announced with a
//! `SETTLEMENT_CREATED` webhook each when webhooks are configured, and
//! `GET …/orgs/{organizationId}/settlements` (GetSettlements) and
//! `GET …/orgs/{organizationId}/settlements/{settlementId}` (GetSettlementById).
//!
//! Settling groups every booked payment and correction not settled yet by organization,
//! invoice and currency into one settlement whose `amount` is their sum (a correction's signed
//! amount included) and whose `settlementDate` is the day given.
//! The list takes `fromDate`/`toDate` (days, both inclusive, compared with `settlementDate`),
//! `pageSize` (1 to 2147483647; default [`SETTLEMENT_PAGE_SIZE`], at most
//! [`MAX_SETTLEMENT_PAGE_SIZE`] served) and `pageToken`; it is ordered by `settlementDate`,
//! then creation. A settlement of another organization is a 404, like an unknown one.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::auth::{self, parse_uuid};
use crate::corrections::BookedCorrection;
use crate::error::ApiError;
use crate::invoices::{Invoices, exact_number};
use crate::ledger::BookedPayment;
use crate::state::AppState;
use crate::{paging, request};

/// Page size of `GetSettlements` when `pageSize` is absent (small, so that clients and tests
/// meet several pages).
pub const SETTLEMENT_PAGE_SIZE: usize = 3;
/// The largest page of settlements the sandbox serves.
pub const MAX_SETTLEMENT_PAGE_SIZE: usize = 100;

/// One settlement the sandbox produced.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Settlement {
    /// Its id (`GetSettlementById`).
    pub id: Uuid,
    /// The organization it is for.
    pub organization_id: Uuid,
    /// The day it was settled.
    pub settlement_date: NaiveDate,
    /// The invoice whose payments it settles.
    pub invoice_id: Uuid,
    /// The invoice's number, when the sandbox knows one.
    pub invoice_number: Option<String>,
    /// The debtor's customer number, when the sandbox knows one (`customerReference`).
    pub customer_reference: Option<String>,
    /// The sum of the settled payments and corrections, in major units.
    pub amount: Decimal,
    /// Their currency.
    pub currency: String,
    /// The `uniqueSourcePaymentId`s of the payments it settles.
    pub payments: Vec<String>,
}

impl Settlement {
    /// The collection case's number: the sandbox makes one from the invoice id.
    pub fn case_number(&self) -> String {
        let case = self.invoice_id.simple().to_string();
        format!("SBX-{}", case.get(..8).unwrap_or(&case))
    }

    /// The JSON form (the spec's `Settlement`).
    fn render(&self) -> Value {
        let mut out = Map::new();
        out.insert("id".into(), json!(self.id));
        out.insert(
            "settlementDate".into(),
            json!(self.settlement_date.to_string()),
        );
        out.insert("invoiceId".into(), json!(self.invoice_id));
        if let Some(number) = &self.invoice_number {
            out.insert("invoiceNumber".into(), json!(number));
        }
        out.insert("caseNumber".into(), json!(self.case_number()));
        out.insert("collectionType".into(), json!("REMINDER"));
        out.insert("currency".into(), json!(self.currency));
        if let Some(reference) = &self.customer_reference {
            out.insert("customerReference".into(), json!(reference));
        }
        out.insert("amount".into(), exact_number(self.amount));
        Value::Object(out)
    }
}

/// Every settlement produced, and which payments they settled.
#[derive(Debug, Default)]
pub(crate) struct Settlements {
    list: Vec<Settlement>,
    /// `(organization, uniqueSourcePaymentId)` of every settled payment.
    settled: HashSet<(Uuid, String)>,
    /// How many corrections (of the append-only corrections ledger) are settled.
    corrections_settled: usize,
}

impl Settlements {
    /// Settles every booked payment and correction not settled yet, on `date`; returns the
    /// new settlements.
    pub(crate) fn settle(
        &mut self,
        ledger: impl IntoIterator<Item = BookedPayment>,
        corrections: &[BookedCorrection],
        invoices: &Invoices,
        date: NaiveDate,
    ) -> Vec<Settlement> {
        let mut groups: BTreeMap<(Uuid, Uuid, String), Vec<BookedPayment>> = BTreeMap::new();
        let mut corrected: BTreeMap<(Uuid, Uuid, String), Decimal> = BTreeMap::new();
        for correction in corrections
            .get(self.corrections_settled..)
            .unwrap_or_default()
        {
            let key = (
                correction.organization_id,
                correction.invoice_id,
                correction.currency.clone(),
            );
            groups.entry(key.clone()).or_default();
            *corrected.entry(key).or_default() += correction.amount;
        }
        self.corrections_settled = corrections.len();
        for payment in ledger {
            let key = (
                payment.organization_id,
                payment.unique_source_payment_id.clone(),
            );
            if self.settled.insert(key) {
                groups
                    .entry((
                        payment.organization_id,
                        payment.invoice_id,
                        payment.currency.clone(),
                    ))
                    .or_default()
                    .push(payment);
            }
        }
        let created: Vec<Settlement> = groups
            .into_iter()
            .map(|((organization_id, invoice_id, currency), payments)| {
                let invoice = invoices.get(invoice_id);
                let correction = corrected
                    .get(&(organization_id, invoice_id, currency.clone()))
                    .copied()
                    .unwrap_or_default();
                Settlement {
                    id: Uuid::new_v4(),
                    organization_id,
                    settlement_date: date,
                    invoice_id,
                    invoice_number: invoice.and_then(|i| i.invoice_number.clone()),
                    customer_reference: invoice.and_then(|i| i.customer_number.clone()),
                    amount: payments.iter().map(|p| p.amount).sum::<Decimal>() + correction,
                    currency,
                    payments: payments
                        .iter()
                        .map(|p| p.unique_source_payment_id.clone())
                        .collect(),
                }
            })
            .collect();
        self.list.extend(created.iter().cloned());
        // Stable: settlements of one day keep their creation order.
        self.list.sort_by_key(|s| s.settlement_date);
        created
    }

    pub(crate) fn all(&self) -> &[Settlement] {
        &self.list
    }
}

fn bad_param(name: &str, message: String) -> ApiError {
    ApiError::invalid_field(StatusCode::BAD_REQUEST, name, message)
}

/// A `YYYY-MM-DD` query parameter (400 naming it otherwise).
pub(crate) fn parse_day(name: &str, value: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| bad_param(name, format!("{name} {value:?} is not a date (YYYY-MM-DD)")))
}

const CURSOR_PREFIX: &str = "settlements-after-";

/// `GET …/orgs/{organizationId}/settlements`.
pub(crate) async fn list_settlements(
    State(state): State<Arc<AppState>>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    let Path(organization_id) = path.map_err(request::path_error)?;
    let caller = auth::authorize(&state, &headers, &organization_id)?;
    let pairs = request::pairs(uri.query().unwrap_or_default().as_bytes());
    let get = |name| request::first(&pairs, name);
    let from = get("fromDate")
        .map(|v| parse_day("fromDate", v))
        .transpose()?;
    let to = get("toDate").map(|v| parse_day("toDate", v)).transpose()?;
    let page_size = match get("pageSize") {
        None => SETTLEMENT_PAGE_SIZE,
        Some(value) => value
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|size| (1..=i64::from(i32::MAX)).contains(size))
            .and_then(|size| usize::try_from(size).ok())
            .map(|size| size.min(MAX_SETTLEMENT_PAGE_SIZE))
            .ok_or_else(|| {
                bad_param(
                    "pageSize",
                    format!("pageSize {value:?} is not an integer from 1 to 2147483647"),
                )
            })?,
    };
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
pub(crate) async fn get_settlement(
    State(state): State<Arc<AppState>>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let Path((organization_id, settlement_id)) = path.map_err(request::path_error)?;
    let caller = auth::authorize(&state, &headers, &organization_id)?;
    let settlement_id = parse_uuid("settlementId", &settlement_id)?;
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

//! `GET …/orgs/{organizationId}/invoices` (GetInvoicesByOrganization) and
//! `GET …/orgs/{organizationId}/invoices/{invoiceId}` (GetInvoiceById), on the routes floor.
//!
//! The list's filters combine, text filters match exactly; `From`/`To` compare `createdAt`,
//! `From` inclusive, `To` exclusive (the spec's assumption). Pages hold [`INVOICE_PAGE_SIZE`]
//! invoices in seeding order; `summary.nextPageToken` is present only when another page
//! follows.

use axum::Json;

use axum::http::Uri;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::domain::invoices::SeedInvoice;
use crate::error::ApiError;
use crate::request;
use crate::routes::auth::Org;
use crate::routes::paging;

/// How many invoices one page of `GetInvoicesByOrganization` holds (small, so that clients
/// and tests meet several pages).
pub const INVOICE_PAGE_SIZE: usize = 4;

/// The filters and position of one list request.
struct ListQuery {
    status: Option<String>,
    invoice_type: Option<String>,
    invoice_number: Option<String>,
    unique_source_invoice_id: Option<String>,
    customer_number: Option<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    /// How many matching invoices earlier pages served.
    offset: usize,
}

impl ListQuery {
    fn parse(uri: &Uri) -> Result<Self, ApiError> {
        let pairs = request::pairs(uri.query().unwrap_or_default().as_bytes());
        let text = |name| request::first(&pairs, name).map(str::to_owned);
        let instant = |name: &str| {
            request::first(&pairs, name)
                .map(|value| {
                    DateTime::parse_from_rfc3339(value)
                        .map(|at| at.with_timezone(&Utc))
                        .map_err(|_| {
                            ApiError::bad_param(
                                name,
                                format!("{name} {value:?} is not an RFC 3339 date-time"),
                            )
                        })
                })
                .transpose()
        };
        Ok(Self {
            status: text("Status"),
            invoice_type: text("Type"),
            invoice_number: text("InvoiceNumber"),
            unique_source_invoice_id: text("UniqueSourceInvoiceId"),
            customer_number: text("CustomerNumber"),
            from: instant("From")?,
            to: instant("To")?,
            offset: paging::offset(
                request::first(&pairs, "PageToken"),
                CURSOR_PREFIX,
                "PageToken",
            )?,
        })
    }

    fn matches(&self, invoice: &SeedInvoice) -> bool {
        let same = |wanted: &Option<String>, actual: Option<&str>| {
            wanted.as_deref().is_none_or(|w| Some(w) == actual)
        };
        same(&self.status, Some(&invoice.status))
            && same(&self.invoice_type, Some(&invoice.invoice_type))
            && same(&self.invoice_number, invoice.invoice_number.as_deref())
            && same(
                &self.unique_source_invoice_id,
                invoice.unique_source_invoice_id.as_deref(),
            )
            && same(&self.customer_number, invoice.customer_number.as_deref())
            && self.from.is_none_or(|from| invoice.created_at >= from)
            && self.to.is_none_or(|to| invoice.created_at < to)
    }
}

const CURSOR_PREFIX: &str = "invoices-after-";

/// `GET …/orgs/{organizationId}/invoices`.
pub(crate) async fn list_invoices(org: Org, uri: Uri) -> Result<Json<Value>, ApiError> {
    let Org { state, caller, .. } = org;
    let query = ListQuery::parse(&uri)?;
    let invoices = state.invoices();
    let matching: Vec<&SeedInvoice> = invoices.all().iter().filter(|i| query.matches(i)).collect();
    Ok(Json(paging::page(
        &matching,
        query.offset,
        INVOICE_PAGE_SIZE,
        CURSOR_PREFIX,
        |invoice| invoice.render(caller.organization_id),
    )))
}

/// `GET …/orgs/{organizationId}/invoices/{invoiceId}`: 404 for an unknown invoice.
pub(crate) async fn get_invoice(org: Org) -> Result<Json<Value>, ApiError> {
    let invoice_id = org.item_id("invoiceId")?;
    let Org { state, caller, .. } = org;
    let invoices = state.invoices();
    let invoice = invoices
        .get(invoice_id)
        .ok_or_else(|| ApiError::not_found(format!("invoice {invoice_id} not found")))?;
    Ok(Json(json!({
        "summary": {"status": "SUCCESS"},
        "data": invoice.render(caller.organization_id),
    })))
}

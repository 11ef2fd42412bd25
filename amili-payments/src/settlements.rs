//! Settlements: what Amili paid out, listed over a date range across every page, and one by
//! id; money as exact [`Decimal`].

use chrono::NaiveDate;
use futures::stream::BoxStream;
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use crate::client::Client;
use crate::error::Error;
pub use amili_api::CollectionType;

/// One settlement. Amili documents few of its fields: the ones it shows are typed, every other
/// field is kept in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Settlement {
    /// Its id, when Amili sends one.
    pub id: Option<Uuid>,
    /// The collection case.
    pub case_number: Option<String>,
    /// `REMINDER`, … (an open set).
    pub collection_type: Option<CollectionType>,
    /// The currency code.
    pub currency: Option<String>,
    /// The creditor's reference for the customer.
    pub customer_reference: Option<String>,
    /// The amount settled, exact (its sign as Amili sends it).
    pub amount: Option<Decimal>,
    /// The invoice it settles.
    pub invoice_id: Option<Uuid>,
    /// That invoice's number.
    pub invoice_number: Option<String>,
    /// The day it was settled.
    pub settlement_date: Option<NaiveDate>,
    /// Every other field, as sent.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl From<amili_api::types::Settlement> for Settlement {
    fn from(s: amili_api::types::Settlement) -> Self {
        Self {
            id: s.id,
            case_number: s.case_number,
            collection_type: s.collection_type,
            currency: s.currency.map(|c| c.0),
            customer_reference: s.customer_reference,
            amount: s.amount.map(amili_api::Amount::value),
            invoice_id: s.invoice_id,
            invoice_number: s.invoice_number,
            settlement_date: s.settlement_date,
            extra: s.extra,
        }
    }
}

const LIST: &str = "get_settlements";

impl Client {
    /// One settlement by id.
    ///
    /// # Errors
    ///
    /// As any read; a `404` when Amili does not know the id.
    pub async fn settlement(&self, settlement_id: Uuid) -> Result<Settlement, Error> {
        const OPERATION: &str = "get_settlement_by_id";
        let span =
            tracing::info_span!("amili.get_settlement", operation = OPERATION, %settlement_id);
        self.read_in(OPERATION, span, |raw, organization_id| {
            raw.get_settlement_by_id()
                .organization_id(organization_id)
                .settlement_id(settlement_id)
                .send()
        })
        .await
        .map(|(settlement, _)| settlement.into())
    }

    /// One page of settlements from `from` to `to` (days, inclusive as Amili reads them) and
    /// the next cursor.
    ///
    /// # Errors
    ///
    /// As any read.
    pub async fn settlements_page(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        page_token: Option<&str>,
    ) -> Result<(Vec<Settlement>, Option<String>), Error> {
        let span =
            tracing::info_span!("amili.list_settlements", operation = LIST, %from, %to, page_token);
        self.read_in(LIST, span, |raw, organization_id| {
            let mut request = raw
                .get_settlements()
                .organization_id(organization_id)
                .from_date(from)
                .to_date(to);
            if let Some(token) = page_token {
                request = request.page_token(token.to_owned());
            }
            request.send()
        })
        .await
        .map(crate::pages::items)
    }

    /// Every settlement from `from` to `to`, across all pages, fetched lazily; a repeated
    /// cursor ends the stream with [`Error::InvalidResponse`].
    ///
    /// ```no_run
    /// # async fn demo(client: amili_payments::Client) -> Result<(), amili_payments::Error> {
    /// use chrono::NaiveDate;
    /// use futures::TryStreamExt;
    ///
    /// let march: Vec<_> = client
    ///     .settlements(
    ///         NaiveDate::from_ymd_opt(2025, 3, 1).unwrap_or_default(),
    ///         NaiveDate::from_ymd_opt(2025, 3, 31).unwrap_or_default(),
    ///     )
    ///     .try_collect()
    ///     .await?;
    /// let total: amili_payments::Decimal = march.iter().filter_map(|s| s.amount).sum();
    /// # Ok(()) }
    /// ```
    pub fn settlements(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> BoxStream<'static, Result<Settlement, Error>> {
        crate::pages::follow_reads(self, LIST, (from, to), |client, &(from, to), cursor| {
            Box::pin(client.settlements_page(from, to, cursor))
        })
    }
}

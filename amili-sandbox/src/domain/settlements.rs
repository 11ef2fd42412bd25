//! Settlements (domain floor): money the sandbox "pays out" for booked payments, produced on
//! demand ([`crate::Sandbox::settle`], or `POST /admin/settle?date=YYYY-MM-DD`).
//!
//! Settling groups every booked payment and correction not settled yet by organization,
//! invoice and currency into one settlement whose `amount` is their sum (a correction's signed
//! amount included) and whose `settlementDate` is the day given. Settlements are kept ordered
//! by `settlementDate`, then creation.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::domain::corrections::BookedCorrection;
use crate::domain::invoices::{Invoices, exact_number};
use crate::domain::ledger::BookedPayment;

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
    pub(crate) fn render(&self) -> Value {
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

//! Invoices (domain floor): what the sandbox knows about each invoice (number, the
//! creditor's `uniqueSourceInvoiceId`, customer number), the demo invoices and the CSV files
//! that seed more.
//!
//! Every organization sees every invoice (as with payments, the sandbox's invoices are not
//! per organization); an invoice's `organization.id` is the caller's.

use chrono::{DateTime, Duration, SecondsFormat, TimeZone, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// Invoices every sandbox knows unless told otherwise ([`crate::SandboxBuilder::demo_invoices`]):
/// payments for them succeed. The first is the invoice id of Amili's documented example; the
/// last three are numbered as a KID names them (the bank-file examples pay them).
pub const DEMO_INVOICES: [Uuid; 13] = [
    Uuid::from_u128(0x4f163819_178d_470c_a246_d6768476a6ec),
    Uuid::from_u128(0xde300000_0000_4000_8000_000000000001),
    Uuid::from_u128(0xde300000_0000_4000_8000_000000000002),
    Uuid::from_u128(0xde300000_0000_4000_8000_000000000003),
    Uuid::from_u128(0xde300000_0000_4000_8000_000000000004),
    Uuid::from_u128(0xde300000_0000_4000_8000_000000000005),
    Uuid::from_u128(0xde300000_0000_4000_8000_000000000006),
    Uuid::from_u128(0xde300000_0000_4000_8000_000000000007),
    Uuid::from_u128(0xde300000_0000_4000_8000_000000000008),
    Uuid::from_u128(0xde300000_0000_4000_8000_000000000009),
    Uuid::from_u128(0xde300000_0000_4000_8000_00000000000a),
    Uuid::from_u128(0xde300000_0000_4000_8000_00000000000b),
    Uuid::from_u128(0xde300000_0000_4000_8000_00000000000c),
];

/// How many demo invoices are numbered `INV-2025-…`; the rest have numbers of digits only.
const LETTERED: i64 = 10;

/// One invoice the sandbox knows: payments for it succeed, and the invoice lookups find it.
///
/// ```
/// use amili_sandbox::SeedInvoice;
/// let invoice = SeedInvoice::new(uuid::Uuid::new_v4(), "INV-7")
///     .unique_source_invoice_id("erp-7")
///     .customer_number("10001");
/// assert_eq!(invoice.invoice_number.as_deref(), Some("INV-7"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SeedInvoice {
    /// Amili's id of the invoice.
    pub id: Uuid,
    /// The invoice number (several invoices may share one).
    pub invoice_number: Option<String>,
    /// The creditor's own id for the invoice.
    pub unique_source_invoice_id: Option<String>,
    /// The debtor's customer number.
    pub customer_number: Option<String>,
    /// `type` (an `InvoiceType`): `PAYMENT_REMINDER` unless set.
    pub invoice_type: String,
    /// `status` (an `InvoiceStatus`): `OPEN` unless set.
    pub status: String,
    /// `createdAt`.
    pub created_at: DateTime<Utc>,
    /// `originalInvoiceAmount`, exact, with its `currency` (absent unless set).
    pub original_invoice_amount: Option<(Decimal, String)>,
}

impl SeedInvoice {
    /// An open `PAYMENT_REMINDER` invoice with this id and number, created 2025-03-01.
    pub fn new(id: Uuid, invoice_number: impl Into<String>) -> Self {
        Self {
            invoice_number: Some(invoice_number.into()),
            ..Self::without_number(id)
        }
    }

    /// An invoice known by its id only (what [`crate::SandboxBuilder::seed_invoices`] seeds).
    pub fn without_number(id: Uuid) -> Self {
        Self {
            id,
            invoice_number: None,
            unique_source_invoice_id: None,
            customer_number: None,
            invoice_type: "PAYMENT_REMINDER".into(),
            status: "OPEN".into(),
            created_at: demo_epoch(),
            original_invoice_amount: None,
        }
    }

    /// Sets the creditor's `uniqueSourceInvoiceId`.
    pub fn unique_source_invoice_id(mut self, id: impl Into<String>) -> Self {
        self.unique_source_invoice_id = Some(id.into());
        self
    }

    /// Sets the debtor's customer number.
    pub fn customer_number(mut self, number: impl Into<String>) -> Self {
        self.customer_number = Some(number.into());
        self
    }

    /// Sets `type`.
    pub fn invoice_type(mut self, kind: impl Into<String>) -> Self {
        self.invoice_type = kind.into();
        self
    }

    /// Sets `status`.
    pub fn status(mut self, status: impl Into<String>) -> Self {
        self.status = status.into();
        self
    }

    /// Sets `originalInvoiceAmount` and `currency`.
    pub fn original_invoice_amount(mut self, amount: Decimal, currency: impl Into<String>) -> Self {
        self.original_invoice_amount = Some((amount, currency.into()));
        self
    }

    /// Sets `createdAt`.
    pub fn created_at(mut self, at: DateTime<Utc>) -> Self {
        self.created_at = at;
        self
    }

    /// The JSON form (the spec's `Invoice`) as `organization` sees it.
    pub(crate) fn render(&self, organization: Uuid) -> Value {
        let mut out = Map::new();
        out.insert("id".into(), json!(self.id));
        out.insert(
            "organization".into(),
            json!({"id": organization, "organizationNumber": "987654321", "name": "Sandbox Creditor AS"}),
        );
        let texts = [
            ("invoiceNumber", &self.invoice_number),
            ("uniqueSourceInvoiceId", &self.unique_source_invoice_id),
            ("customerNumber", &self.customer_number),
        ];
        for (name, value) in texts {
            if let Some(value) = value {
                out.insert(name.into(), json!(value));
            }
        }
        out.insert("type".into(), json!(self.invoice_type));
        out.insert("status".into(), json!(self.status));
        if let Some((amount, currency)) = &self.original_invoice_amount {
            out.insert("originalInvoiceAmount".into(), exact_number(*amount));
            out.insert("currency".into(), json!(currency));
        }
        out.insert(
            "createdAt".into(),
            json!(self.created_at.to_rfc3339_opts(SecondsFormat::Secs, true)),
        );
        Value::Object(out)
    }
}

/// When the demo invoices were created (the first; the others a day apart).
fn demo_epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

/// The demo invoices ([`DEMO_INVOICES`]) with their numbers and source ids: number
/// `INV-2025-001` … `INV-2025-010`, then `2025011` … `2025013` (digits only, as a KID
/// names an invoice: the bank-file examples pay them), `uniqueSourceInvoiceId`
/// `erp-order-9981` … `erp-order-9993` (the first matches the spec's example), customer
/// numbers `10001` to
/// `10003` in turn, `NOTICE` for every third invoice and `PAYMENT_REMINDER` otherwise,
/// created one day apart from 2025-03-01T09:00:00Z.
pub fn demo_invoices() -> Vec<SeedInvoice> {
    DEMO_INVOICES
        .iter()
        .zip(0_i64..)
        .map(|(&id, n)| {
            let number = if n < LETTERED {
                format!("INV-2025-{:03}", n + 1)
            } else {
                format!("2025{:03}", n + 1)
            };
            let invoice = SeedInvoice::new(id, number)
                .unique_source_invoice_id(format!("erp-order-{}", 9981 + n))
                .customer_number(format!("{}", 10001 + n % 3))
                .created_at(demo_epoch() + Duration::days(n));
            if n % 3 == 2 {
                invoice.invoice_type("NOTICE")
            } else {
                invoice
            }
        })
        .collect()
}

/// Reads invoices from CSV text: a header naming `invoiceId` and `invoiceNumber`, optionally
/// `uniqueSourceInvoiceId`, `customerNumber`, `type`, `status`, `originalInvoiceAmount` with
/// `currency`; one invoice per line, values without commas or quotes. `source` names the
/// file in errors, which give the line.
///
/// ```
/// let invoices = amili_sandbox::parse_invoice_csv(
///     "invoices.csv",
///     "invoiceId,invoiceNumber,uniqueSourceInvoiceId\n\
///      4f163819-178d-470c-a246-d6768476a6ec,INV-1,erp-1\n",
/// ).unwrap();
/// assert_eq!(invoices[0].unique_source_invoice_id.as_deref(), Some("erp-1"));
/// assert!(amili_sandbox::parse_invoice_csv("x.csv", "invoiceId\nnot-a-uuid\n").is_err());
/// ```
///
/// # Errors
///
/// A message naming `source`, the line and the column for a missing `invoiceId` column, a
/// line with another number of values than the header, an `invoiceId` that is not a UUID, or
/// an `originalInvoiceAmount` that is not a decimal number or has no `currency`.
pub fn parse_invoice_csv(source: &str, text: &str) -> Result<Vec<SeedInvoice>, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(format!("{source}: empty file, expected a header line"));
    };
    let columns: Vec<&str> = header.split(',').map(str::trim).collect();
    let column = |name: &str| columns.iter().position(|c| *c == name);
    let id_column = column("invoiceId")
        .ok_or_else(|| format!("{source}: line 1: the header has no invoiceId column"))?;
    let mut invoices = Vec::new();
    for (index, line) in lines {
        let line_number = index + 1;
        let values: Vec<&str> = line.split(',').map(str::trim).collect();
        if values.len() != columns.len() {
            return Err(format!(
                "{source}: line {line_number}: {} values, the header has {}",
                values.len(),
                columns.len()
            ));
        }
        let value = |name: &str| {
            column(name)
                .and_then(|i| values.get(i).copied())
                .filter(|v| !v.is_empty())
        };
        let raw_id = values.get(id_column).copied().unwrap_or_default();
        let id = Uuid::try_parse(raw_id).map_err(|_| {
            format!("{source}: line {line_number}: invoiceId {raw_id:?} is not a UUID")
        })?;
        let mut invoice = SeedInvoice::without_number(id);
        invoice.invoice_number = value("invoiceNumber").map(str::to_owned);
        invoice.unique_source_invoice_id = value("uniqueSourceInvoiceId").map(str::to_owned);
        invoice.customer_number = value("customerNumber").map(str::to_owned);
        if let Some(kind) = value("type") {
            invoice.invoice_type = kind.to_owned();
        }
        if let Some(status) = value("status") {
            invoice.status = status.to_owned();
        }
        if let Some(raw) = value("originalInvoiceAmount") {
            let amount = raw.parse::<Decimal>().map_err(|_| {
                format!(
                    "{source}: line {line_number}: originalInvoiceAmount {raw:?} is not a decimal number"
                )
            })?;
            let currency = value("currency").ok_or_else(|| {
                format!("{source}: line {line_number}: originalInvoiceAmount without a currency")
            })?;
            invoice.original_invoice_amount = Some((amount, currency.to_owned()));
        }
        invoices.push(invoice);
    }
    Ok(invoices)
}

/// `amount` as a JSON number for the sandbox's `Value` answers. `serde_json::Value` holds
/// numbers as doubles (no `arbitrary_precision`: it would change how every crate of the
/// workspace reads numbers), so the digits are exact for amounts of at most 15 significant
/// digits, what money has; longer ones become the nearest double.
pub(crate) fn exact_number(amount: Decimal) -> Value {
    let text = amount.normalize().to_string();
    serde_json::from_str::<Value>(&text).unwrap_or_else(|_| json!(text))
}

/// Every invoice the sandbox describes, in seeding order (the list's order).
#[derive(Debug, Default)]
pub(crate) struct Invoices {
    list: Vec<SeedInvoice>,
}

impl Invoices {
    /// Adds invoices; one with an id already known replaces the earlier description.
    pub(crate) fn seed(&mut self, invoices: impl IntoIterator<Item = SeedInvoice>) {
        for invoice in invoices {
            match self.list.iter_mut().find(|known| known.id == invoice.id) {
                Some(known) => *known = invoice,
                None => self.list.push(invoice),
            }
        }
    }

    /// Adds invoices known by id only; ids already described keep their description.
    pub(crate) fn know(&mut self, ids: impl IntoIterator<Item = Uuid>) {
        for id in ids {
            if self.get(id).is_none() {
                self.list.push(SeedInvoice::without_number(id));
            }
        }
    }

    /// Every known invoice, in seeding order.
    pub(crate) fn all(&self) -> &[SeedInvoice] {
        &self.list
    }

    /// Every known invoice id.
    pub(crate) fn ids(&self) -> Vec<Uuid> {
        self.list.iter().map(|invoice| invoice.id).collect()
    }

    pub(crate) fn get(&self, id: Uuid) -> Option<&SeedInvoice> {
        self.list.iter().find(|invoice| invoice.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_invoices_are_distinct_and_start_with_the_documented_example() {
        let unique: std::collections::HashSet<_> = DEMO_INVOICES.iter().collect();
        assert_eq!(unique.len(), DEMO_INVOICES.len());
        assert_eq!(
            DEMO_INVOICES[0].to_string(),
            "4f163819-178d-470c-a246-d6768476a6ec"
        );
    }

    #[test]
    fn demo_invoices_have_distinct_numbers_and_source_ids() {
        let demo = demo_invoices();
        assert_eq!(demo.len(), DEMO_INVOICES.len());
        let numbers: std::collections::HashSet<_> =
            demo.iter().map(|i| i.invoice_number.clone()).collect();
        assert_eq!(numbers.len(), demo.len());
        assert_eq!(demo[0].invoice_number.as_deref(), Some("INV-2025-001"));
        assert_eq!(
            demo[0].unique_source_invoice_id.as_deref(),
            Some("erp-order-9981")
        );
    }

    #[test]
    fn csv_amounts_are_exact_and_need_a_currency() {
        let invoices = parse_invoice_csv(
            "a.csv",
            "invoiceId,invoiceNumber,originalInvoiceAmount,currency\n\
             4f163819-178d-470c-a246-d6768476a6ec,INV-1,1234.50,NOK\n\
             de300000-0000-4000-8000-000000000001,INV-2,,\n",
        )
        .expect("a valid file");
        assert_eq!(
            invoices[0].original_invoice_amount,
            Some((Decimal::new(123450, 2), "NOK".to_owned()))
        );
        assert_eq!(invoices[1].original_invoice_amount, None);
        let rendered = invoices[0].render(Uuid::nil());
        assert_eq!(rendered["originalInvoiceAmount"].to_string(), "1234.5");
        assert_eq!(rendered["currency"], "NOK");

        let no_currency = parse_invoice_csv(
            "a.csv",
            "invoiceId,originalInvoiceAmount\n4f163819-178d-470c-a246-d6768476a6ec,10\n",
        );
        assert_eq!(
            no_currency.err().as_deref(),
            Some("a.csv: line 2: originalInvoiceAmount without a currency")
        );
        let not_a_number = parse_invoice_csv(
            "a.csv",
            "invoiceId,originalInvoiceAmount,currency\n\
             4f163819-178d-470c-a246-d6768476a6ec,12 kr,NOK\n",
        );
        assert_eq!(
            not_a_number.err().as_deref(),
            Some("a.csv: line 2: originalInvoiceAmount \"12 kr\" is not a decimal number")
        );
    }

    #[test]
    fn csv_errors_name_the_file_line_and_column() {
        let err = parse_invoice_csv("f.csv", "invoiceNumber\nINV-1\n").err();
        assert_eq!(
            err.as_deref(),
            Some("f.csv: line 1: the header has no invoiceId column")
        );
        let err = parse_invoice_csv("f.csv", "invoiceId,invoiceNumber\n\nx,INV-1\n").err();
        assert_eq!(
            err.as_deref(),
            Some("f.csv: line 3: invoiceId \"x\" is not a UUID")
        );
        let err = parse_invoice_csv("f.csv", "invoiceId,invoiceNumber\nx\n").err();
        assert_eq!(
            err.as_deref(),
            Some("f.csv: line 2: 1 values, the header has 2")
        );
    }
}

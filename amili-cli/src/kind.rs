//! What a file holds: payments or corrections. Reading, validating, spooling, sending and
//! reporting are written once, over [`FileKind`]; each kind only says how its rows are read
//! into the library's raw input type, validated by the library, and kept in the spool.

use amili_payments::validation::{AmountField, AmountInput, FieldError, InputFormat};
use amili_payments::{
    Correction, CorrectionFields, CorrectionInput, DateTime, Decimal, Payment, PaymentFields,
    PaymentInput, PaymentType, Submittable, Utc, Uuid,
};
use anyhow::Context as _;
use serde::de::DeserializeOwned;

use crate::money::Money;
use crate::spool::{self, Record, SpoolItem};

/// The columns that may name the invoice instead of `invoiceId`: resolved to an `invoiceId`
/// through Amili's invoice look-ups before anything is sent.
pub const REFERENCE_FIELDS: [&str; 2] = ["invoiceNumber", "uniqueSourceInvoiceId"];

/// A kind of row a file can hold: the library's [`Submittable`] items, whose names, fields and
/// id column the library gives; here only how a file's rows become items, and how they are
/// remembered and kept.
pub trait FileKind: Submittable + SpoolItem {
    /// The library's raw row, every field optional.
    type Input: Default + DeserializeOwned + Send + 'static;

    /// The other kind (a file of it given to this kind's command is refused, naming its own).
    type Other: FileKind;

    /// Why a later row with an earlier row's id is not sent.
    const REPEATS: &'static str;

    /// The problem of a row whose id (`id`) repeats line `first`'s: its field and message.
    fn repeat_problem(id: &str, first: u64) -> (Option<&'static str>, String);

    /// What the ledger remembers the items as (the library's
    /// [`scope`](amili_payments::ledger::scope) names where).
    const LEDGER: amili_payments::ledger::Kind;

    /// The library's raw row borrowed: each field's text (see [`FileKind::fields`]).
    type Fields<'a>: Copy + Default;

    /// The owned row borrowed.
    fn fields(input: &Self::Input) -> Self::Fields<'_>;

    /// Puts one CSV cell (trimmed) into its field (one of [`Submittable::FIELDS`]).
    fn set_field<'a>(fields: &mut Self::Fields<'a>, field: &'static str, text: &'a str);

    /// Puts `text` into `field` when the row has no value for it, or an empty one (`--type`,
    /// `--currency`).
    fn fill<'a>(fields: &mut Self::Fields<'a>, field: &'static str, text: &'a str);

    /// A field's raw text, as written (for messages and the report of an invalid row).
    fn raw(fields: &Self::Fields<'_>, field: &str) -> Option<String>;

    /// The id an invalid row is reported under (a payment's own id, if it has one).
    fn reported_id(fields: &Self::Fields<'_>) -> String;

    /// The library's one validation path for the kind.
    fn validate(fields: &Self::Fields<'_>, format: &InputFormat) -> Result<Self, Vec<FieldError>>;

    /// The item's amount and currency.
    fn money(&self) -> Money;

    /// An invalid row's amount and currency, when both can be read (for the sums of the
    /// invalid rows).
    fn raw_money(fields: &Self::Fields<'_>, format: &InputFormat) -> Option<Money>;
}

/// The amount and currency of a row, when both can be read; the amount as a correction's
/// (signed), so that a payment's negative amount is still summed among the invalid.
fn money_of(
    amount: Option<AmountField<'_>>,
    currency: Option<&str>,
    format: &InputFormat,
) -> Option<Money> {
    let amount = match amount? {
        AmountField::Text(text) => format.signed_amount(text).ok()?,
        AmountField::Input(AmountInput::Text(text) | AmountInput::JsonText(text)) => {
            format.signed_amount(text).ok()?
        }
        AmountField::Input(AmountInput::Integer(n)) => {
            Decimal::try_from_i128_with_scale(*n, 0).ok()?
        }
        AmountField::Input(AmountInput::Number(n)) => n.to_string().parse().ok()?,
    };
    let currency = amili_payments::Currency::iso(currency?.trim()).ok()?;
    Some(Money { amount, currency })
}

/// The fields both kinds spool the same way: amount, currency, date.
fn spool_money_and_date(
    record: &mut Record<'_>,
    amount: Decimal,
    currency: &str,
    date: &DateTime<Utc>,
) {
    record.bytes(&amount.mantissa().to_le_bytes());
    record.bytes(&amount.scale().to_le_bytes());
    record.text(currency);
    record.bytes(&date.timestamp().to_le_bytes());
    record.bytes(&date.timestamp_subsec_nanos().to_le_bytes());
}

fn unspool_money_and_date<'a>(
    fields: &mut spool::Fields<'a>,
) -> anyhow::Result<(Decimal, &'a str, DateTime<Utc>)> {
    let mantissa = i128::from_le_bytes(fields.bytes()?);
    let scale = u32::from_le_bytes(fields.bytes()?);
    let amount = Decimal::try_from_i128_with_scale(mantissa, scale)?;
    let currency = fields.text()?;
    let seconds = i64::from_le_bytes(fields.bytes()?);
    let nanos = u32::from_le_bytes(fields.bytes()?);
    let date = DateTime::from_timestamp(seconds, nanos).context("a date out of range")?;
    Ok((amount, currency, date))
}

/// The raw text of the fields both kinds have that messages quote.
fn raw_text(
    field: &str,
    invoice_id: Option<&str>,
    amount: Option<AmountField<'_>>,
    date: Option<&str>,
) -> Option<String> {
    match field {
        "invoiceId" => invoice_id.map(str::to_owned),
        "amount" => amount.map(|a| match a {
            AmountField::Text(text) => text.to_owned(),
            AmountField::Input(AmountInput::Text(text) | AmountInput::JsonText(text)) => {
                text.clone()
            }
            AmountField::Input(AmountInput::Number(n)) => n.to_string(),
            AmountField::Input(AmountInput::Integer(n)) => n.to_string(),
        }),
        "date" => date.map(str::to_owned),
        _ => None,
    }
}

impl FileKind for Payment {
    type Input = PaymentInput;
    type Other = Correction;
    const REPEATS: &'static str = "uniqueSourcePaymentId: repeats the id of an earlier row";
    const LEDGER: amili_payments::ledger::Kind = amili_payments::ledger::Kind::Payments;

    fn repeat_problem(id: &str, first: u64) -> (Option<&'static str>, String) {
        (
            Some("uniqueSourcePaymentId"),
            format!("{id:?} repeats the id of line {first}"),
        )
    }

    type Fields<'a> = PaymentFields<'a>;

    fn fields(input: &PaymentInput) -> PaymentFields<'_> {
        input.fields()
    }

    fn set_field<'a>(fields: &mut PaymentFields<'a>, field: &'static str, text: &'a str) {
        match field {
            "invoiceId" => fields.invoice_id = Some(text),
            "type" => fields.payment_type = Some(text),
            "amount" => fields.amount = Some(AmountField::Text(text)),
            "currency" => fields.currency = Some(text),
            "date" => fields.date = Some(text),
            "description" => fields.description = Some(text),
            _ => fields.unique_source_payment_id = Some(text),
        }
    }

    fn fill<'a>(fields: &mut PaymentFields<'a>, field: &'static str, text: &'a str) {
        let slot = match field {
            "type" => &mut fields.payment_type,
            "currency" => &mut fields.currency,
            _ => return,
        };
        if slot.is_none_or(|t| t.trim().is_empty()) {
            *slot = Some(text);
        }
    }

    fn raw(fields: &PaymentFields<'_>, field: &str) -> Option<String> {
        raw_text(field, fields.invoice_id, fields.amount, fields.date)
    }

    fn reported_id(fields: &PaymentFields<'_>) -> String {
        fields
            .unique_source_payment_id
            .unwrap_or_default()
            .to_owned()
    }

    fn validate(
        fields: &PaymentFields<'_>,
        format: &InputFormat,
    ) -> Result<Payment, Vec<FieldError>> {
        Payment::from_fields_with(fields, format)
    }

    fn money(&self) -> Money {
        Money {
            amount: self.amount(),
            currency: self.currency().clone(),
        }
    }

    fn raw_money(fields: &PaymentFields<'_>, format: &InputFormat) -> Option<Money> {
        money_of(fields.amount, fields.currency, format)
    }
}

impl SpoolItem for Payment {
    fn spool(&self, record: &mut Record<'_>) {
        record.bytes(self.invoice_id().as_bytes());
        record.text(self.payment_type().as_str());
        spool_money_and_date(record, self.amount(), self.currency().code(), &self.date());
        record.text(self.description());
        record.text(self.unique_source_payment_id());
    }

    fn unspool(fields: &mut spool::Fields<'_>) -> anyhow::Result<Payment> {
        let invoice_id = Uuid::from_bytes(fields.bytes()?);
        let payment_type = PaymentType::from(fields.text()?);
        let (amount, currency, date) = unspool_money_and_date(fields)?;
        Ok(Payment::builder()
            .invoice_id(invoice_id)
            .payment_type(payment_type)
            .amount(amount)
            .currency(currency)
            .date(date)
            .description(fields.text()?)
            .unique_source_payment_id(fields.text()?)
            .build()?)
    }
}

impl FileKind for Correction {
    type Input = CorrectionInput;
    type Other = Payment;
    const REPEATS: &'static str = "repeats an earlier row exactly (the same correction twice; if both are meant, tell \
         them apart in the description)";
    // Remembered apart from payments: a correction's id is a content digest.
    const LEDGER: amili_payments::ledger::Kind = amili_payments::ledger::Kind::Corrections;

    fn repeat_problem(_: &str, first: u64) -> (Option<&'static str>, String) {
        (
            None,
            format!(
                "repeats line {first} exactly (the same correction twice; if both are meant, \
                 tell them apart in the description)"
            ),
        )
    }

    type Fields<'a> = CorrectionFields<'a>;

    fn fields(input: &CorrectionInput) -> CorrectionFields<'_> {
        input.fields()
    }

    fn set_field<'a>(fields: &mut CorrectionFields<'a>, field: &'static str, text: &'a str) {
        match field {
            "invoiceId" => fields.invoice_id = Some(text),
            "amount" => fields.amount = Some(AmountField::Text(text)),
            "currency" => fields.currency = Some(text),
            "date" => fields.date = Some(text),
            _ => fields.description = Some(text),
        }
    }

    fn fill<'a>(fields: &mut CorrectionFields<'a>, field: &'static str, text: &'a str) {
        let slot = &mut fields.currency;
        if field == "currency" && slot.is_none_or(|t| t.trim().is_empty()) {
            *slot = Some(text);
        }
    }

    fn raw(fields: &CorrectionFields<'_>, field: &str) -> Option<String> {
        raw_text(field, fields.invoice_id, fields.amount, fields.date)
    }

    fn reported_id(_: &CorrectionFields<'_>) -> String {
        String::new()
    }

    fn validate(
        fields: &CorrectionFields<'_>,
        format: &InputFormat,
    ) -> Result<Correction, Vec<FieldError>> {
        Correction::from_fields_with(fields, format)
    }

    fn money(&self) -> Money {
        Money {
            amount: self.amount(),
            currency: self.currency().clone(),
        }
    }

    fn raw_money(fields: &CorrectionFields<'_>, format: &InputFormat) -> Option<Money> {
        money_of(fields.amount, fields.currency, format)
    }
}

impl SpoolItem for Correction {
    fn spool(&self, record: &mut Record<'_>) {
        record.bytes(self.invoice_id().as_bytes());
        spool_money_and_date(record, self.amount(), self.currency().code(), &self.date());
        record.text(self.description());
    }

    fn unspool(fields: &mut spool::Fields<'_>) -> anyhow::Result<Correction> {
        let invoice_id = Uuid::from_bytes(fields.bytes()?);
        let (amount, currency, date) = unspool_money_and_date(fields)?;
        Ok(Correction::builder()
            .invoice_id(invoice_id)
            .amount(amount)
            .currency(currency)
            .date(date)
            .description(fields.text()?)
            .build()?)
    }
}

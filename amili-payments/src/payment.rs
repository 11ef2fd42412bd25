//! The validated `Payment`, its builder and the raw rows: `PaymentInput` (owned) and
//! `PaymentFields` (borrowed).

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize, Serializer};
use uuid::Uuid;

use crate::currency::Currency;
use crate::input_format::InputFormat;
use crate::money_fields::{MoneyFields, money_getters, money_setters, read_money};
use crate::raw_fields::{self, AmountField, AmountInput};
use crate::submittable::submittable;
use crate::validation::{self, FieldError, ItemError, ValidationErrors};
use amili_api::PaymentType;

/// One payment a creditor received for an invoice handed to Amili, **valid by construction**.
///
/// A `Payment` can only be made through [`Payment::builder`], [`Payment::from_input`],
/// [`validate_all`] or [`Deserialize`], which all check every field and report every problem
/// at once:
///
/// | field (wire name) | rule |
/// |---|---|
/// | `invoiceId` | a UUID |
/// | `type` | `DIRECT_PAYMENT`, or another upper-case wire value (the set is open) |
/// | `amount` | a decimal in **major units**, > 0, no more decimals than the currency's minor units, at most 15 significant digits (exact in a JSON number) |
/// | `currency` | an ISO 4217 code with minor units |
/// | `date` | not later than now + [`FUTURE_TOLERANCE`](crate::validation::FUTURE_TOLERANCE) |
/// | `description` | no control characters, at most [`MAX_DESCRIPTION_CHARS`](crate::validation::MAX_DESCRIPTION_CHARS) |
/// | `uniqueSourcePaymentId` | non-empty, no surrounding whitespace, at most [`MAX_SOURCE_ID_CHARS`](crate::validation::MAX_SOURCE_ID_CHARS) |
///
/// ```
/// use amili_payments::{Currency, Payment};
/// use rust_decimal::Decimal;
///
/// let payment = Payment::builder()
///     .invoice_id("4f163819-178d-470c-a246-d6768476a6ec".parse()?)
///     .amount(Decimal::new(450000, 2)) // 4500.00
///     .currency(Currency::NOK)
///     .date("2025-03-09T14:30:00Z".parse()?)
///     .description("Paid at the counter")
///     .unique_source_payment_id("ERP-2025-0001")
///     .build()?;
/// assert_eq!(payment.amount(), Decimal::new(4500, 0));
///
/// let problems = Payment::builder()
///     .amount(Decimal::new(-5, 0))
///     .currency("NOK")
///     .unique_source_payment_id("ERP-2025-0002")
///     .build()
///     .unwrap_err();
/// // Every problem at once: the missing invoice id and date, the negative amount.
/// assert_eq!(problems.items()[0].errors.len(), 3, "{problems}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Payment {
    invoice_id: Uuid,
    payment_type: PaymentType,
    amount: Decimal,
    currency: Currency,
    date: DateTime<Utc>,
    description: String,
    unique_source_payment_id: String,
}

impl Payment {
    /// Starts a payment; `type` defaults to `DIRECT_PAYMENT` and `description` to empty.
    #[inline]
    pub fn builder() -> PaymentBuilder {
        PaymentBuilder::default()
    }

    /// Validates one raw row whose text follows `format` (a decimal comma, a date pattern).
    ///
    /// # Errors
    ///
    /// Every problem of the row, naming its field.
    pub fn from_input_with(
        input: PaymentInput,
        format: &InputFormat,
    ) -> Result<Payment, Vec<FieldError>> {
        Self::from_fields_with(&input.fields(), format)
    }

    /// Validates one borrowed raw row whose text follows `format`: the same checks as
    /// [`from_input_with`](Self::from_input_with), for a row read from a record without a
    /// string of its own per field.
    ///
    /// ```
    /// use amili_payments::validation::InputFormat;
    /// use amili_payments::{Payment, PaymentFields};
    ///
    /// let cells = ["4f163819-178d-470c-a246-d6768476a6ec", "4 500,00", "nok", "09.03.2025"];
    /// let row = PaymentFields {
    ///     invoice_id: Some(cells[0]),
    ///     amount: Some(cells[1].into()),
    ///     currency: Some(cells[2]),
    ///     date: Some(cells[3]),
    ///     unique_source_payment_id: Some("ERP-1"),
    ///     ..PaymentFields::default()
    /// };
    /// let payment = Payment::from_fields_with(&row, &InputFormat::decimal_comma())
    ///     .map_err(|e| format!("{e:?}"))?;
    /// assert_eq!(payment.amount().to_string(), "4500.00");
    ///
    /// let problems = Payment::from_fields_with(&PaymentFields::default(), &InputFormat::default())
    ///     .unwrap_err();
    /// assert_eq!(problems[0].to_string(), "invoiceId: is required");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Every problem of the row, naming its field.
    pub fn from_fields_with(
        fields: &PaymentFields<'_>,
        format: &InputFormat,
    ) -> Result<Payment, Vec<FieldError>> {
        fields.validate(format, None).map_err(|(errors, _)| errors)
    }

    money_getters! {
        noun: "payment",
        amount: "The amount in major units of [`currency`](Self::currency).",
    }

    /// How the payment was made.
    pub fn payment_type(&self) -> &PaymentType {
        &self.payment_type
    }

    /// The creditor's own id for the payment: the correlation key with Amili.
    pub fn unique_source_payment_id(&self) -> &str {
        &self.unique_source_payment_id
    }
}

submittable! {
    Payment by unique_source_payment_id, read from PaymentInput;
    "payment" named by "uniqueSourcePaymentId";
    sent as payments by create_payments in CreatePaymentsRequest;

    /// Validates one raw row, reporting every problem of it (amounts with a decimal point,
    /// dates as RFC 3339 or a day; see [`InputFormat`]).
    ///
    /// # Errors
    ///
    /// Every problem of the row, naming its field.
    fn from_input;

    fn write_json(&self, out: &mut Vec<u8>) {
        use crate::wire;
        // The fields and order of `impl Serialize for Payment` (a test compares the two).
        out.reserve(200 + self.description.len() + self.unique_source_payment_id.len());
        wire::raw(out, "{\"invoiceId\":");
        wire::uuid(out, self.invoice_id);
        wire::raw(out, ",\"type\":");
        wire::string(out, self.payment_type.as_str());
        wire::money(out, &self.money());
        wire::raw(out, ",\"uniqueSourcePaymentId\":");
        wire::string(out, &self.unique_source_payment_id);
        wire::raw(out, "}");
    }
}

impl fmt::Debug for Payment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut item = f.debug_struct("Payment");
        item.field("unique_source_payment_id", &self.unique_source_payment_id);
        let payment_type: &dyn fmt::Debug = &self.payment_type;
        self.money()
            .debug(item, Some(("payment_type", payment_type)))
    }
}

/// Writes the wire shape (`invoiceId`, `type`, `amount` as a JSON number, …).
impl Serialize for Payment {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Payment", 7)?;
        s.serialize_field("invoiceId", &self.invoice_id)?;
        s.serialize_field("type", &self.payment_type)?;
        self.money().serialize_fields(&mut s)?;
        s.serialize_field("uniqueSourcePaymentId", &self.unique_source_payment_id)?;
        s.end()
    }
}

/// Builds a [`Payment`]; [`build`](Self::build) checks every field and reports every problem.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct PaymentBuilder {
    money: MoneyFields,
    payment_type: Option<PaymentType>,
    unique_source_payment_id: Option<String>,
}

impl PaymentBuilder {
    money_setters! {
        noun: "payment",
        amount: "The amount in major units (`Decimal::new(450000, 2)` is 4500.00), > 0 (required).",
    }

    /// How the payment was made (default `DIRECT_PAYMENT`).
    #[inline]
    pub fn payment_type(mut self, payment_type: PaymentType) -> Self {
        self.payment_type = Some(payment_type);
        self
    }

    /// The creditor's own id for the payment.
    #[inline]
    pub fn unique_source_payment_id(mut self, id: impl Into<String>) -> Self {
        self.unique_source_payment_id = Some(id.into());
        self
    }

    /// Checks every field; the error names each problem (as payment #0).
    ///
    /// # Errors
    ///
    /// [`ValidationErrors`] with one entry per field that is missing or invalid.
    pub fn build(self) -> Result<Payment, ValidationErrors> {
        self.build_at(None).map_err(|(errors, id)| {
            ValidationErrors::new(vec![ItemError {
                kind: "payment",
                index: 0,
                source_id: validation::display_source_id(id.as_deref()),
                errors,
            }])
        })
    }

    /// Checks every field (against `now`, or the current time); on failure, the problems and
    /// the source id given.
    fn build_at(mut self, now: Option<DateTime<Utc>>) -> Result<Payment, Invalid> {
        let mut errors = Vec::new();
        let currency = self.money.take_currency(&mut errors);
        let invoice_id = required(self.money.invoice_id, "invoiceId", &mut errors);
        let payment_type = self.payment_type.unwrap_or(PaymentType::DirectPayment);
        check_payment_type(&payment_type, &mut errors);
        let amount = required(self.money.amount, "amount", &mut errors);
        if let Some(amount) = amount {
            validation::check_amount(amount, currency.as_ref(), &mut errors);
        }
        let date = required(self.money.date, "date", &mut errors);
        if let Some(date) = date {
            match now {
                Some(now) => validation::check_date(date, now, &mut errors),
                None => validation::check_date_now(date, &mut errors),
            }
        }
        let description = self.money.take_description(&mut errors);
        let source_id = required(
            self.unique_source_payment_id,
            "uniqueSourcePaymentId",
            &mut errors,
        );
        if let Some(id) = &source_id {
            validation::check_source_id(id, &mut errors);
        }
        match (invoice_id, amount, currency, date, source_id) {
            (Some(invoice_id), Some(amount), Some(currency), Some(date), Some(source_id))
                if errors.is_empty() =>
            {
                Ok(Payment {
                    invoice_id,
                    payment_type,
                    amount,
                    currency,
                    date,
                    description,
                    unique_source_payment_id: source_id,
                })
            }
            (.., source_id) => Err((errors, source_id)),
        }
    }
}

/// The problems of one payment, and the `uniqueSourcePaymentId` it had (to name it by).
type Invalid = (Vec<FieldError>, Option<String>);

fn required<T>(value: Option<T>, field: &'static str, errors: &mut Vec<FieldError>) -> Option<T> {
    if value.is_none() {
        errors.push(FieldError::new(field, "is required"));
    }
    value
}

/// The longest payment type accepted.
const MAX_PAYMENT_TYPE_CHARS: usize = 64;

fn check_payment_type(payment_type: &PaymentType, errors: &mut Vec<FieldError>) {
    let PaymentType::Unknown(value) = payment_type else {
        return;
    };
    let well_formed = value.len() <= MAX_PAYMENT_TYPE_CHARS
        && value.starts_with(|c: char| c.is_ascii_uppercase())
        && value
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !well_formed {
        let hint = if value.eq_ignore_ascii_case("DIRECT_PAYMENT")
            || value.eq_ignore_ascii_case("direct payment")
        {
            " (did you mean DIRECT_PAYMENT?)"
        } else {
            ""
        };
        errors.push(FieldError::new(
            "type",
            format!(
                "{value:?} is not a payment type: expected an upper-case wire value such as \
                 DIRECT_PAYMENT{hint}"
            ),
        ));
    }
}

/// One raw, unvalidated payment row: every field as it came (JSON, CSV, a form).
///
/// Field names are the API's (`invoiceId`, `type`, `amount`, `currency`, `date`,
/// `description`, `uniqueSourcePaymentId`); every field is optional here so that a missing one
/// is reported by validation together with every other problem, not as a parse error. Turn it
/// into a [`Payment`] with [`Payment::from_input`] or [`validate_all`].
///
/// `amount` may be a JSON number or a string. Strings are read exactly; a JSON number is read
/// as a double by most parsers, so an amount with more than 15 significant digits should be
/// written as a string to be checked digit for digit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(
    feature = "schema",
    schemars(title = "Payment", description = "One payment to report to Amili.")
)]
pub struct PaymentInput {
    /// The Amili invoice the payment is for (a UUID).
    #[serde(default)]
    pub invoice_id: Option<String>,
    /// How the payment was made: `DIRECT_PAYMENT` (default when absent; any case).
    #[serde(default, rename = "type")]
    pub payment_type: Option<String>,
    /// The amount in major units (`4500.00` NOK, not øre): a number or a decimal string.
    #[serde(default)]
    pub amount: Option<AmountInput>,
    /// An ISO 4217 currency code such as `NOK` (any case).
    #[serde(default)]
    pub currency: Option<String>,
    /// When the payment was made: an RFC 3339 date-time such as `2025-03-09T14:30:00Z`.
    #[serde(default)]
    pub date: Option<String>,
    /// Free text shown with the payment.
    #[serde(default)]
    pub description: Option<String>,
    /// The creditor's own unique id for the payment.
    #[serde(default)]
    pub unique_source_payment_id: Option<String>,
}

impl PaymentInput {
    /// The API's field names, in the order the docs list them (and CSV headers use).
    pub const FIELDS: [&'static str; 7] = [
        "invoiceId",
        "type",
        "amount",
        "currency",
        "date",
        "description",
        "uniqueSourcePaymentId",
    ];

    /// The row borrowed.
    pub fn fields(&self) -> PaymentFields<'_> {
        PaymentFields {
            invoice_id: self.invoice_id.as_deref(),
            payment_type: self.payment_type.as_deref(),
            amount: self.amount.as_ref().map(AmountField::from),
            currency: self.currency.as_deref(),
            date: self.date.as_deref(),
            description: self.description.as_deref(),
            unique_source_payment_id: self.unique_source_payment_id.as_deref(),
        }
    }
}

/// One raw, unvalidated payment row, borrowed: each field's text as a record holds it (a CSV
/// cell), so a row is validated without a string of its own per field. The fields are
/// [`PaymentInput`]'s; validate it with [`Payment::from_fields_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PaymentFields<'a> {
    /// The Amili invoice the payment is for (a UUID).
    pub invoice_id: Option<&'a str>,
    /// How the payment was made: `DIRECT_PAYMENT` (default when absent; any case).
    pub payment_type: Option<&'a str>,
    /// The amount in major units: a file's text, or an [`AmountInput`].
    pub amount: Option<AmountField<'a>>,
    /// An ISO 4217 currency code such as `NOK` (any case).
    pub currency: Option<&'a str>,
    /// When the payment was made.
    pub date: Option<&'a str>,
    /// Free text shown with the payment.
    pub description: Option<&'a str>,
    /// The creditor's own unique id for the payment.
    pub unique_source_payment_id: Option<&'a str>,
}

impl PaymentFields<'_> {
    /// Validates the row (against `now`, or the current time, for the future-date rule): the
    /// one validation of a raw payment row.
    fn validate(
        &self,
        format: &InputFormat,
        now: Option<DateTime<Utc>>,
    ) -> Result<Payment, Invalid> {
        let mut errors = Vec::new();
        let mut builder = Payment::builder();
        let input = self;
        read_money!(builder, input, format, false, errors);
        // Wire values are upper-case; `direct_payment` from a person or a spreadsheet means the
        // same.
        if let Some(kind) = self.payment_type {
            let kind = kind.trim();
            builder = builder.payment_type(if kind.bytes().any(|b| b.is_ascii_lowercase()) {
                PaymentType::from(kind.to_ascii_uppercase())
            } else {
                // Already as on the wire (the usual case): a known value takes no allocation.
                PaymentType::from(kind)
            });
        }
        let id = self.unique_source_payment_id;
        if let Some(id) = raw_fields::required("uniqueSourcePaymentId", id, &mut errors) {
            builder = builder.unique_source_payment_id(id);
        }

        match builder.build_at(now) {
            Ok(payment) if errors.is_empty() => Ok(payment),
            Ok(payment) => Err((errors, Some(payment.unique_source_payment_id))),
            Err((more, id)) => {
                raw_fields::merge(&mut errors, more, &PaymentInput::FIELDS);
                Err((errors, id))
            }
        }
    }
}

/// Validates many raw rows: every problem of every row at once, or all the payments.
///
/// Besides each row's own fields, a `uniqueSourcePaymentId` that repeats an earlier row's is
/// reported on the later row (one submission must not carry a payment twice).
///
/// # Errors
///
/// [`ValidationErrors`] with every problem of every row (row index and field).
pub fn validate_all(
    inputs: impl IntoIterator<Item = PaymentInput>,
) -> Result<Vec<Payment>, ValidationErrors> {
    let now = Utc::now();
    let results: Vec<Result<Payment, Invalid>> = inputs
        .into_iter()
        .map(|input| input.fields().validate(&InputFormat::default(), Some(now)))
        .collect();

    // A repeated id is a problem of the later row: (row, the row it repeats).
    let mut repeats: Vec<(usize, usize)> = Vec::new();
    {
        let mut first: HashMap<&str, usize> = HashMap::with_capacity(results.len());
        for (index, result) in results.iter().enumerate() {
            let id = match result {
                Ok(payment) => Some(payment.unique_source_payment_id()),
                Err((_, id)) => id.as_deref(),
            };
            if let Some(id) = id
                && let Some(earlier) = first.insert(id, index)
            {
                first.insert(id, earlier);
                repeats.push((index, earlier));
            }
        }
    }

    if repeats.is_empty() && results.iter().all(Result::is_ok) {
        return Ok(results.into_iter().filter_map(Result::ok).collect());
    }
    let mut repeats = repeats.into_iter().peekable();
    let mut problems = Vec::new();
    for (index, result) in results.into_iter().enumerate() {
        let (mut errors, id) = match result {
            Ok(payment) => (Vec::new(), Some(payment.unique_source_payment_id)),
            Err(invalid) => invalid,
        };
        if let Some((_, earlier)) = repeats.next_if(|(row, _)| *row == index) {
            errors.push(FieldError::new(
                "uniqueSourcePaymentId",
                format!("repeats the id of payment #{earlier}"),
            ));
        }
        if !errors.is_empty() {
            problems.push(ItemError {
                kind: "payment",
                index,
                source_id: validation::display_source_id(id.as_deref()),
                errors,
            });
        }
    }
    Err(ValidationErrors::new(problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> PaymentInput {
        PaymentInput {
            invoice_id: Some("4f163819-178d-470c-a246-d6768476a6ec".into()),
            payment_type: Some("DIRECT_PAYMENT".into()),
            amount: Some(AmountInput::Text("4500.10".into())),
            currency: Some("NOK".into()),
            date: Some("2025-03-09T14:30:00Z".into()),
            description: Some("counter".into()),
            unique_source_payment_id: Some("P-1".into()),
        }
    }

    #[test]
    fn a_good_row_validates() {
        let payment = Payment::from_input(row());
        assert!(payment.is_ok(), "{payment:?}");
    }

    #[test]
    fn type_and_currency_are_read_in_any_case() -> Result<(), Vec<FieldError>> {
        for (kind, code) in [("direct_payment", "nok"), ("Direct_Payment", " Nok ")] {
            let payment = Payment::from_input(PaymentInput {
                payment_type: Some(kind.into()),
                currency: Some(code.into()),
                ..row()
            })?;
            assert_eq!(payment.payment_type(), &PaymentType::DirectPayment);
            assert_eq!(payment.currency(), &Currency::NOK);
        }
        Ok(())
    }

    #[test]
    fn every_field_problem_is_named() {
        let input = PaymentInput {
            invoice_id: Some("nope".into()),
            payment_type: Some("direct payment".into()),
            amount: Some(AmountInput::Text("12.345".into())),
            currency: Some("nok!".into()),
            date: Some("yesterday".into()),
            description: Some("a\u{7}".into()),
            unique_source_payment_id: Some(" ".into()),
        };
        let errors = Payment::from_input(input).err().unwrap_or_default();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "invoiceId",
                "type",
                "currency",
                "date",
                "description",
                "uniqueSourcePaymentId"
            ],
            "{errors:?}"
        );
    }

    #[test]
    fn missing_fields_are_required_once() {
        let errors = Payment::from_input(PaymentInput::default())
            .err()
            .unwrap_or_default();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "invoiceId",
                "amount",
                "currency",
                "date",
                "uniqueSourcePaymentId"
            ]
        );
    }

    #[test]
    fn validate_all_reports_every_item_and_duplicates() {
        let mut bad = row();
        bad.amount = Some(AmountInput::Text("0".into()));
        bad.unique_source_payment_id = Some("P-2".into());
        let dup = row();
        let errors = validate_all(vec![row(), bad, dup])
            .err()
            .unwrap_or_default();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors.items()[0].index, 1);
        assert_eq!(errors.items()[0].source_id.as_deref(), Some("P-2"));
        assert_eq!(errors.items()[1].index, 2);
        assert!(errors.to_string().contains("repeats the id of payment #0"));
    }

    #[test]
    fn serde_round_trip_is_the_wire_shape() -> Result<(), Box<dyn std::error::Error>> {
        let payment = Payment::from_input(row()).map_err(|e| format!("{e:?}"))?;
        let json = serde_json::to_value(&payment)?;
        assert_eq!(json["amount"], serde_json::json!(4500.1));
        assert_eq!(json["type"], "DIRECT_PAYMENT");
        assert_eq!(json["uniqueSourcePaymentId"], "P-1");
        // The generated client's wire type reads it and writes it back the same.
        let wire: amili_api::types::Payment = serde_json::from_value(json.clone())?;
        assert_eq!(serde_json::to_value(&wire)?, json);
        let back: Payment = serde_json::from_value(json)?;
        assert_eq!(back, payment);
        let err = serde_json::from_str::<Payment>(r#"{"amount": -1}"#)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("amount: -1 is not positive"), "{err}");
        Ok(())
    }
}

//! What the raw rows of payments ([`PaymentInput`](crate::PaymentInput)) and corrections
//! ([`CorrectionInput`](crate::CorrectionInput)) share: reading the invoice id, amount and
//! date from their text, and merging those problems with the builder's. Each reader puts its
//! value, or its problem (`is required` when absent), into the row's problems.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::input_format::InputFormat;
use crate::payment::AmountInput;
use crate::validation::FieldError;

/// `invoiceId`: a UUID.
pub(crate) fn invoice_id(text: Option<&str>, errors: &mut Vec<FieldError>) -> Option<Uuid> {
    let text = required("invoiceId", text.map(str::trim), errors)?;
    Uuid::parse_str(text)
        .map_err(|_| {
            errors.push(FieldError::new(
                "invoiceId",
                format!("{text:?} is not a UUID"),
            ))
        })
        .ok()
}

/// `amount`: `format`'s grammar, with a sign when `signed` (a correction's).
pub(crate) fn amount(
    amount: Option<&AmountInput>,
    format: &InputFormat,
    signed: bool,
    errors: &mut Vec<FieldError>,
) -> Option<Decimal> {
    required("amount", amount, errors)?
        .to_decimal(format, signed)
        .map_err(|message| errors.push(FieldError::new("amount", message)))
        .ok()
}

/// `date`: the forms `format` accepts.
pub(crate) fn date(
    text: Option<&str>,
    format: &InputFormat,
    errors: &mut Vec<FieldError>,
) -> Option<DateTime<Utc>> {
    format
        .date(required("date", text, errors)?)
        .map_err(|message| errors.push(FieldError::new("date", message)))
        .ok()
}

/// `currency`, read without regard to case (`nok` is `NOK`): people and spreadsheets write
/// codes both ways, and ISO 4217 codes are upper-case only by convention.
pub(crate) fn currency(text: Option<String>, errors: &mut Vec<FieldError>) -> Option<String> {
    required("currency", text, errors).map(|code| code.trim().to_ascii_uppercase())
}

/// The value, or `field: is required` in `errors`.
pub(crate) fn required<T>(
    field: &'static str,
    value: Option<T>,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    if value.is_none() {
        errors.push(FieldError::new(field, "is required"));
    }
    value
}

/// Adds the builder's problems to the row's (the builder repeats `is required` for fields
/// already named), in the order of `fields`.
pub(crate) fn merge(errors: &mut Vec<FieldError>, builder: Vec<FieldError>, fields: &[&str]) {
    for e in builder {
        if !errors.iter().any(|known| known.field == e.field) {
            errors.push(e);
        }
    }
    errors.sort_by_key(|e| {
        fields
            .iter()
            .position(|f| *f == e.field)
            .unwrap_or(usize::MAX)
    });
}

//! What the raw rows of payments ([`PaymentInput`](crate::PaymentInput),
//! [`PaymentFields`](crate::PaymentFields)) and corrections
//! ([`CorrectionInput`](crate::CorrectionInput), [`CorrectionFields`](crate::CorrectionFields))
//! share: the [`AmountInput`] they carry (borrowed: [`AmountField`]), reading the invoice id,
//! amount and date from their text, and merging those problems with the builder's. Each reader
//! puts its value, or its problem (`is required` when absent), into the row's problems.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::input_format::InputFormat;
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
    amount: Option<AmountField<'_>>,
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
pub(crate) fn currency(text: Option<&str>, errors: &mut Vec<FieldError>) -> Option<String> {
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

/// A row's problems as a deserialization error: `invalid {noun}: ` and every problem.
pub(crate) fn invalid<E: serde::de::Error>(noun: &str, errors: &[FieldError]) -> E {
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    E::custom(format!("invalid {noun}: {}", text.join("; ")))
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

/// An amount as it came: a JSON number or a decimal string, or a file's text.
#[derive(Debug, Clone, PartialEq)]
pub enum AmountInput {
    /// A file's text (a CSV cell) such as `4 500,00`, read exactly by the
    /// [`InputFormat`]'s grammar (decimal mark, thousands separators).
    Text(String),
    /// A JSON string: only the canonical decimal text (`"4500.00"`, `"-150.5"` for a
    /// correction), read exactly; nothing locale-shaped (`"12,50"`, `"4 500.00"`), as JSON has
    /// numbers and no dialect.
    JsonText(String),
    /// A JSON number read as a double.
    Number(f64),
    /// A whole JSON number.
    Integer(i128),
}

/// An amount as a borrowed row ([`PaymentFields`](crate::PaymentFields)) holds it: a file's
/// text, or an [`AmountInput`] as JSON gave it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AmountField<'a> {
    /// A file's text (a CSV cell), read like [`AmountInput::Text`].
    Text(&'a str),
    /// An amount as it came.
    Input(&'a AmountInput),
}

impl<'a> From<&'a str> for AmountField<'a> {
    fn from(text: &'a str) -> Self {
        AmountField::Text(text)
    }
}

impl<'a> From<&'a AmountInput> for AmountField<'a> {
    fn from(amount: &'a AmountInput) -> Self {
        match amount {
            AmountInput::Text(text) => AmountField::Text(text),
            other => AmountField::Input(other),
        }
    }
}

impl AmountField<'_> {
    /// The exact amount; text is read by `format`'s grammar, with a sign when `signed` (a
    /// correction's amount). A number's sign is checked by the builder.
    pub(crate) fn to_decimal(self, format: &InputFormat, signed: bool) -> Result<Decimal, String> {
        match self {
            AmountField::Text(text) if signed => format.signed_amount(text),
            AmountField::Text(text) => format.amount(text),
            AmountField::Input(input) => input.to_decimal(format, signed),
        }
    }
}

impl AmountInput {
    /// The exact amount; text is read by `format`'s grammar, with a sign when `signed` (a
    /// correction's amount). A number's sign is checked by the builder.
    pub(crate) fn to_decimal(&self, format: &InputFormat, signed: bool) -> Result<Decimal, String> {
        match self {
            AmountInput::Text(text) => AmountField::Text(text).to_decimal(format, signed),
            AmountInput::JsonText(text) if !canonical_decimal(text.trim()) => Err(format!(
                "{text:?} is not an amount: a JSON amount is a number or a decimal string \
                 such as \"4500.00\" (digits, \".\" for decimals, no thousands separators)"
            )),
            AmountInput::JsonText(text) if signed => InputFormat::default().signed_amount(text),
            AmountInput::JsonText(text) => InputFormat::default().amount(text),
            AmountInput::Integer(n) => i64::try_from(*n)
                .map(Decimal::from)
                .map_err(|_| format!("{n} is out of range")),
            AmountInput::Number(n) => {
                if !n.is_finite() {
                    return Err(format!("{n} is not a finite number"));
                }
                // `Display` is the shortest text that reads back as the same double.
                let text = n.to_string();
                Decimal::from_str(&text).map_err(|_| format!("{text} is out of range"))
            }
        }
    }
}

impl From<&str> for AmountInput {
    fn from(text: &str) -> Self {
        AmountInput::Text(text.to_owned())
    }
}

impl From<Decimal> for AmountInput {
    fn from(value: Decimal) -> Self {
        AmountInput::Text(value.to_string())
    }
}

impl Serialize for AmountInput {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            AmountInput::Text(t) | AmountInput::JsonText(t) => serializer.serialize_str(t),
            AmountInput::Number(n) => serializer.serialize_f64(*n),
            AmountInput::Integer(n) => serializer.serialize_i128(*n),
        }
    }
}

impl<'de> Deserialize<'de> for AmountInput {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = AmountInput;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an amount as a number or a decimal string")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<AmountInput, E> {
                Ok(AmountInput::Integer(v.into()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<AmountInput, E> {
                Ok(AmountInput::Integer(v.into()))
            }
            fn visit_i128<E: serde::de::Error>(self, v: i128) -> Result<AmountInput, E> {
                Ok(AmountInput::Integer(v))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<AmountInput, E> {
                Ok(AmountInput::Number(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<AmountInput, E> {
                Ok(AmountInput::JsonText(v.to_owned()))
            }
        }
        deserializer.deserialize_any(Visit)
    }
}

/// `-?digits(.digits)?`: the text `Decimal` prints.
fn canonical_decimal(text: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    match unsigned.split_once('.') {
        Some((whole, fraction)) => digits(whole) && digits(fraction),
        None => digits(unsigned),
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for AmountInput {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Amount".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "An amount in major units: a number, or a decimal string such as \"4500.00\".",
            "anyOf": [
                { "type": "number", "exclusiveMinimum": 0 },
                { "type": "string", "pattern": "^\\s*[0-9]+(\\.[0-9]+)?\\s*$" }
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_as_numbers_and_strings() -> Result<(), serde_json::Error> {
        let read = |json: &str| -> Result<Decimal, String> {
            let a: AmountInput = serde_json::from_str(json).map_err(|e| e.to_string())?;
            a.to_decimal(&InputFormat::default(), false)
        };
        assert_eq!(read("4500.1"), Ok(Decimal::new(45001, 1)));
        assert_eq!(read("12"), Ok(Decimal::new(12, 0)));
        assert_eq!(read("\"0.10\""), Ok(Decimal::new(10, 2)));
        // A file's text keeps its dialect; JSON's does not have one.
        let text = AmountInput::Text("12,50".into());
        assert_eq!(
            text.to_decimal(&InputFormat::default(), false),
            Ok(Decimal::new(1250, 2))
        );
        assert!(read("\"abc\"").is_err());
        // Strict: nothing locale-shaped in JSON.
        for bad in [
            r#""12,50""#,
            r#""4 500.00""#,
            r#""1,234.50""#,
            r#""+5""#,
            r#"".5""#,
        ] {
            assert!(read(bad).is_err(), "{bad} accepted");
        }
        assert_eq!(read(r#"" 12.50 ""#), Ok(Decimal::new(1250, 2)));
        assert!(serde_json::from_str::<AmountInput>("true").is_err());
        Ok(())
    }
}

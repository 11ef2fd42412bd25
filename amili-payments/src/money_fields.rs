//! What a payment's and a correction's builders share: the fields of money moved on an
//! invoice (invoice, amount, currency, date, description), their setters and the checks that
//! do not depend on which of the two is built.

use std::fmt;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::ser::SerializeStruct;
use uuid::Uuid;

use crate::currency::Currency;
use crate::validation::{self, FieldError};

/// The fields as set on a builder, unchecked.
#[derive(Debug, Clone, Default)]
pub(crate) struct MoneyFields {
    pub(crate) invoice_id: Option<Uuid>,
    pub(crate) amount: Option<Decimal>,
    /// The currency, or why the value given is not one.
    pub(crate) currency: Option<Result<Currency, String>>,
    pub(crate) date: Option<DateTime<Utc>>,
    pub(crate) description: Option<String>,
}

impl MoneyFields {
    /// The currency, checked; its problem (or `is required`) in `errors` otherwise.
    pub(crate) fn take_currency(&mut self, errors: &mut Vec<FieldError>) -> Option<Currency> {
        match self.currency.take() {
            Some(Ok(c)) => {
                validation::check_currency(&c, errors);
                Some(c)
            }
            Some(Err(message)) => {
                errors.push(FieldError::new("currency", message));
                None
            }
            None => {
                errors.push(FieldError::new("currency", "is required"));
                None
            }
        }
    }

    /// The description (empty when not set), checked.
    pub(crate) fn take_description(&mut self, errors: &mut Vec<FieldError>) -> String {
        let description = self.description.take().unwrap_or_default();
        validation::check_description(&description, errors);
        description
    }
}

/// The setters of the [`MoneyFields`] a builder keeps in its `money` field, their docs naming
/// the item built (`noun`) and saying what its `amount` is. The builder type is `#[must_use]`,
/// and so are they.
macro_rules! money_setters {
    (noun: $noun:literal, amount: $amount:literal $(,)?) => {
        #[doc = concat!("The Amili invoice the ", $noun, " is for (required).")]
        #[inline]
        pub fn invoice_id(mut self, invoice_id: Uuid) -> Self {
            self.money.invoice_id = Some(invoice_id);
            self
        }

        #[doc = $amount]
        #[inline]
        pub fn amount(mut self, amount: Decimal) -> Self {
            self.money.amount = Some(amount);
            self
        }

        /// The currency: a [`Currency`] or an ISO 4217 code such as `"NOK"` (required).
        #[inline]
        pub fn currency<C>(mut self, currency: C) -> Self
        where
            C: TryInto<Currency>,
            C::Error: fmt::Display,
        {
            self.money.currency = Some(currency.try_into().map_err(|e| e.to_string()));
            self
        }

        #[doc = concat!("When the ", $noun, " was made, not in the future (required).")]
        #[inline]
        pub fn date(mut self, date: DateTime<Utc>) -> Self {
            self.money.date = Some(date);
            self
        }

        #[doc = concat!("Free text shown with the ", $noun, " (default empty).")]
        #[inline]
        pub fn description(mut self, description: impl Into<String>) -> Self {
            self.money.description = Some(description.into());
            self
        }
    };
}

pub(crate) use money_setters;

/// Sets the [`MoneyFields`] of `$builder` (a builder with a `money` field) from the raw text of
/// `$input` (a borrowed row: `PaymentFields` or `CorrectionFields`), each
/// problem in `$errors`; `$signed` is whether the amount may be negative.
macro_rules! read_money {
    ($builder:ident, $input:ident, $format:expr, $signed:literal, $errors:ident) => {
        if let Some(id) = raw_fields::invoice_id($input.invoice_id, &mut $errors) {
            $builder = $builder.invoice_id(id);
        }
        let amount = $input.amount;
        if let Some(value) = raw_fields::amount(amount, $format, $signed, &mut $errors) {
            $builder = $builder.amount(value);
        }
        if let Some(code) = raw_fields::currency($input.currency, &mut $errors) {
            $builder = $builder.currency(code);
        }
        if let Some(date) = raw_fields::date($input.date, $format, &mut $errors) {
            $builder = $builder.date(date);
        }
        if let Some(description) = $input.description {
            $builder = $builder.description(description);
        }
    };
}

pub(crate) use read_money;

/// The getters of the money fields of a validated item (a struct with `invoice_id`, `amount`,
/// `currency`, `date` and `description`), their docs naming the item (`noun`) and saying what
/// its `amount` is; and `money()`, the fields borrowed as one [`Money`].
macro_rules! money_getters {
    (noun: $noun:literal, amount: $amount:literal $(,)?) => {
        #[doc = concat!("The Amili invoice the ", $noun, " is for.")]
        pub fn invoice_id(&self) -> Uuid {
            self.invoice_id
        }

        #[doc = $amount]
        pub fn amount(&self) -> Decimal {
            self.amount
        }

        /// The currency.
        pub fn currency(&self) -> &Currency {
            &self.currency
        }

        #[doc = concat!("When the ", $noun, " was made.")]
        pub fn date(&self) -> DateTime<Utc> {
            self.date
        }

        #[doc = concat!("Free text shown with the ", $noun, ".")]
        pub fn description(&self) -> &str {
            &self.description
        }

        /// The money fields, borrowed as one.
        fn money(&self) -> crate::money_fields::Money<'_> {
            crate::money_fields::Money {
                invoice_id: self.invoice_id,
                amount: self.amount,
                currency: &self.currency,
                date: &self.date,
                description: &self.description,
            }
        }
    };
}

pub(crate) use money_getters;

/// The money fields of a validated payment or correction, borrowed: what their `Debug`,
/// `Serialize` and `write_json` write alike.
pub(crate) struct Money<'a> {
    pub(crate) invoice_id: Uuid,
    pub(crate) amount: Decimal,
    pub(crate) currency: &'a Currency,
    pub(crate) date: &'a DateTime<Utc>,
    pub(crate) description: &'a str,
}

impl Money<'_> {
    /// Finishes a `Debug` of the item: `invoice_id`, then `between` (a payment's type) when
    /// given, then the amount with its currency, `date` and `description`.
    pub(crate) fn debug(
        &self,
        mut item: fmt::DebugStruct<'_, '_>,
        between: Option<(&str, &dyn fmt::Debug)>,
    ) -> fmt::Result {
        item.field("invoice_id", &self.invoice_id);
        if let Some((name, value)) = between {
            item.field(name, value);
        }
        item.field("amount", &format_args!("{} {}", self.amount, self.currency))
            .field("date", self.date)
            .field("description", &self.description)
            .finish()
    }

    /// Serializes `amount` (an exact JSON number), `currency`, `date` and `description`: the
    /// fields that follow the item's `invoiceId` (and a payment's `type`) on the wire.
    pub(crate) fn serialize_fields<S: SerializeStruct>(&self, s: &mut S) -> Result<(), S::Error> {
        s.serialize_field("amount", &amili_api::Amount::from(self.amount))?;
        s.serialize_field("currency", self.currency)?;
        s.serialize_field("date", &crate::wire_date::WireDate(self.date))?;
        s.serialize_field("description", self.description)
    }
}

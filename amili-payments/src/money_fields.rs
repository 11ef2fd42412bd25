//! What a payment's and a correction's builders share: the fields of money moved on an
//! invoice (invoice, amount, currency, date, description), their setters and the checks that
//! do not depend on which of the two is built.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
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

/// The setters of the [`MoneyFields`] a builder keeps in its `money` field, each with the
/// builder's own doc line. The builder type is `#[must_use]`, and so are they.
macro_rules! money_setters {
    (
        invoice_id: $invoice_id:literal,
        amount: $amount:literal,
        currency: $currency:literal,
        date: $date:literal,
        description: $description:literal $(,)?
    ) => {
        #[doc = $invoice_id]
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

        #[doc = $currency]
        #[inline]
        pub fn currency<C>(mut self, currency: C) -> Self
        where
            C: TryInto<Currency>,
            C::Error: fmt::Display,
        {
            self.money.currency = Some(currency.try_into().map_err(|e| e.to_string()));
            self
        }

        #[doc = $date]
        #[inline]
        pub fn date(mut self, date: DateTime<Utc>) -> Self {
            self.money.date = Some(date);
            self
        }

        #[doc = $description]
        #[inline]
        pub fn description(mut self, description: impl Into<String>) -> Self {
            self.money.description = Some(description.into());
            self
        }
    };
}

pub(crate) use money_setters;

//! The values of an entry's fields: exact amounts, credit or debit, the booking date, each
//! checked and named by entry, detail and element when wrong.

use std::str::FromStr;

use amili_payments::Currency;
use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::amount::Amount;
use super::entry::Entry;
use crate::error::Error;

/// The entry being read, to name it in errors.
pub(super) struct Place {
    pub(super) entry: u64,
}

impl Place {
    pub(super) fn error(
        &self,
        transaction: Option<u64>,
        path: &str,
        message: impl Into<String>,
    ) -> Error {
        Error::Camt {
            entry: Some(self.entry),
            transaction,
            path: path.to_owned(),
            message: message.into(),
        }
    }

    /// An exact amount: digits with at most the currency's minor units of decimals.
    pub(super) fn amount(
        &self,
        amount: Option<&Amount>,
        path: &str,
        transaction: Option<u64>,
    ) -> Result<(Decimal, String), Error> {
        let Some(amount) = amount else {
            return Err(self.error(transaction, path, "the amount is missing"));
        };
        let code = amount.currency.trim();
        let currency = Currency::iso(code).map_err(|e| {
            self.error(
                transaction,
                &format!("{path}/@Ccy"),
                format!("{code:?}: {e}"),
            )
        })?;
        let text = amount.value.trim();
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || !digits(whole)
            || !digits(fraction)
            || (text.contains('.') && fraction.is_empty())
        {
            return Err(self.error(
                transaction,
                path,
                format!("{text:?} is not an amount (digits, a point and decimals)"),
            ));
        }
        let minor = currency.minor_units().unwrap_or(0) as usize;
        if fraction.len() > minor {
            return Err(self.error(
                transaction,
                path,
                format!("{text}: {} decimals, {code} has {minor}", fraction.len()),
            ));
        }
        if whole.trim_start_matches('0').len() + fraction.len() > 18 {
            return Err(self.error(transaction, path, format!("{text}: more than 18 digits")));
        }
        let value = Decimal::from_str(text)
            .map_err(|e| self.error(transaction, path, format!("{text}: {e}")))?;
        Ok((value, code.to_owned()))
    }

    pub(super) fn sign(
        &self,
        indicator: Option<&str>,
        path: &str,
        transaction: Option<u64>,
    ) -> Result<Decimal, Error> {
        match indicator.map(str::trim) {
            Some("CRDT") => Ok(Decimal::ONE),
            Some("DBIT") => Ok(Decimal::NEGATIVE_ONE),
            Some(other) => Err(self.error(
                transaction,
                path,
                format!("{other:?}, expected CRDT or DBIT"),
            )),
            None => Err(self.error(transaction, path, "missing (CRDT or DBIT)")),
        }
    }

    /// `BookgDt`, else `ValDt`: a date, or the date part of a date-time.
    pub(super) fn date(&self, entry: &Entry) -> Result<NaiveDate, Error> {
        let (text, path) = match (&entry.booking_date, &entry.value_date) {
            (Some(d), _) => (d, "Ntry/BookgDt"),
            (None, Some(d)) => (d, "Ntry/ValDt"),
            (None, None) => {
                return Err(self.error(
                    None,
                    "Ntry/BookgDt",
                    "the entry has neither BookgDt nor ValDt",
                ));
            }
        };
        let text = text.trim();
        text.get(..10)
            .and_then(|day| NaiveDate::parse_from_str(day, "%Y-%m-%d").ok())
            .ok_or_else(|| self.error(None, path, format!("{text:?} is not a date (YYYY-MM-DD)")))
    }
}

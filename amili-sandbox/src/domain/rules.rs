//! The booking rules (domain floor): what happens to each payment when its batch is processed.
//!
//! Checked in this order; the first rule that fails decides the item's `reason`:
//!
//! 1. [`reason::INVALID_SOURCE_PAYMENT_ID`]: `uniqueSourcePaymentId` is empty or blank.
//! 2. [`reason::UNSUPPORTED_PAYMENT_TYPE`]: `type` is not `DIRECT_PAYMENT`. The spec's
//!    `PaymentType` is open (any string passes the schema), but the sandbox only knows the one
//!    documented value, so other values fail per item instead of failing the whole request.
//! 3. [`reason::INVALID_CURRENCY`]: `currency` is not an ISO 4217 alphabetic code.
//! 4. [`reason::INVALID_AMOUNT`]: `amount` is not positive, is not representable as a decimal,
//!    or has more decimals than the currency's minor unit allows (2 for NOK, 0 for JPY).
//! 5. [`reason::UNKNOWN_INVOICE`]: the invoice id is not one the sandbox was seeded with.
//! 6. [`reason::DUPLICATE_PAYMENT`]: the organization already booked this
//!    `uniqueSourcePaymentId` (in an earlier batch or earlier in the same batch).
//!
//! A payment that passes every rule is booked: it goes into the ledger and the batch's
//! `succeeded` list.

use std::str::FromStr;

use rust_decimal::Decimal;
use uuid::Uuid;

use crate::domain::compact::StoredPayment;

/// The `reason` values of failed batch items.
pub mod reason {
    /// The invoice id is unknown to the sandbox (not seeded).
    pub const UNKNOWN_INVOICE: &str = "UNKNOWN_INVOICE";
    /// The `uniqueSourcePaymentId` was already booked for this organization.
    pub const DUPLICATE_PAYMENT: &str = "DUPLICATE_PAYMENT";
    /// The amount is not positive, not representable, or too precise for the currency.
    pub const INVALID_AMOUNT: &str = "INVALID_AMOUNT";
    /// The currency is not an ISO 4217 code.
    pub const INVALID_CURRENCY: &str = "INVALID_CURRENCY";
    /// The `uniqueSourcePaymentId` is empty.
    pub const INVALID_SOURCE_PAYMENT_ID: &str = "INVALID_SOURCE_PAYMENT_ID";
    /// The payment `type` is not one the sandbox knows (only `DIRECT_PAYMENT` is documented).
    pub const UNSUPPORTED_PAYMENT_TYPE: &str = "UNSUPPORTED_PAYMENT_TYPE";
}

/// The outcome for one payment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    Book(Decimal),
    Fail {
        reason: &'static str,
        message: String,
    },
}

fn fail(reason: &'static str, message: String) -> Verdict {
    Verdict::Fail { reason, message }
}

/// The decimal value of a JSON number's text, if it has one.
pub(crate) fn decimal(text: &str) -> Option<Decimal> {
    Decimal::from_str(text)
        .ok()
        .or_else(|| Decimal::from_scientific(text).ok())
}

/// Which amounts a kind of item allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sign {
    /// Payments: greater than zero.
    Positive,
    /// Corrections: a signed change, anything but zero.
    NonZero,
}

/// The currency and amount rules shared by payments and corrections: an ISO 4217 currency
/// (`INVALID_CURRENCY`), then a representable amount of the allowed sign with no more
/// decimals than the currency's minor unit (`INVALID_AMOUNT`).
pub(crate) fn money(amount: &str, currency_code: &str, sign: Sign) -> Result<Decimal, Verdict> {
    let Some(currency) = iso_currency::Currency::from_code(currency_code) else {
        return Err(fail(
            reason::INVALID_CURRENCY,
            format!("currency {currency_code:?} is not an ISO 4217 currency code"),
        ));
    };
    let Some(value) = decimal(amount) else {
        return Err(fail(
            reason::INVALID_AMOUNT,
            format!("amount {amount} is not a representable decimal"),
        ));
    };
    match sign {
        Sign::Positive if value <= Decimal::ZERO => {
            return Err(fail(
                reason::INVALID_AMOUNT,
                format!("amount {amount} must be positive"),
            ));
        }
        Sign::NonZero if value.is_zero() => {
            return Err(fail(
                reason::INVALID_AMOUNT,
                format!("amount {amount} must not be zero"),
            ));
        }
        _ => {}
    }
    if let Some(exponent) = currency.exponent()
        && value.normalize().scale() > u32::from(exponent)
    {
        return Err(fail(
            reason::INVALID_AMOUNT,
            format!("amount {amount} has more decimals than {currency_code} allows ({exponent})"),
        ));
    }
    Ok(value)
}

/// Applies the rules to one payment. `already_booked` names the batch that booked the same
/// source id before, if any.
pub(crate) fn judge(
    payment: &StoredPayment<'_>,
    invoice_known: bool,
    already_booked: Option<Uuid>,
) -> Verdict {
    if payment.unique_source_payment_id.trim().is_empty() {
        return fail(
            reason::INVALID_SOURCE_PAYMENT_ID,
            "uniqueSourcePaymentId must not be empty".to_owned(),
        );
    }
    if payment.payment_type != "DIRECT_PAYMENT" {
        return fail(
            reason::UNSUPPORTED_PAYMENT_TYPE,
            format!("payment type {:?} is not supported", payment.payment_type),
        );
    }
    let amount = match money(payment.amount, payment.currency, Sign::Positive) {
        Ok(amount) => amount,
        Err(verdict) => return verdict,
    };
    if !invoice_known {
        return fail(
            reason::UNKNOWN_INVOICE,
            format!("unknown invoice {}", payment.invoice_id),
        );
    }
    if let Some(batch) = already_booked {
        return fail(
            reason::DUPLICATE_PAYMENT,
            format!(
                "duplicate payment: uniqueSourcePaymentId {:?} was already booked in batch {batch}",
                payment.unique_source_payment_id
            ),
        );
    }
    Verdict::Book(amount)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::compact::{IncomingPayment, PaymentStore};
    use serde_json::json;

    /// The verdict on a payment with this amount and currency, stored as the sandbox stores it.
    fn judged(
        amount: serde_json::Value,
        currency: &str,
        known: bool,
        booked: Option<Uuid>,
    ) -> Verdict {
        let incoming: IncomingPayment = serde_json::from_value(json!({
            "invoiceId": "4f163819-178d-470c-a246-d6768476a6ec",
            "type": "DIRECT_PAYMENT",
            "amount": amount,
            "currency": currency,
            "date": "2019-08-24T14:15:22.123Z",
            "description": "x",
            "uniqueSourcePaymentId": "p-1"
        }))
        .unwrap();
        let mut store = PaymentStore::default();
        store.push_all(Uuid::nil(), &[incoming]).unwrap();
        judge(&store.get(0).unwrap(), known, booked)
    }

    fn reason_of(verdict: Verdict) -> Option<&'static str> {
        match verdict {
            Verdict::Book(_) => None,
            Verdict::Fail { reason, .. } => Some(reason),
        }
    }

    #[test]
    fn books_valid_payments() {
        assert_eq!(
            judged(json!(4500.5), "NOK", true, None),
            Verdict::Book(Decimal::new(45005, 1))
        );
        assert!(matches!(
            judged(json!(100), "JPY", true, None),
            Verdict::Book(_)
        ));
    }

    #[test]
    fn refuses_by_rule() {
        let r = |a, c, known, booked| reason_of(judged(a, c, known, booked));
        assert_eq!(
            r(json!(1), "string", true, None),
            Some(reason::INVALID_CURRENCY)
        );
        assert_eq!(r(json!(0), "NOK", true, None), Some(reason::INVALID_AMOUNT));
        assert_eq!(
            r(json!(-1), "NOK", true, None),
            Some(reason::INVALID_AMOUNT)
        );
        assert_eq!(
            r(json!(1.005), "NOK", true, None),
            Some(reason::INVALID_AMOUNT)
        );
        assert_eq!(
            r(json!(1.5), "JPY", true, None),
            Some(reason::INVALID_AMOUNT)
        );
        assert_eq!(
            r(json!(1e300), "NOK", true, None),
            Some(reason::INVALID_AMOUNT)
        );
        assert_eq!(
            r(json!(1), "NOK", false, None),
            Some(reason::UNKNOWN_INVOICE)
        );
        assert_eq!(
            r(json!(1), "NOK", true, Some(Uuid::nil())),
            Some(reason::DUPLICATE_PAYMENT)
        );
    }
}

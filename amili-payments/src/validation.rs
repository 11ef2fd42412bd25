//! Validation rules and the errors that name every problem at once.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::currency::Currency;

pub use crate::currency::InvalidCurrency;
pub use crate::input_format::{EARLIEST_DATE, InputFormat};
pub use crate::payment::validate_all;
pub use crate::raw_fields::{AmountField, AmountInput};
pub use crate::repeats::{IdHashes, RepeatSuspects};

/// The longest `description` accepted, in characters. Amili documents no limit; this one is
/// generous and keeps a typo (a whole file pasted into one cell) from being sent.
pub const MAX_DESCRIPTION_CHARS: usize = 500;

/// The longest `uniqueSourcePaymentId` accepted, in characters (Amili documents no limit).
pub const MAX_SOURCE_ID_CHARS: usize = 255;

/// How far in the future a payment `date` may lie (clock skew between the caller and Amili).
pub const FUTURE_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// The most significant digits an amount may have: a JSON number carries up to 15 exactly
/// (through an IEEE double), so every accepted amount arrives at Amili unchanged.
pub const MAX_SIGNIFICANT_DIGITS: u32 = 15;

/// One problem with one field of one payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The API's field name: `invoiceId`, `type`, `amount`, `currency`, `date`, `description`
    /// or `uniqueSourcePaymentId`.
    pub field: &'static str,
    /// What is wrong, for a person.
    pub message: String,
}

impl FieldError {
    pub(crate) fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Every problem of one payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemError {
    /// What the item is: `payment` or `correction`.
    pub kind: &'static str,
    /// The item's position in the input, counting from 0.
    pub index: usize,
    /// Its `uniqueSourcePaymentId`, when it had a usable one.
    pub source_id: Option<String>,
    /// The problems, at least one.
    pub errors: Vec<FieldError>,
}

impl fmt::Display for ItemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} #{}", self.kind, self.index)?;
        if let Some(id) = &self.source_id {
            write!(f, " ({id})")?;
        }
        f.write_str(": ")?;
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Every problem of every invalid payment of an input, found at once.
///
/// ```
/// use amili_payments::PaymentInput;
/// use amili_payments::validation::validate_all;
///
/// let rows: Vec<PaymentInput> = serde_json::from_str(r#"[
///   {"invoiceId": "not-a-uuid", "type": "DIRECT_PAYMENT", "amount": "10.005",
///    "currency": "NOK", "date": "2025-03-09T14:30:00Z", "description": "",
///    "uniqueSourcePaymentId": "P-1"}
/// ]"#)?;
/// let errors = validate_all(rows).unwrap_err();
/// assert_eq!(errors.len(), 1);
/// let text = errors.to_string();
/// assert!(text.contains("payment #0 (P-1): invoiceId:"), "{text}");
/// assert!(text.contains("amount: 10.005 has 3 decimals, NOK allows 2"), "{text}");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ValidationErrors(Vec<ItemError>);

impl ValidationErrors {
    pub(crate) fn new(items: Vec<ItemError>) -> Self {
        Self(items)
    }

    /// The invalid payments, in input order.
    pub fn items(&self) -> &[ItemError] {
        &self.0
    }

    /// How many payments are invalid.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no payment is invalid.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates over the invalid payments.
    pub fn iter(&self) -> std::slice::Iter<'_, ItemError> {
        self.0.iter()
    }

    /// Every field problem, with the item it belongs to.
    pub fn field_errors(&self) -> impl Iterator<Item = (&ItemError, &FieldError)> {
        self.0
            .iter()
            .flat_map(|item| item.errors.iter().map(move |e| (item, e)))
    }

    /// Takes the items out.
    pub fn into_items(self) -> Vec<ItemError> {
        self.0
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [] => f.write_str("no validation errors"),
            [one] => write!(f, "invalid {}: {one}", one.kind),
            many => {
                write!(f, "{} invalid {}s:", many.len(), many[0].kind)?;
                for item in many {
                    write!(f, "\n  {item}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ValidationErrors {}

impl IntoIterator for ValidationErrors {
    type Item = ItemError;
    type IntoIter = std::vec::IntoIter<ItemError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a ValidationErrors {
    type Item = &'a ItemError;
    type IntoIter = std::slice::Iter<'a, ItemError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

// ---- the rules, one function per field ------------------------------------------------------

/// How many digits a decimal needs (`4500.00` → 4, `0.05` → 1, `1234.56` → 6).
fn significant_digits(value: Decimal) -> u32 {
    let mut mantissa = value.normalize().mantissa().unsigned_abs();
    if mantissa == 0 {
        return 0;
    }
    let mut digits = 0;
    while mantissa > 0 {
        mantissa /= 10;
        digits += 1;
    }
    digits
}

pub(crate) fn check_amount(
    amount: Decimal,
    currency: Option<&Currency>,
    errors: &mut Vec<FieldError>,
) {
    if amount <= Decimal::ZERO {
        errors.push(FieldError::new(
            "amount",
            format!("{amount} is not positive: an amount must be greater than 0"),
        ));
        return;
    }
    check_digits(amount, currency, errors);
}

/// At most [`MAX_SIGNIFICANT_DIGITS`] digits and the currency's decimals, for an amount of
/// either sign.
pub(crate) fn check_digits(
    amount: Decimal,
    currency: Option<&Currency>,
    errors: &mut Vec<FieldError>,
) {
    let normalized = amount.normalize();
    // One comparison instead of counting digits (u128 division is slow).
    if normalized.mantissa().unsigned_abs() >= 10u128.pow(MAX_SIGNIFICANT_DIGITS) {
        let digits = significant_digits(amount);
        errors.push(FieldError::new(
            "amount",
            format!(
                "{amount} has {digits} significant digits; at most {MAX_SIGNIFICANT_DIGITS} \
                 travel exactly in a JSON number"
            ),
        ));
        return;
    }
    if let Some(currency) = currency
        && let Some(minor) = currency.minor_units()
    {
        let decimals = normalized.scale();
        if decimals > minor {
            errors.push(FieldError::new(
                "amount",
                format!(
                    "{amount} has {}, {currency} allows {}",
                    decimals_said(decimals),
                    if minor == 0 {
                        "none".to_owned()
                    } else {
                        minor.to_string()
                    }
                ),
            ));
        }
    }
}

fn decimals_said(n: u32) -> String {
    if n == 1 {
        "1 decimal".to_owned()
    } else {
        format!("{n} decimals")
    }
}

pub(crate) fn check_currency(currency: &Currency, errors: &mut Vec<FieldError>) {
    if currency.minor_units().is_none() {
        errors.push(FieldError::new(
            "currency",
            format!("{currency} has no minor units; it is not a currency payments are made in"),
        ));
    }
}

pub(crate) fn check_date(date: DateTime<Utc>, now: DateTime<Utc>, errors: &mut Vec<FieldError>) {
    if leap_second(date, errors) {
        return;
    }
    let tolerance = chrono::Duration::from_std(FUTURE_TOLERANCE).unwrap_or(chrono::Duration::MAX);
    if date > now + tolerance {
        errors.push(FieldError::new("date", in_the_future(date, now)));
    }
}

/// Says that `date` is in the future, in Oslo time: a day (midnight) as the day, against
/// today; any other time to the minute, against now.
fn in_the_future(date: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let (date, now) = (
        crate::input_format::utc_to_oslo(date),
        crate::input_format::utc_to_oslo(now),
    );
    if date.time() == chrono::NaiveTime::MIN {
        format!(
            "{} is in the future: today is {} (Oslo time); a payment date must not be later \
             than today",
            date.format("%Y-%m-%d"),
            now.format("%Y-%m-%d")
        )
    } else {
        format!(
            "{} is in the future: it is now {} (Oslo time); a payment date must not be later \
             than now",
            date.format("%Y-%m-%d %H:%M"),
            now.format("%Y-%m-%d %H:%M")
        )
    }
}

/// Whether `date` is a leap second (chrono reads `23:59:60` and keeps it), refused with a
/// problem in `errors`: UTC timestamps on the wire have no second 60.
fn leap_second(date: DateTime<Utc>, errors: &mut Vec<FieldError>) -> bool {
    use chrono::Timelike as _;
    let leap = date.nanosecond() >= 1_000_000_000;
    if leap {
        errors.push(FieldError::new(
            "date",
            format!(
                "{} is a leap second; give a time with seconds 00-59",
                date.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            ),
        ));
    }
    leap
}

/// The latest wall-clock second this process read (a lower bound of "now").
static LATEST_NOW: AtomicI64 = AtomicI64::new(i64::MIN);

/// Like [`check_date`] against the current time, reading the clock only when the date is
/// not clearly in the past: a date at or before a time already read is never in the future.
pub(crate) fn check_date_now(date: DateTime<Utc>, errors: &mut Vec<FieldError>) {
    if leap_second(date, errors) {
        return;
    }
    let tolerance = FUTURE_TOLERANCE.as_secs() as i64;
    if date.timestamp() <= LATEST_NOW.load(Ordering::Relaxed).saturating_add(tolerance) {
        return;
    }
    let now = Utc::now();
    LATEST_NOW.fetch_max(now.timestamp(), Ordering::Relaxed);
    check_date(date, now, errors);
}

pub(crate) fn check_description(description: &str, errors: &mut Vec<FieldError>) {
    // Fewer bytes than the limit means fewer characters: count only when it may matter.
    if description.len() > MAX_DESCRIPTION_CHARS {
        let chars = description.chars().count();
        if chars > MAX_DESCRIPTION_CHARS {
            errors.push(FieldError::new(
                "description",
                format!("{chars} characters, at most {MAX_DESCRIPTION_CHARS} are allowed"),
            ));
        }
    }
    if may_have_control(description)
        && let Some((pos, c)) = description
            .chars()
            .enumerate()
            .find(|(_, c)| c.is_control())
    {
        errors.push(FieldError::new(
            "description",
            format!("contains the control character {c:?} at position {pos}"),
        ));
    }
}

/// A fast byte scan: `false` means no control character (C0, DEL or C1, whose UTF-8 starts
/// with 0xC2); `true` means "look closer".
fn may_have_control(text: &str) -> bool {
    // A fold without an early exit, so the check runs on many bytes at once (no control
    // character is the usual case: every byte is read anyway).
    text.bytes()
        .fold(false, |any, b| any | (b < 0x20) | (b == 0x7F) | (b == 0xC2))
}

pub(crate) fn check_source_id(id: &str, errors: &mut Vec<FieldError>) {
    const FIELD: &str = "uniqueSourcePaymentId";
    let trimmed = id.trim();
    if trimmed.is_empty() {
        errors.push(FieldError::new(FIELD, "is empty"));
        return;
    }
    if trimmed.len() != id.len() {
        errors.push(FieldError::new(
            FIELD,
            format!("{id:?} has leading or trailing whitespace"),
        ));
    }
    if id.len() > MAX_SOURCE_ID_CHARS {
        let chars = id.chars().count();
        if chars > MAX_SOURCE_ID_CHARS {
            errors.push(FieldError::new(
                FIELD,
                format!("{chars} characters, at most {MAX_SOURCE_ID_CHARS} are allowed"),
            ));
        }
    }
    if may_have_control(id) && id.chars().any(char::is_control) {
        errors.push(FieldError::new(FIELD, "contains a control character"));
    }
}

/// The source id to name an item by in errors: only a usable one.
pub(crate) fn display_source_id(id: Option<&str>) -> Option<String> {
    let id = id?.trim();
    (!id.is_empty() && id.chars().count() <= 64 && !id.chars().any(char::is_control))
        .then(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn amount_errors(amount: &str, currency: &str) -> Vec<String> {
        let mut errors = Vec::new();
        let amount = Decimal::from_str(amount).unwrap_or(Decimal::ZERO);
        let currency = Currency::iso(currency).ok();
        check_amount(amount, currency.as_ref(), &mut errors);
        errors.into_iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn significant_digits_ignore_trailing_zeros() {
        assert_eq!(significant_digits(Decimal::new(450000, 2)), 4);
        assert_eq!(significant_digits(Decimal::new(5, 2)), 1);
        assert_eq!(significant_digits(Decimal::new(123456, 2)), 6);
    }

    #[test]
    fn amounts() {
        assert!(amount_errors("4500.00", "NOK").is_empty());
        assert!(amount_errors("4500.10", "NOK").is_empty());
        assert!(amount_errors("1500", "JPY").is_empty());
        assert!(amount_errors("1.234", "KWD").is_empty());
        assert_eq!(amount_errors("0", "NOK").len(), 1);
        assert_eq!(amount_errors("-1", "NOK").len(), 1);
        assert_eq!(
            amount_errors("10.005", "NOK"),
            ["amount: 10.005 has 3 decimals, NOK allows 2"]
        );
        assert_eq!(
            amount_errors("10.5", "JPY"),
            ["amount: 10.5 has 1 decimal, JPY allows none"]
        );
        assert!(amount_errors("9999999999999.99", "NOK").is_empty());
        assert_eq!(amount_errors("99999999999999.99", "NOK").len(), 1);
    }

    #[test]
    fn descriptions_and_ids() {
        let mut errors = Vec::new();
        check_description("ok text æøå", &mut errors);
        check_source_id("P-1", &mut errors);
        assert!(errors.is_empty());
        check_description("line\nbreak", &mut errors);
        check_description("c1 \u{85} control", &mut errors);
        check_description("ok \u{e5}\u{100}", &mut errors);
        check_description(&"x".repeat(MAX_DESCRIPTION_CHARS + 1), &mut errors);
        check_source_id(" P-1", &mut errors);
        check_source_id("", &mut errors);
        check_source_id(&"x".repeat(MAX_SOURCE_ID_CHARS + 1), &mut errors);
        assert_eq!(errors.len(), 6, "{errors:?}");
    }

    #[test]
    fn a_leap_second_is_refused() {
        let leap = chrono::DateTime::parse_from_rfc3339("2016-12-31T23:59:60Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default();
        let mut errors = Vec::new();
        check_date_now(leap, &mut errors);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].message.contains("leap second"), "{errors:?}");
    }

    #[test]
    fn a_date_in_the_future_is_said_in_oslo_time() {
        let at = |text: &str| {
            DateTime::parse_from_rfc3339(text)
                .map(|d| d.with_timezone(&Utc))
                .unwrap_or_default()
        };
        let now = at("2026-12-07T05:08:41Z");
        let mut errors = Vec::new();
        // Midnight in Oslo on 3 March 2027: a day.
        check_date(at("2027-03-02T23:00:00Z"), now, &mut errors);
        // 14:30 in Oslo on 1 July 2027 (summer time).
        check_date(at("2027-07-01T12:30:00Z"), now, &mut errors);
        let said: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            said,
            [
                "date: 2027-03-03 is in the future: today is 2026-12-07 (Oslo time); a payment \
                 date must not be later than today",
                "date: 2027-07-01 14:30 is in the future: it is now 2026-12-07 06:08 (Oslo \
                 time); a payment date must not be later than now"
            ]
        );
    }

    #[test]
    fn amount_problems_name_the_amount_once() {
        let mut errors = Vec::new();
        check_amount(Decimal::new(0, 2), Some(&Currency::NOK), &mut errors);
        check_amount(Decimal::new(1500001, 3), Some(&Currency::NOK), &mut errors);
        let said: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            said,
            [
                "amount: 0.00 is not positive: an amount must be greater than 0",
                "amount: 1500.001 has 3 decimals, NOK allows 2"
            ]
        );
    }

    #[test]
    fn dates_in_the_future_are_refused_beyond_the_tolerance() {
        let now = Utc::now();
        let mut errors = Vec::new();
        check_date(now + chrono::Duration::seconds(60), now, &mut errors);
        assert!(errors.is_empty());
        check_date(now + chrono::Duration::hours(1), now, &mut errors);
        assert_eq!(errors.len(), 1);
        check_date_now(now - chrono::Duration::hours(1), &mut errors);
        check_date_now(now, &mut errors);
        assert_eq!(errors.len(), 1);
        check_date_now(now + chrono::Duration::hours(1), &mut errors);
        assert_eq!(errors.len(), 2);
    }
}

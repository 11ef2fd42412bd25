//! How raw text is read: the one amount grammar and the accepted date forms.

use chrono::{DateTime, Datelike as _, NaiveDate, NaiveDateTime, NaiveTime, TimeZone as _, Utc};
use rust_decimal::Decimal;

/// How the text of a raw row ([`PaymentInput`](crate::PaymentInput)) is read: which
/// character separates decimals (and so which may group thousands), and which date forms are
/// accepted besides RFC 3339.
///
/// # The amount grammar
///
/// `digits [decimal-separator digits]`, where the whole part may group thousands: groups of
/// exactly three digits after a first group of one to three, each group after a thousands
/// separator. No sign, no exponent, no `_`.
///
/// | format | decimal separator | thousands separators | examples |
/// |---|---|---|---|
/// | [`InputFormat::default`] (decimal point) | `.` | space, no-break space, `,` | `4500.00`, `4 500.00`, `4,500.00` |
/// | [`InputFormat::decimal_comma`] (Norwegian Excel) | `,` | space, no-break space, `.` | `4500,00`, `4 500,00`, `4.500,00`, and `4500.00` (a `.` not followed by three digits can only be a decimal point) |
///
/// Text that reads two ways is refused rather than guessed: `4,500` with a decimal point
/// (4500 or 4.5?), `4.500` with a decimal comma.
///
/// # Dates
///
/// Always an RFC 3339 date-time (`2025-03-09T14:30:00Z`, `2025-03-09T15:30:00+01:00`). Also a
/// date alone — `2025-03-09` or `09.03.2025` — read as **midnight in Norway (Europe/Oslo)**,
/// the creditor's day, converted to UTC (`2025-03-08T23:00:00Z` in winter,
/// `…T22:00:00Z` in summer). [`with_date_format`](Self::with_date_format) adds a `strftime`
/// pattern of the caller's (a date-time without zone is taken as Oslo time too). Dates before
/// [`EARLIEST_DATE`] are refused.
///
/// ```
/// use amili_payments::validation::InputFormat;
/// use amili_payments::Decimal;
///
/// let excel = InputFormat::decimal_comma();
/// assert_eq!(excel.amount("4\u{a0}500,50")?, Decimal::new(450050, 2));
/// assert!(excel.amount("4.500").is_err()); // 4.5 or 4500?
/// assert!(InputFormat::default().amount("1_000").is_err());
/// let date = excel.date("09.03.2025")?;
/// assert_eq!(date.to_rfc3339(), "2025-03-08T23:00:00+00:00");
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct InputFormat {
    /// `true`: `,` separates decimals and `.` may group thousands.
    pub decimal_comma: bool,
    /// A `strftime` pattern accepted besides the built-in forms.
    pub date_format: Option<String>,
}

/// The earliest payment date accepted.
pub const EARLIEST_DATE: &str = "2000-01-01";

impl InputFormat {
    /// Decimal comma, `.`/space thousands: what Excel writes with Norwegian settings.
    pub fn decimal_comma() -> Self {
        Self {
            decimal_comma: true,
            date_format: None,
        }
    }

    /// Accepts dates in `pattern` too (`strftime`, e.g. `%d/%m/%Y`).
    #[must_use]
    pub fn with_date_format(mut self, pattern: impl Into<String>) -> Self {
        self.date_format = Some(pattern.into());
        self
    }

    /// Reads an amount by the grammar above.
    ///
    /// # Errors
    ///
    /// A message naming the text and what is wrong with it.
    pub fn amount(&self, text: &str) -> Result<Decimal, String> {
        let decimal = if self.decimal_comma { ',' } else { '.' };
        match plain_amount(text.trim(), decimal) {
            Some(value) => Ok(value),
            None => self.amount_by_grammar(text),
        }
    }

    /// [`amount`](Self::amount) by the whole grammar, for any text.
    fn amount_by_grammar(&self, text: &str) -> Result<Decimal, String> {
        let text = text.trim();
        let (decimal, other) = if self.decimal_comma {
            (',', '.')
        } else {
            ('.', ',')
        };
        let fail = |why: &str| Err(format!("{text:?} is not an amount: {why}"));
        if text.is_empty() {
            return fail("it is empty");
        }
        if text.starts_with('-') {
            return fail("it is negative; an amount must be greater than 0");
        }
        if let Some(bad) = text
            .chars()
            .find(|c| !(c.is_ascii_digit() || matches!(c, '.' | ',' | ' ' | '\u{a0}')))
        {
            return fail(&format!(
                "{bad:?} is not allowed (digits, one decimal separator {decimal:?} and thousands \
                 separators only)"
            ));
        }
        // Which separator is the decimal one: the dialect's, else the other mark when it
        // cannot be a thousands separator (once, and not followed by exactly three digits).
        let decimal_at = match (text.rfind(decimal), text.matches(other).count()) {
            (Some(at), _) => Some((at, decimal)),
            (None, 1) => {
                let at = text.rfind(other).unwrap_or(0);
                let after = &text[at + 1..];
                if after.len() == 3 && after.chars().all(|c| c.is_ascii_digit()) {
                    return fail(&format!(
                        "it reads two ways ({} or {}); write it without thousands separators, \
                         with {decimal:?} for decimals",
                        text.replace(other, ""),
                        text.replace(other, ".")
                    ));
                }
                Some((at, other))
            }
            (None, _) => None,
        };
        let (whole, fraction) = match decimal_at {
            Some((at, mark)) => (&text[..at], Some(&text[at + mark.len_utf8()..])),
            None => (text, None),
        };
        if let Some(fraction) = fraction
            && (fraction.is_empty() || !fraction.chars().all(|c| c.is_ascii_digit()))
        {
            return fail("the decimals must be digits only, after one decimal separator");
        }
        let digits = group_thousands(whole, decimal, other).ok_or_else(|| {
            format!(
                "{text:?} is not an amount: thousands must be grouped by three (4 500{decimal}00)"
            )
        })?;
        let canonical = match fraction {
            Some(fraction) => format!("{digits}.{fraction}"),
            None => digits,
        };
        canonical
            .parse::<Decimal>()
            .map_err(|_| format!("{text:?} is out of range"))
    }

    /// Reads a signed amount (a correction's): an optional leading `-` (or the minus sign
    /// `−`) or `+`, then the grammar above.
    ///
    /// ```
    /// use amili_payments::validation::InputFormat;
    /// use amili_payments::Decimal;
    ///
    /// let excel = InputFormat::decimal_comma();
    /// assert_eq!(excel.signed_amount("-1 500,00")?, Decimal::new(-150000, 2));
    /// assert_eq!(excel.signed_amount("+0,50")?, Decimal::new(50, 2));
    /// assert!(excel.signed_amount("--5").is_err());
    /// # Ok::<(), String>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A message naming the text and what is wrong with it.
    pub fn signed_amount(&self, text: &str) -> Result<Decimal, String> {
        let trimmed = text.trim();
        let (negative, rest) = match trimmed.chars().next() {
            Some(sign @ ('-' | '\u{2212}' | '+')) => (sign != '+', &trimmed[sign.len_utf8()..]),
            _ => (false, trimmed),
        };
        if rest.trim_start().starts_with(['-', '\u{2212}', '+']) {
            return Err(format!("{trimmed:?} is not an amount: it has two signs"));
        }
        let magnitude = self.amount(rest).map_err(|message| {
            message.replacen(&format!("{:?}", rest.trim()), &format!("{trimmed:?}"), 1)
        })?;
        Ok(if negative { -magnitude } else { magnitude })
    }

    /// Reads a day alone, as `2025-03-09` or `09.03.2025`: the day forms of
    /// [`date`](Self::date), without turning the day into an instant (a settlement listing's
    /// range).
    ///
    /// ```
    /// use amili_payments::validation::InputFormat;
    ///
    /// let day = InputFormat::day("09.03.2025")?;
    /// assert_eq!(day.to_string(), "2025-03-09");
    /// assert!(InputFormat::day("2025-03-09T00:00:00Z").is_err());
    /// # Ok::<(), String>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A message naming the text and the forms accepted.
    pub fn day(text: &str) -> Result<NaiveDate, String> {
        let text = text.trim();
        day(text).ok_or_else(|| match impossible_day(text) {
            Some(why) => format!("{text:?} is not a day: {why}"),
            None => format!("{text:?} is not a day: use 2025-03-09 or 09.03.2025"),
        })
    }

    /// Reads a payment date by the forms above.
    ///
    /// # Errors
    ///
    /// A message naming the text and the forms accepted.
    pub fn date(&self, text: &str) -> Result<DateTime<Utc>, String> {
        let text = text.trim();
        let date = if let Ok(date) = DateTime::parse_from_rfc3339(text) {
            date.with_timezone(&Utc)
        } else if let Some(day) = day(text) {
            oslo_to_utc(day.and_time(NaiveTime::MIN))
        } else if let Some(pattern) = &self.date_format {
            if let Ok(date) = DateTime::parse_from_str(text, pattern) {
                date.with_timezone(&Utc)
            } else if let Ok(local) = NaiveDateTime::parse_from_str(text, pattern) {
                oslo_to_utc(local)
            } else if let Ok(day) = NaiveDate::parse_from_str(text, pattern) {
                oslo_to_utc(day.and_time(NaiveTime::MIN))
            } else {
                return Err(format!(
                    "{text:?} does not match --date-format {pattern:?}, nor an RFC 3339 \
                     date-time, yyyy-mm-dd or dd.mm.yyyy"
                ));
            }
        } else if let Some(why) = impossible_day(text) {
            return Err(format!("{text:?} is not a date: {why}"));
        } else {
            return Err(format!(
                "{text:?} is not a date: use an RFC 3339 date-time such as \
                 2025-03-09T14:30:00Z, or a day as 2025-03-09 or 09.03.2025"
            ));
        };
        if date.year() < 2000 {
            return Err(format!(
                "{text:?} is before {EARLIEST_DATE}, the earliest payment date accepted"
            ));
        }
        Ok(date)
    }
}

/// A day as `2025-03-09` or `09.03.2025`.
fn day(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%d.%m.%Y"))
        .ok()
}

/// The digits of a whole part whose thousands may be grouped by `decimal`'s counterparts
/// (space, no-break space, `other`); `None` when the grouping is wrong.
/// The common case without allocating: digits, optionally the dialect's decimal mark and
/// more digits, at most 18 digits in all (they fit an `i64`). Anything else is `None` and
/// goes through the whole grammar of [`InputFormat::amount`], which gives the same value
/// (mantissa and scale) for these texts (tested).
fn plain_amount(text: &str, decimal: char) -> Option<Decimal> {
    let (whole, fraction) = match text.split_once(decimal) {
        Some((whole, fraction)) => (whole, fraction),
        None => (text, ""),
    };
    let has_mark = whole.len() < text.len();
    let plain = |digits: &str| digits.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || (has_mark && fraction.is_empty())
        || whole.len() + fraction.len() > 18
        || !plain(whole)
        || !plain(fraction)
    {
        return None;
    }
    let mantissa = whole
        .bytes()
        .chain(fraction.bytes())
        .fold(0_i64, |n, b| n * 10 + i64::from(b - b'0'));
    // At most 18 digits: the scale is at most 17, within a Decimal's 28.
    Decimal::try_new(mantissa, fraction.len() as u32).ok()
}

fn group_thousands(whole: &str, decimal: char, other: char) -> Option<String> {
    let is_separator = |c: char| c == ' ' || c == '\u{a0}' || (c == other && c != decimal);
    let groups: Vec<&str> = whole.split(is_separator).collect();
    let valid = match groups.as_slice() {
        [] => false,
        [only] => !only.is_empty() && only.chars().all(|c| c.is_ascii_digit()),
        [first, rest @ ..] => {
            (1..=3).contains(&first.len())
                && first.chars().all(|c| c.is_ascii_digit())
                && rest
                    .iter()
                    .all(|g| g.len() == 3 && g.chars().all(|c| c.is_ascii_digit()))
        }
    };
    valid.then(|| groups.concat())
}

/// When Norway keeps summer time in `year` (UTC+2): from 01:00 UTC on the last Sunday of
/// March to 01:00 UTC on the last Sunday of October; else Central European Time, UTC+1.
fn summer_time(year: i32) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let last_sunday = |month: u32| {
        let next_month = if month == 12 {
            NaiveDate::from_ymd_opt(year + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(year, month + 1, 1)
        };
        next_month.and_then(|d| d.pred_opt()).map(|last| {
            let back = last.weekday().num_days_from_sunday();
            last - chrono::Duration::days(i64::from(back))
        })
    };
    let at_one = |d: NaiveDate| d.and_hms_opt(1, 0, 0).map(|t| Utc.from_utc_datetime(&t));
    last_sunday(3)
        .and_then(at_one)
        .zip(last_sunday(10).and_then(at_one))
}

/// A wall-clock time in Norway as UTC.
fn oslo_to_utc(local: NaiveDateTime) -> DateTime<Utc> {
    // Try the summer offset first; keep it when the instant falls inside summer time.
    let as_summer = Utc.from_utc_datetime(&(local - chrono::Duration::hours(2)));
    match summer_time(local.year()) {
        Some((start, end)) if as_summer >= start && as_summer < end => as_summer,
        _ => Utc.from_utc_datetime(&(local - chrono::Duration::hours(1))),
    }
}

/// An instant as the wall clock in Norway shows it (for messages: dates are written in Oslo
/// time).
pub(crate) fn utc_to_oslo(instant: DateTime<Utc>) -> NaiveDateTime {
    let hours = match summer_time(instant.year()) {
        Some((start, end)) if instant >= start && instant < end => 2,
        _ => 1,
    };
    instant.naive_utc() + chrono::Duration::hours(hours)
}

/// Why a text shaped like a day (`2025-02-31`, `31.02.2025`, or a date-time starting with
/// such a day) is not one: the day or month does not exist.
fn impossible_day(text: &str) -> Option<String> {
    let number = |s: &str| {
        (!s.is_empty() && s.chars().all(|c| c.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    let iso = text.get(..10).and_then(|d| {
        let mut parts = d.split('-');
        let (y, m, day) = (parts.next()?, parts.next()?, parts.next()?);
        (y.len() == 4 && m.len() == 2 && day.len() == 2).then_some((y, m, day))
    });
    let (year, month, day) = match iso {
        Some(ymd) => ymd,
        None => {
            let mut parts = text.split('.');
            let (day, month, year) = (parts.next()?, parts.next()?, parts.next()?);
            if parts.next().is_some() || year.len() != 4 {
                return None;
            }
            (year, month, day)
        }
    };
    let (year, month, day) = (number(year)?, number(month)?, number(day)?);
    let year = i32::try_from(year).ok()?;
    if !(1..=12).contains(&month) {
        return Some(format!("there is no month {month}"));
    }
    if NaiveDate::from_ymd_opt(year, month, day).is_some() {
        return None;
    }
    let name = NaiveDate::from_ymd_opt(year, month, 1)?.format("%B %Y");
    Some(format!("{name} has no day {day}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_that_does_not_exist_is_said_so() {
        let format = InputFormat::default();
        assert_eq!(
            format.date("31.02.2025"),
            Err("\"31.02.2025\" is not a date: February 2025 has no day 31".to_owned())
        );
        assert_eq!(
            format.date("2025-13-01"),
            Err("\"2025-13-01\" is not a date: there is no month 13".to_owned())
        );
        assert_eq!(
            format.date("2025-04-31T10:00:00Z"),
            Err("\"2025-04-31T10:00:00Z\" is not a date: April 2025 has no day 31".to_owned())
        );
        assert_eq!(
            InputFormat::day("29.02.2025"),
            Err("\"29.02.2025\" is not a day: February 2025 has no day 29".to_owned())
        );
        // Not shaped like a day: the forms are named.
        assert_eq!(
            format.date("March 3"),
            Err(
                "\"March 3\" is not a date: use an RFC 3339 date-time such as \
                 2025-03-09T14:30:00Z, or a day as 2025-03-09 or 09.03.2025"
                    .to_owned()
            )
        );
    }

    #[test]
    fn oslo_time_round_trips() {
        for local in [
            "2025-01-15T00:00:00",
            "2025-07-01T14:30:00",
            "2025-10-26T03:00:00",
        ] {
            let local =
                NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M:%S").unwrap_or_default();
            assert_eq!(utc_to_oslo(oslo_to_utc(local)), local);
        }
    }

    #[test]
    fn amounts_by_dialect() {
        let point = InputFormat::default();
        let comma = InputFormat::decimal_comma();
        let d = |n: i64, s: u32| Decimal::new(n, s);
        assert_eq!(point.amount("4500.00"), Ok(d(450000, 2)));
        assert_eq!(point.amount("4 500.00"), Ok(d(450000, 2)));
        assert_eq!(point.amount("1,234,567.5"), Ok(d(12345675, 1)));
        assert_eq!(point.amount("12"), Ok(d(12, 0)));
        assert_eq!(point.signed_amount(" -4 500.00"), Ok(d(-450000, 2)));
        assert_eq!(point.signed_amount("\u{2212}1.5"), Ok(d(-15, 1)));
        assert_eq!(point.signed_amount("+7"), Ok(d(7, 0)));
        assert_eq!(point.signed_amount("7"), Ok(d(7, 0)));
        for bad in ["-+5", "- -5", "-", "-4,500", "5-"] {
            let message = point.signed_amount(bad).err().unwrap_or_default();
            assert!(
                message.contains(&format!("{:?}", bad.trim())),
                "{bad:?}: {message}"
            );
        }
        assert_eq!(comma.amount("4 500,00"), Ok(d(450000, 2)));
        assert_eq!(comma.amount("4\u{a0}500,00"), Ok(d(450000, 2)));
        assert_eq!(comma.amount("4.500,00"), Ok(d(450000, 2)));
        assert_eq!(comma.amount("1.234.567"), Ok(d(1234567, 0)));
        assert_eq!(comma.amount("4500.00"), Ok(d(450000, 2)));
        assert_eq!(comma.amount("0,5"), Ok(d(5, 1)));
        for bad in [
            "4,500", "1_000", "+100", "-5", "1e3", "4 50.00", "4.5.0", "", "12,",
        ] {
            assert!(point.amount(bad).is_err(), "{bad:?} accepted");
        }
        for bad in ["4.500", "45 00,0", "4,5,0", "abc"] {
            assert!(comma.amount(bad).is_err(), "{bad:?} accepted");
        }
        let message = point.amount("4,500").err().unwrap_or_default();
        assert!(message.contains("reads two ways"), "{message}");
    }

    /// The allocation-free path gives what the whole grammar gives, to the scale.
    #[test]
    fn plain_amounts_read_as_the_whole_grammar_reads_them() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = ['0', '1', '5', '9', '.', ',', ' '];
        let mut samples: Vec<String> = [
            "0",
            "0.00",
            "007.50",
            "8019.31",
            "999999999999999999",
            "99999999999999999.9",
            "9999999999999999999",
            "1.",
            ".5",
            "1.2.3",
            "12,5",
            "1,2",
            "",
            "1234567890.12345678",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        for _ in 0..20_000 {
            let len = (next() % 22) as usize;
            samples.push(
                (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect(),
            );
        }
        for format in [InputFormat::default(), InputFormat::decimal_comma()] {
            let decimal = if format.decimal_comma { ',' } else { '.' };
            let mut plain = 0;
            for sample in &samples {
                let Some(fast) = plain_amount(sample, decimal) else {
                    continue;
                };
                plain += 1;
                let whole = format.amount_by_grammar(sample);
                let parts = |d: Decimal| (d.mantissa(), d.scale());
                assert_eq!(whole.map(parts), Ok(parts(fast)), "{sample:?}");
            }
            assert!(plain > 1_000, "only {plain} plain samples");
        }
    }

    #[test]
    fn dates_in_norway_and_rfc3339() {
        let f = InputFormat::default();
        let iso = |d: DateTime<Utc>| d.to_rfc3339();
        assert_eq!(
            f.date("2025-03-09T14:30:00Z").map(iso),
            Ok("2025-03-09T14:30:00+00:00".into())
        );
        assert_eq!(
            f.date("09.03.2025").map(iso),
            Ok("2025-03-08T23:00:00+00:00".into())
        );
        assert_eq!(
            f.date("2025-07-01").map(iso),
            Ok("2025-06-30T22:00:00+00:00".into())
        );
        // The night the clocks go forward (30 March 2025) and back (26 October 2025).
        assert_eq!(
            f.date("30.03.2025").map(iso),
            Ok("2025-03-29T23:00:00+00:00".into())
        );
        assert_eq!(
            f.date("31.03.2025").map(iso),
            Ok("2025-03-30T22:00:00+00:00".into())
        );
        assert_eq!(
            f.date("27.10.2025").map(iso),
            Ok("2025-10-26T23:00:00+00:00".into())
        );
        assert!(f.date("0000-01-01T00:00:00Z").is_err());
        assert!(f.date("31.02.2025").is_err());
        assert!(f.date("03/09/2025").is_err());
        let us = InputFormat::default().with_date_format("%m/%d/%Y");
        assert_eq!(
            us.date("03/09/2025").map(iso),
            Ok("2025-03-08T23:00:00+00:00".into())
        );
    }
}

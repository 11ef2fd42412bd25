//! Money on the wire: a decimal in major units, written and read as a JSON number.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An amount in **major units** of its currency (`4500.00` NOK, not øre).
///
/// Held as a [`Decimal`], never as `f64`. On the wire it is an exact JSON number: whole amounts
/// are written as integers, others with their own decimal digits (trailing zeros dropped), as
/// serde_json's `RawValue`. Reading accepts integers, decimals
/// and (leniently) numeric strings; a number is parsed from its shortest decimal form, so
/// `0.1` reads as exactly `0.1`.
///
/// ```
/// use amili_api::Amount;
/// use rust_decimal::Decimal;
///
/// let amount: Amount = serde_json::from_str("4500.25").unwrap();
/// assert_eq!(amount.value(), Decimal::new(450025, 2));
/// assert_eq!(serde_json::to_string(&Amount::from(Decimal::new(450000, 2))).unwrap(), "4500");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Amount(Decimal);

/// A value that cannot be an [`Amount`] on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmountError(String);

impl fmt::Display for AmountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AmountError {}

impl Amount {
    /// The decimal value in major units.
    pub fn value(self) -> Decimal {
        self.0
    }

    /// Appends the amount as the JSON number [`Serialize`] writes through serde_json: the
    /// decimal's digits with the fraction's trailing zeros dropped (`1500`, `1000.5`,
    /// `-0.05`). For callers that write request bodies as bytes themselves.
    ///
    /// ```
    /// use amili_api::Amount;
    /// use rust_decimal::Decimal;
    ///
    /// let mut body = Vec::new();
    /// Amount::from(Decimal::new(-100_050, 2)).write_json(&mut body);
    /// assert_eq!(body, b"-1000.5");
    /// ```
    pub fn write_json(self, out: &mut Vec<u8>) {
        let value = self.0;
        let magnitude = value.mantissa().unsigned_abs();
        let mut buffer = itoa::Buffer::new();
        // Almost every amount fits 64 bits, whose formatting is several times cheaper.
        let mut digits = match u64::try_from(magnitude) {
            Ok(small) => buffer.format(small),
            Err(_) => buffer.format(magnitude),
        }
        .as_bytes();
        // The fraction's trailing zeros are dropped from the digits rather than by
        // `Decimal::normalize`, which divides the 96-bit mantissa by ten once per zero. The
        // scale of a `Decimal` is at most 28.
        let mut scale = value.scale() as usize;
        while scale > 0
            && let Some((b'0', rest)) = digits.split_last()
        {
            digits = rest;
            scale -= 1;
        }
        if digits.is_empty() || magnitude == 0 {
            // Zero, of any scale or sign.
            out.push(b'0');
            return;
        }
        if value.is_sign_negative() {
            out.push(b'-');
        }
        if scale == 0 {
            out.extend_from_slice(digits);
        } else if digits.len() > scale {
            let (whole, fraction) = digits.split_at(digits.len() - scale);
            out.extend_from_slice(whole);
            out.push(b'.');
            out.extend_from_slice(fraction);
        } else {
            out.extend_from_slice(b"0.");
            out.resize(out.len() + scale - digits.len(), b'0');
            out.extend_from_slice(digits);
        }
    }
}

impl From<Decimal> for Amount {
    fn from(value: Decimal) -> Self {
        Self(value)
    }
}

impl From<Amount> for Decimal {
    fn from(value: Amount) -> Self {
        value.0
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for Amount {
    type Err = AmountError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        Decimal::from_str(text)
            .or_else(|_| Decimal::from_scientific(text))
            .map(Self)
            .map_err(|e| AmountError(format!("`{text}` is not a decimal amount: {e}")))
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let value = self.0.normalize();
        if value.scale() == 0
            && let Ok(whole) = i64::try_from(value)
        {
            return serializer.serialize_i64(whole);
        }
        // The decimal's own digits, written verbatim as a JSON number: never through f64.
        let mut digits = Vec::with_capacity(32);
        self.write_json(&mut digits);
        let raw = String::from_utf8(digits)
            .map_err(serde::ser::Error::custom)
            .and_then(|text| {
                serde_json::value::RawValue::from_string(text).map_err(serde::ser::Error::custom)
            })
            .map_err(|e: S::Error| serde::ser::Error::custom(format!("amount {value}: {e}")))?;
        raw.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(AmountVisitor)
    }
}

struct AmountVisitor;

impl Visitor<'_> for AmountVisitor {
    type Value = Amount;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an amount as a JSON number")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Amount, E> {
        Ok(Amount(Decimal::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Amount, E> {
        Ok(Amount(Decimal::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Amount, E> {
        if !v.is_finite() {
            return Err(E::custom(format!("amount {v} is not a finite number")));
        }
        // `Display` for f64 is the shortest text that reads back as the same double.
        Amount::from_str(&v.to_string()).map_err(E::custom)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Amount, E> {
        Amount::from_str(v).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(amount: &str) -> Result<String, serde_json::Error> {
        let amount = Amount::from_str(amount).map_err(serde::de::Error::custom)?;
        serde_json::to_string(&amount)
    }

    #[test]
    fn writes_numbers_in_major_units() -> Result<(), serde_json::Error> {
        assert_eq!(json("4500.00")?, "4500");
        assert_eq!(json("0.1")?, "0.1");
        assert_eq!(json("1234.56")?, "1234.56");
        assert_eq!(json("999999999999.99")?, "999999999999.99");
        assert_eq!(json("-12.5")?, "-12.5");
        // More digits than a double holds, still exact.
        assert_eq!(json("12345678901234.567")?, "12345678901234.567");
        Ok(())
    }

    /// xorshift: a repeatable spread of values, no dependency needed.
    fn numbers() -> impl FnMut() -> u64 {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    }

    #[test]
    fn writes_the_normalized_decimal_digits_and_serializes_them() {
        let mut next = numbers();
        let fixed = [
            Decimal::ZERO,
            Decimal::from_parts(0, 0, 0, true, 2),
            Decimal::new(150_000, 2),
            Decimal::new(100_050, 2),
            Decimal::new(-5, 2),
            Decimal::new(1, 28),
            Decimal::MAX,
            Decimal::MIN,
            Decimal::new(i64::MAX, 0),
            Decimal::new(i64::MIN, 0),
        ];
        let random = (0..50_000).map(|_| {
            let lo = next();
            let hi = next();
            let scale = (hi % 29) as u32;
            let negative = hi & (1 << 40) != 0;
            // Small, medium and full 96-bit mantissas.
            let (lo, mid, top) = match hi % 3 {
                0 => (lo as u32 % 1_000_000, 0, 0),
                1 => (lo as u32, (lo >> 32) as u32, 0),
                _ => (lo as u32, (lo >> 32) as u32, (hi >> 32) as u32),
            };
            Decimal::from_parts(lo, mid, top, negative, scale)
        });
        for value in fixed.into_iter().chain(random) {
            let mut written = Vec::new();
            Amount::from(value).write_json(&mut written);
            let written = String::from_utf8(written).unwrap_or_default();
            // The oracle: the normalized decimal's own text (`-0` normalizes to `0`).
            let normalized = value.normalize();
            let expected = if normalized.is_zero() {
                "0".to_owned()
            } else {
                normalized.to_string()
            };
            assert_eq!(written, expected, "{value:?}");
            let serialized = serde_json::to_string(&Amount::from(value)).unwrap_or_default();
            assert_eq!(serialized, expected, "{value:?}");
        }
    }

    #[test]
    fn reads_exact_decimals() -> Result<(), serde_json::Error> {
        let read = |s: &str| serde_json::from_str::<Amount>(s).map(Amount::value);
        assert_eq!(read("0.1")?, Decimal::new(1, 1));
        assert_eq!(read("4500.00")?, Decimal::new(4500, 0));
        assert_eq!(read("12")?, Decimal::new(12, 0));
        assert_eq!(read("\"19.99\"")?, Decimal::new(1999, 2));
        assert_eq!(read("1e2")?, Decimal::new(100, 0));
        Ok(())
    }

    #[test]
    fn rejects_what_is_not_an_amount() {
        assert!(serde_json::from_str::<Amount>("\"abc\"").is_err());
        assert!(serde_json::from_str::<Amount>("1e300").is_err());
        assert!(serde_json::from_str::<Amount>("true").is_err());
    }
}

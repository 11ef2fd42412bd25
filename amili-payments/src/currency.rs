//! ISO 4217 currency codes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A currency code such as `NOK`.
///
/// Codes a caller supplies are checked against ISO 4217 ([`Currency::iso`], [`FromStr`]), so a
/// payment can only be built in a real currency. A code that comes *from the server*
/// ([`Deserialize`]) is kept even when this version does not know it: see
/// [`Currency::is_iso`].
///
/// ```
/// use amili_payments::Currency;
///
/// let nok: Currency = "NOK".parse()?;
/// assert_eq!(nok, Currency::NOK);
/// assert_eq!(nok.minor_units(), Some(2));
/// assert_eq!(Currency::iso("JPY")?.minor_units(), Some(0));
/// assert!("nok".parse::<Currency>().is_err());
/// assert!("ABC".parse::<Currency>().is_err());
///
/// // From the server, an unknown code still parses.
/// let odd: Currency = serde_json::from_str("\"XYZ\"")?;
/// assert!(!odd.is_iso());
/// assert_eq!(odd.code(), "XYZ");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(Repr);

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Repr {
    Iso(iso_currency::Currency),
    Other(Box<str>),
}

/// A code that is not an ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidCurrency(String);

impl Currency {
    /// Norwegian krone.
    pub const NOK: Currency = Currency(Repr::Iso(iso_currency::Currency::NOK));
    /// Swedish krona.
    pub const SEK: Currency = Currency(Repr::Iso(iso_currency::Currency::SEK));
    /// Danish krone.
    pub const DKK: Currency = Currency(Repr::Iso(iso_currency::Currency::DKK));
    /// Euro.
    pub const EUR: Currency = Currency(Repr::Iso(iso_currency::Currency::EUR));
    /// US dollar.
    pub const USD: Currency = Currency(Repr::Iso(iso_currency::Currency::USD));
    /// Pound sterling.
    pub const GBP: Currency = Currency(Repr::Iso(iso_currency::Currency::GBP));

    /// An ISO 4217 alphabetic code, exactly as written (three upper-case letters).
    ///
    /// # Errors
    ///
    /// [`InvalidCurrency`] when `code` is not three upper-case letters or no ISO 4217 code
    /// (with a hint for lower-case input).
    pub fn iso(code: &str) -> Result<Self, InvalidCurrency> {
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            let hint = if code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic()) {
                format!(" (did you mean `{}`?)", code.to_ascii_uppercase())
            } else {
                String::new()
            };
            return Err(InvalidCurrency(format!(
                "`{}` is not an ISO 4217 code: expected three upper-case letters such as NOK{hint}",
                code.escape_debug()
            )));
        }
        // The common codes first: the full lookup compares against every ISO code in turn.
        let known = match code {
            "NOK" => Some(iso_currency::Currency::NOK),
            "SEK" => Some(iso_currency::Currency::SEK),
            "DKK" => Some(iso_currency::Currency::DKK),
            "EUR" => Some(iso_currency::Currency::EUR),
            "USD" => Some(iso_currency::Currency::USD),
            "GBP" => Some(iso_currency::Currency::GBP),
            _ => iso_currency::Currency::from_code(code),
        };
        known
            .map(|c| Self(Repr::Iso(c)))
            .ok_or_else(|| InvalidCurrency(format!("`{code}` is not an ISO 4217 currency code")))
    }

    /// Any code, kept as given: what the server sent. Prefer [`Currency::iso`] for input.
    pub fn unchecked(code: &str) -> Self {
        match iso_currency::Currency::from_code(code) {
            Some(c) => Self(Repr::Iso(c)),
            None => Self(Repr::Other(code.into())),
        }
    }

    /// The code as written on the wire.
    pub fn code(&self) -> &str {
        match &self.0 {
            Repr::Iso(c) => c.code(),
            Repr::Other(code) => code,
        }
    }

    /// Whether this is an ISO 4217 code this version knows.
    pub fn is_iso(&self) -> bool {
        matches!(self.0, Repr::Iso(_))
    }

    /// How many decimals the currency has (2 for NOK, 0 for JPY); `None` for codes without
    /// minor units (precious metals, funds, testing codes) and codes this version does not know.
    pub fn minor_units(&self) -> Option<u32> {
        match &self.0 {
            Repr::Iso(c) => c.exponent().map(u32::from),
            Repr::Other(_) => None,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.code())
    }
}

impl FromStr for Currency {
    type Err = InvalidCurrency;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Self::iso(code)
    }
}

impl TryFrom<&str> for Currency {
    type Error = InvalidCurrency;

    fn try_from(code: &str) -> Result<Self, Self::Error> {
        Self::iso(code)
    }
}

impl TryFrom<String> for Currency {
    type Error = InvalidCurrency;

    fn try_from(code: String) -> Result<Self, Self::Error> {
        Self::iso(&code)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Ok(Self::unchecked(&code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_have_minor_units() -> Result<(), InvalidCurrency> {
        assert_eq!(Currency::iso("NOK")?.minor_units(), Some(2));
        assert_eq!(Currency::iso("KWD")?.minor_units(), Some(3));
        assert_eq!(Currency::iso("ISK")?.minor_units(), Some(0));
        assert_eq!(Currency::iso("XAU")?.minor_units(), None);
        Ok(())
    }

    #[test]
    fn rejects_malformed_codes_with_a_hint() {
        let err = Currency::iso("nok").err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("did you mean `NOK`")));
        assert!(Currency::iso("NO").is_err());
        assert!(Currency::iso("NOKK").is_err());
        assert!(Currency::iso("QQQ").is_err());
        assert!(Currency::iso("").is_err());
    }

    #[test]
    fn unknown_codes_from_the_server_round_trip() -> Result<(), serde_json::Error> {
        let c: Currency = serde_json::from_str("\"ZZZ\"")?;
        assert!(!c.is_iso());
        assert_eq!(c.minor_units(), None);
        assert_eq!(serde_json::to_string(&c)?, "\"ZZZ\"");
        let nok: Currency = serde_json::from_str("\"NOK\"")?;
        assert_eq!(nok, Currency::NOK);
        Ok(())
    }
}

//! Money in the output: a row's amount, and sums per currency, exact (`Decimal`, never a
//! float) and written with the currency's minor units (`1234.50 NOK`), so that a run can be
//! checked against the bank's total.

use std::collections::BTreeMap;
use std::fmt;

use amili_payments::{Currency, Decimal};
use serde::{Serialize, Serializer};

/// An amount in a currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    pub amount: Decimal,
    pub currency: Currency,
}

impl Money {
    /// The amount as text with at least the currency's minor units: `1234.50`, `-15.00`,
    /// `100` (JPY). Never rounded: an amount with more decimals keeps them.
    pub fn amount_text(&self) -> String {
        amount_text(self.amount, &self.currency)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount_text(), self.currency.code())
    }
}

fn amount_text(amount: Decimal, currency: &Currency) -> String {
    let mut amount = amount;
    let minor = currency.minor_units().unwrap_or(0);
    if amount.scale() < minor {
        // Adds trailing zeros only: exact.
        amount.rescale(minor);
    }
    amount.to_string()
}

/// Sums per currency, in the currency code's order. Serialized as `{"NOK": "1234.50"}`:
/// amounts are strings, so no JSON reader turns them into floats.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sums(BTreeMap<String, Money>);

impl Sums {
    pub fn add(&mut self, money: &Money) {
        // Looked up by `&str` first: a currency already summed (every row but the first of
        // each) costs no key allocation.
        let code = money.currency.code();
        if let Some(sum) = self.0.get_mut(code) {
            // 28 digits: beyond any file's total; saturating rather than panicking.
            sum.amount = sum.amount.saturating_add(money.amount);
        } else {
            self.0.insert(code.to_owned(), money.clone());
        }
    }

    /// Moves `money` out of these sums (a row found to repeat an earlier one's id).
    pub fn remove(&mut self, money: &Money) {
        if let Some(sum) = self.0.get_mut(money.currency.code()) {
            sum.amount = sum.amount.saturating_sub(money.amount);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every sum as money, in currency order.
    pub fn iter(&self) -> impl Iterator<Item = &Money> {
        self.0.values()
    }
}

/// `1234.50 NOK, 10.00 SEK`; `nothing` when there is no sum.
impl fmt::Display for Sums {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("nothing");
        }
        for (i, money) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{money}")?;
        }
        Ok(())
    }
}

impl Serialize for Sums {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(
            self.iter()
                .map(|m| (m.currency.code().to_owned(), m.amount_text())),
        )
    }
}

/// Sums per category (an outcome's camelCase name, as in the counts: `succeeded`, `notSent`;
/// or `valid`/`invalid` for a file that was only validated), then per currency; in the
/// order of [`CATEGORIES`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SumsBy(Vec<(&'static str, Sums)>);

/// The order the categories are written in: what went well first.
const CATEGORIES: [&str; 10] = [
    "valid",
    "succeeded",
    "accepted",
    "alreadyAccepted",
    "failed",
    "rejected",
    "unknown",
    "notSent",
    "conflict",
    "invalid",
];

fn rank(category: &str) -> usize {
    CATEGORIES
        .iter()
        .position(|c| *c == category)
        .unwrap_or(CATEGORIES.len())
}

impl SumsBy {
    pub fn add(&mut self, category: &'static str, money: &Money) {
        let at = match self.0.iter().position(|(c, _)| *c == category) {
            Some(at) => at,
            None => {
                let at = self.0.partition_point(|(c, _)| rank(c) <= rank(category));
                self.0.insert(at, (category, Sums::default()));
                at
            }
        };
        self.0[at].1.add(money);
    }

    /// Moves `money` out of a category's sums.
    pub fn remove(&mut self, category: &'static str, money: &Money) {
        if let Some((_, sums)) = self.0.iter_mut().find(|(c, _)| *c == category) {
            sums.remove(money);
        }
    }

    pub fn get(&self, category: &str) -> Option<&Sums> {
        self.0.iter().find(|(c, _)| *c == category).map(|(_, s)| s)
    }

    /// `(category, sums)`, in the order of [`CATEGORIES`].
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Sums)> {
        self.0.iter().map(|(c, s)| (*c, s))
    }
}

impl Serialize for SumsBy {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(amount: &str, currency: &str) -> Money {
        Money {
            amount: amount.parse().unwrap(),
            currency: Currency::iso(currency).unwrap(),
        }
    }

    #[test]
    fn amounts_are_written_with_the_minor_units_and_summed_exactly() {
        assert_eq!(money("1234.5", "NOK").to_string(), "1234.50 NOK");
        assert_eq!(money("-15", "SEK").to_string(), "-15.00 SEK");
        assert_eq!(money("100", "JPY").to_string(), "100 JPY");
        assert_eq!(money("1.005", "NOK").to_string(), "1.005 NOK");
        let mut sums = Sums::default();
        // 0.1 + 0.2 is 0.3 here, not 0.30000000000000004.
        sums.add(&money("0.1", "NOK"));
        sums.add(&money("0.2", "NOK"));
        sums.add(&money("10", "SEK"));
        assert_eq!(sums.to_string(), "0.30 NOK, 10.00 SEK");
        assert_eq!(
            serde_json::to_value(&sums).unwrap(),
            serde_json::json!({"NOK": "0.30", "SEK": "10.00"})
        );
        sums.remove(&money("0.2", "NOK"));
        assert_eq!(sums.to_string(), "0.10 NOK, 10.00 SEK");
        assert_eq!(Sums::default().to_string(), "nothing");
    }

    #[test]
    fn categories_are_written_in_a_fixed_order() {
        let mut by = SumsBy::default();
        for category in ["invalid", "failed", "succeeded", "notSent", "failed"] {
            by.add(category, &money("1", "NOK"));
        }
        let order: Vec<&str> = by.iter().map(|(c, _)| c).collect();
        assert_eq!(order, ["succeeded", "failed", "notSent", "invalid"]);
        assert_eq!(
            by.get("failed").map(ToString::to_string).as_deref(),
            Some("2.00 NOK")
        );
        assert_eq!(
            serde_json::to_string(&by).unwrap(),
            r#"{"succeeded":{"NOK":"1.00"},"failed":{"NOK":"2.00"},"notSent":{"NOK":"1.00"},"invalid":{"NOK":"1.00"}}"#
        );
    }
}

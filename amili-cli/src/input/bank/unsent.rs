//! What a bank file holds that is not a payment, as the report and the summary show it.

use std::collections::BTreeMap;
use std::fmt;

use amili_bankfiles::{NotTaken, Position, Reason};
use amili_payments::{Currency, Decimal};

use crate::money::Money;

/// A bank transaction that is not sent, as the report shows it.
#[derive(Debug, Clone)]
pub struct Unsent {
    pub line: u64,
    /// Its payment id (empty for an AvtaleGiro assignment or a camt entry refused whole).
    pub source_id: String,
    /// Its reference as the file has it (`KID 12344`), or empty.
    pub reference: String,
    /// Why, with the amount and what to do: the report's reason.
    pub reason: String,
    /// The kind of reason, for the summary (`reversals`, `debits`, …).
    pub kind: &'static str,
    /// The amount (negative for a reversal or debit) and currency, when there is one.
    pub amount: Option<(Decimal, String)>,
}

impl Unsent {
    pub(super) fn new(line: u64, not_taken: NotTaken) -> Unsent {
        let NotTaken {
            reason,
            position,
            transaction,
        } = not_taken;
        let amount = match (&transaction, &reason) {
            (Some(t), _) => Some((t.amount, t.currency.clone())),
            (None, Reason::DetailsDoNotAddUp { entry, .. }) => Some((*entry, String::new())),
            _ => None,
        };
        let kind = match reason {
            Reason::Reversal => "reversals",
            Reason::Debit => "debits",
            Reason::NotBooked(_) => "not booked",
            Reason::NoReference => "without a reference",
            Reason::AvtaleGiro { .. } => "AvtaleGiro assignments",
            Reason::DetailsDoNotAddUp { .. } => "camt batches that do not add up",
            _ => "other",
        };
        let money = amount
            .as_ref()
            .map(|(amount, currency)| format!(", {}", money(*amount, currency)))
            .unwrap_or_default();
        Unsent {
            line,
            source_id: transaction
                .as_ref()
                .map(|t| t.source_payment_id.clone())
                .unwrap_or_default(),
            reference: transaction
                .as_ref()
                .and_then(|t| t.reference.as_ref())
                .map(ToString::to_string)
                .unwrap_or_default(),
            reason: format!(
                "bank transaction not sent{}: {reason}{money}; handle it by hand",
                match position {
                    Position::Ocr { .. } => String::new(),
                    _ => format!(" ({position})"),
                }
            ),
            kind,
            amount,
        }
    }
}

impl Unsent {
    /// The amount as the report's money, when there is one in a known currency.
    pub fn money(&self) -> Option<Money> {
        let (amount, currency) = self.amount.as_ref()?;
        to_money(*amount, currency)
    }
}

/// `amount` in `currency`, when the currency is one Amili knows.
pub(super) fn to_money(amount: Decimal, currency: &str) -> Option<Money> {
    Some(Money {
        amount,
        currency: Currency::iso(currency).ok()?,
    })
}

pub(super) fn money(amount: Decimal, currency: &str) -> String {
    if currency.is_empty() {
        amount.to_string()
    } else {
        format!("{currency} {amount}")
    }
}

/// What was not sent, by kind, with the sums of their amounts per currency.
#[derive(Debug, Default)]
pub struct NotTakenSummary {
    pub count: u64,
    kinds: BTreeMap<&'static str, (u64, BTreeMap<String, Decimal>)>,
}

impl NotTakenSummary {
    pub fn add(&mut self, unsent: &Unsent) {
        self.count += 1;
        let (count, sums) = self.kinds.entry(unsent.kind).or_default();
        *count += 1;
        if let Some((amount, currency)) = &unsent.amount {
            *sums.entry(currency.clone()).or_default() += *amount;
        }
    }
}

/// `3 bank transactions are not payments and are not sent (reversals: 1, NOK -150.00; …):
/// handle them by hand (…)`.
impl fmt::Display for NotTakenSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kinds: Vec<String> = self
            .kinds
            .iter()
            .map(|(kind, (count, sums))| {
                let sums: Vec<String> = sums.iter().map(|(c, a)| money(*a, c)).collect();
                if sums.is_empty() {
                    format!("{kind}: {count}")
                } else {
                    format!("{kind}: {count}, {}", sums.join(", "))
                }
            })
            .collect();
        write!(
            f,
            "{} bank transaction{} not payments and {} not sent ({}): handle {} by hand (each \
             is in the report, not_sent, with its line, amount and reason)",
            self.count,
            if self.count == 1 { " is" } else { "s are" },
            if self.count == 1 { "is" } else { "are" },
            kinds.join("; "),
            if self.count == 1 { "it" } else { "them" },
        )
    }
}

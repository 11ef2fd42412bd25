//! The credit view of camt: one item per transaction detail, made as it is asked for.

use std::collections::HashMap;
use std::io::BufRead;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::detail::{EMPTY, TxDetail};
use super::entries::CamtEntries;
use super::entry::Entry;
use super::values::Place;
use crate::credit::{Credit, Item, NotTaken, Position, Reason, Reference, ReferenceKind, Warning};
use crate::error::Error;
use crate::{kid, source_id};

/// The credit view of a camt.053 or camt.054 file: an iterator of [`Item`]s, one per
/// transaction detail (one per entry without details), in file order.
///
/// It holds one entry at a time (its details compactly, about 250 bytes each, until they are
/// known to add up), and makes each item as it is asked for.
pub struct CamtReader<R> {
    entries: CamtEntries<R>,
    current: Option<Current>,
    /// How often each transaction `AcctSvcrRef` (by digest) was seen, to keep ids distinct.
    references: HashMap<[u8; 16], u64>,
    /// How often each set of identifying fields (by digest) was seen.
    fingerprints: HashMap<[u8; 16], u64>,
    done: bool,
}

/// An entry whose details add up, and the next detail to yield.
struct Current {
    entry: Entry,
    /// The entry's amount, signed by `CdtDbtInd`.
    amount: Decimal,
    currency: String,
    /// Each detail's amount, signed.
    amounts: Vec<Decimal>,
    status: String,
    reversal: bool,
    booking_date: NaiveDate,
    next: usize,
}

impl Current {
    fn detail(&self, index: usize) -> &TxDetail {
        self.entry.details.get(index).unwrap_or(&EMPTY)
    }

    fn account(&self) -> &str {
        self.entry.account.as_deref().map(str::trim).unwrap_or("")
    }
}

impl<R: BufRead> CamtReader<R> {
    /// Reads the credit view from `reader`.
    pub fn new(reader: R) -> Self {
        CamtReader {
            entries: CamtEntries::new(reader),
            current: None,
            references: HashMap::new(),
            fingerprints: HashMap::new(),
            done: false,
        }
    }

    /// Checks an entry: an error for what breaks the format, a refusal when its details do
    /// not add up, else the entry ready to yield.
    fn entry(entry: Entry) -> Result<Result<Current, NotTaken>, Error> {
        let place = Place {
            entry: entry.number,
        };
        let (amount, currency) = place.amount(entry.amount.as_ref(), "Ntry/Amt", None)?;
        let sign = place.sign(entry.credit_debit.as_deref(), "Ntry/CdtDbtInd", None)?;
        let entry_amount = amount * sign;
        let reversal = matches!(entry.reversal.as_deref().map(str::trim), Some("true" | "1"));
        let status = entry
            .status
            .as_deref()
            .map(str::trim)
            .ok_or_else(|| {
                place.error(None, "Ntry/Sts", "the entry has no status (Sts or Sts/Cd)")
            })?
            .to_owned();
        let booking_date = place.date(&entry)?;
        let count = entry.details.len().max(1);
        // With several NtryDtls, each batch states its own count: only the sum is checked.
        if let (Some(stated), false, 1) = (
            &entry.batch_transactions,
            entry.details.is_empty(),
            entry.detail_groups,
        ) {
            let stated = stated.trim();
            if stated != count.to_string() {
                return Err(place.error(
                    None,
                    "Ntry/NtryDtls/Btch/NbOfTxs",
                    format!("says {stated} transactions, the entry has {count} TxDtls"),
                ));
            }
        }
        let mut amounts = Vec::with_capacity(count);
        for i in 0..count {
            let detail = entry.details.get(i).unwrap_or(&EMPTY);
            let transaction = Some(i as u64 + 1);
            let given = detail.amount().or_else(|| detail.transaction_amount());
            let (value, ccy) = match given {
                Some(given) => place.amount(Some(&given), "TxDtls/Amt", transaction)?,
                None if count == 1 => (amount, currency.clone()),
                None => {
                    return Err(place.error(
                        transaction,
                        "TxDtls/Amt",
                        "a detail of a batch has no amount (Amt or AmtDtls/TxAmt/Amt)",
                    ));
                }
            };
            if ccy != currency {
                return Err(place.error(
                    transaction,
                    "TxDtls/Amt/@Ccy",
                    format!("{ccy}, but the entry's amount is in {currency}"),
                ));
            }
            let sign = match detail.credit_debit() {
                Some(indicator) => place.sign(Some(indicator), "TxDtls/CdtDbtInd", transaction)?,
                None => sign,
            };
            amounts.push(value * sign);
        }
        let sum: Decimal = amounts.iter().sum();
        if sum != entry_amount {
            return Ok(Err(NotTaken {
                reason: Reason::DetailsDoNotAddUp {
                    entry: entry_amount,
                    details: sum,
                },
                position: Position::Camt {
                    entry: entry.number,
                    transaction: 0,
                },
                transaction: None,
            }));
        }
        Ok(Ok(Current {
            entry,
            amount: entry_amount,
            currency,
            amounts,
            status,
            reversal,
            booking_date,
            next: 0,
        }))
    }

    /// The item of the current entry's detail `index`.
    fn item(&mut self, current: &Current, index: usize) -> Item {
        let detail = current.detail(index);
        let signed = current.amounts[index];
        let position = Position::Camt {
            entry: current.entry.number,
            transaction: index as u64 + 1,
        };
        let reference = reference(detail);
        let mut warnings = Vec::new();
        if let Some(r) = &reference
            && r.kind == ReferenceKind::Kid
            && !kid::is_valid(&r.value)
        {
            warnings.push(Warning::KidCheckDigit);
        }
        let credit = Credit {
            reference,
            amount: signed,
            currency: current.currency.clone(),
            booking_date: current.booking_date,
            bank_reference: trimmed(detail.bank_reference())
                .or_else(|| trimmed(current.entry.bank_reference.as_deref())),
            payer: trimmed(detail.debtor_name()),
            text: trimmed(detail.unstructured()),
            position,
            source_payment_id: self.source_id(current, index),
            warnings,
        };
        let reason = if current.reversal {
            Some(Reason::Reversal)
        } else if signed < Decimal::ZERO {
            Some(Reason::Debit)
        } else if current.status != "BOOK" {
            Some(Reason::NotBooked(current.status.clone()))
        } else if credit.reference.is_none() {
            Some(Reason::NoReference)
        } else {
            None
        };
        Item::new(credit, reason)
    }

    /// The payment id (see the crate docs): from the detail's `AcctSvcrRef`, else a digest
    /// of the identifying fields as read (amounts and dates normalised, so that every schema
    /// version of the same entry gives the same id).
    fn source_id(&mut self, current: &Current, index: usize) -> String {
        let account = current.account();
        let detail = current.detail(index);
        if let Some(reference) = trimmed(detail.bank_reference()) {
            let key = short(source_id::fingerprint(&[account, &reference]));
            let seen = self.references.entry(key).or_insert(0);
            *seen += 1;
            return source_id::camt_bank_reference(account, &reference, *seen);
        }
        let text = |v: Option<&str>| v.map(str::trim).unwrap_or("").to_owned();
        let day = |v: Option<&str>| text(v).chars().take(10).collect::<String>();
        let entry = &current.entry;
        let fields = [
            account.to_owned(),
            format!("{} {}", current.amount.normalize(), current.currency),
            text(entry.bank_reference.as_deref()),
            day(entry.booking_date.as_deref()),
            day(entry.value_date.as_deref()),
            index.to_string(),
            current.amounts[index].normalize().to_string(),
            text(detail.end_to_end_id()),
            text(detail.creditor_reference()),
            text(detail.debtor_name()),
            text(detail.unstructured()),
        ];
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        let digest = source_id::fingerprint(&fields);
        let seen = self.fingerprints.entry(short(digest)).or_insert(0);
        *seen += 1;
        source_id::camt_digest(account, &digest, *seen)
    }
}

fn short(digest: [u8; 32]) -> [u8; 16] {
    let mut out = [0; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

fn trimmed(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The reference of a detail: `RmtInf/Strd/CdtrRefInf/Ref`, a KID when typed `SCOR` (an RF
/// reference when also issued by `ISO`, or written `RF` and two check digits).
fn reference(detail: &TxDetail) -> Option<Reference> {
    let value = trimmed(detail.creditor_reference())?;
    let code = trimmed(detail.reference_code());
    let issuer = trimmed(detail.reference_issuer());
    let looks_rf = value.len() > 4
        && value[..2].eq_ignore_ascii_case("RF")
        && value.as_bytes()[2..4].iter().all(u8::is_ascii_digit);
    let kind = if issuer.as_deref() == Some("ISO") || looks_rf {
        ReferenceKind::Rf
    } else if code.as_deref() == Some("SCOR") {
        ReferenceKind::Kid
    } else {
        ReferenceKind::Other(
            code.or_else(|| trimmed(detail.reference_proprietary()))
                .unwrap_or_default(),
        )
    };
    Some(Reference { kind, value })
}

impl<R: BufRead> Iterator for CamtReader<R> {
    type Item = Result<Item, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(current) = self.current.take()
                && current.next < current.amounts.len()
            {
                let item = self.item(&current, current.next);
                self.current = Some(Current {
                    next: current.next + 1,
                    ..current
                });
                return Some(Ok(item));
            }
            if self.done {
                return None;
            }
            let checked = match self.entries.next() {
                None => {
                    self.done = true;
                    return None;
                }
                Some(Ok(entry)) => Self::entry(entry),
                Some(Err(e)) => Err(e),
            };
            match checked {
                Ok(Ok(current)) => self.current = Some(current),
                Ok(Err(refused)) => return Some(Ok(Item::NotTaken(refused))),
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

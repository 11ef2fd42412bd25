//! Reading camt: entries one at a time (the record layer) and the credit view.

use std::collections::HashMap;
use std::io::BufRead;
use std::str::FromStr;

use amili_payments::Currency;
use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::amount::Amount;
use super::detail::{EMPTY, TxDetail};
use super::entry::{Entry, read_entry};
use super::xml::{Event, XmlError, XmlReader};
use crate::credit::{Credit, Item, NotTaken, Position, Reason, Reference, ReferenceKind, Warning};
use crate::error::Error;
use crate::{kid, source_id};

/// The record layer: every `Ntry` of a camt.053 or camt.054 file, in order, one at a time.
pub struct CamtEntries<R> {
    xml: XmlReader<R>,
    entries: u64,
    account: Option<String>,
    root_checked: bool,
    failed: bool,
}

impl<R: BufRead> CamtEntries<R> {
    /// Reads entries from `reader` (UTF-8 XML).
    pub fn new(reader: R) -> Self {
        CamtEntries {
            xml: XmlReader::new(reader),
            entries: 0,
            account: None,
            root_checked: false,
            failed: false,
        }
    }

    fn error(&self, e: XmlError, entry: Option<u64>) -> Error {
        Error::Camt {
            entry,
            transaction: None,
            path: e.path,
            message: e.message,
        }
    }

    fn next_entry(&mut self) -> Result<Option<Entry>, Error> {
        let mut text = String::new();
        loop {
            let event = self.xml.next().map_err(|e| self.error(e, None))?;
            match event {
                Event::Start { name, .. } => {
                    text.clear();
                    let depth = self.xml.path().len();
                    if depth == 2 && !self.root_checked {
                        self.check_root()?;
                    }
                    if matches!(name.as_str(), "Stmt" | "Ntfctn" | "Rpt") {
                        self.account = None;
                    }
                    if name == "Ntry" && self.in_report(depth - 1) {
                        self.entries += 1;
                        let entry = Entry {
                            number: self.entries,
                            offset: self.xml.offset(),
                            account: self.account.clone(),
                            ..Entry::default()
                        };
                        let number = self.entries;
                        let entry =
                            read_entry(&mut self.xml, entry).map_err(|(e, transaction)| {
                                Error::Camt {
                                    entry: Some(number),
                                    transaction,
                                    path: e.path,
                                    message: e.message,
                                }
                            })?;
                        return Ok(Some(entry));
                    }
                }
                Event::Text(piece) => {
                    if text.len() < 256 {
                        text.push_str(&piece);
                    }
                }
                Event::End => {
                    self.account_id(&text);
                    text.clear();
                }
                Event::Eof => {
                    if !self.root_checked {
                        return Err(Error::Camt {
                            entry: None,
                            transaction: None,
                            path: "(document)".into(),
                            message: "no camt.053 or camt.054 message in the document".into(),
                        });
                    }
                    return Ok(None);
                }
            }
        }
    }

    /// The document must be `Document/BkToCstmrStmt` (camt.053) or
    /// `Document/BkToCstmrDbtCdtNtfctn` (camt.054).
    fn check_root(&mut self) -> Result<(), Error> {
        let path = self.xml.path();
        let ok = path[0] == "Document"
            && matches!(path[1].as_str(), "BkToCstmrStmt" | "BkToCstmrDbtCdtNtfctn");
        if !ok {
            return Err(Error::Camt {
                entry: None,
                transaction: None,
                path: self.xml.path_text(),
                message: "not a camt.053 (Document/BkToCstmrStmt) or camt.054 \
                          (Document/BkToCstmrDbtCdtNtfctn) document"
                    .into(),
            });
        }
        self.root_checked = true;
        Ok(())
    }

    /// Whether the element at `depth` (1-based) is a statement or notification.
    fn in_report(&self, depth: usize) -> bool {
        depth >= 1
            && self
                .xml
                .path()
                .get(depth - 1)
                .is_some_and(|p| matches!(p.as_str(), "Stmt" | "Ntfctn"))
    }

    /// Notes the account of the statement (`Acct/Id/IBAN` or `Acct/Id/Othr/Id`) as its
    /// element ends (the path still holds the ending element).
    fn account_id(&mut self, text: &str) {
        let path = self.xml.path();
        let tail: Vec<&str> = path
            .iter()
            .rev()
            .take(5)
            .rev()
            .map(String::as_str)
            .collect();
        if matches!(
            tail.as_slice(),
            [.., "Stmt" | "Ntfctn", "Acct", "Id", "IBAN"]
                | ["Stmt" | "Ntfctn", "Acct", "Id", "Othr", "Id"]
        ) {
            self.account = Some(text.trim().to_owned());
        }
    }
}

impl<R: BufRead> Iterator for CamtEntries<R> {
    type Item = Result<Entry, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.next_entry() {
            Ok(Some(entry)) => Some(Ok(entry)),
            Ok(None) => {
                self.failed = true;
                None
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

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

/// The entry being read, to name it in errors.
struct Place {
    entry: u64,
}

impl Place {
    fn error(&self, transaction: Option<u64>, path: &str, message: impl Into<String>) -> Error {
        Error::Camt {
            entry: Some(self.entry),
            transaction,
            path: path.to_owned(),
            message: message.into(),
        }
    }

    /// An exact amount: digits with at most the currency's minor units of decimals.
    fn amount(
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

    fn sign(
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
    fn date(&self, entry: &Entry) -> Result<NaiveDate, Error> {
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

//! The record layer of camt: each entry (`Ntry`) and its transaction details (`TxDtls`)
//! exactly as the file says them (text untrimmed), with their place in the file.

use std::io::BufRead;

use super::amount::Amount;
use super::detail::{Field, TxDetail};
use super::xml::{Event, MAX_TEXT_CHARS, XmlError, XmlReader};

/// The most transaction details one entry may have.
pub const MAX_DETAILS: usize = 1_000_000;

/// One `Ntry` as the file says it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Entry {
    /// The 1-based number of the entry in the file.
    pub number: u64,
    /// The byte offset of its `<Ntry>` tag's end in the file.
    pub offset: u64,
    /// The account of the statement or notification it is in: `Acct/Id/IBAN`, else
    /// `Acct/Id/Othr/Id`.
    pub account: Option<String>,
    /// `Amt` and its `Ccy`.
    pub amount: Option<Amount>,
    /// `CdtDbtInd`: `CRDT` or `DBIT`.
    pub credit_debit: Option<String>,
    /// `RvslInd`.
    pub reversal: Option<String>,
    /// `Sts` (.02–.07) or `Sts/Cd` or `Sts/Prtry` (.08 and later).
    pub status: Option<String>,
    /// `BookgDt/Dt` or `BookgDt/DtTm`.
    pub booking_date: Option<String>,
    /// `ValDt/Dt` or `ValDt/DtTm`.
    pub value_date: Option<String>,
    /// The entry's `AcctSvcrRef` (may repeat across entries at some banks).
    pub bank_reference: Option<String>,
    /// `NtryRef` (unique only within one notification).
    pub entry_reference: Option<String>,
    /// `NtryDtls/Btch/NbOfTxs` (of the last `NtryDtls` when the entry has several).
    pub batch_transactions: Option<String>,
    /// How many `NtryDtls` the entry has (.02 to .07 allow several, each a batch).
    pub detail_groups: u32,
    /// `AddtlNtryInf`.
    pub additional_info: Option<String>,
    /// The `NtryDtls/TxDtls`, in order.
    pub details: Vec<TxDetail>,
}

/// Reads the rest of an entry whose `<Ntry>` was just read, until its `</Ntry>`.
///
/// # Errors
///
/// The XML problem, and the 1-based number of the transaction detail it is in, if any.
pub(crate) fn read_entry<R: BufRead>(
    xml: &mut XmlReader<R>,
    mut entry: Entry,
) -> Result<Entry, (XmlError, Option<u64>)> {
    let base = xml.path().len();
    match read_entry_into(xml, &mut entry, base) {
        Ok(()) => Ok(entry),
        Err(e) => {
            let in_detail = xml
                .path()
                .get(base..base + 2)
                .is_some_and(|p| p == ["NtryDtls", "TxDtls"]);
            Err((e, in_detail.then_some(entry.details.len() as u64)))
        }
    }
}

fn read_entry_into<R: BufRead>(
    xml: &mut XmlReader<R>,
    entry: &mut Entry,
    base: usize,
) -> Result<(), XmlError> {
    let mut text = String::new();
    let mut ccy: Option<String> = None;
    loop {
        match xml.next()? {
            Event::Start { name, ccy: c } => {
                text.clear();
                ccy = c;
                if name == "NtryDtls" && relative(xml, base) == ["NtryDtls"] {
                    entry.detail_groups += 1;
                }
                if name == "TxDtls" && relative(xml, base) == ["NtryDtls", "TxDtls"] {
                    if entry.details.len() >= MAX_DETAILS {
                        return Err(xml.error(format!(
                            "more than {MAX_DETAILS} transaction details in one entry; refused"
                        )));
                    }
                    if let Some(last) = entry.details.last_mut() {
                        last.finish();
                    }
                    entry.details.push(TxDetail::default());
                }
            }
            Event::Text(piece) => {
                if text.len() + piece.len() > MAX_TEXT_CHARS {
                    return Err(xml.error(format!(
                        "more than {MAX_TEXT_CHARS} bytes of text in one element; refused"
                    )));
                }
                text.push_str(&piece);
            }
            Event::End => {
                if xml.path().len() == base {
                    if let Some(last) = entry.details.last_mut() {
                        last.finish();
                    }
                    return Ok(());
                }
                let path: Vec<&str> = relative(xml, base).iter().map(String::as_str).collect();
                let value = std::mem::take(&mut text);
                let amount = || Amount {
                    value: value.clone(),
                    currency: ccy.clone().unwrap_or_default(),
                };
                set_entry_field(entry, &path, &value, ccy.as_deref(), amount)
                    .map_err(|message| xml.error(message))?;
            }
            Event::Eof => return Err(xml.error("the document ends inside an entry")),
        }
    }
}

fn relative<R: BufRead>(xml: &XmlReader<R>, base: usize) -> &[String] {
    &xml.path()[base..]
}

fn set_entry_field(
    entry: &mut Entry,
    path: &[&str],
    value: &str,
    ccy: Option<&str>,
    amount: impl Fn() -> Amount,
) -> Result<(), String> {
    let owned = || Some(value.to_owned());
    match path {
        ["Amt"] => entry.amount = Some(amount()),
        ["CdtDbtInd"] => entry.credit_debit = owned(),
        ["RvslInd"] => entry.reversal = owned(),
        ["Sts"] | ["Sts", "Cd" | "Prtry"] if !value.trim().is_empty() => {
            entry.status = owned();
        }
        ["BookgDt", "Dt" | "DtTm"] => entry.booking_date = owned(),
        ["ValDt", "Dt" | "DtTm"] => entry.value_date = owned(),
        ["AcctSvcrRef"] => entry.bank_reference = owned(),
        ["NtryRef"] => entry.entry_reference = owned(),
        ["NtryDtls", "Btch", "NbOfTxs"] => entry.batch_transactions = owned(),
        ["AddtlNtryInf"] => entry.additional_info = owned(),
        ["NtryDtls", "TxDtls", rest @ ..] => {
            if let Some(detail) = entry.details.last_mut() {
                set_detail_field(detail, rest, value, ccy)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn set_detail_field(
    detail: &mut TxDetail,
    path: &[&str],
    value: &str,
    ccy: Option<&str>,
) -> Result<(), String> {
    let (field, ccy_field) = match path {
        ["Refs", "AcctSvcrRef"] => (Field::BankReference, None),
        ["Refs", "EndToEndId"] => (Field::EndToEndId, None),
        ["Amt"] => (Field::Amount, Some(Field::AmountCcy)),
        ["AmtDtls", "TxAmt", "Amt"] => {
            (Field::TransactionAmount, Some(Field::TransactionAmountCcy))
        }
        ["CdtDbtInd"] => (Field::CreditDebit, None),
        // The first structured creditor reference only.
        ["RmtInf", "Strd", "CdtrRefInf", rest @ ..] if detail.creditor_reference().is_none() => {
            match rest {
                ["Ref"] => (Field::CreditorReference, None),
                ["Tp", "CdOrPrtry", "Cd"] => (Field::ReferenceCode, None),
                ["Tp", "CdOrPrtry", "Prtry"] => (Field::ReferenceProprietary, None),
                ["Tp", "Issr"] => (Field::ReferenceIssuer, None),
                _ => return Ok(()),
            }
        }
        ["RmtInf", "Ustrd"] => (Field::Unstructured, None),
        ["RltdPties", "Dbtr", "Nm"] | ["RltdPties", "Dbtr", "Pty", "Nm"] => {
            (Field::DebtorName, None)
        }
        ["AddtlTxInf"] => (Field::AdditionalInfo, None),
        _ => return Ok(()),
    };
    detail.set(field, value)?;
    if let Some(ccy_field) = ccy_field {
        detail.set(ccy_field, ccy.unwrap_or(""))?;
    }
    Ok(())
}

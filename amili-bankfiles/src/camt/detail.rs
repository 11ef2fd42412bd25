//! One transaction detail (`NtryDtls/TxDtls`) as the file says it, stored compactly: a
//! batch entry may hold 100,000 of them, and the whole entry is kept until its details are
//! known to add up, so each detail keeps its text in one buffer with a span per field.

use std::fmt;

use super::amount::Amount;

/// The most bytes of text one detail may keep.
pub const MAX_DETAIL_BYTES: usize = 4 << 20;

/// The fields a detail keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    BankReference,
    EndToEndId,
    Amount,
    AmountCcy,
    TransactionAmount,
    TransactionAmountCcy,
    CreditDebit,
    CreditorReference,
    ReferenceCode,
    ReferenceProprietary,
    ReferenceIssuer,
    Unstructured,
    DebtorName,
    AdditionalInfo,
}

const FIELDS: usize = 14;
/// A field not in the file.
const ABSENT: (u32, u32) = (u32::MAX, 0);

/// One `NtryDtls/TxDtls`, each field exactly as the file writes it (untrimmed).
#[derive(Clone, PartialEq, Eq)]
pub struct TxDetail {
    text: String,
    spans: [(u32, u32); FIELDS],
}

/// A detail with no field (an entry without `TxDtls` reads as one).
pub(crate) static EMPTY: TxDetail = TxDetail {
    text: String::new(),
    spans: [ABSENT; FIELDS],
};

impl Default for TxDetail {
    fn default() -> Self {
        EMPTY.clone()
    }
}

impl TxDetail {
    /// Sets `field`; for `RmtInf/Ustrd`, which may repeat, adds to it after a space.
    pub(crate) fn set(&mut self, field: Field, value: &str) -> Result<(), String> {
        let last_end = self.text.len();
        let (start, len) = match (field, self.get(field)) {
            (Field::Unstructured, Some(before)) => {
                let (start, len) = self.spans[field as usize];
                if (start + len) as usize == last_end {
                    // The last field written: grow it in place.
                    (start as usize, len as usize + 1 + value.len())
                } else {
                    let before = before.to_owned();
                    self.push(&before)?;
                    (last_end, before.len() + 1 + value.len())
                }
            }
            _ => (last_end, value.len()),
        };
        if start != last_end || field == Field::Unstructured && len != value.len() {
            self.push(" ")?;
        }
        self.push(value)?;
        self.spans[field as usize] = (start as u32, len as u32);
        Ok(())
    }

    fn push(&mut self, value: &str) -> Result<(), String> {
        if self.text.len() + value.len() > MAX_DETAIL_BYTES {
            return Err(format!(
                "more than {MAX_DETAIL_BYTES} bytes of text in one transaction detail; refused"
            ));
        }
        self.text.push_str(value);
        Ok(())
    }

    /// Frees the buffer's spare room once the detail is read.
    pub(crate) fn finish(&mut self) {
        self.text.shrink_to_fit();
    }

    pub(crate) fn get(&self, field: Field) -> Option<&str> {
        let (start, len) = self.spans[field as usize];
        if start == u32::MAX {
            return None;
        }
        self.text.get(start as usize..(start + len) as usize)
    }

    fn amount_of(&self, value: Field, ccy: Field) -> Option<Amount> {
        Some(Amount {
            value: self.get(value)?.to_owned(),
            currency: self.get(ccy).unwrap_or("").to_owned(),
        })
    }

    /// `Refs/AcctSvcrRef`: the bank's reference for the transaction.
    pub fn bank_reference(&self) -> Option<&str> {
        self.get(Field::BankReference)
    }

    /// `Refs/EndToEndId` (often `NOTPROVIDED`).
    pub fn end_to_end_id(&self) -> Option<&str> {
        self.get(Field::EndToEndId)
    }

    /// `Amt` (.08 and later).
    pub fn amount(&self) -> Option<Amount> {
        self.amount_of(Field::Amount, Field::AmountCcy)
    }

    /// `AmtDtls/TxAmt/Amt`.
    pub fn transaction_amount(&self) -> Option<Amount> {
        self.amount_of(Field::TransactionAmount, Field::TransactionAmountCcy)
    }

    /// `CdtDbtInd` (.08 and later).
    pub fn credit_debit(&self) -> Option<&str> {
        self.get(Field::CreditDebit)
    }

    /// The first `RmtInf/Strd/CdtrRefInf/Ref`.
    pub fn creditor_reference(&self) -> Option<&str> {
        self.get(Field::CreditorReference)
    }

    /// Its `Tp/CdOrPrtry/Cd` (`SCOR`).
    pub fn reference_code(&self) -> Option<&str> {
        self.get(Field::ReferenceCode)
    }

    /// Its `Tp/CdOrPrtry/Prtry`.
    pub fn reference_proprietary(&self) -> Option<&str> {
        self.get(Field::ReferenceProprietary)
    }

    /// Its `Tp/Issr` (`ISO` for RF references).
    pub fn reference_issuer(&self) -> Option<&str> {
        self.get(Field::ReferenceIssuer)
    }

    /// Every `RmtInf/Ustrd`, joined by a space.
    pub fn unstructured(&self) -> Option<&str> {
        self.get(Field::Unstructured)
    }

    /// `RltdPties/Dbtr/Nm` (.02) or `RltdPties/Dbtr/Pty/Nm` (.08 and later).
    pub fn debtor_name(&self) -> Option<&str> {
        self.get(Field::DebtorName)
    }

    /// `AddtlTxInf`.
    pub fn additional_info(&self) -> Option<&str> {
        self.get(Field::AdditionalInfo)
    }
}

impl fmt::Debug for TxDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TxDetail")
            .field("bank_reference", &self.bank_reference())
            .field("end_to_end_id", &self.end_to_end_id())
            .field("amount", &self.amount())
            .field("transaction_amount", &self.transaction_amount())
            .field("credit_debit", &self.credit_debit())
            .field("creditor_reference", &self.creditor_reference())
            .field("reference_code", &self.reference_code())
            .field("reference_issuer", &self.reference_issuer())
            .field("unstructured", &self.unstructured())
            .field("debtor_name", &self.debtor_name())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_repeated_unstructured_text() {
        let mut d = TxDetail::default();
        d.set(Field::BankReference, "REF 1").unwrap();
        d.set(Field::Unstructured, "Faktura").unwrap();
        d.set(Field::Unstructured, "1001").unwrap();
        assert_eq!(d.unstructured(), Some("Faktura 1001"));
        d.set(Field::DebtorName, "Ola").unwrap();
        d.set(Field::Unstructured, "mars").unwrap();
        assert_eq!(d.unstructured(), Some("Faktura 1001 mars"));
        assert_eq!(d.bank_reference(), Some("REF 1"));
        assert_eq!(d.debtor_name(), Some("Ola"));
        assert_eq!(d.end_to_end_id(), None);
        d.set(Field::BankReference, "REF 2").unwrap();
        assert_eq!(d.bank_reference(), Some("REF 2"));
    }

    #[test]
    fn a_detail_keeps_at_most_its_limit() {
        let mut d = TxDetail::default();
        let chunk = "x".repeat(1 << 20);
        let mut result = Ok(());
        for _ in 0..8 {
            result = d.set(Field::Unstructured, &chunk);
            if result.is_err() {
                break;
            }
        }
        assert!(result.is_err());
    }
}

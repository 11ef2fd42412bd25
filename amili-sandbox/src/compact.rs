//! Every payment the sandbox received, stored once and compactly.
//!
//! A payment is one record in a byte arena: its organization, invoice, `type` and `currency`
//! as indexes into small interning tables, then `uniqueSourcePaymentId`, `description`, the
//! amount's JSON text and the `date`, each length-prefixed (LEB128). A date that chrono writes
//! back exactly (`2025-03-03T09:12:44Z`, the form clients serialize) is kept as 8 bytes of
//! nanoseconds instead of its text. Batches, the ledger and the duplicate index refer to
//! payments by their [`PaymentIndex`]; batch items and [`crate::BookedPayment`]s are built from
//! a [`StoredPayment`] when they are read. About 80 bytes a payment instead of about 1 KB as
//! JSON values, so an in-process sandbox can take a million-row file.

use std::borrow::{Borrow, Cow};
use std::collections::HashMap;
use std::hash::Hash;
use std::ops::Range;

use chrono::{DateTime, SecondsFormat, Utc};
use uuid::Uuid;

use crate::rules::IncomingPayment;

/// A payment's place in the [`PaymentStore`] (0, 1, … in arrival order).
pub(crate) type PaymentIndex = u32;

/// One stored payment, borrowed from the store. The fields hold exactly what was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredPayment<'a> {
    pub(crate) organization_id: Uuid,
    pub(crate) invoice_id: Uuid,
    pub(crate) payment_type: &'a str,
    /// The JSON number's text (`serde_json::Number`'s `Display`).
    pub(crate) amount: &'a str,
    pub(crate) currency: &'a str,
    pub(crate) date: Cow<'a, str>,
    pub(crate) description: &'a str,
    pub(crate) unique_source_payment_id: &'a str,
}

/// The store holds 4 GiB of payment records or 2^32 payments at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StoreFull;

/// Distinct values, each numbered once.
#[derive(Debug)]
struct Interner<T> {
    values: Vec<T>,
    numbers: HashMap<T, u32>,
}

impl<T> Default for Interner<T> {
    fn default() -> Self {
        Self {
            values: Vec::new(),
            numbers: HashMap::new(),
        }
    }
}

impl<T: Hash + Eq + Clone> Interner<T> {
    fn number<Q>(&mut self, value: &Q, owned: impl FnOnce(&Q) -> T) -> Result<u32, StoreFull>
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if let Some(&number) = self.numbers.get(value) {
            return Ok(number);
        }
        let number = u32::try_from(self.values.len()).map_err(|_| StoreFull)?;
        let value = owned(value);
        self.values.push(value.clone());
        self.numbers.insert(value, number);
        Ok(number)
    }

    fn get(&self, number: u64) -> Option<&T> {
        self.values.get(usize::try_from(number).ok()?)
    }
}

/// The arena of payment records.
#[derive(Debug, Default)]
pub(crate) struct PaymentStore {
    bytes: Vec<u8>,
    /// How many payments are stored.
    len: PaymentIndex,
    /// Where the record of every [`STRIDE`]th payment (0, `STRIDE`, 2·`STRIDE`, …) starts in
    /// `bytes`.
    starts: Vec<u32>,
    uuids: Interner<Uuid>,
    words: Interner<Box<str>>,
}

/// The first byte of a date kept as nanoseconds; a date kept as text starts with its length
/// plus one.
const DATE_AS_NANOS: u64 = 0;

/// Every how many payments a record's start is kept: a payment is read from the kept start
/// before it, skipping at most `STRIDE - 1` records (a quarter of a byte a payment instead of
/// four).
const STRIDE: PaymentIndex = 16;

impl PaymentStore {
    /// Stores the payments of one batch of `organization_id`, in order; nothing is stored when
    /// the store is full.
    pub(crate) fn push_all(
        &mut self,
        organization_id: Uuid,
        payments: &[IncomingPayment],
    ) -> Result<Range<PaymentIndex>, StoreFull> {
        let (bytes, starts, first) = (self.bytes.len(), self.starts.len(), self.len);
        for payment in payments {
            if let Err(full) = self.push(organization_id, payment) {
                self.bytes.truncate(bytes);
                self.starts.truncate(starts);
                self.len = first;
                return Err(full);
            }
        }
        Ok(first..self.len)
    }

    fn push(&mut self, organization_id: Uuid, payment: &IncomingPayment) -> Result<(), StoreFull> {
        let start = u32::try_from(self.bytes.len()).map_err(|_| StoreFull)?;
        let len = self.len.checked_add(1).ok_or(StoreFull)?;
        let numbers = [
            self.uuids.number(&organization_id, |u| *u)?,
            self.uuids.number(&payment.invoice_id, |u| *u)?,
            self.words
                .number(payment.payment_type.as_str(), |w| Box::from(w))?,
            self.words
                .number(payment.currency.as_str(), |w| Box::from(w))?,
        ];
        for number in numbers {
            write_varint(&mut self.bytes, u64::from(number));
        }
        write_text(&mut self.bytes, &payment.unique_source_payment_id);
        write_text(&mut self.bytes, &payment.description);
        write_text(&mut self.bytes, &payment.amount.to_string());
        match date_as_nanos(&payment.date) {
            Some(nanos) => {
                write_varint(&mut self.bytes, DATE_AS_NANOS);
                self.bytes.extend_from_slice(&nanos.to_le_bytes());
            }
            None => {
                let len = u64::try_from(payment.date.len()).unwrap_or(u64::MAX);
                write_varint(&mut self.bytes, len.saturating_add(1));
                self.bytes.extend_from_slice(payment.date.as_bytes());
            }
        }
        if self.len.is_multiple_of(STRIDE) {
            self.starts.push(start);
        }
        self.len = len;
        Ok(())
    }

    /// The payment at `index`.
    pub(crate) fn get(&self, index: PaymentIndex) -> Option<StoredPayment<'_>> {
        if index >= self.len {
            return None;
        }
        let start = *self.starts.get(usize::try_from(index / STRIDE).ok()?)?;
        let mut reader = Reader {
            bytes: &self.bytes,
            at: usize::try_from(start).ok()?,
        };
        for _ in 0..index % STRIDE {
            reader.skip_record()?;
        }
        let organization_id = *self.uuids.get(reader.varint()?)?;
        let invoice_id = *self.uuids.get(reader.varint()?)?;
        let payment_type = self.words.get(reader.varint()?)?;
        let currency = self.words.get(reader.varint()?)?;
        let unique_source_payment_id = reader.text()?;
        let description = reader.text()?;
        let amount = reader.text()?;
        let date = match reader.varint()? {
            DATE_AS_NANOS => {
                let nanos = i64::from_le_bytes(reader.take(8)?.try_into().ok()?);
                Cow::Owned(
                    DateTime::from_timestamp_nanos(nanos)
                        .to_rfc3339_opts(SecondsFormat::AutoSi, true),
                )
            }
            len_plus_one => {
                let len = usize::try_from(len_plus_one - 1).ok()?;
                Cow::Borrowed(std::str::from_utf8(reader.take(len)?).ok()?)
            }
        };
        Some(StoredPayment {
            organization_id,
            invoice_id,
            payment_type,
            amount,
            currency,
            date,
            description,
            unique_source_payment_id,
        })
    }
}

/// The date's instant in nanoseconds when writing that instant back (RFC 3339, UTC as `Z`,
/// as many fractional digits as needed) gives the same text.
fn date_as_nanos(text: &str) -> Option<i64> {
    let date = DateTime::parse_from_rfc3339(text).ok()?.with_timezone(&Utc);
    let nanos = date.timestamp_nanos_opt()?;
    (date.to_rfc3339_opts(SecondsFormat::AutoSi, true) == text).then_some(nanos)
}

fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        // The low 7 bits, with the continuation bit: the cast keeps exactly those bits.
        out.push((value & 0x7f) as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn write_text(out: &mut Vec<u8>, text: &str) {
    write_varint(out, u64::try_from(text.len()).unwrap_or(u64::MAX));
    out.extend_from_slice(text.as_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(len)?;
        let slice = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(slice)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.take(1)?.first()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Some(value);
            }
        }
        None
    }

    fn text(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.text_bytes()?).ok()
    }

    fn text_bytes(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.varint()?).ok()?;
        self.take(len)
    }

    /// Moves past one record (as [`PaymentStore::push`] writes it) without decoding it.
    fn skip_record(&mut self) -> Option<()> {
        for _ in 0..4 {
            self.varint()?;
        }
        for _ in 0..3 {
            self.text_bytes()?;
        }
        let date_len = match self.varint()? {
            DATE_AS_NANOS => 8,
            len_plus_one => usize::try_from(len_plus_one - 1).ok()?,
        };
        self.take(date_len)?;
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// The payment as JSON, with the amount as the number it was.
    fn as_json(payment: &StoredPayment<'_>) -> Value {
        json!({
            "invoiceId": payment.invoice_id,
            "type": payment.payment_type,
            "amount": serde_json::from_str::<Value>(payment.amount).unwrap_or(Value::Null),
            "currency": payment.currency,
            "date": payment.date,
            "description": payment.description,
            "uniqueSourcePaymentId": payment.unique_source_payment_id,
        })
    }

    #[test]
    fn a_stored_payment_reads_back_as_the_json_it_came_from() {
        let long = "å".repeat(300);
        let sent = [
            json!({"invoiceId": "4f163819-178d-470c-a246-d6768476a6ec", "type": "DIRECT_PAYMENT",
                   "amount": 4500.5, "currency": "NOK", "date": "2025-03-03T09:12:44Z",
                   "description": "Innbetaling nettbank KID 0012345678",
                   "uniqueSourcePaymentId": "NO-INNB-2025-000101"}),
            // Dates chrono would write otherwise stay text; others come back from nanoseconds.
            json!({"invoiceId": "de300000-0000-4000-8000-000000000001", "type": "OTHER",
                   "amount": 100, "currency": "JPY", "date": "2025-03-03T09:12:44+01:00",
                   "description": long, "uniqueSourcePaymentId": ""}),
            json!({"invoiceId": "de300000-0000-4000-8000-000000000001", "type": "DIRECT_PAYMENT",
                   "amount": 1e300, "currency": "x", "date": "2025-03-03T09:12:44.123Z",
                   "description": "", "uniqueSourcePaymentId": "p-3"}),
            json!({"invoiceId": "de300000-0000-4000-8000-000000000002", "type": "DIRECT_PAYMENT",
                   "amount": -1, "currency": "NOK", "date": "2025-03-03T09:12:44.000Z",
                   "description": "x", "uniqueSourcePaymentId": "p-4"}),
            json!({"invoiceId": "de300000-0000-4000-8000-000000000002", "type": "DIRECT_PAYMENT",
                   "amount": 18446744073709551615_u64, "currency": "NOK",
                   "date": "not a date", "description": "x", "uniqueSourcePaymentId": "p-5"}),
            json!({"invoiceId": "de300000-0000-4000-8000-000000000002", "type": "DIRECT_PAYMENT",
                   "amount": 0.1, "currency": "NOK", "date": "1969-12-31T23:59:59.999999999Z",
                   "description": "x", "uniqueSourcePaymentId": "p-6"}),
        ];
        let incoming: Vec<IncomingPayment> = sent
            .iter()
            .map(|v| serde_json::from_value(v.clone()))
            .collect::<Result<_, _>>()
            .unwrap();
        let mut store = PaymentStore::default();
        let org = Uuid::from_u128(7);
        assert_eq!(store.push_all(org, &incoming[..2]), Ok(0..2));
        assert_eq!(store.push_all(Uuid::from_u128(8), &incoming[2..]), Ok(2..6));
        for (index, (json, payment)) in sent.iter().zip(&incoming).enumerate() {
            let stored = store.get(u32::try_from(index).unwrap()).unwrap();
            assert_eq!(&as_json(&stored), json, "payment {index}");
            assert_eq!(stored.amount, payment.amount.to_string(), "payment {index}");
            let expected_org = if index < 2 { org } else { Uuid::from_u128(8) };
            assert_eq!(stored.organization_id, expected_org);
        }
        assert_eq!(store.get(6), None);
        assert!(matches!(store.get(0).unwrap().date, Cow::Owned(_)));
        assert!(matches!(store.get(1).unwrap().date, Cow::Borrowed(_)));

        // Past the first kept start: every payment reads back from the start before it.
        for _ in 0..7 {
            let end = store.push_all(org, &incoming).unwrap().end;
            assert_eq!(store.get(end - 1).unwrap().unique_source_payment_id, "p-6");
        }
        for index in 0..48u32 {
            let stored = store.get(index).unwrap();
            assert_eq!(
                &as_json(&stored),
                &sent[index as usize % 6],
                "payment {index}"
            );
        }
        assert_eq!(store.get(48), None);
        assert_eq!(store.get(u32::MAX), None);
    }

    #[test]
    fn varints_round_trip() {
        for value in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut bytes = Vec::new();
            write_varint(&mut bytes, value);
            let mut reader = Reader {
                bytes: &bytes,
                at: 0,
            };
            assert_eq!(reader.varint(), Some(value));
            assert_eq!(reader.at, bytes.len());
        }
        let mut reader = Reader {
            bytes: &[0x80],
            at: 0,
        };
        assert_eq!(reader.varint(), None);
    }
}

//! Every payment the sandbox received, stored once and compactly (domain floor).
//!
//! A payment is one record in a byte arena: its organization, invoice, `type` and `currency`
//! as indexes into small interning tables, then `uniqueSourcePaymentId` and `description`,
//! each as the length of the prefix it shares with the record before's plus the rest (the
//! first record of every group of [`STRIDE`] is whole), the amount's JSON text and the `date`,
//! lengths and numbers as LEB128. A date that chrono writes back exactly
//! (`2025-03-03T09:12:44Z`, the form clients serialize) is kept as 8 bytes of nanoseconds
//! instead of its text. Only every [`STRIDE`]th record's start is kept; a payment is read
//! from there. Batches, the ledger and the duplicate index refer to payments by their
//! [`PaymentIndex`]; batch items and [`crate::BookedPayment`]s are built from a
//! [`StoredPayment`] when they are read. About 30 bytes a payment with sequential ids and
//! similar descriptions (80 without shared prefixes) instead of about 1 KB as JSON values, so
//! an in-process sandbox can take a million-row file.

use std::borrow::{Borrow, Cow};
use std::collections::HashMap;
use std::hash::Hash;
use std::ops::Range;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use uuid::Uuid;

/// One payment of a `CreatePayments` body, after schema validation (stored compactly by
/// [`PaymentStore`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IncomingPayment {
    pub(crate) invoice_id: Uuid,
    #[serde(rename = "type")]
    pub(crate) payment_type: String,
    pub(crate) amount: serde_json::Number,
    pub(crate) currency: String,
    pub(crate) date: String,
    pub(crate) description: String,
    pub(crate) unique_source_payment_id: String,
}

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
    pub(crate) description: String,
    pub(crate) unique_source_payment_id: String,
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
    /// The last payment's texts, which the next record's texts are written against.
    last: Texts,
}

/// The texts a record writes as their difference from the record before it in its group
/// of [`STRIDE`].
#[derive(Debug, Default, Clone)]
struct Texts {
    unique_source_payment_id: String,
    description: String,
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
        let last = self.last.clone();
        for payment in payments {
            if let Err(full) = self.push(organization_id, payment) {
                self.bytes.truncate(bytes);
                self.starts.truncate(starts);
                self.len = first;
                self.last = last;
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
        // A group's first record is written whole: it is where reading starts.
        if self.len.is_multiple_of(STRIDE) {
            self.last = Texts::default();
        }
        write_shared(
            &mut self.bytes,
            &mut self.last.unique_source_payment_id,
            &payment.unique_source_payment_id,
        );
        write_shared(
            &mut self.bytes,
            &mut self.last.description,
            &payment.description,
        );
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
        let mut texts = Texts::default();
        for _ in 0..index % STRIDE {
            reader.record(&mut texts)?;
        }
        let record = reader.record(&mut texts)?;
        let [organization, invoice, payment_type, currency] = record.numbers;
        let date = match record.date {
            StoredDate::Nanos(nanos) => Cow::Owned(
                DateTime::from_timestamp_nanos(nanos).to_rfc3339_opts(SecondsFormat::AutoSi, true),
            ),
            StoredDate::Text(text) => Cow::Borrowed(text),
        };
        Some(StoredPayment {
            organization_id: *self.uuids.get(organization)?,
            invoice_id: *self.uuids.get(invoice)?,
            payment_type: self.words.get(payment_type)?,
            amount: record.amount,
            currency: self.words.get(currency)?,
            date,
            description: texts.description,
            unique_source_payment_id: texts.unique_source_payment_id,
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

/// Writes `text` as the length of the prefix it shares with `last` and the rest, then makes
/// it the new `last`.
fn write_shared(out: &mut Vec<u8>, last: &mut String, text: &str) {
    let shared = last
        .char_indices()
        .zip(text.chars())
        .find(|((_, a), b)| a != b)
        .map_or(last.len().min(text.len()), |((at, _), _)| at);
    write_varint(out, u64::try_from(shared).unwrap_or(u64::MAX));
    let rest = text.get(shared..).unwrap_or_default();
    write_text(out, rest);
    last.truncate(shared);
    last.push_str(rest);
}

fn write_text(out: &mut Vec<u8>, text: &str) {
    write_varint(out, u64::try_from(text.len()).unwrap_or(u64::MAX));
    out.extend_from_slice(text.as_bytes());
}

/// A record's fields that borrow from the arena.
struct Record<'a> {
    /// Organization, invoice, `type` and `currency`, as interned.
    numbers: [u64; 4],
    amount: &'a str,
    date: StoredDate<'a>,
}

enum StoredDate<'a> {
    Nanos(i64),
    Text(&'a str),
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
        let len = usize::try_from(self.varint()?).ok()?;
        std::str::from_utf8(self.take(len)?).ok()
    }

    /// Reads one record (as [`PaymentStore::push`] writes it); `texts` go from the record
    /// before's to this one's.
    fn record(&mut self, texts: &mut Texts) -> Option<Record<'a>> {
        let mut numbers = [0; 4];
        for number in &mut numbers {
            *number = self.varint()?;
        }
        self.shared(&mut texts.unique_source_payment_id)?;
        self.shared(&mut texts.description)?;
        let amount = self.text()?;
        let date = match self.varint()? {
            DATE_AS_NANOS => StoredDate::Nanos(i64::from_le_bytes(self.take(8)?.try_into().ok()?)),
            len_plus_one => {
                let len = usize::try_from(len_plus_one - 1).ok()?;
                StoredDate::Text(std::str::from_utf8(self.take(len)?).ok()?)
            }
        };
        Some(Record {
            numbers,
            amount,
            date,
        })
    }

    /// Turns `last` into the text [`write_shared`] wrote after it.
    fn shared(&mut self, last: &mut String) -> Option<()> {
        let shared = usize::try_from(self.varint()?).ok()?;
        if !last.is_char_boundary(shared) {
            return None;
        }
        last.truncate(shared);
        last.push_str(self.text()?);
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
    fn texts_shared_with_the_record_before_read_back_whole() {
        let ids = [
            "NO-INNB-2025-000101",
            "NO-INNB-2025-000102",
            "NO-INNB",
            "",
            "NO-å",
            "NO-ø",
        ];
        let descriptions = ["KID 0012", "KID 0013", "KID 00130", "KID 0", "åøæ", "åøx"];
        let incoming: Vec<IncomingPayment> = (0..40)
            .map(|i| {
                serde_json::from_value(json!({
                    "invoiceId": "4f163819-178d-470c-a246-d6768476a6ec", "type": "DIRECT_PAYMENT",
                    "amount": 1, "currency": "NOK", "date": "2025-03-03T09:12:44Z",
                    "description": descriptions[i % 6], "uniqueSourcePaymentId": ids[i % 6]}))
                .unwrap()
            })
            .collect();
        let mut store = PaymentStore::default();
        assert_eq!(store.push_all(Uuid::nil(), &incoming[..7]), Ok(0..7));
        assert_eq!(store.push_all(Uuid::nil(), &incoming[7..]), Ok(7..40));
        for (index, payment) in (0u32..).zip(&incoming) {
            let stored = store.get(index).unwrap();
            assert_eq!(
                stored.unique_source_payment_id,
                payment.unique_source_payment_id
            );
            assert_eq!(stored.description, payment.description);
        }
        // Sequential ids and descriptions take a few bytes each after the first.
        let mut similar = PaymentStore::default();
        let batch: Vec<IncomingPayment> = (0..16)
            .map(|i| {
                let mut p = incoming[0].clone();
                p.unique_source_payment_id = format!("NO-INNB-2025-{i:06}");
                p.description = format!("Innbetaling nettbank KID {i:010}");
                p
            })
            .collect();
        similar.push_all(Uuid::nil(), &batch).unwrap();
        let whole = 4 + 20 + 36 + 2 + 9;
        assert!(
            similar.bytes.len() < whole + 15 * (whole - 40),
            "{}",
            similar.bytes.len()
        );
        assert_eq!(
            similar.get(15).unwrap().unique_source_payment_id,
            "NO-INNB-2025-000015"
        );
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

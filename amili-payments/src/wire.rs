//! Items written straight into a request body's bytes.
//!
//! The pipeline serializes every item once, into the request's buffer. Going through
//! `serde_json` and the items' [`Serialize`](serde::Serialize) impls cost about 4,000
//! instructions a payment, a quarter of it re-parsing the exact amount (`serde_json` can only
//! take a number's digits verbatim as a `RawValue`, which it parses again). This module writes
//! the same bytes directly, field by field (each item's `write_json`; the exact amount through
//! `amili_api::Amount::write_json`, whose digits its `Serialize` uses too). The `Serialize`
//! impls stay for callers, and the tests check that both write the same thing byte for byte
//! (the ledger's fingerprints are digests of these bytes, so they must not change with the
//! path).

use bytes::Bytes;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::money_fields::Money;

/// Appends `text`: the punctuation and field names between values (`{"invoiceId":`,
/// `,"type":`, `}`), written as literals so each is a few stores.
#[inline]
pub(crate) fn raw(out: &mut Vec<u8>, text: &'static str) {
    out.extend_from_slice(text.as_bytes());
}

/// A UUID as a JSON string, hyphenated and lower case.
pub(crate) fn uuid(out: &mut Vec<u8>, value: Uuid) {
    let mut buffer = Uuid::encode_buffer();
    out.push(b'"');
    out.extend_from_slice(value.hyphenated().encode_lower(&mut buffer).as_bytes());
    out.push(b'"');
}

/// A date as a JSON string (RFC 3339 in UTC, see `wire_date.rs`).
pub(crate) fn date(out: &mut Vec<u8>, value: &DateTime<Utc>) {
    crate::wire_date::write_quoted(value, out);
}

/// The fields payments and corrections share, in their order:
/// `,"amount":…,"currency":…,"date":…,"description":…`.
pub(crate) fn money(out: &mut Vec<u8>, money: &Money<'_>) {
    raw(out, ",\"amount\":");
    amili_api::Amount::from(money.amount).write_json(out);
    raw(out, ",\"currency\":");
    string(out, money.currency.code());
    raw(out, ",\"date\":");
    date(out, money.date);
    raw(out, ",\"description\":");
    string(out, money.description);
}

/// A JSON string: copied as it is when nothing in it needs escaping (the common case),
/// else escaped by `serde_json`.
pub(crate) fn string(out: &mut Vec<u8>, value: &str) {
    // A fold without an early exit, so the check runs on many bytes at once.
    let escapes = value.bytes().fold(false, |any, b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if !escapes {
        out.reserve(value.len() + 2);
        out.push(b'"');
        out.extend_from_slice(value.as_bytes());
        out.push(b'"');
        return;
    }
    // Writing into a Vec cannot fail, and a `str` always serializes.
    let _ = serde::Serializer::serialize_str(&mut serde_json::Serializer::new(out), value);
}

/// `{"<field>":[…]}` (`payments`, `corrections`) from serialized items.
pub(crate) fn request_body<'a>(
    field: &str,
    items: impl Iterator<Item = &'a [u8]> + Clone,
) -> Bytes {
    let size: usize = items.clone().map(|b| b.len() + 1).sum::<usize>() + field.len() + 8;
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(b"{\"");
    out.extend_from_slice(field.as_bytes());
    out.extend_from_slice(b"\":[");
    for (n, json) in items.enumerate() {
        if n > 0 {
            out.push(b',');
        }
        out.extend_from_slice(json);
    }
    out.extend_from_slice(b"]}");
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

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
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let mut next = numbers();
        let alphabet = [
            'a', 'Z', ' ', '"', '\\', '\n', '\t', '\u{1}', '\u{1f}', 'ø', '€', '😀', '/',
        ];
        let mut samples: Vec<String> = vec![String::new(), "KID 123".into()];
        for _ in 0..5_000 {
            let len = (next() % 12) as usize;
            samples.push(
                (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect(),
            );
        }
        for sample in samples {
            let mut out = Vec::new();
            string(&mut out, &sample);
            let serde = serde_json::to_vec(&sample).unwrap_or_default();
            assert_eq!(out, serde, "{sample:?}");
        }
    }

    #[test]
    fn items_are_written_as_their_serialize_impls_write_them() {
        use crate::submittable::sealed::Kind;
        use crate::{Correction, Payment};

        let mut next = numbers();
        let texts = [
            "",
            "KID 0012345",
            "Bank \"giro\" \\ ø€😀",
            "line\nbreak\t\u{7}",
        ];
        let currencies = ["NOK", "SEK", "EUR", "JPY", "KWD"];
        let (mut payments, mut corrections) = (0, 0);
        for i in 0..2_000_u64 {
            let invoice = Uuid::from_u128(u128::from(next()) << 64 | u128::from(next()));
            let currency = currencies[(next() % 5) as usize];
            let minor = match currency {
                "JPY" => 0,
                "KWD" => 3,
                _ => 2,
            };
            let amount = Decimal::new((next() % 10_000_000) as i64 + 1, minor);
            let date = DateTime::from_timestamp(1_600_000_000 + (next() % 100_000_000) as i64, 0)
                .unwrap_or_default()
                - chrono::Duration::nanoseconds((next() % 3) as i64 * 500_000_000);
            let text = texts[(i % 4) as usize];
            let check = |serde: Result<Vec<u8>, serde_json::Error>, direct: Vec<u8>| {
                assert_eq!(
                    String::from_utf8_lossy(&direct),
                    String::from_utf8_lossy(&serde.unwrap_or_default())
                );
            };
            if let Ok(payment) = Payment::builder()
                .invoice_id(invoice)
                .payment_type(if i % 7 == 0 {
                    "CARD".into()
                } else {
                    amili_api::PaymentType::DirectPayment
                })
                .amount(amount)
                .currency(currency)
                .date(date)
                .description(text)
                .unique_source_payment_id(format!("{text}-{i}"))
                .build()
            {
                let mut direct = Vec::new();
                payment.write_json(&mut direct);
                check(serde_json::to_vec(&payment), direct);
                payments += 1;
            }
            if let Ok(correction) = Correction::builder()
                .invoice_id(invoice)
                .amount(if i % 2 == 0 { -amount } else { amount })
                .currency(currency)
                .date(date)
                .description(text)
                .build()
            {
                let mut direct = Vec::new();
                correction.write_json(&mut direct);
                check(serde_json::to_vec(&correction), direct);
                corrections += 1;
            }
        }
        // Most of the generated items are valid: the comparison ran on them.
        assert!(
            payments > 1_000 && corrections > 1_000,
            "{payments} {corrections}"
        );
    }
}

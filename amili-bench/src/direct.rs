//! Contender (1w)'s serializer: request bodies written straight into bytes, field by field,
//! with no `serde` and no `core::fmt` on the common path — about the least work any client
//! handed typed payments must do per payment. Byte for byte what `serde_json` writes for the
//! generated types (tested).

use amili_api::types::Payment as WirePayment;
use chrono::{Datelike as _, Timelike as _};

/// Appends `{"payments":[…]}` for `payments`.
pub fn write_body(payments: &[WirePayment], out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"payments\":[");
    for (n, payment) in payments.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        write_payment(payment, out);
    }
    out.extend_from_slice(b"]}");
}

fn write_payment(p: &WirePayment, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"amount\":");
    p.amount.write_json(out);
    out.extend_from_slice(b",\"currency\":");
    string(&p.currency.0, out);
    out.extend_from_slice(b",\"date\":\"");
    date(&p.date, out);
    out.extend_from_slice(b"\",\"description\":");
    string(&p.description, out);
    out.extend_from_slice(b",\"invoiceId\":\"");
    out.extend_from_slice(
        p.invoice_id
            .hyphenated()
            .encode_lower(&mut uuid::Uuid::encode_buffer())
            .as_bytes(),
    );
    out.extend_from_slice(b"\",\"type\":");
    string(p.type_.as_str(), out);
    out.extend_from_slice(b",\"uniqueSourcePaymentId\":");
    string(&p.unique_source_payment_id, out);
    out.push(b'}');
}

/// A JSON string: copied when nothing needs escaping, else escaped by `serde_json`.
fn string(value: &str, out: &mut Vec<u8>) {
    if value.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, value);
        return;
    }
    out.push(b'"');
    out.extend_from_slice(value.as_bytes());
    out.push(b'"');
}

/// RFC 3339 in UTC as chrono's `Serialize` writes it (`2025-02-01T00:15:00Z`); whole seconds
/// by hand, a fraction through chrono.
fn date(value: &chrono::DateTime<chrono::Utc>, out: &mut Vec<u8>) {
    let year = value.year();
    if value.nanosecond() != 0 || !(0..=9999).contains(&year) {
        let text = value.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
        out.extend_from_slice(text.as_bytes());
        return;
    }
    let two = |n: u32, out: &mut Vec<u8>| {
        out.extend_from_slice(&[b'0' + (n / 10) as u8, b'0' + (n % 10) as u8])
    };
    let year = year as u32;
    two(year / 100, out);
    two(year % 100, out);
    out.push(b'-');
    two(value.month(), out);
    out.push(b'-');
    two(value.day(), out);
    out.push(b'T');
    two(value.hour(), out);
    out.push(b':');
    two(value.minute(), out);
    out.push(b':');
    two(value.second(), out);
    out.push(b'Z');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_what_serde_json_writes() {
        let mut payments = crate::data::wire_payments(2_000);
        payments[7].description = "a \"quoted\"\n\\ description".to_owned();
        payments[8].date += chrono::TimeDelta::milliseconds(250);
        for chunk in payments.chunks(500) {
            let mut direct = Vec::new();
            write_body(chunk, &mut direct);
            #[derive(serde::Serialize)]
            struct Body<'a> {
                payments: &'a [WirePayment],
            }
            let serde = serde_json::to_vec(&Body { payments: chunk }).unwrap_or_default();
            assert_eq!(
                String::from_utf8_lossy(&direct),
                String::from_utf8_lossy(&serde)
            );
        }
    }
}

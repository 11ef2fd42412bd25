//! The benchmark's payments: one deterministic generator and the shapes each contender starts
//! from (pre-built JSON bodies, generated `amili-api` requests, validated `amili-payments`
//! values, a CSV file). Payment `i` is the same in every shape.

use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::Path;

use amili_api::types::{CreatePaymentsRequest, Currency, Payment as WirePayment};
use amili_api::{Amount, PaymentType};
use anyhow::Context as _;
use bytes::Bytes;
use chrono::{DateTime, TimeDelta, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

/// The CSV header the `amili` CLI reads (the API's field names).
pub const CSV_HEADER: &str =
    "invoiceId,type,amount,currency,date,description,uniqueSourcePaymentId";

/// The invoices the payments are for; the sandbox is started with these seeded.
/// The embedded sandbox (`amili payments submit --sandbox`) knows these without seeding.
pub const INVOICES: [Uuid; amili_sandbox::DEMO_INVOICES.len()] = amili_sandbox::DEMO_INVOICES;

/// 2025-02-01T00:15:00Z: every date is in February 2025, so none is in the future.
const FIRST_DATE_UNIX: i64 = 1_738_368_900;

/// The fields of payment number `i`, borrowed by every shape below.
struct Fields {
    invoice_id: Uuid,
    /// Amount in øre (the amount is `minor / 100` NOK).
    minor: i64,
    date: DateTime<Utc>,
    description: String,
    id: String,
}

fn fields(i: u64) -> Fields {
    // `i % 10` and `i % 672` fit any integer type; the casts cannot truncate.
    let invoice_id = INVOICES[(i % INVOICES.len() as u64) as usize];
    let kroner = 100 + (i * 7919) % 50_000;
    let ore = (i * 31) % 100;
    let hours = (i % (28 * 24)) as i64;
    Fields {
        invoice_id,
        minor: (kroner * 100 + ore) as i64,
        date: DateTime::UNIX_EPOCH + TimeDelta::seconds(FIRST_DATE_UNIX + hours * 3600),
        description: format!("Innbetaling nettbank KID {:010}", 1_000_000_000 + i),
        id: format!("BENCH-{i:08}"),
    }
}

/// `n` payments as the generated wire type (`amili_api::types::Payment`).
pub fn wire_payments(n: u64) -> Vec<WirePayment> {
    (0..n)
        .map(|i| {
            let f = fields(i);
            WirePayment {
                amount: Amount::from(Decimal::new(f.minor, 2)),
                currency: Currency("NOK".to_owned()),
                date: f.date,
                description: f.description,
                invoice_id: f.invoice_id,
                type_: PaymentType::DirectPayment,
                unique_source_payment_id: f.id,
            }
        })
        .collect()
}

/// One pre-built request body of the raw baseline and how many payments it carries.
#[derive(Debug, Clone)]
pub struct RawBody {
    /// `{"payments":[…]}` as sent.
    pub bytes: Bytes,
    /// Payments in it.
    pub payments: u64,
}

/// The payments cut into requests of at most `chunk`, each serialized once with `serde_json`
/// (the same bytes the generated client would send).
pub fn raw_bodies(payments: &[WirePayment], chunk: usize) -> anyhow::Result<Vec<RawBody>> {
    payments
        .chunks(chunk.max(1))
        .map(|chunk| {
            #[derive(serde::Serialize)]
            struct Body<'a> {
                payments: &'a [WirePayment],
            }
            let bytes = serde_json::to_vec(&Body { payments: chunk })
                .context("serializing a request body")?;
            Ok(RawBody {
                bytes: Bytes::from(bytes),
                payments: chunk.len() as u64,
            })
        })
        .collect()
}

/// The payments cut into generated `CreatePaymentsRequest`s of at most `chunk`.
pub fn api_requests(payments: &[WirePayment], chunk: usize) -> Vec<CreatePaymentsRequest> {
    payments
        .chunks(chunk.max(1))
        .map(|chunk| CreatePaymentsRequest {
            payments: chunk.to_vec(),
        })
        .collect()
}

/// The payments as validated `amili_payments::Payment`s (validation happens here, before the
/// clock starts).
pub fn library_payments(payments: &[WirePayment]) -> anyhow::Result<Vec<amili_payments::Payment>> {
    payments
        .iter()
        .map(|p| {
            amili_payments::Payment::builder()
                .invoice_id(p.invoice_id)
                .payment_type(amili_payments::PaymentType::DirectPayment)
                .amount(p.amount.value())
                .currency(amili_payments::Currency::NOK)
                .date(p.date)
                .description(p.description.clone())
                .unique_source_payment_id(p.unique_source_payment_id.clone())
                .build()
                .map_err(|e| anyhow::anyhow!("benchmark payment is invalid: {e}"))
        })
        .collect()
}

/// Writes `rows` payments as a CSV file with [`CSV_HEADER`] (the format of
/// `examples/payments.csv`).
pub fn write_csv(path: &Path, rows: u64) -> anyhow::Result<()> {
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    writeln!(out, "{CSV_HEADER}")?;
    for i in 0..rows {
        let f = fields(i);
        writeln!(
            out,
            "{},DIRECT_PAYMENT,{}.{:02},NOK,{},{},{}",
            f.invoice_id,
            f.minor / 100,
            f.minor % 100,
            f.date.format("%Y-%m-%dT%H:%M:%SZ"),
            f.description,
            f.id,
        )?;
    }
    out.flush()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shapes_agree() -> anyhow::Result<()> {
        let wire = wire_payments(3);
        let bodies = raw_bodies(&wire, 2)?;
        assert_eq!(bodies.len(), 2);
        assert_eq!(bodies[1].payments, 1);
        let text = std::str::from_utf8(&bodies[0].bytes)?;
        assert!(text.starts_with(
            r#"{"payments":[{"amount":100,"currency":"NOK","date":"2025-02-01T00:15:00Z""#
        ));
        assert!(
            text.contains(r#""type":"DIRECT_PAYMENT","uniqueSourcePaymentId":"BENCH-00000000"}"#)
        );
        assert_eq!(library_payments(&wire)?.len(), 3);
        let dir = tempfile::tempdir()?;
        let csv = dir.path().join("p.csv");
        write_csv(&csv, 2)?;
        let text = std::fs::read_to_string(csv)?;
        assert_eq!(
            text.lines().nth(2),
            Some(
                "de300000-0000-4000-8000-000000000001,DIRECT_PAYMENT,8019.31,NOK,2025-02-01T01:15:00Z,Innbetaling nettbank KID 1000000001,BENCH-00000001"
            )
        );
        Ok(())
    }
}

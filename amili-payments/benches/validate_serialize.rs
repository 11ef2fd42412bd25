//! Validate + serialize 10,000 payments, side by side with serializing the same data as the
//! generated `amili-api` types without validation.
//!
//! `cargo bench -p amili-payments --bench validate_serialize`

use std::hint::black_box;
use std::str::FromStr;
use std::time::Duration;

use amili_api::types::{CreatePaymentsRequest, Currency as WireCurrency, Payment as WirePayment};
use amili_payments::validation::validate_all;
use amili_payments::{Payment, PaymentInput};
use chrono::{DateTime, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

const N: usize = 10_000;

/// One row of already-typed data, as a caller's ERP would hold it.
struct Row {
    invoice_id: Uuid,
    amount: Decimal,
    currency: &'static str,
    date: DateTime<Utc>,
    description: String,
    source_id: String,
}

fn rows() -> Vec<Row> {
    let date = DateTime::parse_from_rfc3339("2025-03-09T14:30:00.123Z")
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_default();
    (0..N)
        .map(|i| Row {
            invoice_id: Uuid::from_u128(0x4f163819_178d_470c_a246_d6768476a6ec + i as u128),
            amount: Decimal::new(100_000 + (i as i64) * 37, 2),
            currency: "NOK",
            date,
            description: format!("Bank transfer, KID {:010}", i * 7919),
            source_id: format!("ERP-2025-{i:06}"),
        })
        .collect()
}

#[derive(Serialize)]
struct Body<'a> {
    payments: &'a [Payment],
}

fn typed(c: &mut Criterion) {
    let rows = rows();
    let mut group = c.benchmark_group("10k payments from typed values");
    group.throughput(Throughput::Elements(N as u64));

    group.bench_function("amili-api types, no validation", |b| {
        b.iter(|| {
            let payments: Vec<WirePayment> = rows
                .iter()
                .map(|r| WirePayment {
                    amount: r.amount.into(),
                    currency: WireCurrency(r.currency.to_owned()),
                    date: r.date,
                    description: r.description.clone(),
                    invoice_id: r.invoice_id,
                    type_: amili_api::PaymentType::DirectPayment,
                    unique_source_payment_id: r.source_id.clone(),
                })
                .collect();
            let body = CreatePaymentsRequest { payments };
            black_box(
                serde_json::to_vec(&body)
                    .map(|v| v.len())
                    .unwrap_or_default(),
            )
        })
    });

    group.bench_function("amili-payments, validated", |b| {
        b.iter(|| {
            let mut payments: Vec<Payment> = Vec::with_capacity(rows.len());
            for r in &rows {
                let payment = Payment::builder()
                    .invoice_id(r.invoice_id)
                    .amount(r.amount)
                    .currency(r.currency)
                    .date(r.date)
                    .description(r.description.clone())
                    .unique_source_payment_id(r.source_id.clone())
                    .build();
                if let Ok(payment) = payment {
                    payments.push(payment);
                }
            }
            assert_eq!(payments.len(), N);
            let body = Body {
                payments: &payments,
            };
            black_box(
                serde_json::to_vec(&body)
                    .map(|v| v.len())
                    .unwrap_or_default(),
            )
        })
    });
    group.finish();
}

fn from_json(c: &mut Criterion) {
    let rows = rows();
    let json = serde_json::to_vec(
        &rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "invoiceId": r.invoice_id,
                    "type": "DIRECT_PAYMENT",
                    "amount": f64::from_str(&r.amount.to_string()).unwrap_or_default(),
                    "currency": r.currency,
                    "date": r.date,
                    "description": r.description,
                    "uniqueSourcePaymentId": r.source_id,
                })
            })
            .collect::<Vec<_>>(),
    )
    .unwrap_or_default();
    let mut group = c.benchmark_group("10k payments from JSON");
    group.throughput(Throughput::Elements(N as u64));

    group.bench_function("amili-api types, no validation", |b| {
        b.iter(|| {
            let payments: Vec<WirePayment> = serde_json::from_slice(&json).unwrap_or_default();
            let body = CreatePaymentsRequest { payments };
            black_box(
                serde_json::to_vec(&body)
                    .map(|v| v.len())
                    .unwrap_or_default(),
            )
        })
    });

    group.bench_function("amili-payments, validated", |b| {
        b.iter(|| {
            let inputs: Vec<PaymentInput> = serde_json::from_slice(&json).unwrap_or_default();
            let payments = validate_all(inputs).unwrap_or_default();
            assert_eq!(payments.len(), N);
            let body = Body {
                payments: &payments,
            };
            black_box(
                serde_json::to_vec(&body)
                    .map(|v| v.len())
                    .unwrap_or_default(),
            )
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8));
    targets = typed, from_json
}
criterion_main!(benches);

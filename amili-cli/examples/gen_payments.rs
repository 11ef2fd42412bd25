//! Writes a CSV of N valid payments (for the benchmark) to stdout.
//!
//! ```text
//! cargo run --release -p amili-cli --example gen_payments -- 1000000 > /tmp/1m.csv
//! ```
//!
//! Rows cycle through the sandbox's demo invoices, so a default sandbox books them all;
//! every `uniqueSourcePaymentId` is unique.

use std::io::{BufWriter, Write};

fn main() -> std::io::Result<()> {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000);
    let invoices = amili_sandbox::DEMO_INVOICES;
    let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    writeln!(
        out,
        "invoiceId,type,amount,currency,date,description,uniqueSourcePaymentId"
    )?;
    for i in 0..n {
        let invoice = invoices[(i % invoices.len() as u64) as usize];
        let kroner = 100 + (i * 7919) % 50_000;
        let ore = (i * 31) % 100;
        let day = 1 + i % 28;
        let hour = i % 24;
        writeln!(
            out,
            "{invoice},DIRECT_PAYMENT,{kroner}.{ore:02},NOK,2025-02-{day:02}T{hour:02}:15:00Z,\
             Innbetaling nettbank KID {kid:010},BENCH-{i:08}",
            kid = 1_000_000_000 + i
        )?;
    }
    out.flush()
}

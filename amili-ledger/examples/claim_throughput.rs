//! How long the SQLite ledger takes to claim and record payments, 500 per request, one
//! request after another (the ledger's own cost, without a server):
//!
//! ```sh
//! cargo run --release -p amili-ledger --example claim_throughput -- [DIR] [PAYMENTS]
//! ```
//!
//! `DIR` (default: a fresh temporary folder) holds the database; on `/dev/shm` the `fsync`s
//! cost nothing and only SQLite's own work shows.

use std::time::{Duration, Instant};

use amili_ledger::SqliteLedger;
use amili_payments::ledger::conformance::items;
use amili_payments::ledger::{Ledger, Settled};
use amili_payments::{IdempotencyKey, Uuid};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let temporary = tempfile::tempdir()?;
    let dir = args
        .next()
        .map_or_else(|| temporary.path().to_path_buf(), Into::into);
    let payments: usize = args.next().map_or(Ok(300_000), |n| n.parse())?;
    let path = dir.join(format!("claim-throughput-{}.db", Uuid::new_v4()));
    let ledger = SqliteLedger::open(&path, "https://api.example org 1")?;
    let ids: Vec<String> = (0..payments).map(|i| format!("BENCH-{i:08}")).collect();
    let fingerprint = [7u8; 32];
    let (mut claiming, mut recording) = (Duration::ZERO, Duration::ZERO);
    for chunk in ids.chunks(500) {
        let key = IdempotencyKey::random();
        let items = items(chunk, &fingerprint);
        let started = Instant::now();
        ledger.claim(&key, &items).await?;
        claiming += started.elapsed();
        let started = Instant::now();
        let batch_id = Uuid::new_v4();
        ledger.record(&key, &Settled::Accepted { batch_id }).await?;
        recording += started.elapsed();
    }
    println!(
        "{payments} payments: claiming {:.3} s, recording {:.3} s",
        claiming.as_secs_f64(),
        recording.as_secs_f64()
    );
    drop(ledger);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let _ = std::fs::remove_dir_all(format!("{}.owners", path.display()));
    Ok(())
}

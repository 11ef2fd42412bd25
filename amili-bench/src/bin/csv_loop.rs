//! `amili-bench-csv-loop`: contender (4), the baseline of the `amili` CLI. What a competent
//! engineer would write without amili's crates: a reader thread parses the CSV with the `csv`
//! crate and writes request bodies of `--chunk-size` payments with `serde_json` (the amount is
//! checked to be a JSON number and copied as it is); `--concurrency` posts are in flight
//! through plain `reqwest`. No validation beyond that, no journal, no report. Prints
//! `sent N payments in M requests` and exits 0 when every request was answered 202.
//!
//! With `--read-first --journal DB` it is contender (4r), the same loop under the two rules of
//! the `amili` CLI that cost the most and that no faster code can remove: every row is read
//! before the first request is sent (a bad row must stop the file before anything leaves), and
//! each payment's id is committed to a SQLite file (WAL, `synchronous = FULL`: on disk) before
//! the request carrying it is sent (so a crash never sends it twice). Nothing else of the CLI:
//! no validation, no report, no lookup of earlier payments.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use amili_bench::raw::{Endpoint, RawPoster};
use anyhow::{Context as _, bail};
use bytes::Bytes;
use clap::Parser;
use tokio::sync::mpsc;
use uuid::Uuid;

/// Post the payments of a CSV file to CreatePayments with plain reqwest.
#[derive(Debug, Parser)]
#[command(name = "amili-bench-csv-loop")]
struct Args {
    /// The CSV file (header `invoiceId,type,amount,currency,date,description,uniqueSourcePaymentId`).
    file: PathBuf,
    /// The collection API base URL.
    #[arg(long)]
    api_url: String,
    /// The token endpoint.
    #[arg(long)]
    token_url: String,
    /// OAuth2 client id.
    #[arg(long)]
    client_id: String,
    /// OAuth2 client secret.
    #[arg(long)]
    client_secret: String,
    /// The organization id.
    #[arg(long)]
    organization_id: Uuid,
    /// Payments per request.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..))]
    chunk_size: u64,
    /// Requests in flight.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..))]
    concurrency: u64,
    /// Read every row before sending the first request.
    #[arg(long)]
    read_first: bool,
    /// Commit each request's payment ids to this SQLite file before sending it.
    #[arg(long, value_name = "DB")]
    journal: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok((payments, requests, journaled)) => {
            println!("sent {payments} payments in {requests} requests");
            if let Some(journaled) = journaled {
                println!("journaled {journaled} payments");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("amili-bench-csv-loop: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// One request body, the payments in it, and their ids (only with a journal).
struct Body {
    bytes: Bytes,
    count: u64,
    ids: Vec<String>,
}

/// The SQLite file of `--journal`: a row per payment, committed before its request is sent.
#[derive(Clone)]
struct Journal(Arc<Mutex<rusqlite::Connection>>);

impl Journal {
    fn open(path: &Path) -> anyhow::Result<Journal> {
        let connection = rusqlite::Connection::open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.execute_batch(
            "CREATE TABLE IF NOT EXISTS sent (id TEXT PRIMARY KEY, request TEXT NOT NULL) \
             WITHOUT ROWID",
        )?;
        Ok(Journal(Arc::new(Mutex::new(connection))))
    }

    /// The payments in it.
    fn count(&self) -> anyhow::Result<u64> {
        let connection = self
            .0
            .lock()
            .map_err(|_| anyhow::anyhow!("the journal's lock is poisoned"))?;
        let count: i64 = connection.query_row("SELECT COUNT(*) FROM sent", [], |row| row.get(0))?;
        Ok(u64::try_from(count)?)
    }

    /// Commits the ids under a new request key (one transaction: one `fsync`).
    async fn record(&self, ids: Vec<String>) -> anyhow::Result<()> {
        let journal = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut connection = journal
                .0
                .lock()
                .map_err(|_| anyhow::anyhow!("the journal's lock is poisoned"))?;
            let transaction = connection.transaction()?;
            {
                let key = Uuid::new_v4().to_string();
                let mut insert =
                    transaction.prepare_cached("INSERT INTO sent (id, request) VALUES (?1, ?2)")?;
                for id in &ids {
                    insert.execute(rusqlite::params![id, key])?;
                }
            }
            transaction.commit()?;
            anyhow::Ok(())
        })
        .await?
    }
}

/// The payments and requests sent, and with a journal the payments in it.
fn run(args: Args) -> anyhow::Result<(u64, u64, Option<u64>)> {
    let chunk = usize::try_from(args.chunk_size)?;
    let concurrency = usize::try_from(args.concurrency)?;
    let endpoint = Endpoint {
        api_url: args.api_url,
        token_url: args.token_url,
        client_id: args.client_id,
        client_secret: args.client_secret,
        organization_id: args.organization_id,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (bodies, mut received) = mpsc::channel::<Body>(2 * concurrency);
    let journal = args.journal.as_deref().map(Journal::open).transpose()?;
    let with_ids = journal.is_some();
    let file = args.file.clone();
    let reader = std::thread::Builder::new()
        .name("csv-reader".to_owned())
        .spawn(move || read_bodies(&file, chunk, with_ids, &bodies))?;
    let sent = runtime.block_on(async {
        let poster = RawPoster::connect(&endpoint).await?;
        let mut read = Vec::new();
        if args.read_first {
            while let Some(body) = received.recv().await {
                read.push(body);
            }
        }
        let mut read = read.into_iter();
        let mut in_flight = tokio::task::JoinSet::new();
        let (mut payments, mut requests) = (0, 0);
        loop {
            let next = match read.next() {
                Some(body) => Some(body),
                None => received.recv().await,
            };
            let Some(body) = next else { break };
            while in_flight.len() >= concurrency {
                if let Some(done) = in_flight.join_next().await {
                    payments += done??;
                }
            }
            let poster = poster.clone();
            let journal = journal.clone();
            in_flight.spawn(async move {
                if let Some(journal) = journal {
                    journal.record(body.ids).await?;
                }
                poster.post(body.bytes).await.map(|()| body.count)
            });
            requests += 1;
        }
        while let Some(done) = in_flight.join_next().await {
            payments += done??;
        }
        anyhow::Ok((payments, requests))
    });
    // On a failed post the channel closes and the reader stops; the post's error is the story.
    drop(received);
    let read = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the reader thread panicked"))?;
    let (payments, requests) = sent?;
    let rows = read?;
    if rows != payments {
        bail!("read {rows} rows but sent {payments} payments");
    }
    let journaled = journal.as_ref().map(Journal::count).transpose()?;
    Ok((payments, requests, journaled))
}

/// The columns of the wire fields, in the order they are written.
const FIELDS: [&str; 7] = [
    "invoiceId",
    "type",
    "amount",
    "currency",
    "date",
    "description",
    "uniqueSourcePaymentId",
];
const AMOUNT: usize = 2;

/// Reads the file and hands over bodies of at most `chunk` payments; returns the rows read.
fn read_bodies(
    path: &Path,
    chunk: usize,
    with_ids: bool,
    bodies: &mpsc::Sender<Body>,
) -> anyhow::Result<u64> {
    let mut reader = csv::ReaderBuilder::new()
        .buffer_capacity(1 << 16)
        .from_path(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let headers = reader.byte_headers()?.clone();
    let mut columns = [0usize; FIELDS.len()];
    for (column, name) in columns.iter_mut().zip(FIELDS) {
        *column = headers
            .iter()
            .position(|h| h == name.as_bytes())
            .with_context(|| format!("no column {name}"))?;
    }
    let mut record = csv::ByteRecord::new();
    let mut body: Vec<u8> = Vec::with_capacity(chunk * 320);
    let (mut in_body, mut rows) = (0u64, 0u64);
    let mut ids = Vec::new();
    let send = |body: &mut Vec<u8>, count: &mut u64, ids: &mut Vec<String>| {
        body.extend_from_slice(b"]}");
        let full = std::mem::replace(body, Vec::with_capacity(chunk * 320));
        bodies
            .blocking_send(Body {
                bytes: Bytes::from(full),
                count: *count,
                ids: std::mem::take(ids),
            })
            .map_err(|_| anyhow::anyhow!("the sender stopped"))?;
        *count = 0;
        anyhow::Ok(())
    };
    let id_column = columns[FIELDS.len() - 1];
    while reader.read_byte_record(&mut record)? {
        rows += 1;
        body.extend_from_slice(if in_body == 0 {
            b"{\"payments\":[{"
        } else {
            b",{"
        });
        for (i, (&column, name)) in columns.iter().zip(FIELDS).enumerate() {
            let value = record.get(column).unwrap_or_default();
            let value = std::str::from_utf8(value)
                .with_context(|| format!("row {rows}: {name} is not UTF-8"))?;
            if i > 0 {
                body.push(b',');
            }
            body.push(b'"');
            body.extend_from_slice(name.as_bytes());
            body.extend_from_slice(b"\":");
            if i == AMOUNT {
                if !is_json_number(value) {
                    bail!("row {rows}: amount `{value}` is not a number");
                }
                body.extend_from_slice(value.as_bytes());
            } else {
                serde_json::to_writer(&mut body, value)?;
            }
        }
        body.push(b'}');
        if with_ids {
            let id = record.get(id_column).unwrap_or_default();
            ids.push(String::from_utf8_lossy(id).into_owned());
        }
        in_body += 1;
        if in_body as usize == chunk {
            send(&mut body, &mut in_body, &mut ids)?;
        }
    }
    if in_body > 0 {
        send(&mut body, &mut in_body, &mut ids)?;
    }
    Ok(rows)
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?`: a decimal JSON number.
fn is_json_number(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match digits.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (digits, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    all_digits(whole)
        && (whole == "0" || !whole.starts_with('0'))
        && fraction.is_none_or(all_digits)
}

#[cfg(test)]
mod tests {
    use super::is_json_number;

    #[test]
    fn json_numbers() {
        for ok in ["0", "12", "4500.00", "-1.5", "0.50"] {
            assert!(is_json_number(ok), "{ok}");
        }
        for bad in ["", "01", "1.", ".5", "1e3", "abc", "1,5", "--1"] {
            assert!(!is_json_number(bad), "{bad}");
        }
    }
}

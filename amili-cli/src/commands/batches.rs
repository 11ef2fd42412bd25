//! `amili batches get|list|wait`.

use std::time::Duration;

use amili_payments::batches::{BatchFilter, BatchStatus};
use amili_payments::{IdempotencyKey, batches::Batch};
use uuid::Uuid;

use crate::args::{ConnectionArgs, OutputArgs};
use crate::config::{poller, with_client};
use crate::exit::{Exit, UsageError};
use crate::show;

#[derive(Debug, clap::Subcommand)]
pub enum BatchesCommand {
    /// Show one batch with its succeeded and failed items.
    Get {
        /// The batch id.
        #[arg(value_parser = crate::args::parse_batch_id)]
        id: uuid::Uuid,
        #[command(flatten)]
        output: OutputArgs,
        #[command(flatten)]
        connection: ConnectionArgs,
    },
    /// List the organization's batches (all pages).
    List {
        /// Only batches with this status (QUEUED, SUCCESS, PARTIAL, FAILED, …).
        #[arg(long)]
        status: Option<String>,
        /// Only the batch created with this idempotency key.
        #[arg(long)]
        idempotency_key: Option<String>,
        /// Stop after this many batches.
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        #[command(flatten)]
        output: OutputArgs,
        #[command(flatten)]
        connection: ConnectionArgs,
    },
    /// Wait until a batch is processed; exit 0 if it succeeded, 1 otherwise.
    Wait {
        /// The batch id.
        #[arg(value_parser = crate::args::parse_batch_id)]
        id: uuid::Uuid,
        /// Give up after this many seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 600)]
        wait_timeout: u64,
        #[command(flatten)]
        output: OutputArgs,
        #[command(flatten)]
        connection: ConnectionArgs,
    },
}

pub async fn run(command: BatchesCommand) -> anyhow::Result<Exit> {
    match command {
        BatchesCommand::Get {
            id,
            output,
            connection,
        } => get(id, &output, &connection).await,
        BatchesCommand::List {
            status,
            idempotency_key,
            limit,
            output,
            connection,
        } => list(status, idempotency_key, limit, &output, &connection).await,
        BatchesCommand::Wait {
            id,
            wait_timeout,
            output,
            connection,
        } => wait(id, wait_timeout, &output, &connection).await,
    }
}

async fn get(id: Uuid, output: &OutputArgs, connection: &ConnectionArgs) -> anyhow::Result<Exit> {
    let batch = with_client(connection, async |client| client.batch(id).await)
        .await?
        .map_err(|e| anyhow::anyhow!("batch {id}: {e}"))?;
    print_batch(&batch, output.json)?;
    Ok(Exit::Success)
}

async fn wait(
    id: Uuid,
    timeout: u64,
    output: &OutputArgs,
    connection: &ConnectionArgs,
) -> anyhow::Result<Exit> {
    let batch = with_client(connection, async |client| {
        poller(client, Duration::from_secs(timeout))
            .until_done(id)
            .await
    })
    .await?
    .map_err(|e| anyhow::anyhow!("batch {id}: {e}"))?;
    print_batch(&batch, output.json)?;
    Ok(if batch.status == BatchStatus::Success {
        Exit::Success
    } else {
        Exit::Failures
    })
}

async fn list(
    status: Option<String>,
    idempotency_key: Option<String>,
    limit: Option<usize>,
    output: &OutputArgs,
    connection: &ConnectionArgs,
) -> anyhow::Result<Exit> {
    let mut filter = BatchFilter::default();
    if let Some(status) = status {
        filter = filter.with_status(BatchStatus::from(status.to_ascii_uppercase()));
    }
    if let Some(key) = idempotency_key {
        let key: IdempotencyKey = key
            .parse()
            .map_err(|e| UsageError(format!("--idempotency-key: {e}")))?;
        filter = filter.with_idempotency_key(key);
    }
    let header = format!(
        "{:<36} {:<8} {:<10} {:<25} {:>9} {:>6}",
        "BATCH", "TYPE", "STATUS", "CREATED", "SUCCEEDED", "FAILED"
    );
    let result = with_client(connection, async |client| {
        show::listing(
            client.batches(filter),
            limit,
            output.json,
            &header,
            |batch: &Batch| {
                format!(
                    "{:<36} {:<8} {:<10} {:<25} {:>9} {:>6}",
                    batch.id,
                    batch.kind.as_ref().map_or("-", |k| k.as_str()),
                    batch.status.as_str(),
                    batch
                        .created_at
                        .map_or_else(|| "-".to_owned(), |t| t.to_rfc3339()),
                    batch.succeeded.len(),
                    batch.failed.len()
                )
            },
        )
        .await
    })
    .await?;
    let count = result.map_err(|e| e.context("listing batches"))?;
    if !output.json {
        eprintln!("{count} batches");
    }
    Ok(Exit::Success)
}

fn print_batch(batch: &Batch, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(batch)?);
        return Ok(());
    }
    println!("batch      {}", batch.id);
    println!("status     {}", batch.status);
    if let Some(kind) = &batch.kind {
        println!("type       {kind}");
    }
    if let Some(t) = batch.created_at {
        println!("created    {}", t.to_rfc3339());
    }
    if let Some(t) = batch.finished_at {
        println!("finished   {}", t.to_rfc3339());
    }
    println!("succeeded  {}", batch.succeeded.len());
    println!("failed     {}", batch.failed.len());
    for item in &batch.failed {
        println!(
            "  failed: {} invoice {} — {}",
            item.unique_source_payment_id().unwrap_or("-"),
            item.invoice_id()
                .map_or_else(|| "-".to_owned(), |i| i.to_string()),
            item.reason().unwrap_or("no reason given")
        );
    }
    Ok(())
}

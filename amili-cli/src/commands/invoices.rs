//! `amili invoices get|list|find`: the library's invoice look-ups (`amili_payments::invoices`).

use amili_payments::invoices::{Invoice, InvoiceFilter, InvoiceRef, InvoiceStatus, InvoiceType};
use amili_payments::validation::InputFormat;
use amili_payments::{DateTime, Utc};
use uuid::Uuid;

use crate::args::{ConnectionArgs, OutputArgs};
use crate::config::with_client;
use crate::exit::{Exit, UsageError};
use crate::show::{self, instant, or_dash};

#[derive(Debug, clap::Subcommand)]
pub enum InvoicesCommand {
    /// Show one invoice by Amili's id (exit 1 when Amili does not know it).
    Get {
        /// Amili's invoice id (what a payment's `invoiceId` names).
        #[arg(value_parser = crate::args::parse_invoice_id)]
        id: Uuid,
        #[command(flatten)]
        output: OutputArgs,
        #[command(flatten)]
        connection: ConnectionArgs,
    },
    /// List the organization's invoices, every page; filters combine.
    ///
    /// A table, one invoice per line; with --json, JSON Lines: one invoice object per line
    /// (for `jq`, `grep`, `head`).
    List(ListArgs),
    /// Find the one invoice with an invoice number or a `uniqueSourceInvoiceId` (exact
    /// matches only).
    ///
    /// Exit codes: 0 exactly one invoice matches (it is printed as by `get`); 1 none or more
    /// than one matches (stderr names the reference and every matching id), or the look-up
    /// failed; 2 usage error.
    Find {
        #[command(flatten)]
        reference: Reference,
        #[command(flatten)]
        output: OutputArgs,
        #[command(flatten)]
        connection: ConnectionArgs,
    },
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only invoices with this status (OPEN, …).
    #[arg(long, value_name = "STATUS")]
    pub status: Option<String>,
    /// Only invoices of this type (NOTICE, PAYMENT_REMINDER, …).
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: Option<String>,
    /// Only invoices with this invoice number.
    #[arg(long, value_name = "NUMBER")]
    pub invoice_number: Option<String>,
    /// Only invoices with this `uniqueSourceInvoiceId` (your own id for it).
    #[arg(long, value_name = "ID")]
    pub source_id: Option<String>,
    /// Only invoices of this debtor.
    #[arg(long, value_name = "NUMBER")]
    pub customer_number: Option<String>,
    /// Only invoices created at or after this instant: RFC 3339, or a day (`2025-03-09`,
    /// `09.03.2025`) meaning midnight in Norway.
    #[arg(long, value_name = "DATE", value_parser = parse_instant)]
    pub from: Option<DateTime<Utc>>,
    /// Only invoices created before this instant (same forms as --from).
    #[arg(long, value_name = "DATE", value_parser = parse_instant)]
    pub to: Option<DateTime<Utc>>,
    /// Stop after this many invoices.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// How `find` names the invoice: exactly one of the two.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub struct Reference {
    /// The invoice number.
    #[arg(long, value_name = "NUMBER")]
    pub number: Option<String>,
    /// The `uniqueSourceInvoiceId` (your own id for the invoice).
    #[arg(long, value_name = "ID")]
    pub source_id: Option<String>,
}

pub async fn run(command: InvoicesCommand) -> anyhow::Result<Exit> {
    match command {
        InvoicesCommand::Get {
            id,
            output,
            connection,
        } => get(id, &output, &connection).await,
        InvoicesCommand::List(args) => list(args).await,
        InvoicesCommand::Find {
            reference,
            output,
            connection,
        } => find(reference, &output, &connection).await,
    }
}

async fn get(id: Uuid, output: &OutputArgs, connection: &ConnectionArgs) -> anyhow::Result<Exit> {
    let invoice = with_client(connection, async |client| client.invoice(id).await)
        .await?
        .map_err(|e| anyhow::anyhow!("invoice {id}: {e}"))?;
    print_invoice(&invoice, output.json)?;
    Ok(Exit::Success)
}

async fn list(args: ListArgs) -> anyhow::Result<Exit> {
    if let (Some(from), Some(to)) = (args.from, args.to)
        && from > to
    {
        return Err(UsageError(format!(
            "--from {} is after --to {}",
            instant(from),
            instant(to)
        ))
        .into());
    }
    let mut filter = InvoiceFilter::default();
    filter.status = args
        .status
        .map(|s| InvoiceStatus::from(s.to_ascii_uppercase()));
    filter.kind = args.kind.map(|k| InvoiceType::from(k.to_ascii_uppercase()));
    filter.invoice_number = args.invoice_number;
    filter.unique_source_invoice_id = args.source_id;
    filter.customer_number = args.customer_number;
    filter.from = args.from;
    filter.to = args.to;
    let header = format!(
        "{:<36} {:<16} {:<20} {:<10} {:<16} {:<8} {:>14} {:<8} CREATED",
        "INVOICE", "NUMBER", "SOURCE ID", "CUSTOMER", "TYPE", "STATUS", "AMOUNT", "CURRENCY"
    );
    let result = with_client(&args.connection, async |client| {
        show::listing(
            client.invoices(filter),
            args.limit,
            args.output.json,
            &header,
            |i: &Invoice| {
                format!(
                    "{:<36} {:<16} {:<20} {:<10} {:<16} {:<8} {:>14} {:<8} {}",
                    i.id,
                    or_dash(i.invoice_number.as_ref()),
                    or_dash(i.unique_source_invoice_id.as_ref()),
                    or_dash(i.customer_number.as_ref()),
                    or_dash(i.kind.as_ref()),
                    or_dash(i.status.as_ref()),
                    or_dash(i.original_invoice_amount),
                    or_dash(i.currency.as_ref()),
                    or_dash(i.created_at.map(instant)),
                )
            },
        )
        .await
    })
    .await?;
    let count = result.map_err(|e| e.context("listing invoices"))?;
    if !args.output.json {
        eprintln!("{count} invoices");
    }
    Ok(Exit::Success)
}

async fn find(
    reference: Reference,
    output: &OutputArgs,
    connection: &ConnectionArgs,
) -> anyhow::Result<Exit> {
    let reference = match (reference.number, reference.source_id) {
        (Some(number), _) => InvoiceRef::Number(number),
        (None, Some(id)) => InvoiceRef::SourceId(id),
        // clap's group requires one of them.
        (None, None) => {
            return Err(UsageError("give --number or --source-id".to_owned()).into());
        }
    };
    // The library's resolver decides "exactly one" (and names the reference and the
    // matches when not); the invoice it found is then read whole.
    let invoice = with_client(connection, async |client| {
        let resolved = client.invoice_resolver().resolve([reference.clone()]).await;
        match resolved.into_iter().next() {
            Some(Ok(id)) => client
                .invoice(id)
                .await
                .map_err(|e| anyhow::anyhow!("{reference}: reading invoice {id}: {e}")),
            Some(Err(unresolved)) => Err(anyhow::anyhow!("{unresolved}")),
            None => Err(anyhow::anyhow!("{reference}: the look-up gave no answer")),
        }
    })
    .await??;
    print_invoice(&invoice, output.json)?;
    Ok(Exit::Success)
}

fn print_invoice(invoice: &Invoice, json: bool) -> anyhow::Result<()> {
    let amount = show::money(invoice.original_invoice_amount, invoice.currency.as_ref());
    show::record(
        invoice,
        json,
        &[
            ("invoice", Some(invoice.id.to_string())),
            ("number", invoice.invoice_number.clone()),
            ("source id", invoice.unique_source_invoice_id.clone()),
            ("customer", invoice.customer_number.clone()),
            ("type", invoice.kind.as_ref().map(ToString::to_string)),
            ("status", invoice.status.as_ref().map(ToString::to_string)),
            ("amount", amount),
            ("created", invoice.created_at.map(instant)),
        ],
        &invoice.extra,
    )
}

fn parse_instant(text: &str) -> Result<DateTime<Utc>, String> {
    InputFormat::default().date(text)
}

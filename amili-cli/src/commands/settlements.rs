//! `amili settlements list|get`: what Amili paid out (`amili_payments::settlements`), money
//! printed exactly as Amili sent it.

use std::collections::BTreeMap;

use amili_payments::settlements::Settlement;
use amili_payments::{Decimal, NaiveDate};
use futures::StreamExt as _;
use uuid::Uuid;

use crate::args::{ConnectionArgs, OutputArgs};
use crate::config::with_client;
use crate::exit::{Exit, UsageError};
use crate::show::{self, or_dash};

#[derive(Debug, clap::Subcommand)]
pub enum SettlementsCommand {
    /// List the settlements of a range of days, every page (both days included).
    ///
    /// A table, one settlement per line, and the count and the total per currency on stderr;
    /// with --json, JSON Lines: one settlement object per line (for `jq`, `grep`, `head`).
    List {
        /// The first day: `2025-03-01` or `01.03.2025`.
        #[arg(long, value_name = "DAY", value_parser = parse_day)]
        from: NaiveDate,
        /// The last day, included (same forms as --from).
        #[arg(long, value_name = "DAY", value_parser = parse_day)]
        to: NaiveDate,
        /// Stop after this many settlements.
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        #[command(flatten)]
        output: OutputArgs,
        #[command(flatten)]
        connection: ConnectionArgs,
    },
    /// Show one settlement by id (exit 1 when Amili does not know it).
    Get {
        /// The settlement id.
        #[arg(value_parser = crate::args::parse_settlement_id)]
        id: Uuid,
        #[command(flatten)]
        output: OutputArgs,
        #[command(flatten)]
        connection: ConnectionArgs,
    },
}

pub async fn run(command: SettlementsCommand) -> anyhow::Result<Exit> {
    match command {
        SettlementsCommand::List {
            from,
            to,
            limit,
            output,
            connection,
        } => list(from, to, limit, &output, &connection).await,
        SettlementsCommand::Get {
            id,
            output,
            connection,
        } => get(id, &output, &connection).await,
    }
}

async fn list(
    from: NaiveDate,
    to: NaiveDate,
    limit: Option<usize>,
    output: &OutputArgs,
    connection: &ConnectionArgs,
) -> anyhow::Result<Exit> {
    if from > to {
        return Err(UsageError(format!("--from {from} is after --to {to}")).into());
    }
    let mut totals: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut count_totals = |item: &Result<Settlement, _>| {
        if let Ok(Settlement {
            amount: Some(amount),
            currency,
            ..
        }) = item
        {
            *totals
                .entry(currency.clone().unwrap_or_else(|| "?".to_owned()))
                .or_default() += *amount;
        }
    };
    let header = format!(
        "{:<36} {:<10} {:>14} {:<8} {:<36} NUMBER",
        "SETTLEMENT", "DATE", "AMOUNT", "CURRENCY", "INVOICE"
    );
    let result = with_client(connection, async |client| {
        let stream = client.settlements(from, to).inspect(&mut count_totals);
        show::listing(stream, limit, output.json, &header, |s: &Settlement| {
            format!(
                "{:<36} {:<10} {:>14} {:<8} {:<36} {}",
                or_dash(s.id),
                or_dash(s.settlement_date),
                or_dash(s.amount),
                or_dash(s.currency.as_ref()),
                or_dash(s.invoice_id),
                or_dash(s.invoice_number.as_ref()),
            )
        })
        .await
    })
    .await?;
    let count = result.map_err(|e| e.context(format!("listing settlements {from} to {to}")))?;
    if !output.json {
        let totals: Vec<String> = totals
            .iter()
            .map(|(currency, total)| format!("{currency} {total}"))
            .collect();
        if totals.is_empty() {
            eprintln!("{count} settlements");
        } else {
            eprintln!("{count} settlements, total {}", totals.join(", "));
        }
    }
    Ok(Exit::Success)
}

async fn get(id: Uuid, output: &OutputArgs, connection: &ConnectionArgs) -> anyhow::Result<Exit> {
    let s = with_client(connection, async |client| client.settlement(id).await)
        .await?
        .map_err(|e| anyhow::anyhow!("settlement {id}: {e}"))?;
    let amount = show::money(s.amount, s.currency.as_ref());
    show::record(
        &s,
        output.json,
        &[
            ("settlement", s.id.map(|i| i.to_string())),
            ("date", s.settlement_date.map(|d| d.to_string())),
            ("amount", amount),
            ("invoice", s.invoice_id.map(|i| i.to_string())),
            ("number", s.invoice_number.clone()),
            ("customer ref", s.customer_reference.clone()),
            ("case", s.case_number.clone()),
            (
                "collection",
                s.collection_type.as_ref().map(ToString::to_string),
            ),
        ],
        &s.extra,
    )?;
    Ok(Exit::Success)
}

/// A day as `2025-03-09` or `09.03.2025`: the library's day forms, as payment files use them.
pub(crate) fn parse_day(text: &str) -> Result<NaiveDate, String> {
    amili_payments::validation::InputFormat::day(text)
}

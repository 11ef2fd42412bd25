//! How the look-up commands print what Amili returned: one record as aligned `key  value`
//! lines or pretty JSON; a listing (every page, as the library streams it) as a table or as
//! JSON Lines (one record per line, for piping), stopping after `--limit` records.

use std::io::Write as _;

use amili_payments::{DateTime, Decimal, Utc};
use futures::{Stream, StreamExt as _};
use serde::Serialize;

/// One record: pretty JSON, or the `fields` whose value is present as aligned lines, then
/// every field Amili sent that the library does not type (`extra`), as compact JSON.
pub fn record<T: Serialize>(
    value: &T,
    json: bool,
    fields: &[(&str, Option<String>)],
    extra: &serde_json::Map<String, serde_json::Value>,
) -> anyhow::Result<()> {
    let text = if json {
        serde_json::to_string_pretty(value)? + "\n"
    } else {
        aligned(fields, extra)
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(())
}

/// The `key  value` lines of [`record`], keys padded to the longest.
fn aligned(
    fields: &[(&str, Option<String>)],
    extra: &serde_json::Map<String, serde_json::Value>,
) -> String {
    let width = fields
        .iter()
        .map(|(k, _)| k.len())
        .chain(extra.keys().map(String::len))
        .max()
        .unwrap_or(0);
    let present = fields
        .iter()
        .filter_map(|(key, value)| Some((*key, value.clone()?)));
    let extra = extra
        .iter()
        .map(|(key, value)| (key.as_str(), value.to_string()));
    present
        .chain(extra)
        .map(|(key, value)| format!("{key:<width$}  {value}\n"))
        .collect()
}

/// Prints the records of `stream` until it ends or `limit` were printed: JSON Lines, or
/// `header` and one `row` per record. Returns how many were printed; an error of the stream
/// ends the listing (what was printed stays printed). A closed stdout (`| head`) ends it
/// quietly.
pub async fn listing<T: Serialize>(
    mut stream: impl Stream<Item = Result<T, amili_payments::Error>> + Unpin,
    limit: Option<usize>,
    json: bool,
    header: &str,
    row: impl Fn(&T) -> String,
) -> anyhow::Result<usize> {
    let mut out = std::io::stdout();
    let mut count = 0usize;
    if !json && writeln!(out, "{header}").is_err() {
        return Ok(0);
    }
    // The limit is checked before asking for more, so no page past it is fetched.
    while limit.is_none_or(|l| count < l) {
        let Some(item) = stream.next().await else {
            break;
        };
        let item = item?;
        let line = if json {
            serde_json::to_string(&item)?
        } else {
            row(&item)
        };
        if writeln!(out, "{line}").is_err() {
            break;
        }
        count += 1;
    }
    Ok(count)
}

/// `-` for a missing value.
pub fn or_dash(value: Option<impl ToString>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// An instant as RFC 3339 in UTC, to the second.
pub fn instant(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `4500.00 NOK`: an exact amount (never through a float) and its currency, when present.
pub fn money(amount: Option<Decimal>, currency: Option<&String>) -> Option<String> {
    amount.map(|amount| match currency {
        Some(currency) => format!("{amount} {currency}"),
        None => amount.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_align_keys_skip_missing_values_and_show_untyped_fields_as_json() {
        let mut extra = serde_json::Map::new();
        extra.insert("dueDate".into(), serde_json::json!("2025-04-01"));
        extra.insert("lines".into(), serde_json::json!([{"amount": 1.5}]));
        let text = aligned(
            &[
                ("invoice", Some("X".into())),
                ("customer", None),
                (
                    "amount",
                    money(Some(Decimal::new(450000, 2)), Some(&"NOK".into())),
                ),
            ],
            &extra,
        );
        assert_eq!(
            text,
            "invoice   X\n\
             amount    4500.00 NOK\n\
             dueDate   \"2025-04-01\"\n\
             lines     [{\"amount\":1.5}]\n"
        );
    }
}

//! Paging shared by the lists (routes floor): the page-size parameter of the batch and
//! settlement lists, and the offset cursors and page answers of the invoice and settlement
//! lists (batches keep their keyset cursors, `batches.rs`). A cursor is `{prefix}{offset}`:
//! the number of matching items earlier pages served.

use serde_json::{Value, json};

use crate::error::ApiError;

/// The page size asked for by the parameter `param`: `default` when absent, at most `max`
/// served; anything but an integer from 1 to 2147483647 (the spec's range) is a 400 naming
/// `param`.
pub(crate) fn page_size(
    value: Option<&str>,
    param: &str,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    let Some(value) = value else {
        return Ok(default);
    };
    let size = value
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|size| (1..=i64::from(i32::MAX)).contains(size))
        .ok_or_else(|| {
            ApiError::bad_param(
                param,
                format!("{param} {value:?} is not an integer from 1 to 2147483647"),
            )
        })?;
    Ok(usize::try_from(size).unwrap_or(max).min(max))
}

/// How many items earlier pages served, from the cursor parameter `param` (absent or empty:
/// none). A cursor this sandbox did not issue with `prefix` is a 400 naming `param`.
pub(crate) fn offset(token: Option<&str>, prefix: &str, param: &str) -> Result<usize, ApiError> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(0);
    };
    token
        .strip_prefix(prefix)
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            ApiError::bad_param(
                param,
                format!("{param} {token:?} is not a cursor this sandbox issued"),
            )
        })
}

/// The answer `{"summary":{"status":"SUCCESS","nextPageToken"?},"data":[…]}` for the page of
/// `matching` that starts at `offset` and holds at most `size` items; `nextPageToken` only
/// while more follow.
pub(crate) fn page<T>(
    matching: &[T],
    offset: usize,
    size: usize,
    prefix: &str,
    render: impl Fn(&T) -> Value,
) -> Value {
    let data: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(size)
        .map(render)
        .collect();
    let served = offset.saturating_add(data.len());
    let mut summary = json!({"status": "SUCCESS"});
    if served < matching.len() {
        summary["nextPageToken"] = json!(format!("{prefix}{served}"));
    }
    json!({"summary": summary, "data": data})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let answer = page(&[1, 2, 3], 0, 2, "p-", |n| json!(n));
        assert_eq!(answer["data"], json!([1, 2]));
        let next = answer["summary"]["nextPageToken"].as_str();
        assert_eq!(next, Some("p-2"));
        assert_eq!(offset(next, "p-", "PageToken").ok(), Some(2));
        let last = page(&[1, 2, 3], 2, 2, "p-", |n| json!(n));
        assert_eq!(last["summary"].get("nextPageToken"), None);
        assert_eq!(offset(Some(""), "p-", "PageToken").ok(), Some(0));
        assert_eq!(offset(None, "p-", "PageToken").ok(), Some(0));
        assert!(offset(Some("p-x"), "p-", "PageToken").is_err());
        assert!(offset(Some("2"), "p-", "PageToken").is_err());
    }

    #[test]
    fn page_sizes_default_cap_and_refuse_what_is_outside_the_spec_range() {
        assert_eq!(page_size(None, "PageSize", 50, 500).ok(), Some(50));
        assert_eq!(page_size(Some(" 7 "), "PageSize", 50, 500).ok(), Some(7));
        assert_eq!(
            page_size(Some("2147483647"), "PageSize", 50, 500).ok(),
            Some(500)
        );
        for bad in ["0", "-1", "2147483648", "x", ""] {
            assert!(page_size(Some(bad), "PageSize", 50, 500).is_err(), "{bad}");
        }
    }
}

//! Offset cursors and page answers shared by the invoice and settlement lists (routes floor;
//! batches keep their keyset cursors, `batches.rs`). A cursor is `{prefix}{offset}`: the number of matching
//! items earlier pages served.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::error::ApiError;

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
            ApiError::invalid_field(
                StatusCode::BAD_REQUEST,
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
}

//! `GET …/orgs/{organizationId}/batches/{batchId}` (GetBatchById) and
//! `GET …/orgs/{organizationId}/batches` (GetBatchesByOrganization), on the routes floor.
//!
//! A batch of another organization is a 404, like an unknown one (its existence is not
//! revealed). The list understands every documented query parameter:
//!
//! | parameter | sandbox behaviour |
//! |---|---|
//! | `State` | one of `QUEUED`, `SUCCESS`, `PARTIAL`, `FAILED` (anything else: 400) |
//! | `Type` | one of the spec's `BatchType` values or the sandbox's own batch type (else 400) |
//! | `SubjectId` | batches holding a payment whose `invoiceId` or `uniqueSourcePaymentId` is this value (the sandbox's reading of an undocumented filter) |
//! | `IdempotencyKey` | the batch created with this key |
//! | `PageSize` | 1 to 2147483647 (else 400); default 50, values above 500 are served as 500 |
//! | `SortDirection` | `ASC` or `DESC` by creation time, case-insensitive (else 400); default `DESC` |
//! | `PageToken` | the previous page's `summary.nextPageToken`; empty = first page; anything else, or a token made for the other sort direction: 400 |
//!
//! `summary.nextPageToken` is present only when another page follows. Cursors are keyset
//! cursors (they name the last batch served), so batches created while a client pages do not
//! shift the pages.

use axum::Json;

use axum::http::Uri;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::SecondsFormat;
use serde_json::{Map, Value, json};

use crate::domain::store::{BatchRecord, Status, Store};
use crate::error::ApiError;
use crate::request;
use crate::routes::auth::Org;
use crate::routes::paging;
use crate::state::AppState;

/// Page size when `PageSize` is absent.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// The largest page the sandbox serves.
pub const MAX_PAGE_SIZE: usize = 500;
/// The batch types the spec documents (`BatchType`).
const DOCUMENTED_TYPES: [&str; 3] = ["NONE", "INVOICE", "CORRECTION"];

/// The JSON form of a batch (the spec's `Batch`, plus `idempotencyKey` when it has one).
pub(crate) fn render(store: &Store, batch: &BatchRecord) -> Value {
    let mut out = Map::new();
    out.insert("batchId".into(), json!(batch.id));
    out.insert("type".into(), json!(batch.batch_type));
    out.insert("status".into(), json!(batch.status.as_str()));
    out.insert(
        "createdAt".into(),
        json!(
            batch
                .created_at
                .to_rfc3339_opts(SecondsFormat::Millis, true)
        ),
    );
    out.insert(
        "finishedAt".into(),
        batch.finished_at.map_or(Value::Null, |t| {
            json!(t.to_rfc3339_opts(SecondsFormat::Millis, true))
        }),
    );
    out.insert("organizationId".into(), json!(batch.organization_id));
    out.insert("createdBy".into(), json!(batch.created_by));
    if let Some(key) = &batch.idempotency_key {
        out.insert("idempotencyKey".into(), json!(key));
    }
    let (succeeded, failed) = store.items(batch);
    out.insert("succeeded".into(), Value::Array(succeeded));
    out.insert("failed".into(), Value::Array(failed));
    Value::Object(out)
}

/// `GET …/orgs/{organizationId}/batches/{batchId}`.
pub(crate) async fn get_batch(org: Org) -> Result<Json<Value>, ApiError> {
    let batch_id = org.item_id("batchId")?;
    let Org { state, caller, .. } = org;
    let store = state.observe();
    let batch = store
        .batch(caller.organization_id, batch_id)
        .ok_or_else(|| ApiError::not_found(format!("batch {batch_id} not found")))?;
    Ok(Json(json!({
        "summary": { "status": "SUCCESS" },
        "data": render(&store, batch),
    })))
}

/// Sort order of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Asc,
    Desc,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Direction::Asc => "ASC",
            Direction::Desc => "DESC",
        }
    }
}

/// The parsed query of a list request.
#[derive(Debug)]
struct ListQuery {
    state: Option<Status>,
    batch_type: Option<String>,
    subject_id: Option<String>,
    idempotency_key: Option<String>,
    page_size: usize,
    direction: Direction,
    /// The `seq` of the last batch of the previous page.
    after: Option<u64>,
}

fn parse_query(state: &AppState, uri: &Uri) -> Result<ListQuery, ApiError> {
    let pairs = request::pairs(uri.query().unwrap_or_default().as_bytes());
    let get = |name| request::first(&pairs, name);
    let status = get("State")
        .map(|value| {
            Status::parse(value).ok_or_else(|| {
                ApiError::bad_param(
                    "State",
                    format!("State {value:?} is not one of QUEUED, SUCCESS, PARTIAL, FAILED"),
                )
            })
        })
        .transpose()?;
    let batch_type = get("Type")
        .map(|value| {
            if DOCUMENTED_TYPES.contains(&value) || value == state.config.batch_type {
                Ok(value.to_owned())
            } else {
                Err(ApiError::bad_param(
                    "Type",
                    format!(
                        "Type {value:?} is not one of NONE, INVOICE, CORRECTION, {}",
                        state.config.batch_type
                    ),
                ))
            }
        })
        .transpose()?;
    let page_size = paging::page_size(
        get("PageSize"),
        "PageSize",
        DEFAULT_PAGE_SIZE,
        MAX_PAGE_SIZE,
    )?;
    let direction = match get("SortDirection") {
        None => Direction::Desc,
        Some(value) if value.eq_ignore_ascii_case("asc") => Direction::Asc,
        Some(value) if value.eq_ignore_ascii_case("desc") => Direction::Desc,
        Some(value) => {
            return Err(ApiError::bad_param(
                "SortDirection",
                format!("SortDirection {value:?} is not ASC or DESC"),
            ));
        }
    };
    let after = match get("PageToken") {
        None | Some("") => None,
        Some(token) => Some(decode_cursor(token, direction)?),
    };
    Ok(ListQuery {
        state: status,
        batch_type,
        subject_id: get("SubjectId").map(str::to_owned),
        idempotency_key: get("IdempotencyKey").map(str::to_owned),
        page_size,
        direction,
        after,
    })
}

fn encode_cursor(direction: Direction, seq: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("c1.{}.{seq}", direction.as_str()))
}

fn decode_cursor(token: &str, direction: Direction) -> Result<u64, ApiError> {
    let invalid = || ApiError::bad_param("PageToken", "PageToken is not a valid page token");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let mut parts = text.split('.');
    let (Some("c1"), Some(dir), Some(seq), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    let seq: u64 = seq.parse().map_err(|_| invalid())?;
    if dir != direction.as_str() {
        return Err(ApiError::bad_param(
            "PageToken",
            format!("PageToken was made for SortDirection {dir}"),
        ));
    }
    Ok(seq)
}

fn matches(store: &Store, batch: &BatchRecord, query: &ListQuery) -> bool {
    query.state.is_none_or(|s| batch.status == s)
        && query
            .batch_type
            .as_deref()
            .is_none_or(|t| batch.batch_type == t)
        && query
            .idempotency_key
            .as_deref()
            .is_none_or(|k| batch.idempotency_key.as_deref() == Some(k))
        && query
            .subject_id
            .as_deref()
            .is_none_or(|subject| store.holds_subject(batch, subject))
        && query.after.is_none_or(|after| match query.direction {
            Direction::Asc => batch.seq > after,
            Direction::Desc => batch.seq < after,
        })
}

/// `GET …/orgs/{organizationId}/batches`.
pub(crate) async fn list_batches(org: Org, uri: Uri) -> Result<Json<Value>, ApiError> {
    let Org { state, caller, .. } = org;
    let query = parse_query(&state, &uri)?;
    let store = state.observe();
    let mine = store
        .batches()
        .iter()
        .filter(|b| b.organization_id == caller.organization_id);
    let selected: Vec<&BatchRecord> = match query.direction {
        Direction::Asc => mine
            .filter(|b| matches(&store, b, &query))
            .take(query.page_size.saturating_add(1))
            .collect(),
        Direction::Desc => mine
            .rev()
            .filter(|b| matches(&store, b, &query))
            .take(query.page_size.saturating_add(1))
            .collect(),
    };
    let more = selected.len() > query.page_size;
    let page = &selected[..selected.len().min(query.page_size)];
    let mut summary = Map::new();
    summary.insert("status".into(), json!("SUCCESS"));
    if more && let Some(last) = page.last() {
        summary.insert(
            "nextPageToken".into(),
            json!(encode_cursor(query.direction, last.seq)),
        );
    }
    Ok(Json(json!({
        "summary": Value::Object(summary),
        "data": page.iter().map(|b| render(&store, b)).collect::<Vec<_>>(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let token = encode_cursor(Direction::Asc, 42);
        assert_eq!(decode_cursor(&token, Direction::Asc).ok(), Some(42));
        assert!(decode_cursor(&token, Direction::Desc).is_err());
        assert!(decode_cursor("garbage!", Direction::Asc).is_err());
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode("c1.ASC.x"), Direction::Asc).is_err());
        assert!(decode_cursor("", Direction::Asc).is_err());
    }
}

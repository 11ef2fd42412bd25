//! The events Amili sends, typed and open: the four documented types and `Unknown` for the rest.

use std::str::FromStr;

use amili_payments::batches::BatchStatus;
use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde::de::{self, Deserializer};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

// The open enums of Amili's events are made like amili-api's (one macro for both).
use amili_api::open_enum;

open_enum! {
    /// The type of an event (`type`, or `eventType` for the case events).
    ///
    /// ```
    /// use amili_webhooks::EventType;
    /// assert_eq!(EventType::from("BATCH_COMPLETED"), EventType::BatchCompleted);
    /// assert_eq!(EventType::from("INVOICE_PAID").as_str(), "INVOICE_PAID");
    /// ```
    EventType {
        /// `BATCH_COMPLETED`: Amili finished processing a batch.
        BatchCompleted => "BATCH_COMPLETED",
        /// `SETTLEMENT_CREATED`: a settlement was made.
        SettlementCreated => "SETTLEMENT_CREATED",
        /// `CASE`: a case was created.
        Case => "CASE",
        /// `CASE_UPDATED`: a case changed.
        CaseUpdated => "CASE_UPDATED",
    }
}

open_enum! {
    /// The part of Amili an event comes from. Only `COLLECTION` is documented.
    Source {
        /// `COLLECTION`: debt collection.
        Collection => "COLLECTION",
    }
}

open_enum! {
    /// The status of a case. `OPEN` and `PAUSED` appear in Amili's examples; the full set is
    /// not documented.
    CaseStatus {
        /// `OPEN`.
        Open => "OPEN",
        /// `PAUSED`.
        Paused => "PAUSED",
    }
}

open_enum! {
    /// The kind of a case. `COLLECTION_NOTICE` appears in Amili's examples; the full set is
    /// not documented.
    CaseType {
        /// `COLLECTION_NOTICE`.
        CollectionNotice => "COLLECTION_NOTICE",
    }
}

/// The fields of an event's `data` beyond the documented ones, kept as sent.
///
/// None of the documented events carries an amount; money Amili adds later is read exactly,
/// as a [`Decimal`], with [`decimal`](Self::decimal):
///
/// ```
/// use amili_webhooks::{Decimal, Event};
///
/// let body = br#"{"id":"897e1f80-ceb5-4b58-a2aa-c895aff6ce3e","type":"SETTLEMENT_CREATED",
///   "source":"COLLECTION","timeStamp":"2025-08-15T11:42:00Z",
///   "data":{"settlementId":"db6a7ff4-3a20-4042-b271-a9485ded6333","amount":1234.56}}"#;
/// let Ok(Event::SettlementCreated(settlement)) = Event::parse(body) else { panic!() };
/// assert_eq!(settlement.data.extra.decimal("amount"), Some(Decimal::new(123456, 2)));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Extra(Map<String, Value>);

impl Extra {
    /// A field, as sent.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    /// A field holding money (a JSON number, or a numeric string) as an exact decimal:
    /// `None` when absent or not a decimal number. Never through `f64` arithmetic: the
    /// number's shortest text is parsed.
    pub fn decimal(&self, key: &str) -> Option<Decimal> {
        match self.0.get(key)? {
            Value::Number(n) => parse_decimal(&n.to_string()),
            Value::String(s) => parse_decimal(s),
            _ => None,
        }
    }

    /// A field holding a date-time (RFC 3339; without an offset it is taken as UTC).
    pub fn date_time(&self, key: &str) -> Option<DateTime<Utc>> {
        parse_date_time(self.0.get(key)?.as_str()?)
    }

    /// Whether there are no such fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The fields as a JSON map.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }
}

/// A decimal from `1234.56`, `-3`, `1.5e3`; `None` for anything else, or out of range.
fn parse_decimal(text: &str) -> Option<Decimal> {
    let text = text.trim();
    if let Ok(d) = Decimal::from_str(text) {
        return Some(d);
    }
    // Scientific notation: only exponents a decimal can hold (28 digits) are tried.
    let (mantissa, exponent) = text.split_once(['e', 'E'])?;
    let exponent: i64 = exponent.parse().ok()?;
    if exponent.abs() > 28 || mantissa.is_empty() {
        return None;
    }
    Decimal::from_scientific(text).ok()
}

/// An RFC 3339 date-time; one without an offset (as .NET services often send) is taken as
/// UTC.
pub(crate) fn parse_date_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
}

/// A calendar date `2025-08-15`; a date-time is taken at its own date.
fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .or_else(|| {
            DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|t| t.date_naive())
        })
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.date())
        })
}

fn date_time_de<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(d)?;
    parse_date_time(&text)
        .ok_or_else(|| de::Error::custom(format!("{text:?} is not an RFC 3339 date-time")))
}

fn date_time_ser<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

fn optional_date_de<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(text) => parse_date(&text)
            .map(Some)
            .ok_or_else(|| de::Error::custom(format!("{text:?} is not a date (yyyy-MM-dd)"))),
    }
}

/// Numbers such as `invoiceNumber` are documented as strings; a JSON number is read as its
/// text too.
fn optional_text_de<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(de::Error::custom(format!(
            "expected a string, found {}",
            kind_of(&other)
        ))),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `BATCH_COMPLETED`: Amili finished processing a batch.
///
/// The event says *when*; what became of each payment is in the batch itself
/// (`GetBatchById`), which a [`Poller`](amili_payments::Poller) woken by the event reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BatchCompleted {
    /// The batch.
    pub batch_id: Uuid,
    /// The organization (creditor) the batch belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<Uuid>,
    /// `SUCCESS`, `PARTIAL` or `FAILED` (open: other values are kept).
    pub status: BatchStatus,
    /// Undocumented fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `SETTLEMENT_CREATED`: a settlement was made for an invoice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SettlementCreated {
    /// The settlement (read it with `GetSettlement on Id`).
    pub settlement_id: Uuid,
    /// The organization (creditor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<Uuid>,
    /// The settlement's date.
    #[serde(
        default,
        deserialize_with = "optional_date_de",
        skip_serializing_if = "Option::is_none"
    )]
    pub settlement_date: Option<NaiveDate>,
    /// The invoice settled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_id: Option<Uuid>,
    /// The invoice's number.
    #[serde(
        default,
        deserialize_with = "optional_text_de",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_number: Option<String>,
    /// The collection case's number.
    #[serde(
        default,
        deserialize_with = "optional_text_de",
        skip_serializing_if = "Option::is_none"
    )]
    pub case_number: Option<String>,
    /// Undocumented fields (amounts, if Amili adds them: [`Extra::decimal`]), kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The data of `CASE` and `CASE_UPDATED`: a collection case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CaseData {
    /// The case.
    pub case_id: Uuid,
    /// The organization (creditor); the case events call it `orgId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<Uuid>,
    /// The case's number.
    #[serde(
        default,
        deserialize_with = "optional_text_de",
        skip_serializing_if = "Option::is_none"
    )]
    pub case_number: Option<String>,
    /// The kind of case (the data's own `type`).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub case_type: Option<CaseType>,
    /// The case's status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<CaseStatus>,
    /// The invoices in the case.
    #[serde(default)]
    pub invoices: Vec<Uuid>,
    /// `CASE_UPDATED` only: the names of the fields that changed (`amounts`, `status`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// Undocumented fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// What every event carries around its data: `id`, `source`, `timeStamp`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Envelope<T> {
    /// The event's id.
    pub id: Uuid,
    /// Where it comes from (`COLLECTION`).
    #[serde(default)]
    pub source: Option<Source>,
    /// When it happened (RFC 3339; without an offset it is taken as UTC).
    #[serde(alias = "timestamp", deserialize_with = "date_time_de")]
    pub time_stamp: DateTime<Utc>,
    /// The event's data.
    pub data: T,
}

/// One event, as Amili posts it.
///
/// Open like everything else: an event type this version does not know is
/// [`Event::Unknown`], with the whole body kept, so a receiver acknowledges it instead of
/// failing. Parsing never panics, whatever the input.
///
/// ```
/// use amili_webhooks::{BatchStatus, Event};
///
/// let body = br#"{
///   "id": "897e1f80-ceb5-4b58-a2aa-c895aff6ce3e",
///   "type": "BATCH_COMPLETED",
///   "source": "COLLECTION",
///   "timeStamp": "2025-08-15T11:42:00Z",
///   "data": {
///     "batchId": "db6a7ff4-3a20-4042-b271-a9485ded6333",
///     "organizationId": "db6a7ff4-3a20-4042-b271-a9485ded6334",
///     "status": "SUCCESS"
///   }
/// }"#;
/// match Event::parse(body)? {
///     Event::BatchCompleted(event) => {
///         assert_eq!(event.data.status, BatchStatus::Success);
///         assert_eq!(event.data.batch_id.to_string(), "db6a7ff4-3a20-4042-b271-a9485ded6333");
///     }
///     Event::Unknown { event_type, .. } => println!("not handled: {event_type}"),
///     other => println!("{}", other.event_type()),
/// }
/// # Ok::<(), amili_webhooks::ParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// `BATCH_COMPLETED`.
    BatchCompleted(Envelope<BatchCompleted>),
    /// `SETTLEMENT_CREATED`.
    SettlementCreated(Envelope<SettlementCreated>),
    /// `CASE` (named by `eventType`).
    Case(Envelope<CaseData>),
    /// `CASE_UPDATED` (named by `eventType`).
    CaseUpdated(Envelope<CaseData>),
    /// A type this version does not know.
    Unknown {
        /// The event's `type` (or `eventType`).
        event_type: String,
        /// The whole event, as sent.
        raw: Value,
    },
}

/// Why a body is not an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The body is not JSON.
    #[error("the event is not JSON: {0}")]
    NotJson(String),
    /// The body is JSON but not an object.
    #[error("the event is not a JSON object")]
    NotAnObject,
    /// Neither `type` nor `eventType` (nor the `X-Amili-Event` header) names the event.
    #[error("the event has no type (neither `type` nor `eventType`)")]
    MissingType,
    /// A known event type whose fields do not have the documented shape.
    #[error("invalid {event_type} event: {message}")]
    Invalid {
        /// The event's type.
        event_type: String,
        /// What is wrong.
        message: String,
    },
}

impl Event {
    /// Parses a webhook body. Verify its signature first ([`crate::Verifier`]) — on the raw
    /// bytes, before parsing.
    ///
    /// # Errors
    ///
    /// [`ParseError`] when the body is not a JSON object with a `type` (or `eventType`), or a
    /// known type's fields do not have the documented shape. An unknown type is not an error.
    pub fn parse(body: &[u8]) -> Result<Event, ParseError> {
        Self::parse_with_type_hint(body, None)
    }

    /// As [`parse`](Self::parse), naming the type from `hint` (the `X-Amili-Event` header)
    /// when the body names none. The body's own type wins when both are present.
    ///
    /// # Errors
    ///
    /// As [`parse`](Self::parse).
    pub fn parse_with_type_hint(body: &[u8], hint: Option<&str>) -> Result<Event, ParseError> {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| ParseError::NotJson(e.to_string()))?;
        Self::from_value(value, hint)
    }

    /// An event from parsed JSON.
    ///
    /// # Errors
    ///
    /// As [`parse`](Self::parse).
    pub fn from_value(value: Value, hint: Option<&str>) -> Result<Event, ParseError> {
        let Value::Object(object) = &value else {
            return Err(ParseError::NotAnObject);
        };
        let named = |key: &str| object.get(key).and_then(Value::as_str);
        let event_type = named("type")
            .or_else(|| named("eventType"))
            .or(hint)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(ParseError::MissingType)?
            .to_owned();
        fn typed<T: serde::de::DeserializeOwned>(
            value: Value,
            event_type: &str,
        ) -> Result<Envelope<T>, ParseError> {
            serde_json::from_value(value).map_err(|e| ParseError::Invalid {
                event_type: event_type.to_owned(),
                message: e.to_string(),
            })
        }
        Ok(match EventType::from(event_type.as_str()) {
            EventType::BatchCompleted => Event::BatchCompleted(typed(value, &event_type)?),
            EventType::SettlementCreated => Event::SettlementCreated(typed(value, &event_type)?),
            EventType::Case => Event::Case(typed(value, &event_type)?),
            EventType::CaseUpdated => Event::CaseUpdated(typed(value, &event_type)?),
            EventType::Unknown(_) => Event::Unknown {
                event_type,
                raw: value,
            },
        })
    }

    /// The event's type as sent (`BATCH_COMPLETED`, …).
    pub fn event_type(&self) -> &str {
        match self {
            Event::BatchCompleted(_) => EventType::BatchCompleted.as_str(),
            Event::SettlementCreated(_) => EventType::SettlementCreated.as_str(),
            Event::Case(_) => EventType::Case.as_str(),
            Event::CaseUpdated(_) => EventType::CaseUpdated.as_str(),
            Event::Unknown { event_type, .. } => event_type,
        }
    }

    /// The event's id (for an unknown type: its `id` when that is a UUID).
    pub fn id(&self) -> Option<Uuid> {
        match self {
            Event::BatchCompleted(e) => Some(e.id),
            Event::SettlementCreated(e) => Some(e.id),
            Event::Case(e) | Event::CaseUpdated(e) => Some(e.id),
            Event::Unknown { raw, .. } => raw
                .get("id")
                .and_then(Value::as_str)
                .and_then(|id| Uuid::try_parse(id).ok()),
        }
    }

    /// When the event happened (`timeStamp`; for an unknown type, when it has a readable one).
    pub fn time_stamp(&self) -> Option<DateTime<Utc>> {
        match self {
            Event::BatchCompleted(e) => Some(e.time_stamp),
            Event::SettlementCreated(e) => Some(e.time_stamp),
            Event::Case(e) | Event::CaseUpdated(e) => Some(e.time_stamp),
            Event::Unknown { raw, .. } => raw
                .get("timeStamp")
                .and_then(Value::as_str)
                .and_then(parse_date_time),
        }
    }

    /// The batch a `BATCH_COMPLETED` is about.
    pub fn batch_id(&self) -> Option<Uuid> {
        match self {
            Event::BatchCompleted(e) => Some(e.data.batch_id),
            _ => None,
        }
    }

    /// Whether this version does not know the event's type.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Event::Unknown { .. })
    }
}

/// Writes the envelope the way Amili documents it (`eventType` for the case events).
fn serialize_envelope<S: Serializer, T: Serialize>(
    serializer: S,
    type_key: &str,
    event_type: EventType,
    envelope: &Envelope<T>,
) -> Result<S::Ok, S::Error> {
    struct Stamp<'a>(&'a DateTime<Utc>);
    impl Serialize for Stamp<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            date_time_ser(self.0, s)
        }
    }
    let mut map = serializer.serialize_map(None)?;
    map.serialize_entry("id", &envelope.id)?;
    map.serialize_entry(type_key, &event_type)?;
    if let Some(source) = &envelope.source {
        map.serialize_entry("source", source)?;
    }
    map.serialize_entry("timeStamp", &Stamp(&envelope.time_stamp))?;
    map.serialize_entry("data", &envelope.data)?;
    map.end()
}

impl Serialize for Event {
    /// The event in Amili's wire shape (an unknown one exactly as parsed).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Event::BatchCompleted(e) => {
                serialize_envelope(serializer, "type", EventType::BatchCompleted, e)
            }
            Event::SettlementCreated(e) => {
                serialize_envelope(serializer, "type", EventType::SettlementCreated, e)
            }
            Event::Case(e) => serialize_envelope(serializer, "eventType", EventType::Case, e),
            Event::CaseUpdated(e) => {
                serialize_envelope(serializer, "eventType", EventType::CaseUpdated, e)
            }
            Event::Unknown { raw, .. } => raw.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Event::from_value(value, None).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact_and_bounded() {
        assert_eq!(parse_decimal("0.1"), Some(Decimal::new(1, 1)));
        assert_eq!(parse_decimal(" 4500.00 "), Some(Decimal::new(450000, 2)));
        assert_eq!(parse_decimal("1.5e3"), Some(Decimal::from(1500)));
        assert_eq!(parse_decimal("1e999999999"), None);
        assert_eq!(parse_decimal("abc"), None);
        assert_eq!(parse_decimal("e5"), None);
    }

    #[test]
    fn date_times_with_and_without_offset() {
        let utc = parse_date_time("2025-08-15T11:42:00Z");
        assert_eq!(parse_date_time("2025-08-15T13:42:00+02:00"), utc);
        assert_eq!(parse_date_time("2025-08-15T11:42:00"), utc);
        assert!(parse_date_time("2025-08-15T11:42:00.1234567").is_some());
        assert_eq!(parse_date_time("yesterday"), None);
        assert_eq!(
            parse_date("2025-08-15T23:30:00+02:00"),
            NaiveDate::from_ymd_opt(2025, 8, 15)
        );
    }
}

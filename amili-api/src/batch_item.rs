//! One processed item of a batch, kept whole.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One item of a batch's `succeeded` or `failed` list.
///
/// Amili documents only invoice items; the shape for payments is unknown, so the whole JSON
/// object is kept and the fields this crate recognises are offered as accessors.
///
/// ```
/// let item: amili_api::BatchItem = serde_json::from_str(
///     r#"{"uniqueSourcePaymentId":"P-1","reason":"unknown invoice","extra":1}"#,
/// ).unwrap();
/// assert_eq!(item.unique_source_payment_id(), Some("P-1"));
/// assert_eq!(item.reason(), Some("unknown invoice"));
/// assert_eq!(item.fields()["extra"], 1);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BatchItem(Map<String, Value>);

impl BatchItem {
    /// Every field as sent.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.0
    }

    /// The invoice the item is about, when present and a UUID.
    pub fn invoice_id(&self) -> Option<uuid::Uuid> {
        self.str_field("invoiceId")
            .and_then(|s| uuid::Uuid::parse_str(s).ok())
    }

    /// The invoice number, when present.
    pub fn invoice_number(&self) -> Option<&str> {
        self.str_field("invoiceNumber")
    }

    /// The creditor's payment id, when present.
    pub fn unique_source_payment_id(&self) -> Option<&str> {
        self.str_field("uniqueSourcePaymentId")
    }

    /// Why the item failed: `reason`, else `message`, else `error`, when present.
    pub fn reason(&self) -> Option<&str> {
        ["reason", "message", "error"]
            .into_iter()
            .find_map(|key| self.str_field(key))
    }

    fn str_field(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(Value::as_str)
    }
}

impl From<Map<String, Value>> for BatchItem {
    fn from(fields: Map<String, Value>) -> Self {
        Self(fields)
    }
}

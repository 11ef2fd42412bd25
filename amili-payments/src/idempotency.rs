//! Idempotency keys: one per logical write, reused on every attempt.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest key accepted (the spec's `maxLength`).
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// Cheap to clone (shared text).
///
/// The key that makes a repeated `CreatePayments` return the first request's batch instead of
/// creating a second one.
///
/// One key is chosen per request *before* its first attempt and sent again, unchanged, on every
/// retry; it is handed back in the submission report ([`RequestReport`](crate::report::RequestReport)) so
/// a caller can journal it and resume later without booking twice.
///
/// **Assumption.** Amili filters batches by `IdempotencyKey` but does not document how a client
/// sets it; this crate sends it as an `IdempotencyKey` request header (switchable with
/// [`ClientBuilder::send_idempotency_key`](crate::ClientBuilder::send_idempotency_key)) and
/// finds batches with `GET /orgs/{org}/batches?IdempotencyKey=…`.
///
/// ```
/// use amili_payments::IdempotencyKey;
///
/// let key = IdempotencyKey::random();
/// let again: IdempotencyKey = key.to_string().parse()?;
/// assert_eq!(key, again);
/// assert!("".parse::<IdempotencyKey>().is_err());
/// assert!("has space".parse::<IdempotencyKey>().is_err());
/// # Ok::<(), amili_payments::InvalidIdempotencyKey>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdempotencyKey(Arc<str>);

/// Text that cannot be an [`IdempotencyKey`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid idempotency key: {0}")]
pub struct InvalidIdempotencyKey(String);

impl IdempotencyKey {
    /// A fresh random key (a UUID v4).
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4().to_string().into())
    }

    /// The key as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for IdempotencyKey {
    type Err = InvalidIdempotencyKey;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() {
            return Err(InvalidIdempotencyKey("it is empty".into()));
        }
        if text.len() > MAX_IDEMPOTENCY_KEY_LEN {
            return Err(InvalidIdempotencyKey(format!(
                "it has {} characters, at most {MAX_IDEMPOTENCY_KEY_LEN} are allowed",
                text.len()
            )));
        }
        if let Some(bad) = text.chars().find(|c| !c.is_ascii_graphic()) {
            return Err(InvalidIdempotencyKey(format!(
                "it contains {:?}; only visible ASCII characters are allowed",
                bad
            )));
        }
        Ok(Self(text.into()))
    }
}

impl TryFrom<String> for IdempotencyKey {
    type Error = InvalidIdempotencyKey;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdempotencyKey({})", self.0)
    }
}

impl AsRef<str> for IdempotencyKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for IdempotencyKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for IdempotencyKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_header_safe_and_bounded() {
        assert!("a".repeat(255).parse::<IdempotencyKey>().is_ok());
        assert!("a".repeat(256).parse::<IdempotencyKey>().is_err());
        assert!("tab\there".parse::<IdempotencyKey>().is_err());
        assert!("ø".parse::<IdempotencyKey>().is_err());
        assert_ne!(IdempotencyKey::random(), IdempotencyKey::random());
    }

    #[test]
    fn serde_round_trip() -> Result<(), serde_json::Error> {
        let key: IdempotencyKey = serde_json::from_str("\"k-1\"")?;
        assert_eq!(serde_json::to_string(&key)?, "\"k-1\"");
        assert!(serde_json::from_str::<IdempotencyKey>("\"\"").is_err());
        Ok(())
    }
}

//! The [Standard Webhooks](https://www.standardwebhooks.com/) scheme as a [`Verifier`]: the
//! message id and a time stamp are signed with the body, so repeats are recognised and old
//! deliveries refused by what the signature covers.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use http::HeaderMap;
use secrecy::{ExposeSecret, SecretSlice};
use sha2::Sha256;

use crate::signature::{MAX_DELIVERY_ID_BYTES, Verifier, VerifyError, match_any};

/// The header naming the message (the same on every retry of it).
pub const WEBHOOK_ID_HEADER: &str = "webhook-id";
/// The header with the time of the attempt, in seconds since 1970.
pub const WEBHOOK_TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// The header with the signatures, `v1,<base64>` separated by spaces.
pub const WEBHOOK_SIGNATURE_HEADER: &str = "webhook-signature";

/// How far a signed time stamp may be from now by default (the specification's 5 minutes).
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// A Standard Webhooks secret that is not base64 (after an optional `whsec_` prefix).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the webhook secret is not base64 (whsec_…)")]
pub struct InvalidSecret;

/// Verifies [Standard Webhooks](https://www.standardwebhooks.com/) signatures: the HMAC-SHA256
/// of `{webhook-id}.{webhook-timestamp}.{body}` with the base64 secret (`whsec_…`), as
/// `v1,<base64>` in `webhook-signature` (several, separated by spaces, during a rotation).
///
/// A time stamp further than the tolerance from now ([`DEFAULT_TOLERANCE`], either way) is
/// [`VerifyError::Stale`]: a captured delivery cannot be replayed later, and within the
/// tolerance the receiver recognises it by its signed `webhook-id`
/// ([`Verifier::delivery_id`]).
///
/// Amili does not document this scheme (see the crate's assumptions): use it when the sender
/// signs this way.
///
/// ```
/// use amili_webhooks::{StandardWebhooksVerifier, Verifier, VerifyError};
/// use http::HeaderMap;
///
/// let verifier = StandardWebhooksVerifier::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
/// let body = br#"{"id":"897e1f80-ceb5-4b58-a2aa-c895aff6ce3e","type":"BATCH_COMPLETED"}"#;
/// let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
/// let mut headers = HeaderMap::new();
/// headers.insert("webhook-id", "msg_1".parse()?);
/// headers.insert("webhook-timestamp", now.to_string().parse()?);
/// headers.insert("webhook-signature", verifier.sign("msg_1", now, body).parse()?);
/// assert_eq!(verifier.verify(&headers, body), Ok(()));
/// assert_eq!(verifier.delivery_id(&headers).as_deref(), Some("msg_1"));
///
/// headers.insert("webhook-timestamp", (now - 3600).to_string().parse()?);
/// headers.insert("webhook-signature", verifier.sign("msg_1", now - 3600, body).parse()?);
/// assert_eq!(verifier.verify(&headers, body), Err(VerifyError::Stale));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct StandardWebhooksVerifier {
    key: SecretSlice<u8>,
    tolerance: Duration,
}

impl fmt::Debug for StandardWebhooksVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StandardWebhooksVerifier")
            .field("key", &"[redacted]")
            .field("tolerance", &self.tolerance)
            .finish()
    }
}

impl StandardWebhooksVerifier {
    /// A verifier for this secret: base64, with or without the `whsec_` prefix.
    ///
    /// # Errors
    ///
    /// [`InvalidSecret`] when it is not base64.
    pub fn new(secret: &str) -> Result<Self, InvalidSecret> {
        let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
        let key = STANDARD.decode(encoded).map_err(|_| InvalidSecret)?;
        Ok(Self::from_bytes(key))
    }

    /// A verifier for this raw key.
    pub fn from_bytes(key: impl Into<Vec<u8>>) -> Self {
        Self {
            key: SecretSlice::from(key.into()),
            tolerance: DEFAULT_TOLERANCE,
        }
    }

    /// How far the signed time stamp may be from now (default [`DEFAULT_TOLERANCE`]).
    #[must_use]
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// HMAC takes keys of any length, so this is always `Some`; `None` would fail closed.
    fn mac(&self, id: &str, timestamp: &str, body: &[u8]) -> Option<Hmac<Sha256>> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.key.expose_secret()).ok()?;
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        Some(mac)
    }

    /// The `webhook-signature` value (`v1,<base64>`) of a message — what the sender puts in
    /// the header. For tests and for your own test senders.
    pub fn sign(&self, id: &str, timestamp: u64, body: &[u8]) -> String {
        self.mac(id, &timestamp.to_string(), body)
            .map(|mac| format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
            .unwrap_or_default()
    }

    /// [`Verifier::verify`] as of `now` (seconds since 1970).
    ///
    /// # Errors
    ///
    /// As [`Verifier::verify`].
    pub fn verify_at(&self, headers: &HeaderMap, body: &[u8], now: u64) -> Result<(), VerifyError> {
        let mut values = headers.get_all(WEBHOOK_SIGNATURE_HEADER).iter().peekable();
        if values.peek().is_none() {
            return Err(VerifyError::Missing);
        }
        let id = message_id(headers).ok_or(VerifyError::Malformed)?;
        let timestamp = text(headers, WEBHOOK_TIMESTAMP_HEADER).ok_or(VerifyError::Malformed)?;
        let seconds: u64 = timestamp.parse().map_err(|_| VerifyError::Malformed)?;
        if seconds.abs_diff(now) > self.tolerance.as_secs() {
            return Err(VerifyError::Stale);
        }
        let mac = self.mac(id, timestamp, body).ok_or(VerifyError::Mismatch)?;
        let candidates = values
            .filter_map(|value| value.to_str().ok())
            .flat_map(str::split_ascii_whitespace)
            .map(|candidate| {
                // Other versions (`v1a,…` asymmetric signatures) are not this verifier's.
                let encoded = candidate.strip_prefix("v1,")?;
                STANDARD.decode(encoded).ok().filter(|s| s.len() == 32)
            });
        match_any(&mac, candidates)
    }
}

fn text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name)?.to_str().ok()
}

/// The `webhook-id`, when present and short enough to remember.
fn message_id(headers: &HeaderMap) -> Option<&str> {
    text(headers, WEBHOOK_ID_HEADER)
        .filter(|id| !id.is_empty() && id.len() <= MAX_DELIVERY_ID_BYTES)
}

impl Verifier for StandardWebhooksVerifier {
    fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), VerifyError> {
        // A clock before 1970 fails closed: every time stamp is then too far.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        self.verify_at(headers, body, now)
    }

    fn delivery_id(&self, headers: &HeaderMap) -> Option<String> {
        message_id(headers).map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the specification's reference libraries.
    #[test]
    fn matches_the_reference_signature() -> Result<(), Box<dyn std::error::Error>> {
        let verifier = StandardWebhooksVerifier::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            verifier.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        Ok(())
    }

    #[test]
    fn refuses_what_it_cannot_remember_or_read() -> Result<(), Box<dyn std::error::Error>> {
        let verifier = StandardWebhooksVerifier::from_bytes(*b"key");
        let body = b"{}";
        let headers = |id: &str, at: &str, signature: &str| -> Result<HeaderMap, http::Error> {
            let mut headers = HeaderMap::new();
            headers.insert(WEBHOOK_ID_HEADER, id.parse()?);
            headers.insert(WEBHOOK_TIMESTAMP_HEADER, at.parse()?);
            headers.insert(WEBHOOK_SIGNATURE_HEADER, signature.parse()?);
            Ok(headers)
        };
        let good = verifier.sign("m", 1000, body);
        assert_eq!(
            verifier.verify_at(&headers("m", "1000", &good)?, body, 1000),
            Ok(())
        );
        let long = "m".repeat(MAX_DELIVERY_ID_BYTES + 1);
        let signed_long = verifier.sign(&long, 1000, body);
        assert_eq!(
            verifier.verify_at(&headers(&long, "1000", &signed_long)?, body, 1000),
            Err(VerifyError::Malformed)
        );
        assert_eq!(
            verifier.verify_at(&headers("m", "soon", &good)?, body, 1000),
            Err(VerifyError::Malformed)
        );
        assert_eq!(
            verifier.verify_at(&headers("m", "1000", "v2,abc")?, body, 1000),
            Err(VerifyError::Malformed)
        );
        assert_eq!(
            verifier.verify_at(&headers("m", "1000", &good)?, body, 1000 + 301),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            verifier.verify_at(&headers("n", "1000", &good)?, body, 1000),
            Err(VerifyError::Mismatch),
            "the id is signed"
        );
        Ok(())
    }
}

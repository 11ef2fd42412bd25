//! Is this request from Amili? The [`Verifier`] trait, the default [`HmacSha256Verifier`], and
//! the named opt-out [`insecure_no_verification`].

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use http::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-webhook-signature";
/// The header naming the event type.
pub const EVENT_HEADER: &str = "x-amili-event";
/// The header identifying one event delivery; repeated deliveries carry the same key.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotencykey";
/// The header identifying one webhook request.
pub const REQUEST_ID_HEADER: &str = "x-amili-request-id";

/// How many signatures one header may list (e.g. during a secret rotation) before the rest are
/// ignored.
const MAX_CANDIDATES: usize = 8;

/// The longest delivery id a verifier hands the receiver ([`Verifier::delivery_id`]): longer
/// ones are refused, so that a dedupe store never holds a key an attacker made large.
pub const MAX_DELIVERY_ID_BYTES: usize = 128;

/// Decides whether a webhook request comes from Amili, from its headers and **raw body
/// bytes** (before any parsing).
///
/// [`HmacSha256Verifier`] is the default, [`StandardWebhooksVerifier`](crate::StandardWebhooksVerifier)
/// the [Standard Webhooks](https://www.standardwebhooks.com/) scheme; implement this trait for
/// another, and use [`insecure_no_verification`] only where anyone may post events (a local
/// demo).
///
/// A scheme that signs a delivery id beside the body says so with
/// [`delivery_id`](Self::delivery_id): the receiver then recognises repeats by it. Otherwise
/// repeats are recognised by what the signature covers in the body (the event's `id`), never
/// by an unsigned header.
pub trait Verifier: Send + Sync + 'static {
    /// `Ok(())` when the request is authentic.
    ///
    /// # Errors
    ///
    /// [`VerifyError`] saying why not; it never contains the secret or the expected signature.
    fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), VerifyError>;

    /// The id of the delivered message when this scheme's signature covers one outside the
    /// body (Standard Webhooks' `webhook-id`), at most [`MAX_DELIVERY_ID_BYTES`] long. Asked
    /// only after [`verify`](Self::verify) succeeded. `None` (the default): the signature
    /// covers the body only, and the receiver uses the event's `id` in it.
    fn delivery_id(&self, headers: &HeaderMap) -> Option<String> {
        let _ = headers;
        None
    }

    /// Whether this verifier accepts everything (the receiver warns at start).
    fn is_insecure(&self) -> bool {
        false
    }
}

/// Why a request was not taken as Amili's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// No signature header (`X-Webhook-Signature`, or the scheme's own).
    #[error("the signature header is missing")]
    Missing,
    /// The headers hold no well-formed signature (wrong length, not text, …), or the
    /// scheme's other signed headers are malformed.
    #[error("the signature headers are malformed")]
    Malformed,
    /// The signed time stamp is too far from now: an old delivery replayed, or a clock far
    /// off.
    #[error("the signed time stamp is outside the tolerance")]
    Stale,
    /// A well-formed signature that does not match the body.
    #[error("the signature does not match the body")]
    Mismatch,
    /// Refused by a custom verifier.
    #[error("{0}")]
    Refused(String),
}

/// Verifies `X-Webhook-Signature` as the HMAC-SHA256 of the raw body with a shared secret.
///
/// **This is an assumption.** Amili names the header but does not document its algorithm.
/// HMAC-SHA256 over the raw body is the most common scheme for a header of that name; when
/// Amili says otherwise, implement [`Verifier`] for their scheme. What is accepted:
///
/// - the signature as hex (either case, 64 digits) or base64 (standard or URL-safe, padded or
///   not), optionally prefixed `sha256=`;
/// - several signatures in one header, separated by commas or spaces (a secret rotation):
///   any one matching is enough;
/// - nothing truncated: a signature must be the full 32 bytes.
///
/// The comparison is constant-time (`hmac`'s `verify_slice`). The secret is held in a
/// [`SecretString`] and never appears in `Debug`, errors or logs.
///
/// ```
/// use amili_webhooks::{HmacSha256Verifier, Verifier, VerifyError};
/// use http::HeaderMap;
///
/// let verifier = HmacSha256Verifier::new("shared-secret");
/// let body = br#"{"id":"897e1f80-ceb5-4b58-a2aa-c895aff6ce3e","type":"BATCH_COMPLETED"}"#;
/// let mut headers = HeaderMap::new();
/// headers.insert("X-Webhook-Signature", verifier.sign(body).parse()?);
/// assert_eq!(verifier.verify(&headers, body), Ok(()));
/// assert_eq!(verifier.verify(&headers, b"{}"), Err(VerifyError::Mismatch));
/// assert_eq!(verifier.verify(&HeaderMap::new(), body), Err(VerifyError::Missing));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct HmacSha256Verifier {
    secret: SecretString,
}

impl fmt::Debug for HmacSha256Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HmacSha256Verifier")
            .field("secret", &"[redacted]")
            .finish()
    }
}

impl HmacSha256Verifier {
    /// A verifier for this shared secret.
    pub fn new(secret: impl Into<SecretString>) -> Self {
        Self {
            secret: secret.into(),
        }
    }

    /// HMAC takes keys of any length, so this is always `Some`; `None` would fail closed.
    fn mac(&self) -> Option<Hmac<Sha256>> {
        Hmac::<Sha256>::new_from_slice(self.secret.expose_secret().as_bytes()).ok()
    }

    /// The signature of `body` as lowercase hex — what the sender puts in the header. For
    /// tests and for your own test senders.
    pub fn sign(&self, body: &[u8]) -> String {
        self.mac()
            .map(|mut mac| {
                mac.update(body);
                hex(&mac.finalize().into_bytes())
            })
            .unwrap_or_default()
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// A 32-byte signature from hex or base64 text, `None` when it is neither.
fn decode_signature(text: &str) -> Option<Vec<u8>> {
    let text = match text.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("sha256=") => &text[7..],
        _ => text,
    };
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return (0..32)
            .map(|i| {
                text.get(2 * i..2 * i + 2)
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
            })
            .collect();
    }
    if text.len() > 64 {
        return None;
    }
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
        .filter(|bytes| bytes.len() == 32)
}

impl Verifier for HmacSha256Verifier {
    fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), VerifyError> {
        let mut values = headers.get_all(SIGNATURE_HEADER).iter().peekable();
        if values.peek().is_none() {
            return Err(VerifyError::Missing);
        }
        let Some(mut mac) = self.mac() else {
            return Err(VerifyError::Mismatch);
        };
        mac.update(body);
        let candidates = values
            .filter_map(|value| value.to_str().ok())
            .flat_map(|text| text.split(|c: char| c == ',' || c.is_ascii_whitespace()))
            .filter(|candidate| !candidate.is_empty())
            .map(decode_signature);
        match_any(&mac, candidates)
    }
}

/// `Ok` when one of the first [`MAX_CANDIDATES`] decoded signatures (`None`: not well
/// formed) is `mac`'s, compared in constant time; else `Mismatch` when one was well formed,
/// `Malformed` when none was.
pub(crate) fn match_any(
    mac: &Hmac<Sha256>,
    candidates: impl Iterator<Item = Option<Vec<u8>>>,
) -> Result<(), VerifyError> {
    let mut well_formed = false;
    for signature in candidates.take(MAX_CANDIDATES).flatten() {
        well_formed = true;
        if mac.clone().verify_slice(&signature).is_ok() {
            return Ok(());
        }
    }
    Err(if well_formed {
        VerifyError::Mismatch
    } else {
        VerifyError::Malformed
    })
}

/// The verifier that accepts every request; made only by [`insecure_no_verification`].
#[derive(Debug, Clone, Copy)]
pub struct NoVerification(());

/// **Turns signature verification off**: anyone who can reach the endpoint can post events.
/// Only for local demos and tests; the receiver logs a warning when it starts with it.
///
/// ```
/// use amili_webhooks::{Verifier, insecure_no_verification};
/// let verifier = insecure_no_verification();
/// assert!(verifier.is_insecure());
/// assert_eq!(verifier.verify(&http::HeaderMap::new(), b"anything"), Ok(()));
/// ```
pub fn insecure_no_verification() -> NoVerification {
    NoVerification(())
}

impl Verifier for NoVerification {
    fn verify(&self, _headers: &HeaderMap, _body: &[u8]) -> Result<(), VerifyError> {
        Ok(())
    }

    fn is_insecure(&self) -> bool {
        true
    }
}

/// A shared or boxed verifier verifies as the one it holds.
macro_rules! verifier_through_pointer {
    ($($pointer:ident)::+) => {
        impl<V: Verifier + ?Sized> Verifier for $($pointer)::+<V> {
            fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), VerifyError> {
                (**self).verify(headers, body)
            }

            fn delivery_id(&self, headers: &HeaderMap) -> Option<String> {
                (**self).delivery_id(headers)
            }

            fn is_insecure(&self) -> bool {
                (**self).is_insecure()
            }
        }
    };
}

verifier_through_pointer!(std::sync::Arc);
verifier_through_pointer!(Box);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_4231_test_case_2() {
        assert_eq!(
            HmacSha256Verifier::new("Jefe").sign(b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn decodes_hex_and_base64_of_32_bytes_only() {
        let bytes: Vec<u8> = (0..32).collect();
        assert_eq!(decode_signature(&hex(&bytes)), Some(bytes.clone()));
        assert_eq!(
            decode_signature(&hex(&bytes).to_uppercase()),
            Some(bytes.clone())
        );
        assert_eq!(
            decode_signature(&format!("SHA256={}", hex(&bytes))),
            Some(bytes.clone())
        );
        assert_eq!(
            decode_signature(&STANDARD.encode(&bytes)),
            Some(bytes.clone())
        );
        assert_eq!(
            decode_signature(&URL_SAFE_NO_PAD.encode(&bytes)),
            Some(bytes.clone())
        );
        assert_eq!(decode_signature(&hex(&bytes[..31])), None);
        assert_eq!(decode_signature(&STANDARD.encode(&bytes[..16])), None);
        assert_eq!(decode_signature("sha256="), None);
        assert_eq!(decode_signature("é"), None);
    }
}

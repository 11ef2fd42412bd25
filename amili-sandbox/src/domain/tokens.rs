//! Tokens (domain floor): issuing and checking the bearer tokens of the token endpoint.
//!
//! Tokens look like JWTs (`header.claims.signature`, base64url) signed with HMAC-SHA256 under a
//! key drawn at random for each sandbox, so a token from one sandbox is worthless in another.
//! The claims carry the organization, the client id, the expiry in milliseconds (so lifetimes
//! below a second work in tests) and a *generation*: [`crate::Sandbox::expire_tokens`] bumps the
//! generation and every token issued before stops working.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;
use uuid::Uuid;

use crate::config::OrgConfig;

type HmacSha256 = Hmac<Sha256>;

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;
const ISSUER: &str = "amili-sandbox";
/// The `resource` the token endpoint names (a fixed id for the sandbox's collection API).
pub(crate) const RESOURCE: &str = "5a4db0c0-0000-4000-8000-00000000a411";

/// What a valid token says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Claims {
    pub(crate) iss: String,
    /// The client id the token was issued to.
    pub(crate) sub: String,
    /// The organization the token is for.
    pub(crate) org: Uuid,
    pub(crate) aud: String,
    pub(crate) iat: i64,
    pub(crate) nbf: i64,
    pub(crate) exp: i64,
    /// Expiry in Unix milliseconds (the precise one the sandbox checks).
    pub(crate) exp_ms: i64,
    /// The token generation; see [`crate::Sandbox::expire_tokens`].
    pub(crate) generation: u64,
    pub(crate) jti: Uuid,
}

/// Why a bearer token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejection {
    Malformed,
    BadSignature,
    Expired,
    Revoked,
}

impl Rejection {
    pub(crate) fn message(self) -> &'static str {
        match self {
            Rejection::Malformed => "the bearer token is not a token this server issued",
            Rejection::BadSignature => "the bearer token's signature is invalid",
            Rejection::Expired => "the bearer token has expired",
            Rejection::Revoked => "the bearer token was revoked (expired by the sandbox)",
        }
    }
}

/// Issues and checks tokens.
#[derive(Debug)]
pub(crate) struct TokenIssuer {
    key: [u8; 32],
    generation: AtomicU64,
    lifetime: Duration,
    times_as_strings: bool,
}

impl TokenIssuer {
    pub(crate) fn new(lifetime: Duration, times_as_strings: bool) -> Self {
        Self {
            key: rand::random(),
            generation: AtomicU64::new(0),
            lifetime,
            times_as_strings,
        }
    }

    /// Makes every token issued so far invalid.
    pub(crate) fn expire_all(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn sign(&self, data: &[u8]) -> Option<Vec<u8>> {
        let mut mac = HmacSha256::new_from_slice(&self.key).ok()?;
        mac.update(data);
        Some(mac.finalize().into_bytes().to_vec())
    }

    fn verify_signature(&self, data: &[u8], signature: &[u8]) -> bool {
        match HmacSha256::new_from_slice(&self.key) {
            Ok(mut mac) => {
                mac.update(data);
                mac.verify_slice(signature).is_ok()
            }
            Err(_) => false,
        }
    }

    /// A new token for `org`'s client and the token endpoint's JSON answer.
    pub(crate) fn issue(&self, org: &OrgConfig) -> Option<serde_json::Value> {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let lifetime_ms = i64::try_from(self.lifetime.as_millis()).unwrap_or(i64::MAX);
        let exp_ms = now_ms.saturating_add(lifetime_ms);
        let now = now_ms.div_euclid(1000);
        let expires_in = i64::try_from(self.lifetime.as_secs()).unwrap_or(i64::MAX);
        let claims = Claims {
            iss: ISSUER.to_owned(),
            sub: org.client_id.clone(),
            org: org.organization_id,
            aud: RESOURCE.to_owned(),
            iat: now,
            nbf: now,
            exp: exp_ms.div_euclid(1000),
            exp_ms,
            generation: self.generation.load(Ordering::SeqCst),
            jti: Uuid::new_v4(),
        };
        let claims_json = serde_json::to_vec(&claims).ok()?;
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(HEADER),
            URL_SAFE_NO_PAD.encode(claims_json)
        );
        let signature = self.sign(signing_input.as_bytes())?;
        let token = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature));
        let expires_on = now.saturating_add(expires_in);
        let answer = if self.times_as_strings {
            json!({
                "access_token": token,
                "token_type": "Bearer",
                "not_before": now.to_string(),
                "expires_in": expires_in.to_string(),
                "expires_on": expires_on.to_string(),
                "resource": RESOURCE,
            })
        } else {
            json!({
                "access_token": token,
                "token_type": "Bearer",
                "not_before": now,
                "expires_in": expires_in,
                "expires_on": expires_on,
                "resource": RESOURCE,
            })
        };
        Some(answer)
    }

    /// The claims of a token this sandbox issued, if it is still valid.
    pub(crate) fn verify(&self, token: &str) -> Result<Claims, Rejection> {
        let mut parts = token.split('.');
        let (Some(header), Some(claims), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Rejection::Malformed);
        };
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| Rejection::Malformed)?;
        let signing_input_len = header.len() + 1 + claims.len();
        let signing_input = token.get(..signing_input_len).ok_or(Rejection::Malformed)?;
        if !self.verify_signature(signing_input.as_bytes(), &signature) {
            return Err(Rejection::BadSignature);
        }
        let claims = URL_SAFE_NO_PAD
            .decode(claims)
            .map_err(|_| Rejection::Malformed)?;
        let claims: Claims = serde_json::from_slice(&claims).map_err(|_| Rejection::Malformed)?;
        if claims.generation != self.generation.load(Ordering::SeqCst) {
            return Err(Rejection::Revoked);
        }
        if chrono::Utc::now().timestamp_millis() >= claims.exp_ms {
            return Err(Rejection::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org() -> OrgConfig {
        OrgConfig {
            client_id: "c".into(),
            client_secret: "s".into(),
            organization_id: Uuid::new_v4(),
            created_by: Uuid::new_v4(),
        }
    }

    fn token_of(answer: &serde_json::Value) -> String {
        answer["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    #[test]
    fn issued_tokens_verify_and_carry_the_org() {
        let issuer = TokenIssuer::new(Duration::from_secs(60), false);
        let org = org();
        let answer = issuer.issue(&org).unwrap_or_default();
        let claims = issuer.verify(&token_of(&answer));
        assert_eq!(claims.map(|c| c.org).ok(), Some(org.organization_id));
        assert_eq!(answer["expires_in"], 60);
    }

    #[test]
    fn tampered_foreign_expired_and_revoked_tokens_fail() {
        let issuer = TokenIssuer::new(Duration::from_secs(60), false);
        let token = token_of(&issuer.issue(&org()).unwrap_or_default());
        let mut tampered = token.clone();
        tampered.push('A');
        assert!(issuer.verify(&tampered).is_err());
        assert_eq!(issuer.verify("a.b").err(), Some(Rejection::Malformed));
        assert!(issuer.verify("").is_err());
        let other = TokenIssuer::new(Duration::from_secs(60), false);
        assert_eq!(other.verify(&token).err(), Some(Rejection::BadSignature));
        issuer.expire_all();
        assert_eq!(issuer.verify(&token).err(), Some(Rejection::Revoked));
        let short = TokenIssuer::new(Duration::ZERO, true);
        let answer = short.issue(&org()).unwrap_or_default();
        assert_eq!(answer["expires_in"], "0");
        assert_eq!(
            short.verify(&token_of(&answer)).err(),
            Some(Rejection::Expired)
        );
    }
}

//! The baselines' sending code: plain `reqwest` + `serde_json`, no amili crate. Contender (1)
//! (pre-built bodies) and the CSV loop binary (contender 4) both post through [`RawPoster`].

use anyhow::{Context as _, bail};
use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use uuid::Uuid;

/// Where a server is and who the benchmark is on it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The collection API base URL, `http://127.0.0.1:PORT/collection/v1`.
    pub api_url: String,
    /// The token endpoint, `http://127.0.0.1:PORT/token`.
    pub token_url: String,
    /// OAuth2 client id.
    pub client_id: String,
    /// OAuth2 client secret (a test value).
    pub client_secret: String,
    /// The organization the payments are for.
    pub organization_id: Uuid,
}

/// The header carrying the idempotency key (the spec's assumption).
pub const IDEMPOTENCY_KEY_HEADER: &str = "IdempotencyKey";

/// Fetches a bearer token with the client-credentials grant (a form `POST`).
pub async fn fetch_token(http: &reqwest::Client, endpoint: &Endpoint) -> anyhow::Result<String> {
    #[derive(serde::Deserialize)]
    struct Token {
        access_token: String,
    }
    let response = http
        .post(&endpoint.token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", endpoint.client_id.as_str()),
            ("client_secret", endpoint.client_secret.as_str()),
        ])
        .send()
        .await
        .context("token request")?;
    let status = response.status();
    let body = response.bytes().await.context("token answer")?;
    if !status.is_success() {
        bail!("token endpoint answered {status}");
    }
    let token: Token = serde_json::from_slice(&body).context("token answer is not JSON")?;
    Ok(token.access_token)
}

/// Posts `CreatePayments` bodies as they are, with a bearer token and a fresh idempotency key
/// per request, and reads each `202` answer with `serde_json`.
#[derive(Debug, Clone)]
pub struct RawPoster {
    http: reqwest::Client,
    url: String,
    authorization: HeaderValue,
}

impl RawPoster {
    /// A new HTTP client with a token from the endpoint.
    pub async fn connect(endpoint: &Endpoint) -> anyhow::Result<Self> {
        let http = amili_api::tls::client_builder()
            .build()
            .map_err(|e| anyhow::anyhow!("an HTTP client: {e}"))?;
        let token = fetch_token(&http, endpoint).await?;
        let mut authorization =
            HeaderValue::from_str(&format!("Bearer {token}")).context("token is not a header")?;
        authorization.set_sensitive(true);
        Ok(Self {
            http,
            url: format!(
                "{}/orgs/{}/payments",
                endpoint.api_url, endpoint.organization_id
            ),
            authorization,
        })
    }

    /// Sends one body; `Ok` only for a `202` with a `CreatePaymentsResponse`.
    pub async fn post(&self, body: Bytes) -> anyhow::Result<()> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        #[allow(dead_code)] // read to check the answer's shape
        struct Reference {
            batch_id: Uuid,
            batch_url: String,
        }
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct Created {
            data: Reference,
        }
        let response = self
            .http
            .post(&self.url)
            .header(AUTHORIZATION, self.authorization.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(IDEMPOTENCY_KEY_HEADER, Uuid::new_v4().to_string())
            .body(body)
            .send()
            .await
            .context("payments request")?;
        let status = response.status();
        let answer = response.bytes().await.context("payments answer")?;
        if status != reqwest::StatusCode::ACCEPTED {
            bail!(
                "payments request answered {status}: {}",
                String::from_utf8_lossy(&answer[..answer.len().min(300)])
            );
        }
        let _: Created =
            serde_json::from_slice(&answer).context("payments answer is not a 202 body")?;
        Ok(())
    }
}

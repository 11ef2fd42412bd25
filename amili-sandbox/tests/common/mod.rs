//! Helpers shared by the integration tests: a sandbox plus an HTTP client and a token.
#![allow(dead_code)]

use std::future::Future;
use std::time::{Duration, Instant};

use amili_sandbox::{DEMO_INVOICES, Fault, Route, Sandbox, SandboxBuilder};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use uuid::Uuid;

/// How long a test waits for a batch to become terminal before failing.
pub const DEADLINE: Duration = Duration::from_secs(10);

pub struct Api {
    pub sandbox: Sandbox,
    pub http: reqwest::Client,
    pub token: String,
}

/// A fresh client (no pooled connections shared with other requests of the test).
pub fn client() -> reqwest::Client {
    install_crypto_provider();
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client")
}

pub async fn token_answer(
    http: &reqwest::Client,
    sandbox: &Sandbox,
    client_id: &str,
    secret: &str,
) -> reqwest::Response {
    http.post(sandbox.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .expect("token request")
}

pub async fn token_for(
    http: &reqwest::Client,
    sandbox: &Sandbox,
    client_id: &str,
    secret: &str,
) -> String {
    let answer: Value = token_answer(http, sandbox, client_id, secret)
        .await
        .json()
        .await
        .expect("token json");
    answer["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

/// Whether the error body `error` names item `item`'s `field` with a message saying `text`.
pub fn has_error(error: &Value, item: u64, field: &str, text: &str) -> bool {
    error["errors"].as_array().is_some_and(|errors| {
        errors.iter().any(|e| {
            e["item"] == item
                && e["field"] == field
                && e["message"].as_str().is_some_and(|m| m.contains(text))
        })
    })
}

/// A token answer for the sandbox's own client (its id and secret).
pub async fn own_token_answer(http: &reqwest::Client, sandbox: &Sandbox) -> reqwest::Response {
    token_answer(http, sandbox, sandbox.client_id(), sandbox.client_secret()).await
}

/// A token for the sandbox's own client (its id and secret).
pub async fn own_token(http: &reqwest::Client, sandbox: &Sandbox) -> String {
    token_for(http, sandbox, sandbox.client_id(), sandbox.client_secret()).await
}

/// A request of a test, sent: it must reach the sandbox (any status is an answer).
pub trait Sent {
    /// The answer.
    fn answer(self) -> impl Future<Output = reqwest::Response> + Send;
    /// The answer's body, read as JSON.
    fn json_answer<T: DeserializeOwned>(self) -> impl Future<Output = T> + Send;
}

impl Sent for reqwest::RequestBuilder {
    async fn answer(self) -> reqwest::Response {
        self.send().await.expect("the request reaches the sandbox")
    }

    async fn json_answer<T: DeserializeOwned>(self) -> T {
        self.answer().await.json().await.expect("a JSON answer")
    }
}

impl Api {
    pub async fn start(builder: SandboxBuilder) -> Api {
        let sandbox = builder.start().await.expect("sandbox starts");
        let http = client();
        let token = own_token(&http, &sandbox).await;
        Api {
            sandbox,
            http,
            token,
        }
    }

    pub async fn default() -> Api {
        Api::start(Sandbox::builder()).await
    }

    pub fn payments_url(&self) -> String {
        format!(
            "{}/orgs/{}/payments",
            self.sandbox.api_url(),
            self.sandbox.organization_id()
        )
    }

    pub fn batches_url(&self) -> String {
        format!(
            "{}/orgs/{}/batches",
            self.sandbox.api_url(),
            self.sandbox.organization_id()
        )
    }

    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// A sandbox whose batches are processed at once.
    pub async fn immediate() -> Api {
        Api::start(Sandbox::builder().batch_delay(Duration::ZERO)).await
    }

    /// Scripts `fault` for the next request on `route`.
    pub fn fault(&self, route: Route, fault: Fault) {
        self.sandbox.faults().push(route, fault);
    }

    /// A token of the sandbox's second organization.
    pub async fn other_token(&self) -> String {
        let other = self.sandbox.other_organization();
        token_for(
            &self.http,
            &self.sandbox,
            &other.client_id,
            &other.client_secret,
        )
        .await
    }

    /// The URL of `resource` (`payments`, `settlements`, …) of the sandbox's second
    /// organization.
    pub fn other_org_url(&self, resource: &str) -> String {
        let other = self.sandbox.other_organization();
        format!(
            "{}/orgs/{}/{resource}",
            self.sandbox.api_url(),
            other.organization_id
        )
    }

    /// Posts `body` as the sandbox's second organization, with its own token.
    pub async fn post_payments_as_other_org(&self, body: &Value) -> reqwest::Response {
        let token = self.other_token().await;
        let url = self.other_org_url("payments");
        self.http
            .post(url)
            .bearer_auth(&token)
            .json(body)
            .send()
            .await
            .expect("payments request as the other organization")
    }

    pub async fn post_payments(&self, body: &Value, key: Option<&str>) -> reqwest::Response {
        self.try_post_payments(body, key)
            .await
            .expect("payments request")
    }

    pub async fn try_post_payments(
        &self,
        body: &Value,
        key: Option<&str>,
    ) -> reqwest::Result<reqwest::Response> {
        let mut request = self
            .http
            .post(self.payments_url())
            .header("Authorization", self.bearer())
            .json(body);
        if let Some(key) = key {
            request = request.header("IdempotencyKey", key);
        }
        request.send().await
    }

    /// Posts and expects 202; returns (batchId, batchUrl).
    pub async fn accepted(&self, body: &Value, key: Option<&str>) -> (String, String) {
        let response = self.post_payments(body, key).await;
        assert_eq!(response.status(), 202);
        let answer: Value = response.json().await.expect("202 json");
        (
            answer["data"]["batchId"]
                .as_str()
                .expect("batchId")
                .to_owned(),
            answer["data"]["batchUrl"]
                .as_str()
                .expect("batchUrl")
                .to_owned(),
        )
    }

    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.http
            .get(url)
            .header("Authorization", self.bearer())
            .send()
            .await
            .expect("GET")
    }

    pub async fn get_json(&self, url: &str) -> (u16, Value) {
        let response = self.get(url).await;
        let status = response.status().as_u16();
        (status, response.json().await.expect("json body"))
    }

    /// `POST /admin/settle?date=…` (the sandbox's own route, no token).
    pub fn admin_settle_url(&self, date: &str) -> String {
        let root = self
            .sandbox
            .api_url()
            .trim_end_matches(amili_sandbox::API_BASE_PATH)
            .to_owned();
        format!("{root}/admin/settle?date={date}")
    }

    /// Settles on `date` over the admin route; its JSON answer.
    pub async fn admin_settle(&self, date: &str) -> Value {
        self.http
            .post(self.admin_settle_url(date))
            .send()
            .await
            .expect("settle")
            .json()
            .await
            .expect("JSON")
    }

    /// Polls the batch until it is not QUEUED (bounded by `DEADLINE`); returns its `data`.
    pub async fn wait_terminal(&self, batch_url: &str) -> Value {
        let started = Instant::now();
        loop {
            let (status, body) = self.get_json(batch_url).await;
            assert_eq!(status, 200, "{body}");
            if body["data"]["status"] != "QUEUED" {
                return body["data"].clone();
            }
            assert!(
                started.elapsed() < DEADLINE,
                "batch still QUEUED after {DEADLINE:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A valid payment for `invoice`.
pub fn payment(invoice: Uuid, source_id: &str) -> Value {
    json!({
        "invoiceId": invoice,
        "type": "DIRECT_PAYMENT",
        "amount": 4500.50,
        "currency": "NOK",
        "date": "2025-03-09T14:30:00Z",
        "description": "Bank transfer",
        "uniqueSourcePaymentId": source_id,
    })
}

pub fn body(payments: Vec<Value>) -> Value {
    json!({ "payments": payments })
}

/// A body with one valid payment for a demo invoice.
pub fn one(source_id: &str) -> Value {
    body(vec![payment(DEMO_INVOICES[1], source_id)])
}

/// When the whole workspace is built together, reqwest's rustls backend comes without a
/// crypto provider (amili-api supplies `ring`): install it before building a client.
pub fn install_crypto_provider() {
    // `Err`: one is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Asserts that `value` conforms to the spec's component schema `component`.
pub fn conforms(component: &str, value: &Value) {
    let schema = amili_sandbox::spec::component_schema(component).expect("component schema");
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&schema)
        .expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{component}: {errors:?} in {value}");
}

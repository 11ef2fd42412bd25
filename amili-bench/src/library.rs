//! The library contenders, each timed from "payments in memory" to "every request answered"
//! (client construction and the token fetch included):
//!
//! 1. [`run_raw_reqwest`]: plain `reqwest` posting pre-built `serde_json` bodies (baseline);
//!
//!    1w. [`run_raw_writing`]: the same, each body written straight into bytes while sending
//!    (informational: the least work any client handed typed payments must do);
//! 2. [`run_generated`]: the generated `amili-api` client, serializing typed requests;
//! 3. [`run_amili_payments`]: `amili-payments`' submission of validated payments.
//!
//! Each returns how many payments the server accepted (202).

use std::sync::Arc;

use amili_api::hooks::{Inner, RequestHooks};
use amili_api::types::CreatePaymentsRequest;
use anyhow::Context as _;
use futures::future::BoxFuture;
use futures::{StreamExt as _, TryStreamExt as _};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use uuid::Uuid;

use crate::data::RawBody;
use crate::raw::{Endpoint, RawPoster};

/// Contender (1), the baseline: the same pre-built JSON bodies posted with `reqwest`,
/// `concurrency` requests in flight.
pub async fn run_raw_reqwest(
    endpoint: &Endpoint,
    bodies: &[RawBody],
    concurrency: usize,
) -> anyhow::Result<u64> {
    let poster = RawPoster::connect(endpoint).await?;
    futures::stream::iter(bodies)
        .map(|body| {
            let poster = &poster;
            async move {
                poster.post(body.bytes.clone()).await?;
                anyhow::Ok(body.payments)
            }
        })
        .buffer_unordered(concurrency.max(1))
        .try_fold(0, |sum, n| async move { Ok(sum + n) })
        .await
}

/// Contender (1w), informational: plain `reqwest` like (1), each body written in the loop
/// straight into bytes ([`crate::direct`]): the least work any client handed typed payments
/// must do, so the nearest such a client can come to (1). It is handed the requests as (2)
/// and (3) are handed theirs, to own: each is dropped once its body is written (borrowing
/// them, it never freed a payment on the clock while they free every one).
pub async fn run_raw_writing(
    endpoint: &Endpoint,
    requests: Vec<CreatePaymentsRequest>,
    concurrency: usize,
) -> anyhow::Result<u64> {
    let poster = RawPoster::connect(endpoint).await?;
    futures::stream::iter(requests)
        .map(|request| {
            let poster = &poster;
            async move {
                let count = request.payments.len() as u64;
                let mut body = Vec::with_capacity(request.payments.len() * 256 + 16);
                crate::direct::write_body(&request.payments, &mut body);
                drop(request);
                poster.post(body.into()).await?;
                anyhow::Ok(count)
            }
        })
        .buffer_unordered(concurrency.max(1))
        .try_fold(0, |sum, n| async move { Ok(sum + n) })
        .await
}

/// Adds the bearer token to every request of the generated client.
#[derive(Debug)]
struct Bearer(HeaderValue);

impl RequestHooks for Bearer {
    fn prepare<'a>(
        &'a self,
        request: &'a mut reqwest::Request,
        _operation_id: &'static str,
    ) -> BoxFuture<'a, Result<(), String>> {
        request.headers_mut().insert(AUTHORIZATION, self.0.clone());
        Box::pin(async { Ok(()) })
    }
}

/// Contender (2): the generated `amili-api` client (`create_payments()…send()`), a token from
/// the same form `POST` as the baseline (the spec has no token operation).
pub async fn run_generated(
    endpoint: &Endpoint,
    requests: Vec<CreatePaymentsRequest>,
    concurrency: usize,
) -> anyhow::Result<u64> {
    let http = amili_api::tls::client_builder()
        .build()
        .map_err(|e| anyhow::anyhow!("an HTTP client: {e}"))?;
    let token = crate::raw::fetch_token(&http, endpoint).await?;
    let mut bearer =
        HeaderValue::from_str(&format!("Bearer {token}")).context("token is not a header")?;
    bearer.set_sensitive(true);
    let client = amili_api::Client::new_with_client(
        &endpoint.api_url,
        http,
        Inner::new(Arc::new(Bearer(bearer))),
    );
    let organization_id = endpoint.organization_id;
    futures::stream::iter(requests)
        .map(|body| {
            let client = &client;
            async move {
                let count = body.payments.len() as u64;
                client
                    .create_payments()
                    .organization_id(organization_id)
                    .idempotency_key(Uuid::new_v4().to_string())
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| anyhow::anyhow!("create_payments: {e}"))?;
                anyhow::Ok(count)
            }
        })
        .buffer_unordered(concurrency.max(1))
        .try_fold(0, |sum, n| async move { Ok(sum + n) })
        .await
}

/// Contender (3): `amili-payments` — `Client::builder()…build()` then one submission of
/// every payment (`chunk_size` per request, `concurrency` in flight). Returns the payments
/// accepted.
pub async fn run_amili_payments(
    endpoint: &Endpoint,
    payments: Vec<amili_payments::Payment>,
    chunk_size: usize,
    concurrency: usize,
) -> anyhow::Result<u64> {
    use amili_payments::{Client, Environment};
    let client = Client::builder()
        .environment(Environment::custom(
            endpoint.api_url.clone(),
            endpoint.token_url.clone(),
        ))
        .organization_id(endpoint.organization_id)
        .client_credentials(endpoint.client_id.clone(), endpoint.client_secret.clone())
        .build()?;
    let report = client
        .submit(payments)
        .with_chunk_size(chunk_size)
        .with_concurrency(concurrency)
        .send()
        .await?;
    Ok(report.counts().accepted_total() as u64)
}

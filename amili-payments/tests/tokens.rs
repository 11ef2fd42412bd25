//! Tokens: cached, refreshed once under concurrency, refreshed on 401, refused credentials.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use amili_payments::credentials::{AccessToken, ClientCredentialsProvider, TokenProvider};
use amili_payments::report::RequestResult;
use amili_payments::secrecy::SecretString;
use amili_payments::{Client, Environment, Error, Utc, report::SubmitReport};
use amili_sandbox::Sandbox;
use common::*;
use futures::future::BoxFuture;

/// The error a one-request submission was rejected with.
fn rejection(report: &SubmitReport) -> Error {
    match &only_request(report).result {
        RequestResult::Rejected(err) => err.clone(),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

async fn sandbox_with(lifetime: Duration) -> Sandbox {
    match Sandbox::builder()
        .batch_delay(ms(10))
        .token_lifetime(lifetime)
        .start()
        .await
    {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_during_a_run_is_fetched_once_for_32_concurrent_calls() -> TestResult {
    let (sandbox, client) = sandbox_and_client().await;
    let report = client.submit(payments(0..1)).send().await?;
    report.ensure_accepted()?;
    assert_eq!(sandbox.stats().token_requests, 1);

    sandbox.expire_tokens();
    let calls = (0..32).map(|_| {
        let client = client.clone();
        let id = report.batch_ids()[0];
        tokio::spawn(async move { client.batch(id).await })
    });
    for call in futures::future::join_all(calls).await {
        call??;
    }
    assert_eq!(sandbox.stats().token_requests, 2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_expiring_during_a_run_is_refreshed_once_for_32_concurrent_calls() -> TestResult {
    // Lifetime 5 s (the shortest the client believes): it refreshes at half of it (its
    // margin is at most half), well before the sandbox refuses the token.
    let sandbox = sandbox_with(Duration::from_secs(5)).await;
    let client = client_for(&sandbox);
    let report = client.submit(payments(0..1)).send().await?;
    report.ensure_accepted()?;
    assert_eq!(sandbox.stats().token_requests, 1);

    tokio::time::sleep(Duration::from_millis(2600)).await;
    let calls = (0..32).map(|i| {
        let client = client.clone();
        let id = report.batch_ids()[0];
        tokio::spawn(async move {
            if i % 2 == 0 {
                client.batch(id).await.map(|_| ())
            } else {
                let report = client.submit(vec![payment(100 + i)]).send().await?;
                report.ensure_accepted().map(|_| ())
            }
        })
    });
    for call in futures::future::join_all(calls).await {
        call??;
    }
    assert_eq!(sandbox.stats().token_requests, 2);
    // No call needed a 401 to notice: every payment request succeeded at once.
    assert_eq!(sandbox.stats().payment_requests, 17);
    Ok(())
}

#[tokio::test]
async fn a_401_refreshes_the_token_and_retries_once() -> TestResult {
    let (sandbox, client) = sandbox_and_client().await;
    client.check_token().await?;
    sandbox.expire_tokens();
    let report = client.submit(payments(0..2)).send().await?;
    report.ensure_accepted()?;
    let stats = sandbox.stats();
    assert_eq!(stats.token_requests, 2);
    assert_eq!(stats.payment_requests, 2, "one refused, one accepted");
    let batch = quick_poller(&client)
        .until_done(report.batch_ids()[0])
        .await?;
    assert_eq!(batch.succeeded.len(), 2);
    Ok(())
}

#[tokio::test]
async fn a_wrong_secret_is_an_authentication_error_and_nothing_is_sent() -> TestResult {
    let sandbox = sandbox().await;
    let client = builder_for(&sandbox)
        .client_credentials(sandbox.client_id(), "not-the-secret-xyz")
        .build()?;
    let err = rejection(&refused(client.submit(payments(0..1)).send().await));
    assert!(err.is_authentication(), "{err}");
    assert!(!err.is_retryable());
    assert_eq!(err.status(), Some(401));
    let text = err.to_string();
    assert!(text.contains("token endpoint refused"), "{text}");
    assert!(text.contains("invalid_client"), "{text}");
    assert!(!text.contains("not-the-secret-xyz"));
    assert!(!format!("{err:?}").contains("not-the-secret-xyz"));
    assert_eq!(
        sandbox.stats().token_requests,
        1,
        "refused credentials are not retried"
    );
    assert_eq!(sandbox.stats().payment_requests, 0);

    // Several requests: the first one asks and stops the submission; the rest are not sent,
    // with the cause.
    let report = refused(
        client
            .submit(payments(0..6))
            .with_chunk_size(2)
            .with_concurrency(1)
            .send()
            .await,
    );
    let counts = report.counts();
    assert_eq!(counts.rejected, 2, "{report:?}");
    assert_eq!(counts.not_sent, 4, "{report:?}");
    for item in report.items().skip(2) {
        assert!(not_sent_reason(item).contains("invalid_client"), "{item:?}");
    }
    assert_eq!(sandbox.stats().token_requests, 2);
    assert_eq!(sandbox.stats().payment_requests, 0);
    Ok(())
}

#[tokio::test]
async fn credentials_of_another_organization_are_refused_with_403() -> TestResult {
    let sandbox = sandbox().await;
    let client = client_with_other_credentials(&sandbox);
    let err = rejection(&refused(client.submit(payments(0..1)).send().await));
    assert_eq!(err.status(), Some(403), "{err}");
    assert!(err.request_id().is_some());
    assert!(err.to_string().contains("403 Forbidden"), "{err}");
    Ok(())
}

#[tokio::test]
async fn expiry_fields_as_strings_are_understood() -> TestResult {
    let sandbox = match Sandbox::builder()
        .token_times_as_strings(true)
        .start()
        .await
    {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let client = client_for(&sandbox);
    let info = client.check_token().await?;
    let left = info
        .expires_at
        .map(|at| (at - chrono::Utc::now()).num_seconds())
        .unwrap_or_default();
    assert!((3500..=3600).contains(&left), "{left}");
    Ok(())
}

#[tokio::test]
async fn a_static_bearer_token_is_used_as_is() -> TestResult {
    let sandbox = sandbox().await;
    // Fetch a token out of band, as a deployment that injects AMILI_TOKEN would.
    let provider = ClientCredentialsProvider::new(
        amili_api::tls::client_builder().build()?,
        sandbox.token_url().parse()?,
        sandbox.client_id(),
        SecretString::from(sandbox.client_secret().to_owned()),
    );
    let token = provider.token().await?;
    let client = Client::builder()
        .environment(Environment::custom(sandbox.api_url(), ""))
        .organization_id(sandbox.organization_id())
        .bearer_token(SecretString::from(
            amili_payments::secrecy::ExposeSecret::expose_secret(token.secret()).to_owned(),
        ))
        .retry_policy(fast_retries())
        .build()?;
    client
        .submit(payments(0..1))
        .send()
        .await?
        .ensure_accepted()?;
    assert_eq!(sandbox.stats().token_requests, 1);
    assert_eq!(client.check_token().await?.kind, "static bearer token");

    // Revoked: a 401, one retry with the same token, then an authentication error.
    sandbox.expire_tokens();
    let err = rejection(&refused(client.submit(payments(1..2)).send().await));
    assert!(err.is_authentication(), "{err}");
    assert!(err.to_string().contains("401"), "{err}");
    assert_eq!(sandbox.stats().payment_requests, 3);
    Ok(())
}

#[derive(Debug, Default)]
struct Vault {
    calls: AtomicUsize,
    invalidations: AtomicUsize,
    token: std::sync::Mutex<Option<AccessToken>>,
}

impl TokenProvider for Vault {
    fn token(&self) -> BoxFuture<'_, Result<AccessToken, Error>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let token = self.token.lock().ok().and_then(|t| t.clone());
        Box::pin(async move {
            token.ok_or_else(|| Error::Authentication {
                message: "the vault is sealed".into(),
                status: None,
                request_id: None,
            })
        })
    }

    fn invalidate(&self) {
        self.invalidations.fetch_add(1, Ordering::SeqCst);
    }

    fn kind(&self) -> &'static str {
        "vault"
    }
}

#[tokio::test]
async fn a_custom_token_provider_is_asked_and_told_about_refusals() -> TestResult {
    let sandbox = sandbox().await;
    let real = ClientCredentialsProvider::new(
        amili_api::tls::client_builder().build()?,
        sandbox.token_url().parse()?,
        sandbox.client_id(),
        SecretString::from(sandbox.client_secret().to_owned()),
    )
    .token()
    .await?;
    let vault = Arc::new(Vault::default());
    let client = Client::builder()
        .environment(Environment::custom(sandbox.api_url(), ""))
        .organization_id(sandbox.organization_id())
        .token_provider(vault.clone())
        .retry_policy(fast_retries())
        .build()?;

    let sealed = rejection(&refused(client.submit(payments(0..1)).send().await));
    assert!(
        sealed.to_string().contains("the vault is sealed"),
        "{sealed}"
    );
    assert_eq!(sandbox.stats().payment_requests, 0);

    *vault.token.lock().map_err(|_| "poisoned")? = Some(real);
    client
        .submit(payments(0..1))
        .send()
        .await?
        .ensure_accepted()?;
    assert_eq!(client.check_token().await?.kind, "vault");
    sandbox.expire_tokens();
    let refusal = rejection(&refused(client.submit(payments(1..2)).send().await));
    assert!(refusal.is_authentication(), "{refusal}");
    assert_eq!(
        vault.invalidations.load(Ordering::SeqCst),
        2,
        "once per 401"
    );
    Ok(())
}

// ---- a hostile token endpoint ---------------------------------------------------------------

/// A client whose token requests go through a proxy that rewrites the token answer's
/// `expires_in` / `expires_on` (`None` removes the field); its API calls go to the sandbox.
async fn client_with_token_times(
    sandbox: &Sandbox,
    expires_in: Option<serde_json::Value>,
    expires_on: Option<serde_json::Value>,
) -> (Client, TestServer) {
    let (listener, _) = bind().await;
    let rewrite: Rewrite = Arc::new(move |seen, got| {
        if !seen.is_token() || got.status != 200 {
            return None;
        }
        let mut answer: serde_json::Value = serde_json::from_slice(&got.body).ok()?;
        let fields = answer.as_object_mut()?;
        for (name, value) in [("expires_in", &expires_in), ("expires_on", &expires_on)] {
            match value {
                Some(value) => fields.insert(name.to_owned(), value.clone()),
                None => fields.remove(name),
            };
        }
        Some(Upstream {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(&answer).ok()?.into(),
        })
    });
    let proxy = rewriting_proxy(listener, origin_of(sandbox), rewrite);
    let client = builder_for(sandbox)
        .environment(Environment::custom(
            sandbox.api_url(),
            format!("{}/token", proxy.origin),
        ))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    (client, proxy)
}

#[tokio::test]
async fn absurd_token_lifetimes_are_clamped_without_panic_or_a_token_call_per_request() -> TestResult
{
    use serde_json::json;
    const FLOOR: i64 = 5;
    const CEILING: i64 = 24 * 60 * 60;
    let huge = json!(18446744073709551615_u64);
    let cases = [
        (Some(huge.clone()), None, CEILING),
        (Some(json!("18446744073709551615")), None, CEILING),
        (Some(json!(1e300)), None, CEILING),
        (Some(json!(i64::MAX)), Some(huge.clone()), CEILING),
        (None, Some(huge), CEILING),
        (Some(json!(0)), None, FLOOR),
        (Some(json!("0")), None, FLOOR),
        (Some(json!(-3600)), None, FLOOR),
        (Some(json!(i64::MIN)), None, FLOOR),
        (Some(json!(-1e300)), None, FLOOR),
        (None, Some(json!(0)), FLOOR),
    ];
    let sandbox = sandbox().await;
    for (n, (expires_in, expires_on, lifetime)) in cases.into_iter().enumerate() {
        let what = format!("expires_in {expires_in:?}, expires_on {expires_on:?}");
        let (client, proxy) = client_with_token_times(&sandbox, expires_in, expires_on).await;
        let before = Utc::now();
        let info = client.check_token().await?;
        let after = Utc::now();
        let expires_at = info.expires_at.ok_or("no expiry")?;
        let lifetime = chrono::Duration::seconds(lifetime);
        assert!(
            before + lifetime <= expires_at && expires_at <= after + lifetime,
            "{what}: expires at {expires_at}, fetched between {before} and {after}"
        );

        // 24 requests: the token is reused, not fetched for each (a token lives at least
        // 5 s, and is refreshed after half of that at the earliest).
        let first = 24 * n;
        let report = client
            .submit(payments(first..first + 24))
            .with_chunk_size(1)
            .with_concurrency(1)
            .send()
            .await?;
        report.ensure_accepted()?;
        assert_eq!(report.requests.len(), 24);
        let tokens = proxy.token_requests();
        assert!(
            (1..=3).contains(&tokens),
            "{what}: {tokens} token requests for 24 calls"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_token_endpoint_that_fails_for_a_while_is_retried() -> TestResult {
    use amili_sandbox::{Fault, Route};
    let status = |status| Fault::Status {
        status,
        retry_after: None,
    };
    for (faults, token_requests) in [
        (vec![status(500)], 2),
        (vec![status(503), status(503), status(503)], 4),
        (
            vec![status(429), Fault::HtmlError { status: 502 }, status(504)],
            4,
        ),
        (vec![Fault::DropBeforeProcessing, Fault::TruncatedBody], 3),
    ] {
        let (sandbox, client) = sandbox_and_client().await;
        for fault in &faults {
            sandbox.faults().push(Route::Token, fault.clone());
        }
        let mut report = client.submit(payments(0..3)).send().await?;
        report.ensure_accepted()?;
        let stats = sandbox.stats();
        assert_eq!(stats.token_requests, token_requests, "{faults:?}");
        assert_eq!(stats.payment_requests, 1, "{faults:?}");

        // The same while following: the token is revoked, and its refresh fails twice.
        sandbox.expire_tokens();
        sandbox.faults().push_n(Route::Token, status(500), 2);
        quick_poller(&client).follow_all(&mut report).await?;
        assert!(report.all_succeeded(), "{faults:?}: {report:?}");
        assert_eq!(sandbox.stats().token_requests, token_requests + 3);
    }
    Ok(())
}

#[tokio::test]
async fn a_token_endpoint_that_stays_down_stops_the_submission_with_the_cause() -> TestResult {
    use amili_sandbox::Route;
    let (sandbox, client) = sandbox_and_client().await;
    sandbox.faults().random(Route::Token, status(503), 1.0);
    let report = client
        .submit(payments(0..10))
        .with_chunk_size(1)
        .with_concurrency(1)
        .with_circuit_breaker(2)
        .send()
        .await?;
    let counts = report.counts();
    assert_eq!(counts.total(), 10);
    // Nothing reached the API: the payments were never sent.
    assert_eq!(sandbox.stats().payment_requests, 0);
    assert_eq!(counts.accepted_total(), 0, "{report:?}");
    assert_eq!(counts.unknown, 0, "{report:?}");
    for item in report.items() {
        let reason = item
            .outcome
            .reason()
            .map(|r| r.to_string())
            .unwrap_or_default();
        assert!(item.outcome.is_safe_to_resend(), "{item:?}");
        assert!(reason.contains("503"), "{reason}");
    }
    // Two requests used up their retries; the breaker kept the other eight from trying.
    assert_eq!(sandbox.stats().token_requests, 2 * 5);
    Ok(())
}

//! Tokens: cached, refreshed once under concurrency, refreshed on 401, refused credentials.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use amili_payments::secrecy::SecretString;
use amili_payments::{
    AccessToken, Client, ClientCredentialsProvider, Environment, Error, SubmitOptions,
    TokenProvider,
};
use amili_sandbox::Sandbox;
use common::*;
use futures::future::BoxFuture;

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
    let sandbox = sandbox().await;
    let client = client_for(&sandbox);
    let receipt = client.create(&payments(0..1)).await?;
    assert_eq!(sandbox.stats().token_requests, 1);

    sandbox.expire_tokens();
    let calls = (0..32).map(|_| {
        let client = client.clone();
        let id = receipt.batch_id;
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
    // Lifetime 2 s: the client refreshes at half of it (its margin is at most half).
    let sandbox = sandbox_with(Duration::from_secs(2)).await;
    let client = client_for(&sandbox);
    let receipt = client.create(&payments(0..1)).await?;
    assert_eq!(sandbox.stats().token_requests, 1);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let calls = (0..32).map(|i| {
        let client = client.clone();
        let id = receipt.batch_id;
        tokio::spawn(async move {
            if i % 2 == 0 {
                client.batch(id).await.map(|_| ())
            } else {
                client.create(&[payment(100 + i)]).await.map(|_| ())
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
    let sandbox = sandbox().await;
    let client = client_for(&sandbox);
    client.check_token().await?;
    sandbox.expire_tokens();
    let receipt = client.create(&payments(0..2)).await?;
    let stats = sandbox.stats();
    assert_eq!(stats.token_requests, 2);
    assert_eq!(stats.payment_requests, 2, "one refused, one accepted");
    let ledger_wait = client
        .wait(
            receipt.batch_id,
            amili_payments::WaitOptions::default().with_interval(ms(5), ms(20)),
        )
        .await?;
    assert_eq!(ledger_wait.succeeded.len(), 2);
    Ok(())
}

#[tokio::test]
async fn a_wrong_secret_is_an_authentication_error_and_nothing_is_sent() -> TestResult {
    let sandbox = sandbox().await;
    let client = builder_for(&sandbox)
        .client_credentials(sandbox.client_id(), "not-the-secret-xyz")
        .build()?;
    let err = client
        .create(&payments(0..1))
        .await
        .err()
        .unwrap_or_else(|| panic!("accepted"));
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

    // submit: every chunk reports it, only the first one asks.
    let client = builder_for(&sandbox)
        .client_credentials(sandbox.client_id(), "not-the-secret-xyz")
        .max_payments_per_request(2)
        .concurrency(1)
        .build()?;
    let report = client
        .submit(payments(0..6), SubmitOptions::default())
        .await?;
    let counts = report.counts();
    assert_eq!(counts.rejected, 2, "{report:?}");
    assert_eq!(counts.not_sent, 4, "{report:?}");
    assert_eq!(sandbox.stats().payment_requests, 0);
    Ok(())
}

#[tokio::test]
async fn credentials_of_another_organization_are_refused_with_403() -> TestResult {
    let sandbox = sandbox().await;
    let other = sandbox.other_organization();
    let client = builder_for(&sandbox)
        .client_credentials(other.client_id.clone(), other.client_secret.clone())
        .build()?;
    let err = client
        .create(&payments(0..1))
        .await
        .err()
        .unwrap_or_else(|| panic!("accepted"));
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
    client.create(&payments(0..1)).await?;
    assert_eq!(sandbox.stats().token_requests, 1);
    assert_eq!(client.check_token().await?.kind, "static bearer token");

    // Revoked: a 401, one retry with the same token, then an authentication error.
    sandbox.expire_tokens();
    let err = client
        .create(&payments(1..2))
        .await
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    assert!(err.is_authentication(), "{err}");
    assert!(err.to_string().contains("401"), "{err}");
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

    let sealed = client
        .create(&payments(0..1))
        .await
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    assert!(
        sealed.to_string().contains("the vault is sealed"),
        "{sealed}"
    );
    assert_eq!(sandbox.stats().payment_requests, 0);

    *vault.token.lock().map_err(|_| "poisoned")? = Some(real);
    client.create(&payments(0..1)).await?;
    assert_eq!(client.check_token().await?.kind, "vault");
    sandbox.expire_tokens();
    let refused = client.create(&payments(1..2)).await;
    assert!(refused.is_err());
    assert_eq!(
        vault.invalidations.load(Ordering::SeqCst),
        2,
        "once per 401"
    );
    Ok(())
}

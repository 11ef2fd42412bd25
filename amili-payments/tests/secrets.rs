//! Secrets: neither the client secret nor any token shows up in Debug, Display, errors or
//! tracing output.

mod common;

use std::sync::{Arc, Mutex};

use amili_payments::credentials::{
    AccessToken, ClientCredentialsProvider, StaticToken, TokenProvider,
};
use amili_payments::report::RequestResult;
use amili_payments::secrecy::{ExposeSecret, SecretString};
use amili_payments::{Client, Environment, Error, report::SubmitReport};
use amili_sandbox::Sandbox;
use common::*;
use futures::future::BoxFuture;

const SECRET: &str = "s3cr3t-CLIENT-secret-0xC0FFEE";

/// Wraps the real client-credentials provider and remembers every token it handed out, so
/// the test knows what must never be printed.
#[derive(Debug)]
struct Remembering {
    inner: ClientCredentialsProvider,
    seen: Arc<Mutex<Vec<String>>>,
}

impl TokenProvider for Remembering {
    fn token(&self) -> BoxFuture<'_, Result<AccessToken, Error>> {
        Box::pin(async move {
            let token = self.inner.token().await?;
            if let Ok(mut seen) = self.seen.lock() {
                seen.push(token.secret().expose_secret().to_owned());
            }
            Ok(token)
        })
    }
}

/// The error a one-request submission was rejected with.
fn rejection(report: &SubmitReport) -> Error {
    match &only_request(report).result {
        RequestResult::Rejected(err) => err.clone(),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn assert_clean(what: &str, text: &str, tokens: &[String]) {
    assert!(
        !text.contains(SECRET),
        "{what} shows the client secret:\n{text}"
    );
    for token in tokens {
        assert!(
            !text.contains(token.as_str()),
            "{what} shows a token:\n{text}"
        );
        // Not even a recognisable part of it.
        let middle = &token[token.len() / 3..token.len() / 3 + 12.min(token.len() / 3)];
        assert!(
            !text.contains(middle),
            "{what} shows part of a token:\n{text}"
        );
    }
}

#[tokio::test]
async fn no_secret_or_token_in_debug_display_errors_or_traces() -> TestResult {
    let sandbox = match Sandbox::builder()
        .client_credentials("secret-test-client", SECRET)
        .batch_delay(ms(5))
        .start()
        .await
    {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let seen = Arc::new(Mutex::new(Vec::new()));
    let provider = Remembering {
        inner: ClientCredentialsProvider::new(
            amili_api::tls::client_builder().build()?,
            sandbox.token_url().parse()?,
            sandbox.client_id(),
            SecretString::from(SECRET.to_owned()),
        ),
        seen: seen.clone(),
    };
    let builder = Client::builder()
        .environment(Environment::custom(sandbox.api_url(), sandbox.token_url()))
        .organization_id(sandbox.organization_id())
        .token_provider(Arc::new(provider))
        .retry_policy(fast_retries());
    let builder_debug = format!("{builder:?}");
    let client = builder.build()?;
    let with_secret = builder_for(&sandbox);
    let with_secret_debug = format!("{with_secret:?}");
    let with_secret = with_secret.build()?;
    let wrong = builder_for(&sandbox)
        .client_credentials(sandbox.client_id(), format!("{SECRET}-wrong"))
        .build()?;

    let (logs, guard) = capture_logs();
    let mut report = client.submit(payments(0..3)).send().await?;
    sandbox.expire_tokens(); // 401 → refresh: a second token
    quick_poller(&client).follow_all(&mut report).await?;
    with_secret
        .submit(payments(3..4))
        .send()
        .await?
        .ensure_accepted()?;
    let wrong_report = refused(wrong.submit(payments(4..5)).send().await);
    let auth_error = rejection(&wrong_report);
    sandbox.expire_tokens();
    let static_client = Client::builder()
        .environment(Environment::custom(sandbox.api_url(), ""))
        .organization_id(sandbox.organization_id())
        .bearer_token(SECRET)
        .retry_policy(fast_retries())
        .build()?;
    let static_report = refused(static_client.submit(payments(5..6)).send().await);
    let static_error = rejection(&static_report);
    let not_accepted = static_report.ensure_accepted().err();
    drop(guard);

    let tokens = seen.lock().map(|t| t.clone()).unwrap_or_default();
    assert_eq!(tokens.len(), 2, "a first token and one after the 401");
    assert!(report.all_succeeded());

    let traces = logs.text();
    assert_clean("the tracing output", &traces, &tokens);
    // The traces do say what happened.
    for expected in [
        "amili.attempt",
        "attempt=2",
        "status=202",
        "status=401",
        "request_id=",
        "amili.token",
    ] {
        assert!(
            traces.contains(expected),
            "no {expected:?} in the traces:\n{traces}"
        );
    }

    assert!(auth_error.is_authentication(), "{auth_error}");
    assert!(static_error.is_authentication(), "{static_error}");
    let not_accepted = not_accepted.unwrap_or_else(|| panic!("revoked token accepted"));
    for (what, text) in [
        ("Client Debug", format!("{client:?}")),
        (
            "Client Debug (client credentials)",
            format!("{with_secret:?}"),
        ),
        ("ClientBuilder Debug", builder_debug),
        (
            "ClientBuilder Debug (client credentials)",
            with_secret_debug,
        ),
        ("authentication error Display", auth_error.to_string()),
        ("authentication error Debug", format!("{auth_error:?}")),
        ("401 error Display", static_error.to_string()),
        ("401 error Debug", format!("{static_error:?}")),
        ("report Debug", format!("{report:?}")),
        ("rejected report Debug", format!("{wrong_report:?}")),
        ("401 report Debug", format!("{static_report:?}")),
        ("item outcomes Display", {
            let items = wrong_report.items().chain(static_report.items());
            items.map(|i| format!("{}\n", i.outcome)).collect()
        }),
        ("NotAccepted Display", not_accepted.to_string()),
        (
            "AccessToken Debug",
            format!("{:?}", AccessToken::new(tokens[0].clone(), None)),
        ),
        (
            "StaticToken Debug",
            format!(
                "{:?}",
                StaticToken::new(SecretString::from(SECRET.to_owned()))
            ),
        ),
        (
            "ClientCredentialsProvider Debug",
            format!(
                "{:?}",
                ClientCredentialsProvider::new(
                    amili_api::tls::client_builder().build()?,
                    sandbox.token_url().parse()?,
                    "id",
                    SecretString::from(SECRET.to_owned()),
                )
            ),
        ),
    ] {
        assert_clean(what, &text, &tokens);
    }
    Ok(())
}

//! Starting and stopping: graceful shutdown, the command line, and the binary itself.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use amili_sandbox::cli::Args;
use amili_sandbox::{Fault, Route, Sandbox};
use clap::Parser;
use common::{Api, DEADLINE, Sent, client, one};
use serde_json::Value;

async fn refuses_connections(addr: std::net::SocketAddr) -> bool {
    tokio::net::TcpStream::connect(addr).await.is_err()
}

#[tokio::test]
async fn shutdown_finishes_requests_in_flight_then_stops_listening() {
    let api = Api::default().await;
    let addr = api.sandbox.addr();
    api.fault(Route::ListBatches, Fault::Delay(Duration::from_millis(300)));
    let http = api.http.clone();
    let (url, bearer) = (api.batches_url(), api.bearer());
    let in_flight =
        tokio::spawn(async move { http.get(url).header("Authorization", bearer).send().await });
    let started = Instant::now();
    while api.sandbox.stats().batch_lists == 0 {
        assert!(started.elapsed() < DEADLINE, "request never arrived");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    api.sandbox.shutdown().await;
    let response = in_flight
        .await
        .unwrap()
        .expect("the request in flight is answered");
    assert_eq!(response.status(), 200);
    assert!(refuses_connections(addr).await);
}

#[tokio::test]
async fn dropping_the_sandbox_stops_it() {
    let sandbox = Sandbox::start().await.unwrap();
    let addr = sandbox.addr();
    assert!(!refuses_connections(addr).await);
    drop(sandbox);
    let started = Instant::now();
    while !refuses_connections(addr).await {
        assert!(started.elapsed() < DEADLINE, "still listening after drop");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn the_builder_refuses_inconsistent_settings() {
    let clash = Sandbox::builder().client_credentials(amili_sandbox::OTHER_CLIENT_ID, "x");
    assert!(clash.start().await.is_err());
    let same_org = Sandbox::builder().organization_id(amili_sandbox::OTHER_ORGANIZATION_ID);
    assert!(same_org.start().await.is_err());
    let taken = Sandbox::start().await.unwrap();
    let error = Sandbox::builder()
        .bind(taken.addr())
        .start()
        .await
        .unwrap_err();
    assert!(matches!(error, amili_sandbox::SandboxError::Bind { .. }));
}

#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    args: Args,
}

#[tokio::test]
async fn command_line_arguments_configure_the_sandbox() {
    let cli = Cli::try_parse_from([
        "amili-sandbox",
        "--addr",
        "127.0.0.1:0",
        "--client-id",
        "me",
        "--client-secret",
        "my-own-s3cret",
        "--batch-delay-ms",
        "0",
        "--token-lifetime",
        "60",
        "--no-demo-invoices",
        "--seed-invoice",
        "00000000-0000-4000-8000-00000000abcd",
        "--fault",
        "list-batches:times=2:html=503",
        "--fault",
        "token:random=1:500",
        "--fault-seed",
        "9",
    ])
    .unwrap();
    let sandbox = cli.args.start().await.unwrap();
    assert_eq!(sandbox.client_id(), "me");
    assert_eq!(sandbox.faults().pending(Route::ListBatches), 2);
    assert_eq!(sandbox.faults().seed(), 9);
    let banner = amili_sandbox::cli::banner(&sandbox, &cli.args);
    for needle in [
        sandbox.api_url(),
        sandbox.token_url(),
        sandbox.organization_id().to_string(),
    ] {
        assert!(banner.contains(&needle), "banner lacks {needle}");
    }
    // A secret of the user's own is never printed.
    assert!(!banner.contains("my-own-s3cret"), "{banner}");
    let http = client();
    let response = common::token_answer(&http, &sandbox, "me", "my-own-s3cret").await;
    assert_eq!(response.status(), 500);

    for bad in [
        vec!["--fault", "nowhere:500"],
        vec!["--fault", "token:teapot"],
        vec!["--seed-invoice", "not-a-uuid"],
        vec!["--addr", "localhost"],
    ] {
        let mut argv = vec!["amili-sandbox"];
        argv.extend(bad.iter().copied());
        assert!(Cli::try_parse_from(&argv).is_err(), "{bad:?}");
    }
}

/// Reads the banner up to the "Try it" line and returns `label → value` for its fields.
fn read_banner(stdout: impl std::io::Read) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("banner line");
        if line.starts_with("Try it") {
            break;
        }
        if let Some((label, value)) = line.trim().split_once("  ") {
            fields.push((label.trim().to_owned(), value.trim().to_owned()));
        }
    }
    fields
}

fn field<'a>(fields: &'a [(String, String)], label: &str) -> &'a str {
    fields
        .iter()
        .find(|(l, _)| l == label)
        .map(|(_, v)| v.split_whitespace().next().unwrap_or_default())
        .unwrap_or_else(|| panic!("banner has no {label}: {fields:?}"))
}

#[cfg(unix)]
#[tokio::test]
async fn the_binary_prints_its_urls_serves_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_amili-sandbox"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--batch-delay-ms",
            "0",
            "--fault",
            "create-payments:503:retry-after=2",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let fields = read_banner(child.stdout.take().expect("stdout"));
    let api_url = field(&fields, "API base URL").to_owned();
    let token_url = field(&fields, "token URL").to_owned();
    let client_id = field(&fields, "client id").to_owned();
    let client_secret = field(&fields, "client secret").to_owned();
    let org = field(&fields, "organization id").to_owned();
    assert!(api_url.starts_with("http://127.0.0.1:") && api_url.ends_with("/collection/v1"));

    let http = client();
    let token: Value = http
        .post(&token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id.as_str()),
            ("client_secret", client_secret.as_str()),
        ])
        .json_answer()
        .await;
    let token = token["access_token"].as_str().unwrap().to_owned();
    let url = format!("{api_url}/orgs/{org}/payments");
    let send = || {
        http.post(&url)
            .bearer_auth(&token)
            .header("IdempotencyKey", "bin-1")
            .json(&one("bin-1"))
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), 503);
    assert_eq!(first.headers()["retry-after"], "2");
    let second = send().await.unwrap();
    assert_eq!(second.status(), 202);
    // Follows the batchUrl of a 202 answer and returns the batch.
    let batch_of = |accepted: reqwest::Response| {
        let (http, token) = (&http, &token);
        async move {
            let answer: Value = accepted.json().await.unwrap();
            let batch_url = answer["data"]["batchUrl"].as_str().unwrap().to_owned();
            let batch: Value = http.get(&batch_url).bearer_auth(token).json_answer().await;
            batch
        }
    };
    let batch = batch_of(second).await;
    assert_eq!(batch["data"]["status"], "SUCCESS");

    // The seed's curl example from Amili's CreatePayments page (the spec carries its body as
    // the request example; amili-api's tests pin it to the page): accepted, and the batch it
    // names reaches a terminal status (FAILED: "string" is no currency).
    let spec = amili_sandbox::spec::openapi().unwrap();
    let seed = spec
        .pointer("/paths/~1orgs~1{organizationId}~1payments/post/requestBody/content/application~1json/example")
        .expect("the spec carries the seed's request example")
        .clone();
    let accepted = http
        .post(&url)
        .bearer_auth(&token)
        .header("Content-Type", "application/json")
        .json(&seed)
        .answer()
        .await;
    assert_eq!(accepted.status(), 202);
    let batch = batch_of(accepted).await;
    assert_eq!(batch["data"]["status"], "FAILED", "{batch}");
    assert_eq!(
        batch["data"]["failed"][0]["uniqueSourcePaymentId"],
        "string"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("the binary did not stop on SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status:?}");
}

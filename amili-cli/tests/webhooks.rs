//! `amili webhooks listen`: the sandbox's webhooks, delivered twice, come out as one JSON line
//! per finished batch; a forged request is refused and printed nowhere.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use amili_payments::{Client, Currency, Decimal, Environment, Payment, Utc, Uuid};
use amili_sandbox::{DEMO_INVOICES, Sandbox, WebhookFault};
use common::{amili_bare, assert_exit, assert_usage_error};
use serde_json::Value;

const SECRET: &str = "cli-webhook-secret";
const WAIT: Duration = Duration::from_secs(60);

/// The child is killed when the test ends, however it ends.
struct Listening(Child);

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn payment(i: usize) -> Payment {
    Payment::builder()
        .invoice_id(DEMO_INVOICES[i])
        .amount(Decimal::new(100, 0))
        .currency(Currency::NOK)
        .date(Utc::now() - std::time::Duration::from_secs(3600))
        .description("listen test")
        .unique_source_payment_id(format!("LISTEN-{i}"))
        .build()
        .expect("a valid payment")
}

/// Starts `command` (an `amili webhooks listen` with the secret): the running child, the URL
/// it listens on, and the lines it prints on stdout.
fn listen(mut command: std::process::Command) -> (Listening, String, mpsc::Receiver<String>) {
    let child = command
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AMILI_WEBHOOK_SECRET", SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("amili starts");
    let mut child = Listening(child);
    let stderr = child.0.stderr.take().expect("stderr");
    let mut stderr = BufReader::new(stderr).lines();
    let url = loop {
        let line = stderr.next().expect("a listening line").expect("stderr");
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
        }
    };
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    // Keep draining stderr so the child never blocks on it.
    std::thread::spawn(move || stderr.for_each(drop));
    let stdout = child.0.stdout.take().expect("stdout");
    let (lines, printed) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    (child, url, printed)
}

#[test]
fn listen_prints_each_verified_event_once() {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin!("amili"));
    command
        .env_clear()
        .args(["webhooks", "listen", "--port", "0"]);
    let (child, url, printed) = listen(command);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let sandbox = runtime
        .block_on(
            Sandbox::builder()
                .batch_delay(Duration::from_millis(20))
                .webhook_url(&url)
                .webhook_secret(SECRET)
                .webhook_fault(WebhookFault::DeliverTwice)
                .start(),
        )
        .expect("sandbox starts");
    let batches: HashSet<Uuid> = runtime
        .block_on(async {
            let client = Client::builder()
                .environment(Environment::custom(sandbox.api_url(), sandbox.token_url()))
                .organization_id(sandbox.organization_id())
                .client_credentials(sandbox.client_id(), sandbox.client_secret())
                .max_payments_per_request(1)
                .build()?;
            let report = client.submit(vec![payment(1), payment(2)]).send().await?;
            Ok::<_, amili_payments::Error>(report.batch_ids())
        })
        .expect("submitted")
        .into_iter()
        .collect();
    assert_eq!(batches.len(), 2);

    // A forged request: 401.
    let forged = runtime
        .block_on(
            amili_payments::reqwest::Client::new()
                .post(&url)
                .header("X-Webhook-Signature", "0".repeat(64))
                .header("IdempotencyKey", "forged")
                .body(r#"{"id":"897e1f80-ceb5-4b58-a2aa-c895aff6ce3e","type":"BATCH_COMPLETED","timeStamp":"2025-08-15T11:42:00Z","data":{"batchId":"db6a7ff4-3a20-4042-b271-a9485ded6333","status":"SUCCESS"}}"#)
                .send(),
        )
        .expect("an answer");
    assert_eq!(forged.status().as_u16(), 401);

    let mut seen = HashSet::new();
    for _ in 0..2 {
        let line = printed.recv_timeout(WAIT).expect("an event line");
        let event: Value = serde_json::from_str(&line).expect("one JSON object per line");
        assert_eq!(event["type"], "BATCH_COMPLETED", "{line}");
        assert_eq!(event["source"], "COLLECTION");
        let batch = event["data"]["batchId"]
            .as_str()
            .and_then(|id| Uuid::try_parse(id).ok())
            .expect("a batch id");
        assert!(seen.insert(batch), "printed twice: {line}");
    }
    assert_eq!(seen, batches);
    // Once the duplicates were acknowledged too, nothing more was printed.
    for _ in 0..3000 {
        if sandbox.stats().webhooks_delivered == 4 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(sandbox.stats().webhooks_delivered, 4);
    drop(child);
    let rest: Vec<String> = printed.iter().collect();
    assert!(rest.is_empty(), "printed more: {rest:?}");
}

#[test]
fn listen_needs_a_secret_or_the_named_opt_out() {
    let out = amili_bare()
        .args(["webhooks", "listen", "--port", "0"])
        .output()
        .expect("amili runs");
    assert_usage_error(&out, "--insecure-no-verification");

    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("amili"))
        .env_clear()
        .args([
            "webhooks",
            "listen",
            "--port",
            "0",
            "--insecure-no-verification",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("amili starts");
    let listening = child.stderr.take().and_then(|stderr| {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .find(|line| line.contains("listening on"))
    });
    let _ = child.kill();
    let _ = child.wait();
    let listening = listening.unwrap_or_default();
    assert!(listening.contains("signatures NOT checked"), "{listening}");
}

/// A free loopback port (bound, then released for the command to take).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[test]
fn submit_wait_over_webhooks_ends_like_polling_with_fewer_batch_reads() {
    // Batches take a while, so that polling has to ask several times (at 3 s the two counts
    // came within a read of the 2x bound: 10 vs 19).
    let delay = Duration::from_millis(5000);
    let run = |webhooks: bool| {
        let port = free_port();
        let env = common::Env::with(|b| {
            let b = b.batch_delay(delay);
            if webhooks {
                b.webhook_url(format!("http://127.0.0.1:{port}/"))
                    .webhook_secret(SECRET)
            } else {
                b
            }
        });
        env.file("p.csv", &common::csv_rows("HOOK", 9));
        let mut command = env.amili();
        command.args(["payments", "submit", "p.csv", "--wait", "--chunk-size", "3"]);
        if webhooks {
            command
                .args(["--webhook-port", &port.to_string()])
                .env("AMILI_WEBHOOK_SECRET", SECRET);
        }
        let out = command.output().unwrap();
        assert_exit(&out, 0);
        let table: Vec<String> = common::stdout(&out)
            .lines()
            .filter(|l| l.contains("HOOK-"))
            .map(|l| {
                // LINE, PAYMENT, OUTCOME (the batch ids differ between runs).
                let cells: Vec<&str> = l.split_whitespace().collect();
                format!("{} {} {}", cells[0], cells[1], cells[3])
            })
            .collect();
        (table, env.sandbox.stats().batch_gets)
    };
    let (polled, polled_gets) = run(false);
    let (woken, woken_gets) = run(true);
    assert_eq!(woken, polled, "the same outcome for every payment");
    assert_eq!(polled.len(), 9);
    // Three batches: about three reads each when woken (the fallback poll, jittered between
    // 0 and 5 s, and the read after the event), six or seven when polling every 250 ms,
    // 500 ms, 1 s… (jittered too). The bound leaves room for a loaded machine, where an
    // event may come after a fallback poll: at 2x it failed once at full load.
    assert!(
        woken_gets * 3 <= polled_gets * 2,
        "webhooks: {woken_gets} batch reads, polling: {polled_gets}"
    );
}

/// A signed delivery of a `BATCH_COMPLETED` made now, as raw HTTP/1.1 closing the connection.
fn signed_delivery(key: &str) -> Vec<u8> {
    let event = format!(
        r#"{{"id":"{}","type":"BATCH_COMPLETED","source":"COLLECTION","timeStamp":"{}","data":{{"batchId":"db6a7ff4-3a20-4042-b271-a9485ded6333","status":"SUCCESS"}}}}"#,
        Uuid::new_v4(),
        Utc::now().to_rfc3339()
    );
    let signature = amili_webhooks::HmacSha256Verifier::new(SECRET).sign(event.as_bytes());
    format!(
        "POST / HTTP/1.1\r\nHost: test\r\nConnection: close\r\nIdempotencyKey: {key}\r\n\
         X-Webhook-Signature: {signature}\r\nContent-Length: {}\r\n\r\n{event}",
        event.len()
    )
    .into_bytes()
}

#[test]
fn listen_answers_a_delivery_while_idle_connections_hold_every_descriptor() {
    use std::io::{Read as _, Write as _};
    // About 20 descriptors for connections (the runtime holds about 11): the idle
    // connections below take them all, and more wait in the listen queue.
    let mut command = std::process::Command::new("sh");
    command
        .env_clear()
        .arg("-c")
        .arg(r#"ulimit -n 32 && exec "$0" "$@""#)
        .arg(assert_cmd::cargo::cargo_bin!("amili"))
        .args(["webhooks", "listen", "--port", "0"]);
    let (_child, url, printed) = listen(command);
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();

    let idle: Vec<std::net::TcpStream> = (0..30)
        .map(|_| std::net::TcpStream::connect(&addr).expect("connects"))
        .collect();
    let mut genuine = std::net::TcpStream::connect(&addr).expect("connects");
    genuine
        .set_read_timeout(Some(Duration::from_secs(90)))
        .expect("a read timeout");
    genuine
        .write_all(&signed_delivery("genuine"))
        .expect("sent");
    // Answered once the idle connections were closed (after the 10 s header read timeout);
    // a server that keeps them open never gets a descriptor for it.
    let mut answer = String::new();
    let read = genuine.read_to_string(&mut answer);
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "{read:?}: {answer:?} (with {} idle connections)",
        idle.len()
    );
    let line = printed.recv_timeout(WAIT).expect("the event printed");
    assert!(line.contains("BATCH_COMPLETED"), "{line}");
}

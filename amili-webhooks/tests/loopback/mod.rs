//! What the receiver tests share: a receiver served on loopback and signed deliveries.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use amili_webhooks::{Delivery, HmacSha256Verifier, Receiver, ReceiverBuilder};
use tokio::sync::oneshot;

pub type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

pub const SECRET: &str = "receiver-test-secret";

/// An event about `batch` made now. Its id follows `batch`: two bodies for one batch are
/// deliveries of one event.
pub fn body(event_type: &str, batch: u32) -> String {
    body_at(event_type, batch, amili_webhooks::Utc::now())
}

/// [`body`] made at `at`.
pub fn body_at(
    event_type: &str,
    batch: u32,
    at: amili_webhooks::DateTime<amili_webhooks::Utc>,
) -> String {
    format!(
        r#"{{"id":"897e1f80-ceb5-4b58-a2aa-{batch:012}","type":"{event_type}","source":"COLLECTION","timeStamp":"{}","data":{{"batchId":"db6a7ff4-3a20-4042-b271-{batch:012}","status":"SUCCESS"}}}}"#,
        at.to_rfc3339()
    )
}

pub struct Served {
    pub url: String,
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Served {
    pub async fn start(receiver: Receiver) -> Result<Served, std::io::Error> {
        // Built with the whole workspace, reqwest's rustls backend needs a crypto provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/amili/webhooks", listener.local_addr()?);
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(receiver.serve(listener, async {
            let _ = stopped.await;
        }));
        Ok(Served {
            url,
            http: reqwest::Client::new(),
            stop: Some(stop),
        })
    }

    pub async fn post(
        &self,
        body: &str,
        signature: Option<String>,
        key: Option<&str>,
    ) -> Result<(u16, String), reqwest::Error> {
        let mut request = self
            .http
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("X-Amili-Event", "BATCH_COMPLETED")
            .header("X-Amili-Request-Id", "req-1")
            .body(body.to_owned());
        if let Some(signature) = signature {
            request = request.header("X-Webhook-Signature", signature);
        }
        if let Some(key) = key {
            request = request.header("IdempotencyKey", key);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        Ok((status, response.text().await?))
    }

    pub async fn post_signed(
        &self,
        body: &str,
        key: &str,
    ) -> Result<(u16, String), reqwest::Error> {
        let signature = HmacSha256Verifier::new(SECRET).sign(body.as_bytes());
        self.post(body, Some(signature), Some(key)).await
    }
}

pub fn builder() -> ReceiverBuilder {
    Receiver::builder(HmacSha256Verifier::new(SECRET))
}

/// A receiver whose handler records every delivery it is given.
pub fn recording() -> (Receiver, Arc<Mutex<Vec<Delivery>>>) {
    recording_by(builder())
}

/// [`recording`], configured by `builder`.
pub fn recording_by(builder: ReceiverBuilder) -> (Receiver, Arc<Mutex<Vec<Delivery>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let receiver = builder.handler(move |delivery: Delivery| {
        let log = Arc::clone(&log);
        async move {
            log.lock().map_err(|e| e.to_string())?.push(delivery);
            Ok::<_, String>(())
        }
    });
    (receiver, seen)
}

pub fn count(seen: &Mutex<Vec<Delivery>>) -> usize {
    seen.lock().map(|v| v.len()).unwrap_or(usize::MAX)
}

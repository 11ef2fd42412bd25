//! Webhook delivery (on the routes floor, beside `routes/`): the events of `domain::events` posted to
//! the configured URL with Amili's documented headers, signed, retried with backoff, and — on
//! request — delivered twice or out of order.
//!
//! Two tasks run while a webhook URL is configured:
//!
//! - the **clock** processes batches when they fall due (the sandbox otherwise processes them
//!   lazily, when something reads its state), so a batch finishes — and its event is sent —
//!   without anybody polling;
//! - the **courier** takes the events in the order they happened (batches finishing,
//!   settlements made) and delivers one at a time:
//!   each delivery is tried up to `attempts` times (pauses `backoff`, doubling, up to 30 s)
//!   until the receiver answers 2xx; a timeout or a connection error counts as a failed attempt.
//!
//! Every delivery of one event (retries and the duplicate of [`WebhookFault::DeliverTwice`])
//! carries the event's `IdempotencyKey`; each HTTP request has its own `X-Amili-Request-Id`.
//!
//! The signature is an **assumption** (Amili names `X-Webhook-Signature` but not its
//! algorithm): lowercase hex HMAC-SHA256 of the raw body with the shared secret.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::domain::events::{Outgoing, WebhookAttempt};
use crate::headers::{EVENT_HEADER, IDEMPOTENCY_KEY_HEADER, REQUEST_ID_HEADER, SIGNATURE_HEADER};
use crate::state::AppState;

/// The shared secret the sandbox signs with unless told otherwise (a test value).
pub const DEFAULT_WEBHOOK_SECRET: &str = "sandbox-webhook-secret";
/// How many times one delivery is tried by default.
pub const DEFAULT_WEBHOOK_ATTEMPTS: u32 = 6;
/// The first pause between attempts by default (it doubles, up to 30 s).
pub const DEFAULT_WEBHOOK_BACKOFF: Duration = Duration::from_millis(500);
/// How long one attempt may take by default.
pub const DEFAULT_WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest pause between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long an event held back by [`WebhookFault::OutOfOrder`] waits for a successor.
const OUT_OF_ORDER_HOLD: Duration = Duration::from_millis(500);

/// A way webhook delivery misbehaves (on purpose), for every event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WebhookFault {
    /// Deliver each event a second time after the first delivery ended (same
    /// `IdempotencyKey`, new request id), as a sender does that missed the first answer.
    DeliverTwice,
    /// Swap events pairwise: hold each odd event back and send it after the next one (or after
    /// half a second when none comes).
    OutOfOrder,
}

impl WebhookFault {
    /// The name on the command line: `twice`, `out-of-order`.
    pub fn name(self) -> &'static str {
        match self {
            WebhookFault::DeliverTwice => "twice",
            WebhookFault::OutOfOrder => "out-of-order",
        }
    }
}

impl fmt::Display for WebhookFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for WebhookFault {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "twice" | "duplicate" => Ok(WebhookFault::DeliverTwice),
            "out-of-order" => Ok(WebhookFault::OutOfOrder),
            other => Err(format!(
                "unknown webhook fault {other:?} (twice, out-of-order)"
            )),
        }
    }
}

/// Where and how the sandbox delivers webhooks.
#[derive(Clone)]
pub(crate) struct WebhookSettings {
    pub(crate) url: String,
    pub(crate) secret: String,
    pub(crate) attempts: u32,
    pub(crate) backoff: Duration,
    pub(crate) timeout: Duration,
    pub(crate) faults: Vec<WebhookFault>,
}

impl fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("url", &self.url)
            .field("secret", &"[redacted]")
            .field("attempts", &self.attempts)
            .field("backoff", &self.backoff)
            .field("timeout", &self.timeout)
            .field("faults", &self.faults)
            .finish()
    }
}

/// Lowercase hex HMAC-SHA256 of `body` with `secret`.
pub(crate) fn sign(secret: &str, body: &[u8]) -> String {
    match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(body);
            mac.finalize()
                .into_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        }
        // HMAC takes keys of any length; kept total all the same.
        Err(_) => String::new(),
    }
}

/// Delivers events one at a time, in the order they happened (unless
/// [`WebhookFault::OutOfOrder`]).
pub(crate) struct Courier {
    settings: WebhookSettings,
    http: reqwest::Client,
    state: Arc<AppState>,
}

impl Courier {
    pub(crate) fn new(
        settings: WebhookSettings,
        state: Arc<AppState>,
    ) -> Result<Self, reqwest::Error> {
        // Built with the whole workspace, reqwest's rustls backend has no crypto provider of
        // its own and building a client without one panics: install `ring` unless one is.
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // `Err`: another thread installed one meanwhile, which is used.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .user_agent(concat!("amili-sandbox/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            settings,
            http,
            state,
        })
    }

    /// Runs until the channel closes (the sandbox's state is gone).
    pub(crate) async fn run(self, mut events: mpsc::UnboundedReceiver<Outgoing>) {
        let out_of_order = self.settings.faults.contains(&WebhookFault::OutOfOrder);
        let mut held: Option<Outgoing> = None;
        loop {
            let next = if held.is_some() {
                tokio::select! {
                    next = events.recv() => next,
                    () = tokio::time::sleep(OUT_OF_ORDER_HOLD) => {
                        if let Some(event) = held.take() {
                            self.deliver(&event).await;
                        }
                        continue;
                    }
                }
            } else {
                events.recv().await
            };
            let Some(event) = next else {
                if let Some(event) = held.take() {
                    self.deliver(&event).await;
                }
                return;
            };
            if out_of_order && held.is_none() {
                held = Some(event);
                continue;
            }
            self.deliver(&event).await;
            if let Some(earlier) = held.take() {
                self.deliver(&earlier).await;
            }
        }
    }

    async fn deliver(&self, event: &Outgoing) {
        let copies = if self.settings.faults.contains(&WebhookFault::DeliverTwice) {
            2
        } else {
            1
        };
        for copy in 1..=copies {
            self.deliver_once(event, copy).await;
        }
    }

    /// One delivery: attempts until a 2xx answer or the last attempt.
    async fn deliver_once(&self, event: &Outgoing, copy: u32) {
        let signature = sign(&self.settings.secret, &event.body);
        let attempts = self.settings.attempts.max(1);
        for attempt in 1..=attempts {
            let request_id = Uuid::new_v4();
            let answer = self
                .http
                .post(&self.settings.url)
                .header("Content-Type", "application/json")
                .header(EVENT_HEADER, event.event_type)
                .header(IDEMPOTENCY_KEY_HEADER, &event.idempotency_key)
                .header(REQUEST_ID_HEADER, request_id.to_string())
                .header(SIGNATURE_HEADER, &signature)
                .body(event.body.clone())
                .send()
                .await;
            let (status, error) = match answer {
                Ok(response) => {
                    let status = response.status().as_u16();
                    // Read the answer so the connection can be reused; its content is ignored.
                    let _ = response.bytes().await;
                    (Some(status), None)
                }
                Err(e) => (None, Some(error_text(&e))),
            };
            let record = WebhookAttempt {
                event_id: event.event_id,
                event_type: event.event_type.to_owned(),
                subject_id: event.subject_id,
                idempotency_key: event.idempotency_key.clone(),
                request_id,
                copy,
                attempt,
                status,
                error,
            };
            let delivered = record.delivered();
            tracing::info!(
                event_id = %event.event_id, event_type = event.event_type,
                subject_id = %event.subject_id, copy, attempt,
                status = ?record.status, error = ?record.error, "webhook delivery attempt"
            );
            self.state.stats.count_webhook(delivered);
            self.state.webhook_log.push(record);
            if delivered {
                return;
            }
            if attempt < attempts {
                tokio::time::sleep(self.pause(attempt)).await;
            }
        }
        self.state.stats.count_webhook_given_up();
        tracing::warn!(
            event_id = %event.event_id, event_type = event.event_type,
            subject_id = %event.subject_id, attempts,
            "webhook not delivered; giving up"
        );
    }

    /// The pause after attempt `n` (from 1): `backoff · 2ⁿ⁻¹`, at most 30 s.
    fn pause(&self, n: u32) -> Duration {
        let factor = 2u32.saturating_pow(n.saturating_sub(1).min(31));
        self.settings
            .backoff
            .saturating_mul(factor)
            .min(MAX_BACKOFF.max(self.settings.backoff))
    }
}

fn error_text(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "could not connect".to_owned()
    } else {
        let mut text = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }
}

/// Processes batches when they fall due, so that they finish (and their events go out)
/// without anybody reading the sandbox's state. Runs forever; the sandbox aborts it.
pub(crate) async fn clock(state: Arc<AppState>) {
    loop {
        let next = state.store().next_due();
        let created = state.batch_created.notified();
        match next {
            Some(Some(due)) => {
                tokio::select! {
                    () = tokio::time::sleep_until(tokio::time::Instant::from_std(due)) => {}
                    () = created => {}
                }
            }
            // Nothing queued, or the oldest batch waits for `finish_batches`.
            _ => created.await,
        }
        drop(state.observe());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_with_hmac_sha256_in_lowercase_hex() {
        // RFC 4231, test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn fault_names_round_trip() {
        for fault in [WebhookFault::DeliverTwice, WebhookFault::OutOfOrder] {
            assert_eq!(fault.name().parse::<WebhookFault>(), Ok(fault));
        }
        assert!("sometimes".parse::<WebhookFault>().is_err());
    }

    #[test]
    fn the_secret_is_not_in_debug() {
        let settings = WebhookSettings {
            url: "http://127.0.0.1:1/hook".into(),
            secret: "very-secret-value".into(),
            attempts: 1,
            backoff: Duration::ZERO,
            timeout: Duration::from_secs(1),
            faults: vec![],
        };
        assert!(!format!("{settings:?}").contains("very-secret-value"));
    }
}

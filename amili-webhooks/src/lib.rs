//! Amili's AutoCollect webhooks, safely: typed events, signature verification, repeated
//! deliveries dropped, and a receiver to mount in your own server.
//!
//! Amili posts events to an endpoint the creditor arranges with Amili: `BATCH_COMPLETED`
//! ("sent once we are finished processing a batch"), `SETTLEMENT_CREATED`, `CASE` and
//! `CASE_UPDATED`, with the headers `X-Amili-Event`, `IdempotencyKey` (per delivery),
//! `X-Amili-Request-Id` and `X-Webhook-Signature`. This crate gives you:
//!
//! - **[`Event`]**: the four documented events typed ([`BatchCompleted`],
//!   [`SettlementCreated`], [`CaseData`]) in their [`Envelope`] (`id`, `source`,
//!   `timeStamp`), plus [`Event::Unknown`] for types this version does not know — parsing
//!   never fails on a new type and never panics on any input. Open enums everywhere
//!   (`BatchStatus`, [`CaseStatus`], …); dates typed (`chrono`); money, where Amili adds
//!   it, exact ([`Decimal`], [`Extra::decimal`]).
//! - **[`Verifier`]**: is the request Amili's? [`HmacSha256Verifier`] is the default (an
//!   **assumption**, see below); [`StandardWebhooksVerifier`] the
//!   [Standard Webhooks](https://www.standardwebhooks.com/) scheme (`webhook-id`,
//!   `webhook-timestamp`, `webhook-signature`); [`insecure_no_verification`] is the explicit
//!   opt-out.
//! - **[`DedupeStore`]**: remembers handled deliveries by what the signature covers (the
//!   event's `id`); [`MemoryDedupeStore`] (bounded in number, key length and time) by
//!   default, a trait for a durable one.
//! - **`Receiver`** (feature `receiver`): a `tower::Service` that axum mounts with
//!   `route_service`. It verifies on the raw body (401 before anything else), refuses events
//!   older than its replay window, drops repeats, calls your async handler and answers 2xx
//!   only after it succeeded — so Amili retries what failed. It bounds the body (size and
//!   read time) and logs refusals once per source and interval; `Receiver::serve` adds
//!   header read and idle timeouts and a connection limit (`ServeLimits`). With
//!   `wake_pollers` it wakes `amili_payments::Poller`s early on `BATCH_COMPLETED` (they
//!   still read the batch from the API).
//!
//! Without the `receiver` feature the crate does not pull in axum or tokio: verify and parse
//! in your own framework with [`construct_event`].
//!
//! ```
//! use amili_webhooks::{Event, HmacSha256Verifier, construct_event};
//! use http::HeaderMap;
//!
//! let verifier = HmacSha256Verifier::new("shared-secret");
//! # let body: &[u8] = br#"{"id":"897e1f80-ceb5-4b58-a2aa-c895aff6ce3e","eventType":"CASE",
//! #   "source":"COLLECTION","timeStamp":"2025-08-15T11:42:00Z",
//! #   "data":{"orgId":"db6a7ff4-3a20-4042-b271-a9485ded6334",
//! #   "caseId":"db6a7ff4-3a20-4042-b271-a9485ded6333","caseNumber":"5000001",
//! #   "type":"COLLECTION_NOTICE","status":"OPEN","invoices":[]}}"#;
//! # let mut headers = HeaderMap::new();
//! # headers.insert("X-Webhook-Signature", verifier.sign(body).parse()?);
//! // In your HTTP handler, with the request's headers and raw body bytes:
//! match construct_event(&verifier, &headers, body)? {
//!     Event::BatchCompleted(event) => println!("batch {} finished", event.data.batch_id),
//!     Event::Case(event) => println!("case {:?} opened", event.data.case_number),
//!     other => println!("{} (not handled)", other.event_type()),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Assumptions about Amili
//!
//! - **The signature.** Amili names `X-Webhook-Signature` but does not document its
//!   algorithm. [`HmacSha256Verifier`] assumes the HMAC-SHA256 of the raw body with a shared
//!   secret, as hex or base64 (an optional `sha256=` prefix), compared in constant time.
//!   The local sandbox (`amili-sandbox --webhook-url …`) signs that way. If Amili's scheme
//!   differs, implement [`Verifier`].
//! - **Repeats.** A repeated delivery is recognised by the event's `id` in the signed body,
//!   which is assumed to be the same on every delivery of an event (the sandbox's is). The
//!   `IdempotencyKey` header ("unique key identifying the event delivery") is not signed, so
//!   it is passed on but never trusted: a captured delivery replayed under fresh keys is
//!   still a repeat. A verifier whose scheme signs an id beside the body
//!   ([`Verifier::delivery_id`], Standard Webhooks' `webhook-id`) is used instead. Handlers
//!   should still be idempotent: a store only remembers for its window and capacity.
//! - **Replays.** The body's `timeStamp` is signed with it, and is assumed to be when the
//!   event happened, the same on every retry: the receiver refuses events older than its
//!   replay window (72 hours by default, the default store's window — Amili's retry
//!   schedule is not documented, so it is kept long) or more than 5 minutes ahead. Within
//!   the window the store recognises the replay. Time stamps without an offset are taken as
//!   UTC.
#![warn(missing_docs)]
#![warn(clippy::missing_errors_doc)]

mod dedupe;
mod event;
#[cfg(feature = "receiver")]
mod receiver;
#[cfg(feature = "receiver")]
mod refusals;
#[cfg(feature = "receiver")]
mod serve;
mod signature;
mod standard;

pub use dedupe::{
    BoxFuture, Claim, DEFAULT_CAPACITY, DEFAULT_LEASE, DEFAULT_WINDOW, DedupeStore, MAX_KEY_BYTES,
    MemoryDedupeStore, StoreError,
};
pub use event::{
    BatchCompleted, CaseData, CaseStatus, CaseType, Envelope, Event, EventType, Extra, ParseError,
    SettlementCreated, Source,
};
#[cfg(feature = "receiver")]
pub use receiver::{
    BoxError, DEFAULT_BODY_READ_TIMEOUT, DEFAULT_MAX_BODY_BYTES, DEFAULT_REFUSAL_LOG_INTERVAL,
    DEFAULT_REPLAY_WINDOW, Delivery, MAX_IDEMPOTENCY_KEY_BYTES, Receiver, ReceiverBuilder,
};
#[cfg(feature = "receiver")]
pub use serve::{
    DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_HEADER_BYTES, ServeLimits,
};
pub use signature::{
    EVENT_HEADER, HmacSha256Verifier, IDEMPOTENCY_KEY_HEADER, MAX_DELIVERY_ID_BYTES,
    NoVerification, REQUEST_ID_HEADER, SIGNATURE_HEADER, Verifier, VerifyError,
    insecure_no_verification,
};
pub use standard::{
    DEFAULT_TOLERANCE, InvalidSecret, StandardWebhooksVerifier, WEBHOOK_ID_HEADER,
    WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TIMESTAMP_HEADER,
};

/// The wake-up handle of `amili_payments`' poller.
pub use amili_payments::BatchWakeups;
/// The batch status of `BATCH_COMPLETED` (the same open enum the poller reads).
pub use amili_payments::batches::BatchStatus;
// Third-party types of the public API.
/// Secret types (`SecretString`).
pub use amili_payments::secrecy;
pub use amili_payments::{DateTime, Decimal, Utc, Uuid};
pub use chrono::NaiveDate;
/// The HTTP types crate (`HeaderMap`).
pub use http;

/// Why a webhook request was not turned into an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The signature does not hold: not from Amili (answer 401).
    #[error(transparent)]
    Signature(#[from] VerifyError),
    /// Authentic, but not an event (answer 400).
    #[error(transparent)]
    Parse(#[from] ParseError),
}

/// Verifies a request's signature on its raw body, then parses the event — the one call for
/// any HTTP framework. The type in `X-Amili-Event` is used when the body names none.
///
/// # Errors
///
/// [`WebhookError::Signature`] before anything is parsed; [`WebhookError::Parse`] when the
/// authentic body is not an event.
pub fn construct_event(
    verifier: &dyn Verifier,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Result<Event, WebhookError> {
    verifier.verify(headers, body)?;
    let hint = headers
        .get(EVENT_HEADER)
        .and_then(|value| value.to_str().ok());
    Ok(Event::parse_with_type_hint(body, hint)?)
}

// Every Rust block of the README compiles (and runs, unless marked `no_run`) as a doctest.
#[cfg(all(doctest, feature = "receiver"))]
#[doc = include_str!("../README.md")]
mod readme {}

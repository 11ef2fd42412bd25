//! The header names the sandbox reads and writes, in one place (base floor): the routes read
//! the idempotency key, the server names every answer, webhook delivery sends all four.

/// The request header carrying the idempotency key (an assumption of the spec).
pub const IDEMPOTENCY_KEY_HEADER: &str = "IdempotencyKey";
/// The response header naming each request (the header Amili's webhooks use).
pub const REQUEST_ID_HEADER: &str = "x-amili-request-id";
/// The webhook header naming the event type.
pub const EVENT_HEADER: &str = "X-Amili-Event";
/// The webhook header carrying the signature (lowercase hex HMAC-SHA256 of the body; an
/// assumption).
pub const SIGNATURE_HEADER: &str = "X-Webhook-Signature";

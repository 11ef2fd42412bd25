// The crate's front door, above every floor: its documentation, its floors and every public
// name (each re-exported from the file that defines it).

//! A stateful local Amili AutoCollect API, for tests and demos.
//!
//! The sandbox speaks the part of Amili's API described in `openapi/autocollect.yaml`
//! (embedded in the crate): the token endpoint, `CreatePayments`, `CreateCorrections`,
//! `GetBatchById`,
//! `GetBatchesByOrganization`, the invoice lookups (`GetInvoicesByOrganization`,
//! `GetInvoiceById`) and settlements (`GetSettlements`, `GetSettlementById`). It is not a canned-response mock: it issues signed tokens,
//! validates request bodies against the spec's JSON Schema, queues batches that turn terminal
//! after a delay, books payments in a ledger (at most once per `uniqueSourcePaymentId`), honours
//! idempotency keys, and can be told to misbehave ([`Faults`]).
//!
//! Start one in-process on a free port, point the client at [`Sandbox::api_url`] and
//! [`Sandbox::token_url`], and read what happened through [`Sandbox::ledger`] and
//! [`Sandbox::stats`]:
//!
//! ```
//! use amili_sandbox::{DEMO_INVOICES, Sandbox};
//! use serde_json::{Value, json};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sandbox = Sandbox::builder().batch_delay(std::time::Duration::ZERO).start().await?;
//! # let _ = rustls::crypto::ring::default_provider().install_default();
//! let http = reqwest::Client::new();
//! let token: Value = http
//!     .post(sandbox.token_url())
//!     .form(&[
//!         ("grant_type", "client_credentials"),
//!         ("client_id", sandbox.client_id()),
//!         ("client_secret", sandbox.client_secret()),
//!     ])
//!     .send().await?
//!     .json().await?;
//! let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap_or_default());
//!
//! let accepted: Value = http
//!     .post(format!("{}/orgs/{}/payments", sandbox.api_url(), sandbox.organization_id()))
//!     .header("Authorization", &bearer)
//!     .header("IdempotencyKey", "request-1")
//!     .json(&json!({ "payments": [{
//!         "invoiceId": DEMO_INVOICES[1],
//!         "type": "DIRECT_PAYMENT",
//!         "amount": 4500.00,
//!         "currency": "NOK",
//!         "date": "2025-03-09T14:30:00Z",
//!         "description": "Bank transfer",
//!         "uniqueSourcePaymentId": "erp-0001"
//!     }]}))
//!     .send().await?
//!     .json().await?;
//! let batch_url = accepted["data"]["batchUrl"].as_str().unwrap_or_default();
//!
//! let batch: Value = http.get(batch_url).header("Authorization", &bearer).send().await?.json().await?;
//! assert_eq!(batch["data"]["status"], "SUCCESS");
//! assert_eq!(sandbox.times_booked("erp-0001"), 1);
//! sandbox.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # Behaviour
//!
//! **Tokens.** `POST /token` with the form `grant_type=client_credentials&client_id=…&client_secret=…`
//! answers `access_token`, `token_type` (`Bearer`), `not_before`, `expires_in`, `expires_on` and
//! `resource`. The three times are JSON numbers; the real service resembles Azure AD v1, which
//! sends them as strings, so clients must accept both ([`SandboxBuilder::token_times_as_strings`]
//! makes the sandbox send strings). Wrong credentials: 401 `{"error":"invalid_client",…}`
//! (OAuth2 error shape); a missing or other `grant_type`: 400; a body that is not a form: 415.
//! Tokens are HMAC-SHA256-signed with a key drawn per sandbox, carry the organization, and
//! expire after [`SandboxBuilder::token_lifetime`]; [`Sandbox::expire_tokens`] revokes all.
//!
//! **Authorization** on the collection API: a missing, invalid, expired or revoked bearer token
//! is a 401 (with `WWW-Authenticate`), a token for another organization a 403, an organization
//! id that is not a UUID a 400.
//!
//! **CreatePayments** (`POST …/orgs/{organizationId}/payments`): a `Content-Type` other than
//! `application/json` is a 415 (no `Content-Type` and no body at all: 400, a missing body); a
//! body over [`SandboxBuilder::max_body_bytes`] a 413; a body that is not JSON a 400. The body
//! is then validated against the spec's own JSON Schema (`CreatePaymentsRequest`, converted
//! from OpenAPI 3.0, formats `uuid` and `date-time` checked): a violation is a **422**, chosen
//! because the body was well-formed but its content was refused (the spec's reading of 422),
//! while 400 stays for bodies that cannot be read at all. Every problem is listed in `errors`
//! with `item` (the payment's index), `field` and a message such as
//! `payments[3].amount: "abc" is not of type "number"`. Success: **202** with `batchId` and an
//! absolute `batchUrl` (`{api_url}/orgs/{organizationId}/batches/{batchId}`).
//!
//! **Idempotency.** The `IdempotencyKey` request header ([`IDEMPOTENCY_KEY_HEADER`], an
//! assumption of the spec; 1–255 characters) is recorded per organization. The same key with the
//! same body answers 202 with the original batch and books nothing new; the same key with a
//! different body is a 409.
//!
//! **Batches** stay `QUEUED` for [`SandboxBuilder::batch_delay`], then are processed in
//! creation order. Each payment is checked in this order, the first failing rule giving the
//! failed item's [`reason`]:
//!
//! 1. `INVALID_SOURCE_PAYMENT_ID`: `uniqueSourcePaymentId` is blank;
//! 2. `UNSUPPORTED_PAYMENT_TYPE`: `type` is not `DIRECT_PAYMENT` (the spec's `PaymentType` is
//!    open, so other values pass the schema and fail here, per item);
//! 3. `INVALID_CURRENCY`: `currency` is not an ISO 4217 code;
//! 4. `INVALID_AMOUNT`: `amount` is not positive or has more decimals than the currency allows
//!    (the spec's stated assumption: major units, positive, at most the minor-unit digits);
//! 5. `UNKNOWN_INVOICE`: the invoice was not seeded ([`DEMO_INVOICES`],
//!    [`SandboxBuilder::seed_invoices`], [`Sandbox::seed_invoices`]), unless
//!    [`SandboxBuilder::accept_any_invoice`];
//! 6. `DUPLICATE_PAYMENT`: the organization already booked this `uniqueSourcePaymentId` (in an
//!    earlier batch or earlier in the same one).
//!
//! A payment passing every rule is booked: it goes into the [ledger](Sandbox::ledger) and the
//! batch's `succeeded` list. All booked → `SUCCESS`, none → `FAILED`, otherwise `PARTIAL`.
//! Items carry `invoiceId` and `uniqueSourcePaymentId`, failed ones also `reason` and `message`.
//! A batch carries `batchId`, `type`, `status`, `createdAt`, `finishedAt` (`null` while queued),
//! `organizationId`, `createdBy`, `succeeded`, `failed`, and `idempotencyKey` when it has one.
//! Its `type` is `PAYMENT` by default ([`DEFAULT_BATCH_TYPE`]): the spec documents only `NONE`
//! and `INVOICE` (and assumes `CORRECTION`, which correction batches carry) and says the set
//! is open, and the value Amili uses for payment batches is not documented.
//!
//! Processing is lazy and deterministic: whatever observes the state (a batch read, a list,
//! [`Sandbox::ledger`]) first processes every due batch, oldest first, so a test can wait for a
//! terminal status by polling and then read a ledger consistent with it.
//!
//! **Reading batches.** `GET …/batches/{batchId}`: 404 for unknown ids and for other
//! organizations' batches, 400 for an id that is not a UUID. `GET …/batches` takes `State`
//! (a `BatchStatus`), `Type` (a `BatchType` or the sandbox's batch type), `SubjectId` (batches
//! holding a payment with this `invoiceId` or `uniqueSourcePaymentId`; the filter's meaning is
//! undocumented), `IdempotencyKey`, `PageSize` (1–2147483647, default [`DEFAULT_PAGE_SIZE`],
//! served at most [`MAX_PAGE_SIZE`]), `SortDirection` (`ASC`/`DESC` by creation time,
//! case-insensitive, default `DESC`) and `PageToken` (an opaque keyset cursor from
//! `summary.nextPageToken`, which is absent on the last page). Other values of those
//! parameters, and cursors that are not the sandbox's or were made for the other sort
//! direction, are a 400 naming the parameter.
//!
//! **Faults**: [`Faults`] scripts per-[`Route`] failures: a status with `Retry-After`, a
//! delay, dropping the connection before or after processing, an HTML error body, a truncated
//! body; random ones are seeded ([`SandboxBuilder::fault_seed`]) and reproduce.
//!
//! **Webhooks** ([`SandboxBuilder::webhook_url`], `--webhook-url`): when a batch finishes, the
//! sandbox posts `BATCH_COMPLETED` (`{"id","type","source":"COLLECTION","timeStamp","data":
//! {"batchId","organizationId","status"}}`), and for every settlement it makes
//! `SETTLEMENT_CREATED` (`"data":{"settlementId","organizationId","settlementDate",
//! "invoiceId","invoiceNumber","caseNumber"}`, as `GetSettlementById` reads them), in the
//! order they happened, with the documented headers: [`EVENT_HEADER`],
//! `IdempotencyKey` (one per event, the same on every retry and duplicate), a fresh
//! `X-Amili-Request-Id` per request, and [`SIGNATURE_HEADER`]: the lowercase hex
//! HMAC-SHA256 of the raw body with the shared secret ([`SandboxBuilder::webhook_secret`],
//! default [`DEFAULT_WEBHOOK_SECRET`]) — an assumption, as Amili does not document its
//! algorithm. With webhooks on, batches are processed when they fall due, without anybody
//! reading them. A delivery is retried with a doubling pause until a 2xx answer or the last
//! attempt ([`SandboxBuilder::webhook_retries`]; a timeout, [`SandboxBuilder::webhook_timeout`],
//! or a refused connection is a failed attempt); [`WebhookFault`] delivers every event twice
//! or swaps events pairwise. [`Sandbox::webhook_attempts`] lists every request sent, and
//! [`Stats`] counts them.
//!
//! **CreateCorrections** (`POST …/orgs/{organizationId}/corrections`) is checked and
//! answered like `CreatePayments` (same `IdempotencyKey` handling, 422 naming
//! `corrections[i].field`) and creates a batch of type [`CORRECTION_BATCH_TYPE`]; its items
//! fail with `INVALID_CURRENCY`, `INVALID_AMOUNT` (zero or too precise; negative is allowed)
//! or `UNKNOWN_INVOICE`, else are booked in [`Sandbox::corrections`] and change
//! [`Sandbox::paid_on`].
//!
//! **Invoices** ([`SeedInvoice`], [`demo_invoices`], [`parse_invoice_csv`]): the demo invoices
//! have numbers and source ids; `GET …/invoices` filters by `Status`, `Type`, `InvoiceNumber`,
//! `UniqueSourceInvoiceId`, `CustomerNumber`, `From`/`To` and pages by [`INVOICE_PAGE_SIZE`];
//! `GET …/invoices/{invoiceId}` reads one.
//!
//! **Settlements** ([`Settlement`]) are produced on demand from booked payments and corrections
//! ([`Sandbox::settle`], or `POST /admin/settle?date=YYYY-MM-DD`): one per organization,
//! invoice and currency, each announced with `SETTLEMENT_CREATED` when webhooks are on.
//! `GET …/settlements` takes `fromDate`, `toDate`, `pageSize` (default
//! [`SETTLEMENT_PAGE_SIZE`]) and `pageToken`; `GET …/settlements/{settlementId}` reads one.
//!
//! **Robustness.** Unknown routes are a 404 and wrong methods a 405 (with `Allow`), both JSON;
//! no input makes the server panic. Every answer carries an `x-amili-request-id` header
//! ([`REQUEST_ID_HEADER`]). Success answers use the envelope `{"summary":{"status":"SUCCESS"},"data":…}`,
//! errors the spec's `ErrorBody`: `{"summary":{"status":"ERROR"},"message":…,"errors":[…]}`.
//!
//! The binary `amili-sandbox` ([`cli`]) runs the same server on a fixed address and prints its
//! URLs and test credentials.
//!
//! # Floors
//!
//! The crate is built in floors; a file imports only from its own floor or the ones below:
//!
//! 1. **base**: [`spec`] and `schema` (the OpenAPI description and request validation),
//!    `config`, `error`, `headers` (every header name), `request` (reading requests);
//! 2. **domain** (`domain/`): the state and its rules: the store of batches, the compact
//!    payment records and the booked payments, corrections, invoices, settlements, tokens,
//!    faults, counters and the webhook events;
//! 3. **shared state**: `state` (`AppState`, the domain's parts under their locks);
//! 4. **routes**: `routes/` (one file per resource, and the router), `server` (the accept loop
//!    that applies faults) and `webhooks` (delivery: the courier, signing and the clock);
//! 5. **handle**: `sandbox` ([`Sandbox`], [`SandboxBuilder`]), and [`cli`] above it.

#![warn(missing_docs)]

pub mod cli;
mod config;
mod domain;
mod error;
mod headers;
mod request;
mod routes;
mod sandbox;
mod schema;
mod server;
pub mod spec;
mod state;
mod webhooks;

pub use config::API_BASE_PATH;
pub use domain::corrections::{BookedCorrection, CORRECTION_BATCH_TYPE};
pub use domain::events::WebhookAttempt;
pub use domain::faults::{Fault, FaultMode, FaultSpec, Faults, Route};
pub use domain::invoices::{DEMO_INVOICES, SeedInvoice, demo_invoices, parse_invoice_csv};
pub use domain::ledger::BookedPayment;
pub use domain::rules::reason;
pub use domain::settlements::Settlement;
pub use domain::stats::Stats;
pub use error::SandboxError;
pub use headers::{EVENT_HEADER, IDEMPOTENCY_KEY_HEADER, REQUEST_ID_HEADER, SIGNATURE_HEADER};
pub use routes::batches::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use routes::invoices::INVOICE_PAGE_SIZE;
pub use routes::settlements::{MAX_SETTLEMENT_PAGE_SIZE, SETTLEMENT_PAGE_SIZE};
pub use sandbox::{
    DEFAULT_BATCH_DELAY, DEFAULT_BATCH_TYPE, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET,
    DEFAULT_MAX_BODY_BYTES, DEFAULT_ORGANIZATION_ID, DEFAULT_TOKEN_LIFETIME, OTHER_CLIENT_ID,
    OTHER_CLIENT_SECRET, OTHER_ORGANIZATION_ID, Sandbox, SandboxBuilder, TestOrganization,
};
pub use webhooks::{
    DEFAULT_WEBHOOK_ATTEMPTS, DEFAULT_WEBHOOK_BACKOFF, DEFAULT_WEBHOOK_SECRET,
    DEFAULT_WEBHOOK_TIMEOUT, WebhookFault,
};

#[cfg(test)]
mod tests {
    #[test]
    fn handles_can_be_shared_across_tasks() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<crate::Sandbox>();
        send_sync::<crate::Faults>();
        send_sync::<crate::BookedPayment>();
    }
}

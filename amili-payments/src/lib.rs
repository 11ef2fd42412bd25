//! Report payments to Amili's AutoCollect API and follow what Amili did with them.
//!
//! A creditor's backend reports the payments it received for invoices handed to Amili. This
//! crate makes that a few lines, and makes it hard to get wrong:
//!
//! - **Invalid payments cannot be built.** A [`Payment`] is validated when it is made (UUID
//!   invoice id, amount in major units with the currency's decimals, ISO 4217 currency, no
//!   future date, bounded text) and every problem of every payment is reported at once
//!   ([`ValidationErrors`]). Nothing is sent unless everything is valid.
//! - **Secrets stay secret.** The client secret and tokens live in redacting types; no
//!   `Debug`, `Display`, error or log line shows them. `https` is required except for
//!   loopback hosts.
//! - **Nothing is booked twice without you noticing.** Every request gets an
//!   [`IdempotencyKey`] before its first attempt and keeps it on every retry. When a request
//!   was sent but no answer came, the batch is looked up by that key before anything is
//!   resent; if that cannot decide, the payments are reported as *outcome unknown*
//!   ([`Error::OutcomeUnknown`], [`OutcomeState::Unknown`]) — never silently resent.
//!
//! # Quickstart
//!
//! ```
//! use std::time::Duration;
//! use amili_payments::{Client, Currency, Environment, Payment, SubmitOptions, WaitOptions};
//! use rust_decimal::Decimal;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let sandbox = amili_sandbox::Sandbox::builder()
//! #     .batch_delay(Duration::from_millis(20))
//! #     .start()
//! #     .await?;
//! # let invoice = uuid::Uuid::new_v4();
//! # sandbox.seed_invoices([invoice]);
//! # let (api_url, token_url) = (sandbox.api_url(), sandbox.token_url());
//! # let (client_id, client_secret) = (sandbox.client_id(), sandbox.client_secret());
//! # let organization_id = sandbox.organization_id();
//! // In production: `ClientBuilder::from_env()?` reads AMILI_CLIENT_ID, AMILI_CLIENT_SECRET,
//! // AMILI_ORGANIZATION_ID and AMILI_ENVIRONMENT.
//! let client = Client::builder()
//!     .environment(Environment::custom(api_url, token_url)) // or Environment::Production
//!     .organization_id(organization_id)
//!     .client_credentials(client_id, client_secret)
//!     .build()?;
//!
//! let payment = Payment::builder()
//!     .invoice_id(invoice)
//!     .amount(Decimal::new(450000, 2)) // 4500.00 in major units
//!     .currency(Currency::NOK)
//!     .date(chrono::Utc::now())
//!     .description("Paid at the counter")
//!     .unique_source_payment_id("ERP-2025-0001")
//!     .build()?;
//!
//! // Any number of payments: chunked, sent concurrently, retried safely.
//! let mut report = client.submit(vec![payment], SubmitOptions::default()).await?;
//! assert!(report.all_accepted());
//!
//! // 202 means queued: follow the batches until Amili processed them.
//! let wait = WaitOptions::default().with_interval(Duration::from_millis(20), Duration::from_millis(200));
//! client.follow(&mut report, wait).await?;
//! for outcome in &report.outcomes {
//!     println!("{}: {:?}", outcome.unique_source_payment_id, outcome.state);
//! }
//! assert!(report.all_succeeded());
//! # Ok(())
//! # }
//! ```
//!
//! # The calls
//!
//! | call | what it does |
//! |---|---|
//! | [`Client::create`] / [`Client::create_with_key`] | one request (≤ the maximum per request) → a [`Receipt`] |
//! | [`Client::submit`] / [`Client::submit_stream`] / [`Client::submit_chunks`] | any number of payments → a [`SubmitReport`], one [`PaymentOutcome`] per payment |
//! | [`Client::submit_stream_each`] | a stream of payments → a stream of [`ChunkReport`]s, one per request as it ends (flat memory) |
//! | [`Client::batch`], [`Client::batches`], [`Client::find_batch_by_key`] | read batches (the listing follows every page) |
//! | [`Client::wait`], [`Client::wait_receipt`], [`Client::follow`] | poll until a batch is done, map its items back to the payments |
//! | [`Client::check_token`] | check the credentials |
//!
//! # Assumptions about Amili
//!
//! Amili documents the payment call, the batch calls and the token call, but not everything a
//! reliable client needs. Where this crate assumes, it says so:
//!
//! - **Idempotency**: the key is sent as an `IdempotencyKey` request header, and a batch can be
//!   found with `GET /orgs/{org}/batches?IdempotencyKey=…`. Switch the header off with
//!   [`ClientBuilder::send_idempotency_key`]; then a request without an answer can only be
//!   reported as unknown. "Not found by key" is taken to mean "not booked", which assumes Amili
//!   records the key before it answers.
//! - **Limits**: no maximum of payments per request is documented (default 500,
//!   [`ClientBuilder::max_payments_per_request`]), nor limits on description or id lengths
//!   (500 and 255 characters here).
//! - **Batch items**: their shape for payments is undocumented; they are matched to payments by
//!   `uniqueSourcePaymentId`, else by invoice id when only one payment has that invoice. A
//!   payment that no item of a finished batch matches is reported unknown.
//! - **Errors**: error bodies are undocumented; the status, request id, `Retry-After` and the
//!   raw body are always kept ([`ApiError`]), and a message is shown when one can be read.
//!
//! # Tracing
//!
//! Each operation has a span (`amili.create_payments`, `amili.submit`, `amili.wait`, …) and
//! each HTTP attempt a child span `amili.attempt` with the operation, attempt number, status,
//! duration and request id. Tokens and secrets are never recorded.
//!
//! # Outcomes
//!
//! Each payment of a submission ends in one [`OutcomeState`]: `Accepted` (queued in a batch),
//! `Succeeded`, `Failed { reason }`, `Unknown { reason }` (may or may not be booked),
//! `Rejected { reason }` (sent and refused, or sending gave up: nothing booked) or
//! `NotSent { reason }` (never left). Compared with the first sketch of this API, the
//! `Rejected` state, [`PaymentOutcome::index`]/[`PaymentOutcome::invoice_id`],
//! [`Receipt::invoice_ids`]/[`Receipt::recovered`], [`SubmitReport::receipts`],
//! [`Client::wait_receipt`], [`Client::batches_page`] and the error variants
//! [`Error::InvalidResponse`] and [`Error::Usage`] were added; `DuplicateSourceId` lists every
//! repeated id; [`PaymentBuilder::build`] returns [`ValidationErrors`].
//!
//! # Blocking code
//!
//! The client is async (tokio). From blocking code, run it on a runtime:
//! `tokio::runtime::Runtime::new()?.block_on(client.submit(payments, options))`.
#![warn(missing_docs)]

mod batches;
mod builder;
mod call;
mod client;
mod create;
mod credentials;
mod currency;
pub mod environment;
mod error;
mod hooks;
mod http;
mod idempotency;
mod payment;
mod report;
mod retry;
mod submit;
mod token;
pub mod validation;
mod wait;

pub use amili_api::{BatchItem, BatchStatus, BatchType, PaymentType};
pub use batches::{Batch, BatchFilter};
pub use builder::{
    ClientBuilder, DEFAULT_CONCURRENCY, DEFAULT_MAX_PAYMENTS_PER_REQUEST, DEFAULT_TIMEOUT,
};
pub use client::Client;
pub use create::Receipt;
pub use credentials::{AccessToken, StaticToken, TokenInfo, TokenProvider};
pub use currency::{Currency, InvalidCurrency};
pub use environment::Environment;
pub use error::{ApiError, DuplicateSourceId, Error};
pub use idempotency::{IdempotencyKey, InvalidIdempotencyKey};
pub use payment::{AmountInput, Payment, PaymentBuilder, PaymentInput, validate_all};
pub use report::{
    ChunkReport, ChunkResult, OutcomeCounts, OutcomeState, PaymentOutcome, SubmitReport,
};
pub use retry::RetryPolicy;
pub use submit::{PlannedChunk, SubmitObserver, SubmitOptions};
pub use token::ClientCredentialsProvider;
pub use validation::{FieldError, ItemError, ValidationErrors};
pub use wait::WaitOptions;

/// Secret types used in this crate's API (`SecretString`, `ExposeSecret`).
pub use secrecy;

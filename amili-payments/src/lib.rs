//! Report payments to Amili's AutoCollect API and follow what Amili did with them.
//!
//! A creditor's backend reports the payments it received for invoices handed to Amili. This
//! crate makes that a few lines, and makes it hard to get wrong:
//!
//! - **Invalid payments cannot be built.** A [`Payment`] is validated when it is made (UUID
//!   invoice id, amount in major units with the currency's decimals, ISO 4217 currency, no
//!   future date, bounded text) and every problem of every payment is reported at once
//!   ([`ValidationErrors`](validation::ValidationErrors)).
//! - **Secrets stay secret.** The client secret and tokens live in redacting types; no
//!   `Debug`, `Display`, error or log line shows them. `https` is required except for
//!   loopback hosts.
//! - **Nothing is booked twice.** Every request gets an [`IdempotencyKey`] before its first
//!   attempt and keeps it on every retry. When a request may have been processed but no usable
//!   answer came, its batch is looked up by that key before anything is resent; if that cannot
//!   decide, the payments are reported [`Outcome::Unknown`](report::Outcome::Unknown) — never silently resent. A
//!   [`Ledger`](ledger::Ledger) remembers what was accepted across submissions.
//!
//! # Quickstart
//!
//! ```
//! use std::time::Duration;
//! use amili_payments::{Backoff, Client, Currency, Decimal, Environment, Payment};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let sandbox = amili_sandbox::Sandbox::builder()
//! #     .batch_delay(Duration::from_millis(20))
//! #     .start()
//! #     .await?;
//! # let invoice = amili_payments::Uuid::new_v4();
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
//!     .date("2025-03-09T10:00:00Z".parse()?) // fixed: the same payment on every run
//!     .description("Paid at the counter")
//!     .unique_source_payment_id("ERP-2025-0001")
//!     .build()?;
//!
//! // Any number of payments: chunked, sent concurrently, retried safely.
//! let mut report = client.submit(vec![payment]).send().await?;
//! report.ensure_accepted()?; // an error naming the first payment Amili did not take
//!
//! // 202 means queued: follow the batches until Amili processed them.
//! let poller = client
//!     .poller()
//!     .with_backoff(Backoff::new(Duration::from_millis(20), Duration::from_millis(200)));
//! poller.follow_all(&mut report).await?;
//! for item in report.items() {
//!     println!("{}: {}", item.id, item.outcome);
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
//! | [`Client::submit`] / [`Client::submit_stream`] → [`Submission`] | any number of payments, or of [`Correction`]s (any [`Submittable`]: the same pipeline), as requests of at most `chunk_size`; `.send()` gives the whole [`SubmitReport`](report::SubmitReport), `.stream()` a [`RequestReport`](report::RequestReport) per request as it ends |
//! | [`Client::invoice`], [`Client::invoices`], [`Client::find_invoices_by_number`], [`Client::find_invoices_by_source_id`], [`Client::invoice_resolver`] → [`invoices::Resolver`] | find invoices; turn many references (number, `uniqueSourceInvoiceId`, id) into invoice ids, reporting not found and ambiguous |
//! | [`Client::settlements`], [`Client::settlement`] | what Amili paid out over a date range (money as [`Decimal`]) |
//! | [`Client::poller`] → [`Poller`] | poll a batch once or until done (woken early by events with [`BatchWakeups`]); follow a request or a report to `Succeeded` / `Failed` |
//! | [`Client::batch`], [`Client::batches`], [`Client::find_batch_by_key`] | read batches (the listing follows every page) |
//! | [`Client::check_token`], [`Client::check_organization`] | check the credentials, and that they may act for the organization |
//!
//! Every call goes through one call loop (retries with the [`RetryPolicy`]'s [`Backoff`],
//! one token refresh after a `401`, look-up by key after an ambiguous write).
//!
//! # Outcomes
//!
//! Each payment of a submission ends in one [`Outcome`](report::Outcome): `Accepted` (queued in a batch),
//! `Succeeded`, `Failed` (with Amili's reason), `Unknown` (may or may not be booked),
//! `Rejected` (refused, nothing booked), `NotSent` (never left, with why),
//! `AlreadyAccepted` and `Conflict` (the ledger knew it), `Invalid` (for callers that report
//! rows they could not validate). [`OutcomeCounts`](report::OutcomeCounts) counts them.
//!
//! # Assumptions about Amili
//!
//! Amili documents the payment call, the batch calls and the token call, but not everything a
//! reliable client needs. Where this crate assumes, it says so:
//!
//! - **Idempotency**: the key is sent as an `IdempotencyKey` request header, and a batch can be
//!   found with `GET /orgs/{org}/batches?IdempotencyKey=…`. Switch the header off with
//!   [`ClientBuilder::send_idempotency_key`]; then a request without an answer can only be
//!   reported as unknown. "Not found by key" is taken to mean "not booked" while a retry is
//!   left (the retry carries the same key); after the last attempt it is "unknown".
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
//! Each operation has a span (`amili.submit`, `amili.create_payments`, `amili.wait`, …) and
//! each HTTP attempt a child span `amili.attempt` with the operation, attempt number, status,
//! duration and request id. Tokens and secrets are never recorded.
//!
//! # Blocking code
//!
//! The client is async (tokio). From blocking code, run it on a runtime:
//! `tokio::runtime::Runtime::new()?.block_on(client.submit(payments).send())`.
#![warn(missing_docs)]
#![warn(clippy::missing_errors_doc)]

mod backoff;
pub mod batches;
mod breaker;
mod builder;
mod call;
mod chunks;
mod client;
mod correction;
pub mod credentials;
mod currency;
mod environment;
mod error;
mod hooks;
mod http;
mod idempotency;
mod input_format;
pub mod invoices;
pub mod ledger;
mod money_fields;
mod outcome;
mod pages;
mod payment;
mod poller;
mod raw_fields;
mod repeats;
pub mod report;
mod retry;
pub mod settlements;
mod status;
mod stop;
mod submission;
mod submittable;
mod token;
pub mod validation;
mod wire;
mod wire_date;

pub use backoff::Backoff;
pub use builder::ClientBuilder;
pub use client::Client;
pub use correction::{Correction, CorrectionBuilder, CorrectionFields, CorrectionInput};
pub use currency::Currency;
pub use environment::Environment;
pub use error::{ApiError, Error};
pub use idempotency::{IdempotencyKey, InvalidIdempotencyKey};
pub use payment::{Payment, PaymentBuilder, PaymentFields, PaymentInput};
pub use poller::{BatchWakeups, Poller};
pub use retry::RetryPolicy;
pub use stop::StopHandle;
pub use submission::Submission;
pub use submittable::{Submittable, fingerprint};

/// How a payment was made (`DIRECT_PAYMENT`, or a value this version does not know).
pub use amili_api::PaymentType;

// Third-party types of the public API, so callers need no version guessing.
/// A `reqwest::ClientBuilder` ready for this crate's TLS backend, for
/// [`ClientBuilder::http_client`].
pub use amili_api::tls::client_builder as http_client_builder;
pub use chrono::{DateTime, NaiveDate, Utc};
/// The HTTP client crate, for [`ClientBuilder::http_client`].
pub use reqwest;
pub use rust_decimal::Decimal;
/// Secret types used in this crate's API (`SecretString`, `ExposeSecret`).
pub use secrecy;
pub use uuid::Uuid;

// Every Rust block of the README compiles (and runs, unless marked `no_run`) as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

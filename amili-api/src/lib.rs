//! The raw client for Amili's AutoCollect API (payments, corrections, invoices, settlements, batches).
//!
//! Everything in [`Client`] and [`types`] is **generated at build time** by progenitor from
//! the OpenAPI description this crate ships (`openapi.yaml`, the workspace's
//! `openapi/autocollect.yaml`; see `build.rs` and the `amili-codegen` crate). The modules here
//! are the few hand-written pieces progenitor needs in the same crate:
//!
//! - [`PaymentType`], [`BatchStatus`], [`BatchType`], [`InvoiceStatus`], [`InvoiceType`],
//!   [`CollectionType`]: open enums that keep values the server adds later instead of failing
//!   the whole response;
//! - [`Amount`]: money as a [`rust_decimal::Decimal`] in major units, a JSON number on the wire
//!   (the spec's `Amount` and its signed `SignedAmount` both);
//! - [`BatchItem`]: an undocumented, growing JSON object kept whole;
//! - [`hooks`]: the `ClientHooks` impl, which only delegates to a [`RequestHooks`] trait object
//!   supplied by the caller. Tokens, retries and tracing policy live in `amili-payments`;
//! - [`tls`]: the TLS backend (reqwest's rustls by default; `ring` or `native-tls` as features) and
//!   the [`tls::client_builder`] that HTTP clients should be built with.
//!
//! Most users want `amili-payments`, which validates payments, handles tokens and retries.
//!
//! ```
//! use amili_api::{Client, ClientInfo, hooks::Inner};
//!
//! let client = Client::new_with_client(
//!     "https://api.staging.amili.no/collection/v1",
//!     amili_api::tls::client_builder().build()?,
//!     Inner::default(),
//! );
//! // `client.create_payments().organization_id(…).body(…).send().await` sends a request.
//! assert_eq!(client.baseurl(), "https://api.staging.amili.no/collection/v1");
//! # Ok::<(), reqwest::Error>(())
//! ```
//!
//! # Features
//!
//! - `rustls` (default): TLS through reqwest's own rustls set-up (the `aws-lc-rs` provider).
//! - `rustls-ring`: TLS through rustls with the `ring` crypto provider (faster to build; see
//!   [`tls`] for what it asks of the program's other reqwest clients).
//! - `native-tls`: TLS through the platform's library (OpenSSL on Linux).
//!
//! With neither, only plain `http://` URLs work.
#![warn(missing_docs)]

mod amount;
mod batch_item;
pub mod hooks;
mod open_enums;
pub mod tls;

pub use amount::{Amount, AmountError};
pub use batch_item::BatchItem;
pub use hooks::RequestHooks;
pub use open_enums::{
    BatchStatus, BatchType, CollectionType, InvoiceStatus, InvoiceType, PaymentType,
};

/// serde, for the expansion of the exported `open_enum!` macro.
#[doc(hidden)]
pub use serde as __serde;

/// The generated code: `Client`, its builders and `types`.
#[allow(missing_docs, clippy::all, clippy::pedantic, unused_imports)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/amili_api_generated.rs"));
}

pub use generated::*;

// Every Rust block of the README compiles (and runs, unless marked `no_run`) as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

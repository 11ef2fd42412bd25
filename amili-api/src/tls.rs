//! The TLS backend for `https://` URLs.
//!
//! | feature | backend |
//! |---|---|
//! | `rustls` (default) | reqwest's own rustls set-up: the [`aws-lc-rs`](https://crates.io/crates/aws-lc-rs) crypto provider and the platform's certificate verifier |
//! | `rustls-ring` | rustls with the [`ring`](https://crates.io/crates/ring) crypto provider and the platform's certificate verifier |
//! | `native-tls` | the system's TLS library (OpenSSL on Linux); it wins when both features are on |
//!
//! The default keeps every `reqwest::Client` of the process working, a user's own included,
//! whenever it is built: reqwest falls back to its own provider. `rustls-ring` builds much
//! faster (no C build of aws-lc) but enables reqwest's `rustls-no-provider`, and Cargo gives
//! every crate of the build the same `reqwest`: then *any* `reqwest::Client` built before a
//! rustls crypto provider is installed panics. With it, build HTTP clients with
//! [`client_builder`] (and pass them to
//! [`Client::new_with_client`](crate::Client::new_with_client)), or call
//! [`ensure_crypto_provider`] once before building your own (or before
//! [`Client::new`](crate::Client::new), which builds one).
//!
//! ```
//! let http = amili_api::tls::client_builder()
//!     .connect_timeout(std::time::Duration::from_secs(10))
//!     .build()?;
//! let client = amili_api::Client::new_with_client(
//!     "https://api.staging.amili.no/collection/v1",
//!     http,
//!     amili_api::hooks::Inner::default(),
//! );
//! # let _ = client;
//! # Ok::<(), reqwest::Error>(())
//! ```

/// A `reqwest::ClientBuilder` whose `build()` works with this crate's TLS features: it makes
/// sure a rustls crypto provider is installed first ([`ensure_crypto_provider`]).
///
/// Everything else is reqwest's default; configure timeouts, proxies or extra root
/// certificates on the builder as usual.
pub fn client_builder() -> reqwest::ClientBuilder {
    ensure_crypto_provider();
    reqwest::Client::builder()
}

/// Installs rustls' `ring` provider as the process-wide default unless a provider is already
/// installed. A provider you install yourself beforehand is kept.
///
/// Idempotent and safe to call from many threads. Without the `rustls-ring` feature it does
/// nothing (reqwest's own set-up needs no installed provider). Call it before building a `reqwest::Client` yourself (`reqwest::Client::new()`
/// panics when the rustls backend is compiled in but no provider is installed); note that
/// rustls' `CryptoProvider::install_default` returns `Err` once a provider is installed, so
/// code of yours that installs a provider *after* this ran must not `unwrap` that result.
pub fn ensure_crypto_provider() {
    #[cfg(feature = "rustls-ring")]
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // `Err` means another thread installed one in the meantime: that one is used.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

#[cfg(test)]
mod tests {
    #[cfg(feature = "rustls-ring")]
    #[test]
    fn a_provider_is_installed_and_reqwest_can_build_a_client() {
        super::ensure_crypto_provider();
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
        assert!(super::client_builder().build().is_ok());
        // A second call keeps the installed provider.
        super::ensure_crypto_provider();
        assert!(reqwest::Client::builder().build().is_ok());
    }
}

//! Where Amili lives: production, staging or a custom base (the sandbox).

use std::net::IpAddr;

use url::{Host, Url};

use crate::error::Error;

/// Production collection API base.
pub(crate) const PRODUCTION_API_URL: &str = "https://api.amili.no/collection/v1";
/// Production token endpoint.
pub(crate) const PRODUCTION_TOKEN_URL: &str = "https://auth.amili.no/token";
/// Staging collection API base.
pub(crate) const STAGING_API_URL: &str = "https://api.staging.amili.no/collection/v1";
/// Staging token endpoint.
pub(crate) const STAGING_TOKEN_URL: &str = "https://auth.staging.amili.no/token";

/// Which Amili to talk to.
///
/// `https` is required, except for loopback hosts (`localhost`, `127.0.0.0/8`, `::1`), where
/// plain `http` is allowed so tests can use a local sandbox.
///
/// ```
/// use amili_payments::Environment;
///
/// assert_eq!(Environment::Staging.api_url(), "https://api.staging.amili.no/collection/v1");
/// let sandbox = Environment::custom("http://127.0.0.1:8080/collection/v1", "http://127.0.0.1:8080/token");
/// assert!(sandbox.check().is_ok());
/// let bad = Environment::custom("http://amili.example/collection/v1", "https://auth.example/token");
/// assert!(bad.check().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Environment {
    /// `https://api.amili.no/collection/v1`, tokens from `https://auth.amili.no/token`.
    Production,
    /// `https://api.staging.amili.no/collection/v1`, tokens from
    /// `https://auth.staging.amili.no/token`.
    #[default]
    Staging,
    /// Any API base and token endpoint, such as a local sandbox.
    Custom {
        /// The collection API base, e.g. `http://127.0.0.1:8080/collection/v1`.
        api_url: String,
        /// The full token endpoint URL, e.g. `http://127.0.0.1:8080/token`.
        token_url: String,
    },
}

impl Environment {
    /// A custom API base and token endpoint.
    pub fn custom(api_url: impl Into<String>, token_url: impl Into<String>) -> Self {
        Environment::Custom {
            api_url: api_url.into(),
            token_url: token_url.into(),
        }
    }

    /// The collection API base URL.
    pub fn api_url(&self) -> &str {
        match self {
            Environment::Production => PRODUCTION_API_URL,
            Environment::Staging => STAGING_API_URL,
            Environment::Custom { api_url, .. } => api_url,
        }
    }

    /// The token endpoint URL.
    pub fn token_url(&self) -> &str {
        match self {
            Environment::Production => PRODUCTION_TOKEN_URL,
            Environment::Staging => STAGING_TOKEN_URL,
            Environment::Custom { token_url, .. } => token_url,
        }
    }

    /// Checks both URLs: absolute, `https` (or `http` to a loopback host), no credentials or
    /// query in them.
    ///
    /// # Errors
    ///
    /// [`Error`] naming the URL (API or token) and what is wrong with it.
    pub fn check(&self) -> Result<(), Error> {
        check_url("API URL", self.api_url())?;
        check_url("token URL", self.token_url())?;
        Ok(())
    }

    /// Parses `production` / `staging` (any case).
    ///
    /// # Errors
    ///
    /// [`Error`] naming the value when it is neither.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        match name.trim().to_ascii_lowercase().as_str() {
            "production" | "prod" => Ok(Environment::Production),
            "staging" | "stage" => Ok(Environment::Staging),
            other => Err(Error::Config(format!(
                "unknown environment {other:?}: expected `production` or `staging` (or set a \
                 custom API and token URL)"
            ))),
        }
    }
}

/// Parses a URL and applies the transport rules.
pub(crate) fn check_url(what: &str, text: &str) -> Result<Url, Error> {
    let url = Url::parse(text.trim())
        .map_err(|e| Error::Config(format!("the {what} {text:?} is not a URL: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::Config(format!(
            "the {what} must not carry credentials; configure them on the builder"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::Config(format!(
            "the {what} {text:?} must not have a query or fragment"
        )));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(Error::Config(format!(
            "the {what} {text:?} uses plain http: https is required except for loopback \
             hosts (localhost, 127.0.0.1, ::1)"
        ))),
        other => Err(Error::Config(format!(
            "the {what} {text:?} has scheme {other:?}: expected https"
        ))),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => {
            let domain = domain.trim_end_matches('.').to_ascii_lowercase();
            domain == "localhost" || domain.ends_with(".localhost")
        }
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_everywhere_but_loopback() {
        for ok in [
            "https://api.amili.no/collection/v1",
            "http://127.0.0.1:1234/x",
            "http://127.9.9.9/x",
            "http://localhost:80/",
            "http://[::1]:8080/",
        ] {
            assert!(check_url("API URL", ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://api.amili.no/collection/v1",
            "http://10.0.0.1/",
            "http://localhost.evil.com/",
            "ftp://127.0.0.1/",
            "https://user:pw@api.amili.no/",
            "https://api.amili.no/?x=1",
            "not a url",
        ] {
            assert!(check_url("API URL", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn named_environments() {
        assert_eq!(
            Environment::from_name("Production").ok(),
            Some(Environment::Production)
        );
        assert!(Environment::from_name("dev").is_err());
        assert!(Environment::Production.check().is_ok());
    }
}

//! Secrets from flags and variables (client secret, token, webhook secret).

use std::fmt;

/// A secret from a flag or variable: never printed, not even by `Debug`.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// clap's value parser.
    pub fn parse(text: &str) -> Result<Secret, String> {
        if text.is_empty() {
            Err("must not be empty".to_owned())
        } else {
            Ok(Secret(text.to_owned()))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

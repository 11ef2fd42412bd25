//! An amount as a camt file writes it.

/// An amount as the file writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Amount {
    /// The decimal text.
    pub value: String,
    /// The `Ccy` attribute.
    pub currency: String,
}

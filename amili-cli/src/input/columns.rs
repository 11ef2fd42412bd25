//! Which CSV column holds which field, beyond the API's own names: columns renamed
//! (`--column Fakturanr=invoiceNumber`), ignored (`--ignore-column`), and fields given for
//! every row of a file that has no column for them (`--type`, `--currency`).

/// How a file's columns are read.
#[derive(Debug, Default, Clone)]
pub struct Columns {
    /// A header name as written (compared without regard to case and spaces) and the field
    /// it holds.
    pub renamed: Vec<(String, String)>,
    /// Header names to skip.
    pub ignored: Vec<String>,
    /// A field and the value of every row that has none (the file has no such column, or a
    /// JSON row leaves it out).
    pub defaults: Vec<(&'static str, String)>,
}

impl Columns {
    /// The field `--column` maps a header to, if any.
    pub fn renamed(&self, header: &str) -> Option<&str> {
        let header = normalized(header);
        self.renamed
            .iter()
            .find(|(name, _)| normalized(name) == header)
            .map(|(_, field)| field.as_str())
    }

    /// Whether `--ignore-column` names the header.
    pub fn is_ignored(&self, header: &str) -> bool {
        let header = normalized(header);
        self.ignored.iter().any(|name| normalized(name) == header)
    }

    /// Whether every row gets `field` without a column for it.
    pub fn has_default(&self, field: &str) -> bool {
        self.defaults.iter().any(|(f, _)| *f == field)
    }
}

/// A header name as compared: lower case, without spaces, `_` or `-`.
pub fn normalized(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '\u{a0}'))
        .flat_map(char::to_lowercase)
        .collect()
}

//! The names a file's columns (CSV) or keys (JSON) may have: the kind's fields and invoice
//! references; beyond them, columns renamed (`--column Fakturanr=invoiceNumber`), ignored
//! (`--ignore-column`), and fields given for every row that has none (`--type`,
//! `--currency`). A name of the other kind's files names that kind's command.

use std::borrow::Cow;

use amili_payments::Submittable as _;

use crate::kind::{FileKind, REFERENCE_FIELDS};

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
    pub defaults: Defaults,
}

/// `--type` and `--currency`: a field and the value of every row that has none.
pub type Defaults = Vec<(&'static str, String)>;

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

/// The columns a file of `K` may have: the API's fields and the invoice references.
pub(super) fn known<K: FileKind>() -> impl Iterator<Item = &'static str> {
    K::FIELDS.iter().chain(REFERENCE_FIELDS.iter()).copied()
}

/// The column a header names, matched without regard to case and spaces.
pub(super) fn field_of<K: FileKind>(name: &str) -> Option<&'static str> {
    let name = normalized(name);
    known::<K>().find(|f| normalized(f) == name)
}

/// The column a misspelt header most likely means.
pub(super) fn did_you_mean<K: FileKind>(name: &str) -> Option<&'static str> {
    let name = normalized(name);
    known::<K>()
        .map(|f| (strsim::damerau_levenshtein(&name, &normalized(f)), f))
        .filter(|(distance, f)| *distance <= (f.len() / 3).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, f)| f)
}

/// The names a file of `K` may use: `invoiceId (or invoiceNumber, uniqueSourceInvoiceId),
/// type, …`.
pub(super) fn accepted<K: FileKind>() -> String {
    K::FIELDS
        .iter()
        .map(|f| match *f {
            "invoiceId" => format!("invoiceId (or {})", REFERENCE_FIELDS.join(", ")),
            f => f.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The fields only the other kind's rows have (`type`, `uniqueSourcePaymentId` for a
/// correction).
pub(super) fn other_only<K: FileKind>() -> Vec<&'static str> {
    K::Other::FIELDS
        .iter()
        .copied()
        .filter(|f| !K::FIELDS.contains(f))
        .collect()
}

/// The keys a JSON row of a kind may have (exactly as the API spells them).
pub struct Keys {
    known: Vec<&'static str>,
    other_only: Vec<&'static str>,
    ignored: Vec<String>,
    /// This kind's and the other kind's names, for messages.
    names: [&'static str; 3],
    accepted: String,
    suggest: fn(&str) -> Option<&'static str>,
}

impl Keys {
    pub fn of<K: FileKind>(columns: &Columns) -> Keys {
        Keys {
            known: known::<K>().collect(),
            other_only: other_only::<K>(),
            ignored: columns.ignored.clone(),
            names: [K::NAME, K::Other::NAME, K::Other::PLURAL],
            accepted: accepted::<K>(),
            suggest: did_you_mean::<K>,
        }
    }

    /// Why the JSON object `text` does not belong in the file: a key of the other kind's
    /// rows, or one that is no field and not ignored. Text that is no JSON object passes
    /// (reading the row says what is wrong with it).
    pub fn check(&self, text: &[u8]) -> Result<(), String> {
        let mut deserializer = serde_json::Deserializer::from_slice(text);
        let Ok(mut keys) =
            serde::Deserializer::deserialize_map(&mut deserializer, Strangers { keys: self })
        else {
            return Ok(());
        };
        keys.sort_unstable();
        let [this, other, other_plural] = self.names;
        if let Some(key) = keys.iter().find(|k| self.other_only.contains(&k.as_str())) {
            return Err(format!(
                "{key:?} is a field of a {other}, not a {this}: use `amili {other_plural} \
                 submit` (or --ignore-column {key})"
            ));
        }
        match keys.first() {
            None => Ok(()),
            Some(key) => Err(format!(
                "unknown field {key:?}{}; accepted: {}; skip it with --ignore-column {key}",
                (self.suggest)(key)
                    .map(|f| format!(" (did you mean \"{f}\"?)"))
                    .unwrap_or_default(),
                self.accepted
            )),
        }
    }
}

/// Reads a JSON object's keys (values skipped) and keeps those [`Keys`] does not know: most
/// rows have none, so a row costs no allocation beyond its unknown keys.
struct Strangers<'a> {
    keys: &'a Keys,
}

impl<'de> serde::de::Visitor<'de> for Strangers<'_> {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Vec<String>, A::Error> {
        let mut strangers = Vec::new();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            map.next_value::<serde::de::IgnoredAny>()?;
            let key: &str = &key;
            if !self.keys.known.contains(&key) && !self.keys.ignored.iter().any(|i| i == key) {
                strangers.push(key.to_owned());
            }
        }
        Ok(strangers)
    }
}

/// An object key, borrowed from the text unless it has escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, key: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(key)))
            }
            fn visit_str<E>(self, key: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(key.to_owned())))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

//! A row's cells for its fields in one buffer, inline for a short row: how a CSV record or a
//! bank file's credit crosses from the reading thread to the validating one, which borrows
//! them as the library's raw row ([`Cells::fields`]). A row then costs neither thread an
//! allocation: a block made on one core and freed on the other takes the lock of the
//! reader's glibc arena (BENCHMARKS.md).

use amili_payments::PaymentInput;
use smallvec::SmallVec;

use crate::kind::FileKind;

/// The most cells a row has for its fields: a header names each field once (a payment has
/// seven), and the invoice reference columns are kept apart.
const MAX_CELLS: usize = PaymentInput::FIELDS.len();

/// The bytes of a row's cells kept inline: most payment rows are shorter, and a longer one
/// takes one heap block.
pub const INLINE_TEXT: usize = 192;

/// A row's cells for its fields (CSV: trimmed), in one buffer.
#[derive(Debug)]
pub struct Cells {
    /// The cells' text, one after the other (each is a whole `str`).
    text: SmallVec<[u8; INLINE_TEXT]>,
    /// Each cell's field and where its text ends in `text` (it starts where the one before
    /// ends).
    ends: [(&'static str, usize); MAX_CELLS],
    len: usize,
}

impl Default for Cells {
    fn default() -> Self {
        Cells {
            text: SmallVec::new(),
            ends: [("", 0); MAX_CELLS],
            len: 0,
        }
    }
}

impl Cells {
    /// Adds `field`'s text (one of the kind's [`FIELDS`](amili_payments::Submittable::FIELDS),
    /// each at most once).
    pub fn push(&mut self, field: &'static str, text: &str) {
        // Never more cells than fields: `CsvRows::new` refuses a field named twice, and a bank
        // credit has six fields and its invoice id.
        if let Some(end) = self.ends.get_mut(self.len) {
            self.text.extend_from_slice(text.as_bytes());
            *end = (field, self.text.len());
            self.len += 1;
        }
    }

    /// The cells as the library's borrowed raw row.
    pub fn fields<K: FileKind>(&self) -> K::Fields<'_> {
        let mut fields = K::Fields::default();
        // Each cell was pushed whole from a `str`, so the text is UTF-8 and each cell starts and
        // ends on a character's boundary: one check for the row, not one per cell.
        let text = std::str::from_utf8(&self.text).unwrap_or_default();
        let mut start = 0;
        for &(field, end) in &self.ends[..self.len] {
            K::set_field(&mut fields, field, text.get(start..end).unwrap_or_default());
            start = end;
        }
        fields
    }
}

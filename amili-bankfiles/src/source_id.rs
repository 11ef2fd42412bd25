//! The `uniqueSourcePaymentId` of a bank credit, derived from the bank's own identifiers so
//! that the same transaction always gets the same id, whichever copy of the file it is read
//! from. See the crate docs ("Payment ids") for the rules.

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

/// Amili's limit on `uniqueSourcePaymentId` (characters).
pub const MAX_LEN: usize = amili_payments::validation::MAX_SOURCE_ID_CHARS;

/// OCR giro: `ocr:<agreement id>:<assignment number>:<transaction number>:<settlement date>`,
/// such as `ocr:001234567:0000001:0000001:20240131` (38 characters). The archive
/// reference is not part of it: several transactions share one.
pub fn ocr(
    agreement_id: &str,
    assignment: &str,
    transaction: u32,
    settlement: NaiveDate,
) -> String {
    format!(
        "ocr:{agreement_id}:{assignment}:{transaction:07}:{}",
        settlement.format("%Y%m%d")
    )
}

/// The longest account or bank reference written into an id as it is (ISO 20022 allows 34
/// and 35 characters); a longer one is written as `x<32 hex digits>` of its SHA-256, so that
/// an id never passes [`MAX_LEN`].
pub const MAX_PART_LEN: usize = 64;

/// camt with the transaction's `AcctSvcrRef`: `camt:<account>:<AcctSvcrRef>` (the account
/// `-` when the file names none), with `:<n>` added for the n-th (n ≥ 2) repeat of the same
/// reference in one file.
pub fn camt_bank_reference(account: &str, reference: &str, repeat: u64) -> String {
    let account = if account.is_empty() {
        "-".to_owned()
    } else {
        bounded(account)
    };
    let reference = bounded(reference);
    match repeat {
        0 | 1 => format!("camt:{account}:{reference}"),
        n => format!("camt:{account}:{reference}:{n}"),
    }
}

/// camt without a transaction `AcctSvcrRef`: `camt:<account>:h<digest>` where the digest is
/// the first 32 hex digits of a SHA-256 [`fingerprint`] of the identifying fields, with
/// `:<n>` added for the n-th (n ≥ 2) entry with the very same fields in one file.
pub fn camt_digest(account: &str, fingerprint: &[u8; 32], repeat: u64) -> String {
    camt_bank_reference(account, &format!("h{}", hex32(fingerprint)), repeat)
}

/// `part`, or `x` and a digest of it when longer than [`MAX_PART_LEN`].
fn bounded(part: &str) -> String {
    if part.chars().count() <= MAX_PART_LEN {
        part.to_owned()
    } else {
        format!("x{}", hex32(&fingerprint(&[part])))
    }
}

/// The first 16 bytes of a digest as 32 hex digits.
fn hex32(digest: &[u8; 32]) -> String {
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 over `fields`, each followed by U+001F (the ASCII unit separator).
pub fn fingerprint(fields: &[&str]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for field in fields {
        hasher.update(field.as_bytes());
        hasher.update([0x1f]);
    }
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_parts_are_digested_so_that_ids_stay_within_the_limit() {
        let long = "R".repeat(1000);
        let id = camt_bank_reference(&"A".repeat(300), &long, 2);
        assert!(id.len() <= MAX_LEN, "{id}");
        assert!(id.starts_with("camt:x") && id.ends_with(":2"), "{id}");
        assert_ne!(
            id,
            camt_bank_reference(&"A".repeat(300), &"R".repeat(999), 2)
        );
        assert_eq!(camt_bank_reference("", "REF-1", 1), "camt:-:REF-1");
    }
}

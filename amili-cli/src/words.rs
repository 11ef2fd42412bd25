//! Counted nouns, singular or plural as the count wants: "1 payment", "2 payments".

/// `n` and the noun for it: `one` for 1, `many` otherwise.
pub fn count(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// "1 of 3 rows is invalid", "2 of 3 rows are invalid": `some` of `rows` are `what`.
pub fn some_of_rows(some: u64, rows: u64, what: &str) -> String {
    let verb = if some == 1 { "is" } else { "are" };
    format!("{some} of {} {verb} {what}", count(rows, "row", "rows"))
}

/// What a submission sent, said after it: `sent` items went to Amili, `known` were not sent
/// because the ledger knew them as accepted, of `valid` in the file.
pub fn sent(sent: u64, known: u64, valid: u64, one: &str, many: &str) -> String {
    if sent == 0 && known == valid {
        return match valid {
            1 => format!("nothing to send: the {one} was already accepted"),
            n => format!("nothing to send: all {n} {many} already accepted"),
        };
    }
    let mut said = format!("sent {}", count(sent, one, many));
    if known > 0 {
        said.push_str(&format!(
            "; {known} already accepted before, not sent again"
        ));
    }
    said
}

#[cfg(test)]
mod tests {
    use super::{count, sent, some_of_rows};

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(count(1, "payment", "payments"), "1 payment");
        assert_eq!(count(0, "payment", "payments"), "0 payments");
        assert_eq!(count(12, "row", "rows"), "12 rows");
        assert_eq!(some_of_rows(1, 1, "invalid"), "1 of 1 row is invalid");
        assert_eq!(some_of_rows(2, 5, "valid"), "2 of 5 rows are valid");
    }

    #[test]
    fn what_was_sent_counts_what_went_out() {
        let said = |s, k, v| sent(s, k, v, "payment", "payments");
        assert_eq!(
            said(0, 12, 12),
            "nothing to send: all 12 payments already accepted"
        );
        assert_eq!(
            said(0, 1, 1),
            "nothing to send: the payment was already accepted"
        );
        assert_eq!(said(1, 0, 1), "sent 1 payment");
        assert_eq!(
            said(10, 2, 12),
            "sent 10 payments; 2 already accepted before, not sent again"
        );
    }
}

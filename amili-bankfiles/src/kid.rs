//! KID check digits: MOD10 (Luhn) and MOD11, the two schemes Norwegian creditors use.
//!
//! Which scheme (and length) a KID uses is agreed per creditor agreement, and real files mix
//! them, so a KID that passes neither is a warning on the credit, never an error.

/// The MOD10 (Luhn) check digit of `digits`: weights 2, 1, 2, 1, … from the right, the digits
/// of the products summed, check = (10 − sum mod 10) mod 10. `None` when `digits` is empty or
/// not all ASCII digits.
///
/// ```
/// assert_eq!(amili_bankfiles::kid::mod10("12345678"), Some('2'));
/// assert_eq!(amili_bankfiles::kid::mod10("1234"), Some('4'));
/// ```
pub fn mod10(digits: &str) -> Option<char> {
    let sum = weighted(digits, |i| if i % 2 == 0 { 2 } else { 1 }, true)?;
    char::from_digit((10 - sum % 10) % 10, 10)
}

/// The MOD11 check digit of `digits`: weights 2, 3, 4, 5, 6, 7, 2, 3, … from the right,
/// r = sum mod 11, check = 11 − r, with r = 0 giving `0` and r = 1 giving `-` (no valid KID
/// ends so). `None` when `digits` is empty or not all ASCII digits.
///
/// ```
/// assert_eq!(amili_bankfiles::kid::mod11("12345678"), Some('5'));
/// assert_eq!(amili_bankfiles::kid::mod11("1234"), Some('3'));
/// ```
pub fn mod11(digits: &str) -> Option<char> {
    let sum = weighted(digits, |i| (i % 6) as u32 + 2, false)?;
    Some(match sum % 11 {
        0 => '0',
        1 => '-',
        r => char::from_digit(11 - r, 10)?,
    })
}

/// Whether `kid` ends with a correct MOD10 or MOD11 check digit (at least two characters).
///
/// ```
/// use amili_bankfiles::kid::is_valid;
/// assert!(is_valid("12344")); // MOD10
/// assert!(is_valid("12343")); // MOD11
/// assert!(!is_valid("12340"));
/// ```
pub fn is_valid(kid: &str) -> bool {
    let Some(last) = kid.chars().last() else {
        return false;
    };
    if kid.len() < 2 {
        return false;
    }
    let body = &kid[..kid.len() - last.len_utf8()];
    mod10(body) == Some(last) || mod11(body) == Some(last)
}

/// The weighted sum of the digits from the right (`weight(i)` for the i-th from the right,
/// from 0); with `digit_sum`, each product counts by the sum of its digits (Luhn).
fn weighted(digits: &str, weight: impl Fn(usize) -> u32, digit_sum: bool) -> Option<u32> {
    if digits.is_empty() {
        return None;
    }
    let mut sum = 0u32;
    for (i, c) in digits.chars().rev().enumerate() {
        let product = c.to_digit(10)? * weight(i);
        sum += if digit_sum {
            product / 10 + product % 10
        } else {
            product
        };
    }
    Some(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_vectors() {
        assert_eq!(mod10("12345678"), Some('2'));
        assert_eq!(mod11("12345678"), Some('5'));
        assert!(is_valid("12344") && is_valid("12343"));
        assert!(!is_valid("1") && !is_valid("") && !is_valid("12a44"));
        assert_eq!(mod10(""), None);
        assert_eq!(mod11("12x"), None);
    }

    #[test]
    fn mod11_remainder_one_gives_a_dash() {
        // 9*2 = 18, 18 mod 11 = 7 -> 4; find a body with r = 1: "5" -> 10 mod 11 = 10 -> 1;
        // "6" -> 12 mod 11 = 1 -> '-'.
        assert_eq!(mod11("6"), Some('-'));
        assert_eq!(mod11("0"), Some('0'));
    }
}

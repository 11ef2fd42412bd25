//! How a bank file's references name invoices: `--reference-as`, `--reference-pattern`.

use regex::Regex;

/// The `--help` heading of the bank-file flags.
const BANK_FILES: &str = "Bank files (OCR giro, camt.053/054)";

/// How a bank file's references name invoices: `--reference-as`, `--reference-pattern`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct BankArgs {
    /// What a bank file's payment reference (the KID; camt's creditor reference), or the part
    /// of it --reference-pattern picks, is: an `invoiceNumber` or `uniqueSourceInvoiceId`
    /// (looked up in Amili, each distinct one once; no match or several is that
    /// transaction's problem), or the `invoiceId` itself. Required for bank files.
    #[arg(long, value_enum, value_name = "FIELD", help_heading = BANK_FILES)]
    pub reference_as: Option<ReferenceAs>,

    /// The part of the reference that names the invoice: the regex's first capture group
    /// (e.g. `^0*(\d+)\d$` drops leading zeros and the KID's check digit). A reference the
    /// pattern does not match is that transaction's problem.
    #[arg(long, value_name = "REGEX", value_parser = parse_pattern, help_heading = BANK_FILES)]
    pub reference_pattern: Option<Regex>,
}

/// What a reference (or its captured part) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReferenceAs {
    /// The invoice's number in Amili.
    #[value(name = "invoiceNumber")]
    InvoiceNumber,
    /// The invoice's id in the creditor's own system.
    #[value(name = "uniqueSourceInvoiceId")]
    UniqueSourceInvoiceId,
    /// Amili's invoice id (a UUID).
    #[value(name = "invoiceId")]
    InvoiceId,
}

impl ReferenceAs {
    /// The field name, as in a CSV header.
    pub fn field(self) -> &'static str {
        match self {
            ReferenceAs::InvoiceNumber => "invoiceNumber",
            ReferenceAs::UniqueSourceInvoiceId => "uniqueSourceInvoiceId",
            ReferenceAs::InvoiceId => "invoiceId",
        }
    }
}

fn parse_pattern(text: &str) -> Result<Regex, String> {
    let regex = Regex::new(text).map_err(|e| e.to_string())?;
    if regex.captures_len() < 2 {
        return Err("the pattern needs a capture group, `(…)`: the part naming the invoice".into());
    }
    Ok(regex)
}

/// How references name invoices, checked: `--reference-as` is required.
#[derive(Debug, Clone)]
pub struct Naming {
    pub field: ReferenceAs,
    pub pattern: Option<Regex>,
}

impl Naming {
    pub fn new(args: &BankArgs) -> anyhow::Result<Naming> {
        let Some(field) = args.reference_as else {
            anyhow::bail!(
                "a bank file's references can name invoices in several ways: say which with \
                 --reference-as invoiceNumber, uniqueSourceInvoiceId or invoiceId (and \
                 --reference-pattern REGEX when only part of the reference names the invoice)"
            );
        };
        Ok(Naming {
            field,
            pattern: args.reference_pattern.clone(),
        })
    }

    /// The invoice value a reference names, or why it names none.
    pub(super) fn name(&self, reference: &str) -> Result<String, String> {
        let Some(pattern) = &self.pattern else {
            return Ok(reference.to_owned());
        };
        match pattern.captures(reference).and_then(|c| c.get(1)) {
            Some(part) => Ok(part.as_str().to_owned()),
            None => Err(format!(
                "{reference:?} does not match --reference-pattern {:?}",
                pattern.as_str()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_picks_the_part_naming_the_invoice() {
        let naming = Naming {
            field: ReferenceAs::InvoiceNumber,
            pattern: Some(parse_pattern(r"^0*(\d+)\d$").unwrap()),
        };
        assert_eq!(naming.name("000123455"), Ok("12345".to_owned()));
        let err = naming.name("ABC").unwrap_err();
        assert!(err.contains("does not match --reference-pattern"), "{err}");
        assert!(parse_pattern(r"^\d+$").is_err());
        assert!(parse_pattern(r"(").is_err());
    }
}

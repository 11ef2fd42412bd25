//! A validated correction of an invoice's paid amount (`CreateCorrections`), sent through the
//! same submission pipeline as payments.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize, Serializer};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::currency::Currency;
use crate::input_format::InputFormat;
use crate::money_fields::{MoneyFields, money_getters, money_setters, read_money};
use crate::raw_fields::{self, AmountField, AmountInput};
use crate::submittable::submittable;
use crate::validation::{self, FieldError, ItemError, ValidationErrors};

/// A correction of what was reported paid on an invoice, every field checked.
///
/// * `amount` is exact ([`Decimal`]) and **signed**: negative takes money off what was
///   reported paid (a payment reported too high, or on the wrong invoice), positive adds to it.
///   Amili does not document the sign; this is this crate's decision. Zero corrects nothing
///   and is refused. Digits and decimals follow the payment rules (at most 15 significant
///   digits, at most the currency's minor units).
/// * A correction has **no client id** in Amili's API. Its [id](Self::id) is derived from its
///   content (a digest of invoice, amount, currency, date and description), so sending the
///   same correction again is recognised by the ledger and by a submission's repeat check. Two
///   genuinely separate corrections with the same content need different descriptions.
/// * The **description is normalized** when the correction is built, so that text that reads
///   the same is one correction however it was typed or pasted: zero-width characters
///   (U+200B, U+200C, U+200D, U+2060, U+FEFF) and the soft hyphen (U+00AD) are removed,
///   look-alike hyphens and minus signs (U+2010–U+2015, U+2212, U+FE63, U+FF0D) become `-`,
///   every other space (a Unicode white space that is not ASCII and not a control character:
///   no-break, en, em, thin, ideographic spaces, line and paragraph separators) becomes ` `,
///   and the result is put in Unicode NFC. The normalized text is what
///   [`description`](Self::description) returns, what the id is derived from and what is
///   sent, so identity, the ledger's content fingerprint and the wire agree: the same
///   correction spelled another way on a rerun is recognised as already sent.
///
/// ```
/// use amili_payments::{Correction, Decimal, Uuid};
///
/// let correction = Correction::builder()
///     .invoice_id(Uuid::parse_str("4f163819-178d-470c-a246-d6768476a6ec")?)
///     .amount(Decimal::new(-15000, 2))
///     .currency("NOK")
///     .date("2025-03-10T09:00:00Z".parse()?)
///     .description("Payment P-17 was reported 150.00 too high")
///     .build()?;
/// assert!(correction.id().starts_with("C-"));
///
/// let problems = Correction::builder().amount(Decimal::ZERO).build().unwrap_err();
/// // Every problem at once: invoiceId, amount (zero), currency and date.
/// assert_eq!(problems.items()[0].errors.len(), 4, "{problems}");
/// assert!(problems.to_string().starts_with("invalid correction: correction #0: invoiceId"), "{problems}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Correction {
    invoice_id: Uuid,
    amount: Decimal,
    currency: Currency,
    date: DateTime<Utc>,
    description: String,
    id: String,
}

impl Correction {
    /// Starts a correction; `description` defaults to empty.
    pub fn builder() -> CorrectionBuilder {
        CorrectionBuilder::default()
    }

    /// Validates many corrections: every problem of every one at once (named by position and
    /// field), or all of them.
    ///
    /// # Errors
    ///
    /// Every problem of every invalid correction.
    pub fn validate_all(
        builders: impl IntoIterator<Item = CorrectionBuilder>,
    ) -> Result<Vec<Correction>, ValidationErrors> {
        let now = Utc::now();
        let mut valid = Vec::new();
        let mut problems = Vec::new();
        for (index, builder) in builders.into_iter().enumerate() {
            match builder.build_at(now) {
                Ok(correction) => valid.push(correction),
                Err(errors) => problems.push(item_error(index, errors)),
            }
        }
        if problems.is_empty() {
            Ok(valid)
        } else {
            Err(ValidationErrors::new(problems))
        }
    }

    /// Validates one raw row whose text follows `format` (a decimal comma, a date pattern).
    ///
    /// # Errors
    ///
    /// Every problem of the row, naming its field.
    pub fn from_input_with(
        input: CorrectionInput,
        format: &InputFormat,
    ) -> Result<Correction, Vec<FieldError>> {
        Self::from_fields_with(&input.fields(), format)
    }

    /// Validates one borrowed raw row whose text follows `format`: the same checks as
    /// [`from_input_with`](Self::from_input_with), for a row read from a record without a
    /// string of its own per field.
    ///
    /// # Errors
    ///
    /// Every problem of the row, naming its field.
    pub fn from_fields_with(
        fields: &CorrectionFields<'_>,
        format: &InputFormat,
    ) -> Result<Correction, Vec<FieldError>> {
        fields.validate(format, Utc::now())
    }

    money_getters! {
        noun: "correction",
        amount: "The signed amount in major units: negative takes off what was reported paid.",
    }

    /// The content-derived id (`C-` and 32 hex digits of a SHA-256 of the content): the same
    /// correction always has the same id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The id of a correction's content. Amounts are normalized (`-150.00` and `-150` are one
/// amount) and the date written to the nanosecond, so equal corrections get equal ids.
fn content_id(
    invoice_id: Uuid,
    amount: Decimal,
    currency: &Currency,
    date: DateTime<Utc>,
    description: &str,
) -> String {
    let mut hash = Sha256::new();
    for part in [
        invoice_id.to_string().as_str(),
        &amount.normalize().to_string(),
        currency.code(),
        &date.to_rfc3339_opts(SecondsFormat::Nanos, true),
        description,
    ] {
        // Length-prefixed so that no two contents share a byte string.
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part.as_bytes());
    }
    let digest = hash.finalize();
    let mut id = String::with_capacity(34);
    id.push_str("C-");
    for byte in &digest[..16] {
        id.push_str(&format!("{byte:02x}"));
    }
    id
}

impl fmt::Debug for Correction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut item = f.debug_struct("Correction");
        item.field("id", &self.id);
        self.money().debug(item, None)
    }
}

/// Writes the wire shape (`invoiceId`, `amount` as an exact JSON number, `currency`, `date`,
/// `description`); the derived id is not sent (Amili has no field for it).
impl Serialize for Correction {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Correction", 5)?;
        s.serialize_field("invoiceId", &self.invoice_id)?;
        self.money().serialize_fields(&mut s)?;
        s.end()
    }
}

submittable! {
    Correction by id, read from CorrectionInput;
    "correction" named by "content-derived id";
    sent as corrections by create_corrections in CreateCorrectionsRequest;

    /// Validates one raw row, reporting every problem of it (amounts with a decimal point and
    /// an optional sign, dates as RFC 3339 or a day; see [`InputFormat`]).
    ///
    /// ```
    /// use amili_payments::{Correction, CorrectionInput, Decimal};
    ///
    /// let input = CorrectionInput {
    ///     invoice_id: Some("4f163819-178d-470c-a246-d6768476a6ec".into()),
    ///     amount: Some("-150.00".into()),
    ///     currency: Some("NOK".into()),
    ///     date: Some("2025-03-10".into()),
    ///     description: Some("Payment P-17 was reported 150.00 too high".into()),
    /// };
    /// let correction = Correction::from_input(input)?;
    /// assert_eq!(correction.amount(), Decimal::new(-15000, 2));
    ///
    /// let problems = Correction::from_input(CorrectionInput::default()).unwrap_err();
    /// let fields: Vec<&str> = problems.iter().map(|p| p.field).collect();
    /// assert_eq!(fields, ["invoiceId", "amount", "currency", "date"]);
    /// # Ok::<(), Vec<amili_payments::validation::FieldError>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Every problem of the row, naming its field.
    fn from_input;

    fn content(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        // No client id: Amili's items for a correction can only be told apart by content.
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(fields)) => Some(fields),
            _ => None,
        }
    }

    fn write_json(&self, out: &mut Vec<u8>) {
        // The fields and order of `impl Serialize for Correction` (a test compares the two).
        out.reserve(160 + self.description.len());
        crate::wire::raw(out, "{\"invoiceId\":");
        crate::wire::uuid(out, self.invoice_id);
        crate::wire::money(out, &self.money());
        crate::wire::raw(out, "}");
    }
}

/// One raw, unvalidated correction row: every field as it came (JSON, CSV, a form).
///
/// Field names are the API's (`invoiceId`, `amount`, `currency`, `date`, `description`);
/// every field is optional here so that a missing one is reported by validation together with
/// every other problem. `amount` is signed: `-150.00` takes 150.00 off what was reported
/// paid. Turn it into a [`Correction`] with [`Correction::from_input`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CorrectionInput {
    /// The Amili invoice to correct (a UUID).
    pub invoice_id: Option<String>,
    /// The signed amount in major units: a number or a decimal string (`-150.00`).
    pub amount: Option<AmountInput>,
    /// An ISO 4217 currency code such as `NOK` (any case).
    pub currency: Option<String>,
    /// The correction's date: an RFC 3339 date-time or a day.
    pub date: Option<String>,
    /// Free text shown with the correction.
    pub description: Option<String>,
}

impl CorrectionInput {
    /// The API's field names, in the order the docs list them (and CSV headers use).
    pub const FIELDS: [&'static str; 5] =
        ["invoiceId", "amount", "currency", "date", "description"];

    /// The row borrowed.
    pub fn fields(&self) -> CorrectionFields<'_> {
        CorrectionFields {
            invoice_id: self.invoice_id.as_deref(),
            amount: self.amount.as_ref().map(AmountField::from),
            currency: self.currency.as_deref(),
            date: self.date.as_deref(),
            description: self.description.as_deref(),
        }
    }
}

/// One raw, unvalidated correction row, borrowed: each field's text as a record holds it (a
/// CSV cell). The fields are [`CorrectionInput`]'s; validate it with
/// [`Correction::from_fields_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CorrectionFields<'a> {
    /// The Amili invoice to correct (a UUID).
    pub invoice_id: Option<&'a str>,
    /// The signed amount in major units: a file's text, or an [`AmountInput`].
    pub amount: Option<AmountField<'a>>,
    /// An ISO 4217 currency code such as `NOK` (any case).
    pub currency: Option<&'a str>,
    /// The correction's date.
    pub date: Option<&'a str>,
    /// Free text shown with the correction.
    pub description: Option<&'a str>,
}

impl CorrectionFields<'_> {
    /// The one validation of a raw correction row.
    fn validate(
        &self,
        format: &InputFormat,
        now: DateTime<Utc>,
    ) -> Result<Correction, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut builder = Correction::builder();
        let input = self;
        read_money!(builder, input, format, true, errors);
        match builder.build_at(now) {
            Ok(correction) if errors.is_empty() => Ok(correction),
            Ok(_) => Err(errors),
            Err(more) => {
                raw_fields::merge(&mut errors, more, &CorrectionInput::FIELDS);
                Err(errors)
            }
        }
    }
}

/// Builds a [`Correction`]; [`build`](Self::build) checks every field and reports every
/// problem.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct CorrectionBuilder {
    money: MoneyFields,
}

impl CorrectionBuilder {
    money_setters! {
        noun: "correction",
        amount: "The signed amount in major units (required, not zero).",
    }

    /// Checks every field; the error names each problem (as correction #0).
    ///
    /// # Errors
    ///
    /// Every problem of the correction, naming its field.
    pub fn build(self) -> Result<Correction, ValidationErrors> {
        self.build_at(Utc::now())
            .map_err(|errors| ValidationErrors::new(vec![item_error(0, errors)]))
    }

    fn build_at(mut self, now: DateTime<Utc>) -> Result<Correction, Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.money.invoice_id.is_none() {
            errors.push(FieldError::new("invoiceId", "is required"));
        }
        let currency = self.money.take_currency(&mut errors);
        match self.money.amount {
            None => errors.push(FieldError::new("amount", "is required")),
            Some(amount) if amount.is_zero() => errors.push(FieldError::new(
                "amount",
                "is 0: a correction must change the amount (negative takes off, positive adds)",
            )),
            Some(amount) => validation::check_digits(amount, currency.as_ref(), &mut errors),
        }
        match self.money.date {
            None => errors.push(FieldError::new("date", "is required")),
            Some(date) => validation::check_date(date, now, &mut errors),
        }
        self.money.description = self.money.description.take().map(normalize_description);
        let description = self.money.take_description(&mut errors);
        let MoneyFields {
            invoice_id,
            amount,
            date,
            ..
        } = self.money;
        match (invoice_id, amount, currency, date) {
            (Some(invoice_id), Some(amount), Some(currency), Some(date)) if errors.is_empty() => {
                let id = content_id(invoice_id, amount, &currency, date, &description);
                Ok(Correction {
                    invoice_id,
                    amount,
                    currency,
                    date,
                    description,
                    id,
                })
            }
            _ => Err(errors),
        }
    }
}

/// The description as it is kept, identified and sent (see [`Correction`]): zero-width
/// characters and the soft hyphen removed, look-alike hyphens folded to `-`, other spaces to
/// ` `, then Unicode NFC (last, so that a removed character cannot keep two from composing).
/// ASCII text is returned as it is: it has none of them and is NFC already.
fn normalize_description(text: String) -> String {
    use unicode_normalization::UnicodeNormalization as _;
    if text.is_ascii() {
        return text;
    }
    text.chars()
        .filter_map(|c| match c {
            '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{AD}' => None,
            '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE63}' | '\u{FF0D}' => Some('-'),
            c if !c.is_ascii() && c.is_whitespace() && !c.is_control() => Some(' '),
            c => Some(c),
        })
        .nfc()
        .collect()
}

fn item_error(index: usize, errors: Vec<FieldError>) -> ItemError {
    ItemError {
        kind: "correction",
        index,
        source_id: None,
        errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> CorrectionBuilder {
        Correction::builder()
            .invoice_id(Uuid::from_u128(7))
            .amount(Decimal::new(-15000, 2))
            .currency("NOK")
            .date(DateTime::from_timestamp(1_741_600_000, 0).unwrap_or_default())
            .description("reported too high")
    }

    #[test]
    fn negative_and_positive_amounts_are_corrections_zero_is_not() -> Result<(), ValidationErrors> {
        assert_eq!(valid().build()?.amount(), Decimal::new(-15000, 2));
        assert_eq!(
            valid().amount(Decimal::new(5, 1)).build()?.amount(),
            Decimal::new(5, 1)
        );
        let zero = valid().amount(Decimal::ZERO).build().unwrap_err();
        assert_eq!(zero.items()[0].errors[0].field, "amount");
        assert!(zero.to_string().contains("is 0"), "{zero}");
        Ok(())
    }

    #[test]
    fn every_problem_is_named_with_its_item_and_field() {
        let now = Utc::now();
        let errors = Correction::validate_all([
            valid(),
            Correction::builder()
                .amount(Decimal::new(-10005, 3))
                .currency("NOK")
                .date(now + chrono::Duration::days(2))
                .description("bad\u{7}text"),
            valid().currency("nok!"),
        ])
        .unwrap_err();
        let text = errors.to_string();
        assert_eq!(errors.items().len(), 2, "{text}");
        let second = &errors.items()[0];
        assert_eq!(second.index, 1);
        let fields: Vec<&str> = second.errors.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            ["invoiceId", "amount", "date", "description"],
            "{text}"
        );
        assert!(
            text.contains("correction #1: invoiceId: is required"),
            "{text}"
        );
        assert!(text.contains("3 decimals, NOK allows 2"), "{text}");
        assert_eq!(errors.items()[1].index, 2);
        assert_eq!(errors.items()[1].errors[0].field, "currency");
    }

    #[test]
    fn a_raw_row_is_read_signed_and_every_problem_named() {
        let row = |amount: &str, date: &str| CorrectionInput {
            invoice_id: Some(Uuid::from_u128(7).to_string()),
            amount: Some(amount.into()),
            currency: Some("NOK".into()),
            date: Some(date.into()),
            description: Some("reported too high".into()),
        };
        let excel = InputFormat::decimal_comma();
        let read = Correction::from_input_with(row("-1 500,50", "10.03.2025"), &excel);
        assert_eq!(read.map(|c| c.amount()), Ok(Decimal::new(-150050, 2)));
        let bad = Correction::from_input(CorrectionInput {
            invoice_id: Some("nope".into()),
            ..row("--5", "yesterday")
        })
        .unwrap_err();
        let fields: Vec<&str> = bad.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["invoiceId", "amount", "date"], "{bad:?}");
        assert!(bad[0].message.contains("\"nope\" is not a UUID"), "{bad:?}");
        let zero = Correction::from_input(row("0.00", "2025-03-10")).unwrap_err();
        assert!(zero[0].message.contains("is 0"), "{zero:?}");
        let lower = Correction::from_input(CorrectionInput {
            currency: Some("nok".into()),
            ..row("-1.00", "2025-03-10")
        });
        assert_eq!(lower.map(|c| c.currency().clone()), Ok(Currency::NOK));
    }

    #[test]
    fn it_reads_back_what_it_writes() -> Result<(), Box<dyn std::error::Error>> {
        let correction = valid().build()?;
        let back: Correction = serde_json::from_str(&serde_json::to_string(&correction)?)?;
        assert_eq!(back.id(), correction.id());
        let refused = serde_json::from_str::<Correction>(r#"{"amount":0}"#).unwrap_err();
        assert!(
            refused
                .to_string()
                .starts_with("invalid correction: invoiceId"),
            "{refused}"
        );
        Ok(())
    }

    #[test]
    fn the_id_is_derived_from_the_content() -> Result<(), ValidationErrors> {
        let a = valid().build()?;
        // The same amount written with other decimals is the same correction.
        let same = valid().amount(Decimal::new(-150, 0)).build()?;
        assert_eq!(a.id(), same.id());
        assert_eq!(a.id().len(), 34);
        for changed in [
            valid().invoice_id(Uuid::from_u128(8)),
            valid().amount(Decimal::new(-15001, 2)),
            valid().currency("SEK"),
            valid().date(DateTime::from_timestamp(1_741_600_001, 0).unwrap_or_default()),
            valid().description("reported too high!"),
        ] {
            assert_ne!(changed.build()?.id(), a.id());
        }
        Ok(())
    }

    #[test]
    fn spellings_of_one_description_are_one_correction() -> Result<(), Box<dyn std::error::Error>> {
        let plain = "Betaling P-17 på kafé rapportert for høyt";
        let spellings = [
            plain,
            // A zero-width space and a byte-order mark inside, a soft hyphen in a word.
            "Betaling\u{200B} P-17 på\u{FEFF} kafé rap\u{AD}portert for høyt",
            // A non-breaking hyphen, and a no-break space between words.
            "Betaling P\u{2011}17 på\u{A0}kafé rapportert for høyt",
            // A minus sign, an en dash's look-alike, a narrow no-break space.
            "Betaling P\u{2212}17 på kafé\u{202F}rapportert for høyt",
            // é written as e and a combining acute (NFD), a zero-width joiner, an em dash.
            "Betaling P\u{2014}17 på kafe\u{301} rapportert\u{200D} for høyt",
        ];
        let built: Vec<Correction> = spellings
            .iter()
            .map(|text| valid().description(*text).build())
            .collect::<Result<_, _>>()?;
        for (correction, text) in built.iter().zip(spellings) {
            assert_eq!(correction.id(), built[0].id(), "{text:?}");
            assert_eq!(correction.description(), plain, "{text:?}");
            // What is sent is the normalized text too: the ledger's fingerprint agrees.
            assert_eq!(
                serde_json::to_string(correction)?,
                serde_json::to_string(&built[0])?
            );
        }
        // Text that reads otherwise stays another correction; a control character is still
        // refused (NEL is white space, but not a space to fold).
        let other = valid().description("Betaling P-18 på kafé rapportert for høyt");
        assert_ne!(other.build()?.id(), built[0].id());
        assert!(valid().description("a\u{85}b").build().is_err());
        // Normalizing twice changes nothing.
        for text in spellings
            .iter()
            .chain(&["\u{2000}x\u{3000}", "e\u{200B}\u{301}"])
        {
            let once = normalize_description((*text).to_owned());
            assert_eq!(normalize_description(once.clone()), once, "{text:?}");
        }
        assert_eq!(normalize_description("e\u{200B}\u{301}".into()), "é");
        Ok(())
    }

    #[test]
    fn the_wire_shape_has_no_id_and_an_exact_signed_amount()
    -> Result<(), Box<dyn std::error::Error>> {
        let json = serde_json::to_string(&valid().build()?)?;
        assert_eq!(
            json,
            r#"{"invoiceId":"00000000-0000-0000-0000-000000000007","amount":-150,"currency":"NOK","date":"2025-03-10T09:46:40Z","description":"reported too high"}"#
        );
        Ok(())
    }
}

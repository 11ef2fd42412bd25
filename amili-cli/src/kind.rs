//! What a file holds: payments or corrections. Reading, validating, spooling, sending and
//! reporting are written once, over [`FileKind`]; each kind only says how its rows are read
//! into the library's raw input type and validated by the library.

use amili_payments::validation::{AmountInput, FieldError, InputFormat};
use amili_payments::{Correction, CorrectionInput, Payment, PaymentInput, Submittable};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The columns that may name the invoice instead of `invoiceId`: resolved to an `invoiceId`
/// through Amili's invoice look-ups before anything is sent.
pub const REFERENCE_FIELDS: [&str; 2] = ["invoiceNumber", "uniqueSourceInvoiceId"];

/// A kind of row a file can hold; the library's [`Submittable`] items.
pub trait FileKind: Submittable + Serialize + DeserializeOwned {
    /// The library's raw row, every field optional.
    type Input: Default + DeserializeOwned;

    /// What one item is called: `payment`.
    const NAME: &'static str;
    /// And many: `payments`.
    const PLURAL: &'static str;
    /// The API's field names, the CSV header's columns, in the documented order.
    const FIELDS: &'static [&'static str];
    /// The report's column for the item's id.
    const ID_COLUMN: &'static str;
    /// Why a later row with an earlier row's id is not sent.
    const REPEATS: &'static str;

    /// The problem of a row whose id (`id`) repeats line `first`'s: its field and message.
    fn repeat_problem(id: &str, first: u64) -> (Option<&'static str>, String);

    /// Puts one CSV cell (trimmed) into its field (one of [`Self::FIELDS`]).
    fn set(input: &mut Self::Input, field: &'static str, text: String);

    /// The row's `invoiceId`, which a resolved invoice reference fills.
    fn invoice_slot(input: &mut Self::Input) -> &mut Option<String>;

    /// A field's raw text, as written (for messages and the report of an invalid row).
    fn raw(input: &Self::Input, field: &str) -> Option<String>;

    /// The id an invalid row is reported under (a payment's own id, if it has one).
    fn reported_id(input: &Self::Input) -> String;

    /// The library's one validation path for the kind.
    fn validate(input: Self::Input, format: &InputFormat) -> Result<Self, Vec<FieldError>>;
}

/// The raw text of the fields both kinds have that messages quote.
fn raw_text(
    field: &str,
    invoice_id: &Option<String>,
    amount: Option<&AmountInput>,
    date: &Option<String>,
) -> Option<String> {
    match field {
        "invoiceId" => invoice_id.clone(),
        "amount" => amount.map(|a| match a {
            AmountInput::Text(text) => text.clone(),
            AmountInput::Number(n) => n.to_string(),
            AmountInput::Integer(n) => n.to_string(),
        }),
        "date" => date.clone(),
        _ => None,
    }
}

impl FileKind for Payment {
    type Input = PaymentInput;
    const NAME: &'static str = "payment";
    const PLURAL: &'static str = "payments";
    const FIELDS: &'static [&'static str] = &PaymentInput::FIELDS;
    const ID_COLUMN: &'static str = "uniqueSourcePaymentId";
    const REPEATS: &'static str = "uniqueSourcePaymentId: repeats the id of an earlier row";

    fn repeat_problem(id: &str, first: u64) -> (Option<&'static str>, String) {
        (
            Some("uniqueSourcePaymentId"),
            format!("{id:?} repeats the id of line {first}"),
        )
    }

    fn set(input: &mut PaymentInput, field: &'static str, text: String) {
        match field {
            "invoiceId" => input.invoice_id = Some(text),
            "type" => input.payment_type = Some(text),
            "amount" => input.amount = Some(AmountInput::Text(text)),
            "currency" => input.currency = Some(text),
            "date" => input.date = Some(text),
            "description" => input.description = Some(text),
            _ => input.unique_source_payment_id = Some(text),
        }
    }

    fn invoice_slot(input: &mut PaymentInput) -> &mut Option<String> {
        &mut input.invoice_id
    }

    fn raw(input: &PaymentInput, field: &str) -> Option<String> {
        raw_text(field, &input.invoice_id, input.amount.as_ref(), &input.date)
    }

    fn reported_id(input: &PaymentInput) -> String {
        input.unique_source_payment_id.clone().unwrap_or_default()
    }

    fn validate(input: PaymentInput, format: &InputFormat) -> Result<Payment, Vec<FieldError>> {
        Payment::from_input_with(input, format)
    }
}

impl FileKind for Correction {
    type Input = CorrectionInput;
    const NAME: &'static str = "correction";
    const PLURAL: &'static str = "corrections";
    const FIELDS: &'static [&'static str] = &CorrectionInput::FIELDS;
    // Amili gives a correction no client id: the library derives one from its content.
    const ID_COLUMN: &'static str = "correctionId";
    const REPEATS: &'static str = "repeats an earlier row exactly (the same correction twice; if both are meant, tell \
         them apart in the description)";

    fn repeat_problem(_: &str, first: u64) -> (Option<&'static str>, String) {
        (
            None,
            format!(
                "repeats line {first} exactly (the same correction twice; if both are meant, \
                 tell them apart in the description)"
            ),
        )
    }

    fn set(input: &mut CorrectionInput, field: &'static str, text: String) {
        match field {
            "invoiceId" => input.invoice_id = Some(text),
            "amount" => input.amount = Some(AmountInput::Text(text)),
            "currency" => input.currency = Some(text),
            "date" => input.date = Some(text),
            _ => input.description = Some(text),
        }
    }

    fn invoice_slot(input: &mut CorrectionInput) -> &mut Option<String> {
        &mut input.invoice_id
    }

    fn raw(input: &CorrectionInput, field: &str) -> Option<String> {
        raw_text(field, &input.invoice_id, input.amount.as_ref(), &input.date)
    }

    fn reported_id(_: &CorrectionInput) -> String {
        String::new()
    }

    fn validate(
        input: CorrectionInput,
        format: &InputFormat,
    ) -> Result<Correction, Vec<FieldError>> {
        Correction::from_input_with(input, format)
    }
}

//! `amili payments schema`: the JSON Schema of one input row.

use amili_payments::PaymentInput;
use serde_json::json;

use crate::exit::Exit;

pub fn run() -> anyhow::Result<Exit> {
    let mut schema = serde_json::to_value(schemars::schema_for!(PaymentInput))?;
    // The file's ways of naming the invoice instead of `invoiceId` (the CLI's, not the API's).
    if let Some(properties) = schema.get_mut("properties").and_then(|p| p.as_object_mut()) {
        for (field, what) in [
            ("invoiceNumber", "the invoice number"),
            (
                "uniqueSourceInvoiceId",
                "the creditor's own id of the invoice",
            ),
        ] {
            properties.insert(
                field.to_owned(),
                json!({
                    "description": format!(
                        "Instead of `invoiceId`: {what}, looked up in Amili before the file is \
                         sent (it must match exactly one invoice)."
                    ),
                    "type": ["string", "null"],
                    "default": null
                }),
            );
        }
    }
    println!("{}", serde_json::to_string_pretty(&schema)?);
    Ok(Exit::Success)
}

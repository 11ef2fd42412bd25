//! `amili payments schema`: the JSON Schema of one input row.

use amili_payments::PaymentInput;

use crate::exit::Exit;

pub fn run() -> anyhow::Result<Exit> {
    let schema = schemars::schema_for!(PaymentInput);
    println!("{}", serde_json::to_string_pretty(&schema)?);
    Ok(Exit::Success)
}

//! `amili corrections submit|validate`.

use amili_payments::Correction;

use crate::commands::submit::SubmitArgs;
use crate::commands::validate::ValidateArgs;
use crate::commands::{submit, validate};
use crate::exit::Exit;
use crate::source;

#[derive(Debug, clap::Subcommand)]
pub enum CorrectionsCommand {
    /// Validate a file of corrections, then send them to Amili (CreateCorrections).
    ///
    /// A correction changes what was reported paid on an invoice: a negative `amount` takes
    /// money off (a payment reported too high, or on the wrong invoice), a positive one adds.
    /// Files as for `payments submit`, with the columns `invoiceId` (or `invoiceNumber` /
    /// `uniqueSourceInvoiceId`), `amount` (signed: `-150.00`, `-1 500,00`), `currency`,
    /// `date`, `description`.
    ///
    /// Amili gives a correction no id of the creditor's, so each row is identified by its
    /// content (a digest of invoice, amount, currency, date and description, the report's
    /// `correctionId`): the ledger never sends the same correction twice, and two rows with the
    /// same content are one correction (tell them apart in the description if both are meant).
    /// Corrections are remembered in the ledger apart from payments.
    ///
    /// Exit codes as for `payments submit`: 0 every correction accepted (with --wait:
    /// booked); 1 some failed, unknown, in conflict or not sent; 2 usage, settings or
    /// validation error (nothing sent).
    Submit(Box<SubmitArgs>),
    /// Validate a file of corrections without sending anything (exit 0 valid, 2 invalid).
    Validate(ValidateArgs),
}

pub async fn run(command: CorrectionsCommand) -> anyhow::Result<Exit> {
    match command {
        CorrectionsCommand::Submit(mut args) => {
            source::prepare::<Correction>(&mut args.input)?;
            submit::run::<Correction>(&args).await
        }
        CorrectionsCommand::Validate(mut args) => {
            source::prepare::<Correction>(&mut args.input)?;
            validate::run::<Correction>(&args)
        }
    }
}

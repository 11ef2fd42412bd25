//! `amili payments submit|validate|schema`.

use amili_payments::Payment;

use crate::commands::submit::SubmitArgs;
use crate::commands::validate::ValidateArgs;
use crate::commands::{schema, submit, validate};
use crate::exit::Exit;
use crate::source;

#[derive(Debug, clap::Subcommand)]
pub enum PaymentsCommand {
    /// Validate a file, then report its payments to Amili.
    ///
    /// The connection settings are checked first (a token is fetched). Then every row is
    /// validated; if any is bad, all bad rows are listed (with line number and field) and
    /// nothing is sent, unless --skip-invalid. A ledger of every payment sent (see --state)
    /// makes the command safe to run again — after a crash, a kill, Ctrl-C, or with a fixed,
    /// copied or moved file: a payment Amili accepted is never sent twice.
    ///
    /// Files: CSV with a header naming the API's fields (any case; `invoiceId`, `type`,
    /// `amount`, `currency`, `date`, `description`, `uniqueSourcePaymentId`), delimited by `,`,
    /// `;` or tab (detected); JSON Lines; a JSON array. Amounts in major units: `4500.00`, or
    /// in `;`/tab files as Excel writes them with Norwegian settings, `4 500,00` / `4.500,00`.
    /// Dates: RFC 3339 (`2025-03-09T14:30:00Z`) or a day (`2025-03-09`, `09.03.2025`: midnight
    /// in Norway). A UTF-8 byte-order mark and CRLF line ends are fine; line numbers are the
    /// file's physical lines. A file that is not UTF-8 is read as Windows-1252 (Excel's "CSV
    /// (semikolonseparert)"; see --encoding). Other column names are read with --column
    /// (`Beløp=amount`) or skipped with --ignore-column; any other column is an error. Rows of
    /// empty cells are skipped; a file with a header and no rows has nothing to send (exit 0).
    /// `-` reads standard input.
    ///
    /// The invoice may be named by an `invoiceNumber` or `uniqueSourceInvoiceId` column
    /// instead of `invoiceId` (one of the three per file): each distinct reference is looked up
    /// in Amili before anything is sent, and a row whose reference matches no invoice, or more
    /// than one, is invalid (with its line and value).
    ///
    /// Exit codes: 0 every payment accepted (with --wait: booked); 1 some failed, unknown,
    /// in conflict or not sent; 2 usage, settings or validation error (nothing sent).
    Submit(Box<SubmitArgs>),
    /// Validate a file without sending anything (exit 0 valid, 2 invalid).
    Validate(ValidateArgs),
    /// Print the JSON Schema of one input row.
    Schema,
}

pub async fn run(command: PaymentsCommand) -> anyhow::Result<Exit> {
    match command {
        PaymentsCommand::Submit(mut args) => {
            source::prepare::<Payment>(&mut args.input)?;
            submit::run::<Payment>(&args).await
        }
        PaymentsCommand::Validate(mut args) => {
            source::prepare::<Payment>(&mut args.input)?;
            validate::run::<Payment>(&args)
        }
        PaymentsCommand::Schema => schema::run(),
    }
}

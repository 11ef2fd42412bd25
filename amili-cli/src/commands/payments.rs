//! `amili payments submit|status|validate|schema`.

use amili_payments::Payment;

use crate::commands::status::StatusArgs;
use crate::commands::submit::SubmitArgs;
use crate::commands::validate::ValidateArgs;
use crate::commands::{schema, status, submit, validate};
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
    /// copied or moved file: a payment Amili accepted is never sent twice. A payment whose
    /// batch failed it is known as failed (with --wait, or after `payments status`): a rerun
    /// reports it failed and does not resend it unchanged, and sends its fix (the row
    /// changed) again under its id. With --wait, a rerun also follows the batches of payments
    /// accepted earlier whose outcome is not known yet.
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
    /// Bank files: a Nets OCR giro file (told from its `NY000010` start record) or an ISO
    /// 20022 camt.053 / camt.054 file (told from its namespace), or --format ocr|camt. Each
    /// credit is one payment (DIRECT_PAYMENT, its amount, currency and booking date, the
    /// reference as description); --reference-as says what its reference (the KID, camt's
    /// creditor reference) is, --reference-pattern which part of it. Its
    /// uniqueSourcePaymentId comes from the bank's own identifiers, never the file name, so a
    /// copied, renamed or re-exported file sends nothing twice: OCR
    /// `ocr:<agreement>:<assignment>:<transaction>:<settlement date>`; camt
    /// `camt:<account>:<AcctSvcrRef>`, else `camt:<account>:h<digest of the transaction>`.
    /// A file that breaks its format or whose control figures do not add up is refused whole
    /// (exit 2, nothing sent). Reversals, debits, entries not booked, transactions without a
    /// reference, AvtaleGiro assignments and camt batches that do not add up are not
    /// payments: each is reported `not_sent` with its reason and amount (the report's line is
    /// the OCR line, or the camt transaction's number in the file), summed up at the end, and
    /// makes the exit code 1: handle them by hand (a reversal may mean a payment already sent
    /// needs a correction).
    ///
    /// Exit codes: 0 every payment accepted (with --wait: booked); 1 some failed, unknown,
    /// in conflict or not sent (or a bank file holds transactions that are not payments);
    /// 2 usage, settings or validation error (nothing sent).
    Submit(Box<SubmitArgs>),
    /// Show what the ledger and Amili know now of each row of a file, sending nothing.
    ///
    /// The file is read as `submit` reads it. Each row is shown with what the ledger recorded:
    /// `succeeded`, `failed` with Amili's reason, `already_accepted` (its batch's outcome not
    /// learned yet: the batch is followed now, up to --wait-timeout, and what is learned is
    /// recorded), `conflict` (accepted with other content), `unknown` (claimed by a run that
    /// did not record its result), or `not_sent` (the ledger has no record of it, or it
    /// failed and was changed since: `submit` sends the fix).
    ///
    /// Exit codes: 0 every row succeeded; 1 otherwise; 2 usage or settings error.
    Status(Box<StatusArgs>),
    /// Validate a file without sending anything (exit 0 valid, 1 valid but a bank file holds
    /// transactions that are not payments, 2 invalid).
    ///
    /// For a bank file every transaction's line is printed: its reference, the invoice value
    /// it names (--reference-as, --reference-pattern; looked up only when submitting), its
    /// amount, date and payment id, or why it is not sent.
    Validate(Box<ValidateArgs>),
    /// Print the JSON Schema of one input row.
    Schema,
}

pub async fn run(command: PaymentsCommand) -> anyhow::Result<Exit> {
    match command {
        PaymentsCommand::Submit(mut args) => {
            source::prepare::<Payment>(&mut args.input)?;
            submit::run::<Payment>(&args).await
        }
        PaymentsCommand::Status(mut args) => {
            source::prepare::<Payment>(&mut args.input)?;
            status::run::<Payment>(&args).await
        }
        PaymentsCommand::Validate(mut args) => {
            source::prepare::<Payment>(&mut args.input)?;
            validate::run::<Payment>(&args)
        }
        PaymentsCommand::Schema => schema::run(),
    }
}

//! `amili payments validate FILE`, `amili corrections validate FILE`: the first read alone
//! (offline: invoice references are counted, not looked up).

use serde::Serialize;

use crate::args::InputArgs;
use crate::exit::{Exit, usage};
use crate::kind::FileKind;
use crate::money::SumsBy;
use crate::output::print_problems;
use crate::progress::Progress;
use crate::validate::{Problem, VALID, Validation, validate_file};
use crate::words::{count, some_of_rows};

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Print the result as one JSON object on stdout: counts, the sums per currency, every
    /// problem (up to --max-errors) with its line, field and message.
    #[arg(long)]
    pub json: bool,
}

pub fn run<K: FileKind>(args: &ValidateArgs) -> anyhow::Result<Exit> {
    let path = &args.input.file;
    let file = path.display().to_string();
    let progress = Progress::new();
    let v = match validate_file::<K>(path, &args.input, &progress, None, None).map_err(usage) {
        Ok(v) => v,
        // With --json, a file that cannot be read still gets its object, the error as reason.
        Err(e) => {
            progress.finish();
            if args.json {
                let summary = ValidateSummary::new(
                    file,
                    Validation::default(),
                    Exit::Usage,
                    format!("{e:#}"),
                );
                println!("{}", serde_json::to_string(&summary)?);
            }
            return Err(e);
        }
    };
    progress.finish();
    print_problems(&file, &v);
    if !v.references.is_empty() {
        eprintln!(
            "{file}: {} distinct invoice reference{} (invoiceNumber / uniqueSourceInvoiceId) are \
             looked up when the file is submitted; validating does not check them",
            v.references.len(),
            if v.references.len() == 1 { "" } else { "s" },
        );
    }
    // A header and no rows is a day without payments, not a mistake.
    let (exit, said) = if v.rows == 0 {
        (Exit::Success, format!("{file}: no rows"))
    } else if v.is_valid() {
        let sums = v.sums.get(VALID).cloned().unwrap_or_default();
        (
            Exit::Success,
            format!(
                "{file}: {}, all valid ({sums})",
                count(v.rows, K::NAME, K::PLURAL)
            ),
        )
    } else {
        (
            Exit::Usage,
            format!(
                "{file}: {} ({})",
                some_of_rows(v.invalid, v.rows, "invalid"),
                count(v.problem_count, "problem", "problems")
            ),
        )
    };
    if args.json {
        eprintln!("{said}");
        let summary = ValidateSummary::new(file, v, exit, said);
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!("{said}");
        if !v.is_valid() {
            let mut out = std::io::stdout().lock();
            crate::output::print_sums(&mut out, &v.sums);
        }
    }
    Ok(exit)
}

/// The one JSON object `validate --json` prints (`schemas/validate.json`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ValidateSummary {
    file: String,
    rows: u64,
    valid: u64,
    invalid: u64,
    /// Per `valid` (what submitting would send) and `invalid`, then per currency.
    sums: SumsBy,
    problems: Vec<Problem>,
    problem_count: u64,
    warnings: Vec<String>,
    /// Distinct invoice references, looked up only when the file is submitted.
    invoice_references: usize,
    exit_code: u8,
    exit_reason: String,
}

impl ValidateSummary {
    fn new(file: String, v: Validation, exit: Exit, reason: String) -> ValidateSummary {
        ValidateSummary {
            file,
            rows: v.rows,
            valid: v.valid,
            invalid: v.invalid,
            sums: v.sums,
            problems: v.problems,
            problem_count: v.problem_count,
            warnings: v.warnings,
            invoice_references: v.references.len(),
            exit_code: exit.code(),
            exit_reason: reason,
        }
    }
}

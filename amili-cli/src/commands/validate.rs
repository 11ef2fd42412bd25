//! `amili payments validate FILE`, `amili corrections validate FILE`: the first read alone
//! (offline: invoice references are counted, not looked up).

use crate::args::InputArgs;
use crate::exit::{Exit, usage};
use crate::input::bank;
use crate::kind::FileKind;
use crate::output::print_problems;
use crate::progress::Progress;
use crate::validate::{resolve_format, validate_file};

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub input: InputArgs,
}

pub fn run<K: FileKind>(args: &ValidateArgs) -> anyhow::Result<Exit> {
    let path = &args.input.file;
    let progress = Progress::new();
    let v = validate_file::<K>(path, &args.input, &progress, None, None).map_err(usage)?;
    progress.finish();
    print_problems(&path.display().to_string(), &v);
    // A bank file: what each reference names, for the operator to check before sending.
    let format = resolve_format(path, args.input.format).map_err(usage)?;
    if format.is_bank() {
        let naming = bank::naming::<K>(&args.input.bank).map_err(usage)?;
        bank::print_mapping(path, format, naming)?;
    }
    if v.rows == 0 {
        eprintln!("{}: no {} in the file", path.display(), K::PLURAL);
        return Ok(Exit::Usage);
    }
    if !v.references.is_empty() {
        eprintln!(
            "{}: {} distinct invoice reference{} (invoiceNumber / uniqueSourceInvoiceId) are \
             looked up when the file is submitted; validating does not check them",
            path.display(),
            v.references.len(),
            if v.references.len() == 1 { "" } else { "s" },
        );
    }
    if v.not_taken.count > 0 {
        eprintln!("{}: {}", path.display(), v.not_taken);
    }
    if v.is_valid() && v.not_taken.count > 0 {
        println!(
            "{}: {} {}, all valid; {} bank transactions are not payments and would not be sent",
            path.display(),
            v.valid,
            K::PLURAL,
            v.not_taken.count
        );
        Ok(Exit::Failures)
    } else if v.is_valid() {
        println!("{}: {} {}, all valid", path.display(), v.rows, K::PLURAL);
        Ok(Exit::Success)
    } else {
        println!(
            "{}: {} of {} rows are invalid ({} problems)",
            path.display(),
            v.invalid,
            v.rows - v.not_taken.count,
            v.problem_count
        );
        Ok(Exit::Usage)
    }
}

//! `amili payments validate FILE`, `amili corrections validate FILE`: the first read alone
//! (offline: invoice references are counted, not looked up).

use crate::args::InputArgs;
use crate::exit::{Exit, usage};
use crate::kind::FileKind;
use crate::output::print_problems;
use crate::progress::Progress;
use crate::validate::validate_file;
use crate::words::{count, some_of_rows};

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
    if v.is_valid() {
        println!(
            "{}: {}, all valid",
            path.display(),
            count(v.rows, K::NAME, K::PLURAL)
        );
        Ok(Exit::Success)
    } else {
        println!(
            "{}: {} ({})",
            path.display(),
            some_of_rows(v.invalid, v.rows, "invalid"),
            count(v.problem_count, "problem", "problems")
        );
        Ok(Exit::Usage)
    }
}

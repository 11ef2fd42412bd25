//! `amili payments validate FILE`: the first pass alone.

use crate::args::ValidateArgs;
use crate::exit::{Exit, usage};
use crate::output::{Progress, print_problems};
use crate::validate::validate_file;

pub fn run(args: &ValidateArgs) -> anyhow::Result<Exit> {
    let path = &args.input.file;
    let progress = Progress::new();
    let v = validate_file(path, &args.input, &progress, None).map_err(usage)?;
    progress.finish();
    print_problems(&path.display().to_string(), &v);
    if v.rows == 0 {
        eprintln!("{}: no payments in the file", path.display());
        return Ok(Exit::Usage);
    }
    if v.is_valid() {
        println!("{}: {} payments, all valid", path.display(), v.rows);
        Ok(Exit::Success)
    } else {
        println!(
            "{}: {} of {} rows are invalid ({} problems)",
            path.display(),
            v.invalid,
            v.rows,
            v.problem_count
        );
        Ok(Exit::Usage)
    }
}

//! `amili-bench-measure RESULT_FILE PROGRAM [ARGS…]`: runs one program and writes its wall
//! time, exit status and peak RSS to `RESULT_FILE` as `WALL_NANOS STATUS MAXRSS_KIB`.
//!
//! Why a launcher: on Linux a child's `ru_maxrss` includes the resident size of the process it
//! was spawned from (`exec` records the high-water mark of the memory it replaces), so a child
//! spawned straight from the harness — which holds the benchmark's payments — would report
//! the harness's size. Spawned from this small process, a child's peak RSS is its own (or
//! this launcher's few MiB, whichever is larger). Standard streams, environment and working
//! directory are passed through.

use std::process::{Command, ExitCode};

use amili_bench::process;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(result), Some(program)) = (args.next(), args.next()) else {
        eprintln!("usage: amili-bench-measure RESULT_FILE PROGRAM [ARGS...]");
        return ExitCode::from(2);
    };
    let run = match process::run_measured(Command::new(&program).args(args)) {
        Ok(run) => run,
        Err(error) => {
            eprintln!(
                "amili-bench-measure: cannot run {}: {error}",
                program.to_string_lossy()
            );
            return ExitCode::FAILURE;
        }
    };
    match std::fs::write(&result, process::encode(&run)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("amili-bench-measure: cannot write the result: {error}");
            ExitCode::FAILURE
        }
    }
}

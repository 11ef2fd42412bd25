//! Process contenders: spawn a command, wait for it with `wait4(2)` and keep its wall time,
//! exit status and peak resident set size (`ru_maxrss` of that one child).
//!
//! The harness does not spawn contenders itself: a child's `ru_maxrss` includes the resident
//! size of its parent at spawn time (Linux's `exec` keeps the high-water mark of the memory
//! it replaces), and the harness is large. It runs them through the small
//! `amili-bench-measure` launcher ([`launch`]), which measures with [`run_measured`] and
//! hands the numbers back in a file ([`encode`] / [`decode`]).

use std::io;
use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// How one process run went.
#[derive(Debug, Clone, Copy)]
pub struct ProcessRun {
    /// From spawn to exit.
    pub wall: Duration,
    /// How it exited.
    pub status: ExitStatus,
    /// Peak resident set size in KiB (Linux reports `ru_maxrss` in KiB).
    pub max_rss_kib: u64,
    /// CPU time, user and system, of all its threads.
    pub cpu: Duration,
}

/// Runs `command` to completion and measures it.
pub fn run_measured(command: &mut Command) -> io::Result<ProcessRun> {
    let start = Instant::now();
    let child = command.spawn()?;
    let (status, max_rss_kib, cpu) = wait_with_rusage(child)?;
    Ok(ProcessRun {
        wall: start.elapsed(),
        status,
        max_rss_kib,
        cpu,
    })
}

/// The launcher's result line: `WALL_NANOS STATUS MAXRSS_KIB CPU_NANOS`.
pub fn encode(run: &ProcessRun) -> String {
    format!(
        "{} {} {} {}\n",
        run.wall.as_nanos(),
        run.status.into_raw(),
        run.max_rss_kib,
        run.cpu.as_nanos()
    )
}

/// Reads what [`encode`] wrote.
pub fn decode(text: &str) -> Option<ProcessRun> {
    let mut words = text.split_whitespace();
    let wall = Duration::from_nanos(words.next()?.parse().ok()?);
    let status = ExitStatus::from_raw(words.next()?.parse().ok()?);
    let max_rss_kib = words.next()?.parse().ok()?;
    let cpu = Duration::from_nanos(words.next()?.parse().ok()?);
    Some(ProcessRun {
        wall,
        status,
        max_rss_kib,
        cpu,
    })
}

/// A command that runs `program` through the launcher at `launcher`, which writes its
/// measurements to `result` (read them with [`decode`]). Add the program's arguments, the
/// environment, working directory and standard streams to it as for the program itself.
pub fn launch(launcher: &Path, result: &Path, program: &Path) -> Command {
    let mut command = Command::new(launcher);
    command.arg(result).arg(program);
    command
}

/// Waits for `child` with `wait4`, which reports the resources of that child alone (unlike
/// `getrusage(RUSAGE_CHILDREN)`, which keeps the maximum over every child reaped so far).
/// The child is reaped here: it must not be waited for again.
fn wait_with_rusage(child: Child) -> io::Result<(ExitStatus, u64, Duration)> {
    let pid = libc::pid_t::try_from(child.id())
        .map_err(|_| io::Error::other("child pid out of range"))?;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain old data; all-zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own unreaped child; `status` and `usage` are valid, exclusive
        // pointers for the duration of the call.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            break;
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
    // `Child` has no `Drop` that waits or kills, so letting it go after `wait4` is fine.
    drop(child);
    let max_rss_kib = u64::try_from(usage.ru_maxrss).unwrap_or(0);
    let time = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    let cpu = time(usage.ru_utime) + time(usage.ru_stime);
    Ok((ExitStatus::from_raw(status), max_rss_kib, cpu))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_child() -> io::Result<()> {
        let run = run_measured(Command::new("true").stdout(std::process::Stdio::null()))?;
        assert!(run.status.success());
        assert!(run.max_rss_kib > 0);
        let run = run_measured(&mut Command::new("false"))?;
        assert_eq!(run.status.code(), Some(1));
        let back = decode(&encode(&run)).ok_or_else(|| io::Error::other("decode"))?;
        assert_eq!(back.status.code(), Some(1));
        assert_eq!(back.wall, run.wall);
        assert_eq!(back.max_rss_kib, run.max_rss_kib);
        assert_eq!(back.cpu, run.cpu);
        Ok(())
    }
}

//! Exit codes: 0 all good, 1 some payments failed / unknown / not sent, 2 usage or validation.

use std::fmt;
use std::process::ExitCode;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every payment accepted (with `--wait`: booked); or the command did what it was asked.
    Success,
    /// Some payments failed, have an unknown outcome, or were not sent.
    Failures,
    /// A usage error or invalid input: nothing was sent.
    Usage,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failures => 1,
            Exit::Usage => 2,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}

/// An error that is the user's to fix before anything can be sent (exit 2).
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Marks any error as a usage error (exit 2), keeping its message and causes.
pub fn usage(e: impl Into<anyhow::Error>) -> anyhow::Error {
    let e = e.into();
    if e.is::<UsageError>() {
        return e;
    }
    anyhow::Error::new(UsageError(format!("{e:#}")))
}

/// The exit code for an error that ended a command.
pub fn for_error(e: &anyhow::Error) -> Exit {
    if e.chain().any(|c| c.is::<UsageError>()) {
        Exit::Usage
    } else {
        Exit::Failures
    }
}

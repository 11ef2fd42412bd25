//! Workspace-level end-to-end tests: the client (`amili-payments`) against the sandbox
//! (`amili-sandbox`) over loopback HTTP, following one payment's trip from
//! `../shared/DESIGN.md` under injected faults. The CLI's end-to-end tests live in
//! `amili-cli/tests/`, where cargo builds the `amili` binary for them.

// The root README's and the sandbox README's Rust blocks compile (and run, unless marked
// `no_run`) as doctests here, where both the library and the sandbox are at hand.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod root_readme {}

#[cfg(doctest)]
#[doc = include_str!("../../amili-sandbox/README.md")]
mod sandbox_readme {}

//! Workspace-level end-to-end tests: the client (`amili-payments`) against the sandbox
//! (`amili-sandbox`) over loopback HTTP, following one payment's trip from
//! `../shared/DESIGN.md` under injected faults. The CLI's end-to-end tests live in
//! `amili-cli/tests/`, where cargo builds the `amili` binary for them.

//! amili-payments (work in progress).
//!
//! READ `amili-payments/CONTRACT.md` FIRST: it is the public API contract shared with the
//! amili-cli engineer (the `$CONTRACT` placeholder in your task text refers to it). Delete this
//! note once the API is written.

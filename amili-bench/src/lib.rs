//! The submission throughput harness of issue 9, run by `cargo xtask bench`.
//!
//! In one go and interleaved over several rounds, five contenders (and three for reference)
//! send the same payments to two servers, 500 payments per request and 4 requests in flight:
//!
//! | | contender | compared with |
//! |---|---|---|
//! | (1) | raw `reqwest` + `serde_json` posting pre-built bodies ([`library::run_raw_reqwest`]) | – (baseline) |
//! | (1w) | the same, handed the typed requests as (2) and (3) are handed theirs, each body written straight into bytes in the loop and the request dropped ([`library::run_raw_writing`], [`direct`]; for reference) | (1) |
//! | (2) | the generated `amili-api` client ([`library::run_generated`]) | (1) |
//! | (3) | `amili-payments` ([`library::run_amili_payments`]) | (1) |
//! | (4) | `amili-bench-csv-loop`: `csv` crate + raw `reqwest`, a process | – (baseline) |
//! | (4r) | the same loop, every row read before the first request and a SQLite row per payment committed before its request (`--read-first --journal`; for reference) | (4) |
//! | (5) | `amili payments submit FILE`, a process | (4) |
//!
//! The servers are a minimal local HTTP stub ([`stub`]) and the `amili-sandbox` binary
//! ([`sandbox`]). [`runner::run`] takes the measurements, [`report`] turns them into the
//! Markdown table of `BENCHMARKS.md`. Every run is checked to have delivered every payment.

pub mod data;
pub mod direct;
pub mod library;
pub mod process;
pub mod raw;
pub mod report;
pub mod runner;
pub mod sandbox;
pub mod stub;

pub use runner::{Binaries, Config, Contender, Measurement, Server, run};

//! kmsconform: a differential conformance test harness for KMS HTTP APIs.
//!
//! Pipeline: `spec` (import, lint, diff) -> `case` (generation) -> `target` (HTTP, signing)
//! -> `check` (catalogue) -> `run` (generated cases and suites) -> `report`; `reference`
//! is the embedded server.

pub mod bundled;
pub mod case;
pub mod check;
pub mod cli;
pub mod compare;
pub mod deprecation;
pub mod exit_codes;
pub mod reference;
pub mod report;
pub mod run;
pub mod spec;
pub mod target;

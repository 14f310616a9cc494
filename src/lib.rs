//! kmsconform: a differential conformance test harness for KMS HTTP APIs.
//!
//! Pipeline: `spec` (import, lint, diff) -> `case` (generation) -> `target` (HTTP, signing)
//! -> `check` (catalogue) -> `compare` -> `report`; `reference` is the embedded server.

pub mod case;
pub mod cli;
pub mod exit_codes;
pub mod reference;
pub mod spec;
pub mod target;

//! Reports of a run: one module per format.

pub mod json;
pub mod summary;

pub use json::{Report, RunMeta};

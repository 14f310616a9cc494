//! Helpers shared by integration tests.

pub mod otc_oracle;

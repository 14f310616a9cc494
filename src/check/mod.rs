//! The check catalogue. A check looks at one exchange (request + response, with what the
//! case claims about it) and gives verdicts; a failure is data with its basis, reported as a
//! finding.

pub mod basis;
pub mod catalogue;
pub mod failure;
pub mod fuzz;
pub mod response;

pub use basis::{Basis, BasisKind};
pub use catalogue::{CheckId, UnknownCheck};
pub use failure::{Actual, Expected, Failure, SchemaError, Verdicts};

/// Which checks a run applies (from --checks / --exclude-checks).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub only: Option<Vec<CheckId>>,
    pub exclude: Vec<CheckId>,
}

impl Selection {
    /// Parses check ids; an unknown one is an input error.
    pub fn parse(only: Option<&[String]>, exclude: &[String]) -> Result<Self, UnknownCheck> {
        let parse = |l: &[String]| -> Result<Vec<CheckId>, UnknownCheck> {
            l.iter().map(|s| s.parse()).collect()
        };
        Ok(Self {
            only: only.map(parse).transpose()?,
            exclude: parse(exclude)?,
        })
    }

    pub fn enabled(&self, id: CheckId) -> bool {
        self.only.as_ref().is_none_or(|o| o.contains(&id)) && !self.exclude.contains(&id)
    }
}

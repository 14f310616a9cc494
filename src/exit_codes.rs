//! Process exit codes, the one mapping used at the CLI edge (documented in the README).

/// Success: no findings (or only lint warnings).
pub const OK: i32 = 0;
/// The run completed and found problems (findings, lint errors, undeclared differences).
pub const FINDINGS: i32 = 1;
/// Bad usage or bad input: flags, spec files, vendor documents, configuration.
pub const USAGE: i32 = 2;
/// The target could not be reached.
pub const UNREACHABLE: i32 = 3;
/// Interrupted (Ctrl-C): the partial report was written.
pub const INTERRUPTED: i32 = 130;

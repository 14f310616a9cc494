//! Process exit codes, the one mapping used at the CLI edge (documented in the README).

/// Success: no gating finding (or only lint warnings).
pub const OK: i32 = 0;
/// The run completed and found problems: failures (advisories too under --strict),
/// transport problems, lint errors, undeclared differences.
pub const FINDINGS: i32 = 1;
/// Bad usage or bad input: flags, spec files, suites, vendor documents, report directory,
/// target URL. Nothing was sent.
pub const USAGE: i32 = 2;
/// The target cannot be used: nothing answers, TLS fails, no response in time.
pub const UNUSABLE: i32 = 3;
/// The target refused the credentials on the first signed request.
pub const CREDENTIALS: i32 = 4;
/// A bug in kmsconform (a panic or an impossible state); the message asks for a report.
pub const INTERNAL: i32 = 70;
/// Interrupted (Ctrl-C): the partial report was written.
pub const INTERRUPTED: i32 = 130;

//! Talking to a target: the HTTP client (bounded in time and size, transport errors as
//! values) and the signers per auth scheme.

pub mod http;
pub mod sign;
pub mod url;

/// Single-quotes `s` for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

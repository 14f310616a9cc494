//! Request targets: signing and HTTP transport.
pub mod sign;
pub mod http;

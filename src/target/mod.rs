//! Request targets: signing and HTTP transport.
pub mod http;
pub mod sign;

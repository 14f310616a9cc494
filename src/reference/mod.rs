//! The embedded reference target.

//! Machine-readable specs: import, lint, diff.

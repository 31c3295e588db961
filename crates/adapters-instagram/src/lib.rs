//! igrouter's Instagram side: webhook signature checks and the parsing of Meta's webhook JSON.
//!
//! The only crate that knows Meta's JSON. [`verify_signature`] checks `X-Hub-Signature-256`
//! over the raw body. It is pure: no I/O, no clock, no randomness.

pub mod signature;

pub use signature::{SIGNATURE_HEADER, SignatureError, signature_header_value, verify_signature};

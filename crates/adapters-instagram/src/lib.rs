//! igrouter's Instagram side: webhook signature checks, the parsing of Meta's webhook JSON, and
//! the Graph API client.
//!
//! The only crate that knows Meta's JSON. [`verify_signature`] checks `X-Hub-Signature-256`
//! over the raw body; [`parse_webhook`] turns a body into [`InboundEvent`]s (and the items it
//! skips), which the ingest use case turns into `domain::Message`s. Both are pure: no I/O, no
//! clock, no randomness. [`GraphClient`] implements `domain::ports::InstagramClient` (sends and
//! profile reads) and classifies every failure into one `InstagramError` variant.

pub mod graph;
pub mod signature;
pub mod webhook;

pub use graph::{GraphClient, GraphClientError};

pub use signature::{SIGNATURE_HEADER, SignatureError, signature_header_value, verify_signature};
pub use webhook::{
    InboundEvent, ItemList, ItemPosition, ItemRef, ParseError, ParsedWebhook, SkipReason, Skipped,
    parse_webhook,
};

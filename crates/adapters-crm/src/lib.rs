//! igrouter's CRM side: the delivery bodies of contract §3 and the signatures on them.
//!
//! The only crate that knows the CRM wire format. [`message_payload`] and [`outbound_payload`]
//! build the exact JSON body of an event once, when its delivery is queued; [`sign`] signs one
//! attempt of it (`X-Hub-Signature-256` and Standard Webhooks). Both are pure: no I/O, no clock,
//! no randomness. The HTTP client implementing `domain::ports::CrmNotifier` comes with the
//! delivery worker.

pub mod payload;
pub mod signature;

pub use payload::{CrmPayload, PayloadError, event_type_for, message_payload, outbound_payload};
pub use signature::{
    SignatureHeaders, WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP, X_HUB_SIGNATURE_256, sign,
};

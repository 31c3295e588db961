//! igrouter's CRM side: the delivery bodies of contract §3, the signatures on them, and the HTTP
//! client that posts them.
//!
//! The only crate that knows the CRM wire format. [`message_payload`] and [`outbound_payload`]
//! build the exact JSON body of an event once, when its delivery is queued; [`sign`] signs one
//! attempt of it (`X-Hub-Signature-256` and Standard Webhooks). Both are pure: no I/O, no clock,
//! no randomness. [`HttpCrmNotifier`] implements `domain::ports::CrmNotifier`: one signed attempt
//! per call, any HTTP answer reported as it came. [`destination`] holds the rule of where a CRM
//! webhook URL may point (`ALLOW_PRIVATE_WEBHOOK_URLS`), which the notifier applies to the
//! address it connects to and the API applies when a URL is set.

pub mod destination;
mod notifier;
pub mod payload;
mod response;
pub mod signature;

pub use destination::{DestinationError, DestinationPolicy};
pub use notifier::{CrmClientError, HttpCrmNotifier};
pub use payload::{CrmPayload, PayloadError, event_type_for, message_payload, outbound_payload};
pub use signature::{
    SignatureHeaders, WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP, X_HUB_SIGNATURE_256, sign,
};

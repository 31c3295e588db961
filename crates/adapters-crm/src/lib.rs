//! igrouter's CRM side: the delivery bodies of contract §3.
//!
//! The only crate that knows the CRM wire format. [`message_payload`] and [`outbound_payload`]
//! build the exact JSON body of an event once, when its delivery is queued. They are pure: no
//! I/O, no clock, no randomness. The HTTP client implementing `domain::ports::CrmNotifier` comes
//! with the delivery worker.

pub mod payload;

pub use payload::{CrmPayload, PayloadError, event_type_for, message_payload, outbound_payload};

//! The unit the ingest path commits: stored events plus the work they cause, all or nothing.

use crate::{CrmDelivery, Message, OutboundMessage};

/// One inbound event and what it causes.
///
/// A batch of these is written in one transaction by `MessageStore::ingest`. The delivery and
/// auto-reply are written only when the message is new, so a redelivered event causes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundRecord {
    /// The event to store.
    pub message: Message,
    /// The CRM delivery it causes, when its account has a CRM URL.
    pub delivery: Option<CrmDelivery>,
    /// The auto-reply it causes, when a rule matched; written only if the rule's cooldown for
    /// the recipient allows it (see `MessageStore::ingest`).
    pub auto_reply: Option<OutboundMessage>,
}

/// What happened to one record of a batch, in the batch's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestResult {
    /// Stored now, with its delivery and auto-reply.
    Stored,
    /// The event was already stored (same account and event key); nothing was written.
    Duplicate,
}

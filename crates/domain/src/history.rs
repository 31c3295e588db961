//! The conversation history as the API lists it: the events Meta reported and the messages
//! igrouter was asked to send, in one listing.

use crate::{InstagramId, Message, MessageId, OutboundMessage, Timestamp};

/// One entry of an account's conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "pages hold at most 201 entries: a box per event would buy nothing measurable"
)]
pub enum HistoryEntry {
    /// An event Meta reported: a customer's message, a reaction, a read, an echo of a message the
    /// business sent from elsewhere, …
    Event(Message),
    /// A message igrouter queued (an API send or an auto-reply), in whatever state it is now.
    Sent(OutboundMessage),
}

impl HistoryEntry {
    /// Our id of the event or the send (both are `msg_` ids).
    pub fn id(&self) -> &MessageId {
        match self {
            Self::Event(message) => &message.id,
            Self::Sent(message) => &message.id,
        }
    }

    /// Where the entry sorts: when the event happened (Meta's clock), or when the send was queued.
    pub fn at(&self) -> Timestamp {
        match self {
            Self::Event(message) => message.occurred_at,
            Self::Sent(message) => message.created_at,
        }
    }

    /// The customer's side of the conversation: an event's participant, a send's recipient.
    pub fn participant_id(&self) -> &InstagramId {
        match self {
            Self::Event(message) => &message.participant_id,
            Self::Sent(message) => &message.recipient_id,
        }
    }
}

//! Meta's webhook bodies (`POST /webhooks/instagram`) turned into domain-neutral events.
//!
//! [`parse_webhook`] is pure and deterministic: the same bytes always give the same events with
//! the same event keys, whatever the clock says, so a redelivered body dedupes. It fails only
//! when the body is not a JSON object; everything inside that it cannot use becomes a
//! [`Skipped`] with a reason, and every usable item becomes an [`InboundEvent`]. The ingest use
//! case looks up the account by [`InboundEvent::business_id`], assigns ids and turns each event
//! into a [`domain::Message`] with [`InboundEvent::into_message`].
//!
//! What is parsed, the event key of each kind and the skip reasons are described for operators
//! in `docs/webhooks.md`.

mod kinds;
mod parse;
mod payload;
mod text;

use std::fmt;

use domain::{
    AccountId, Attachment, Direction, EventDetails, EventKind, InstagramId, InstagramMessageId,
    Message, MessageId, Timestamp,
};
use thiserror::Error;

pub use parse::parse_webhook;

/// Everything a webhook body holds, in body order (entries, then items within each entry).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedWebhook {
    /// The items that describe an event this service stores.
    pub events: Vec<InboundEvent>,
    /// The items (or whole entries) it could not use, with why.
    pub skipped: Vec<Skipped>,
}

/// One Instagram messaging event, parsed and validated, not yet tied to a stored account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundEvent {
    /// Where in the body the event came from.
    pub position: ItemPosition,
    /// The business account (`entry[].id`): whose conversation this is.
    pub business_id: InstagramId,
    /// The kind of event.
    pub kind: EventKind,
    /// Outbound for echoes and for events the business itself caused (its id is the sender);
    /// inbound otherwise.
    pub direction: Direction,
    /// `sender.id`.
    pub sender_id: InstagramId,
    /// `recipient.id`.
    pub recipient_id: InstagramId,
    /// The customer: whichever of sender and recipient is not the business (when neither id is
    /// the business's, the recipient of an outbound event and the sender of an inbound one).
    pub participant_id: InstagramId,
    /// The `mid` this event is (message, echo) or refers to (deletion, edit, reaction, read,
    /// postback), when Meta sent one.
    pub instagram_message_id: Option<InstagramMessageId>,
    /// The text (the new text of an edit), with NUL replaced by U+FFFD.
    pub text: Option<String>,
    /// Attachments in Meta's order.
    pub attachments: Vec<Attachment>,
    /// Kind-specific fields.
    pub details: EventDetails,
    /// When it happened: the item's `timestamp`, else the entry's `time`; `None` when the body
    /// has no usable time (the caller falls back to when it received the body).
    pub occurred_at: Option<Timestamp>,
    /// The dedupe key ([`Message::event_key_for`]); it never depends on the clock.
    pub event_key: String,
}

/// An item that does not become an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Where in the body it was.
    pub position: ItemPosition,
    /// Why it was skipped.
    pub reason: SkipReason,
}

/// An item's place in a body, for logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemPosition {
    /// Index in `entry[]`.
    pub entry: usize,
    /// The item within the entry, `None` when a whole entry was skipped.
    pub item: Option<ItemRef>,
}

/// An item within an entry: which list it is in and its index there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemRef {
    /// The entry's list holding the item.
    pub list: ItemList,
    /// Index in that list.
    pub index: usize,
}

/// The lists of items an entry can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemList {
    /// `entry[].messaging[]`.
    Messaging,
    /// `entry[].changes[]`.
    Changes,
    /// `entry[].standby[]` (handover protocol).
    Standby,
}

/// Why an item was skipped. [`SkipReason::code`] is a short label for metrics; `Display` adds
/// the detail for logs (bounded in length, never the item's text).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SkipReason {
    /// The body's `object` is neither `instagram` nor `page`.
    #[error("object {object:?} is not handled")]
    UnsupportedObject {
        /// The `object` value (shortened), or `<missing>` / `<not a string>`.
        object: String,
    },
    /// An `entry[]` element is not an object of the expected shape.
    #[error("malformed entry: {detail}")]
    MalformedEntry {
        /// What was wrong.
        detail: String,
    },
    /// An item is not an object of the expected shape (a field of the wrong JSON type).
    #[error("malformed item: {detail}")]
    MalformedItem {
        /// What was wrong.
        detail: String,
    },
    /// A field the event needs is absent.
    #[error("missing field {field}")]
    MissingField {
        /// The field's JSON path within the item (`sender.id`, `reaction.mid`, …).
        field: &'static str,
    },
    /// A field is present but unusable (an id that is not printable ASCII, too long, …).
    #[error("invalid field {field}: {reason}")]
    InvalidField {
        /// The field's JSON path within the item.
        field: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// A messaging item with none of the event fields this service handles (`message`,
    /// `message_edit`, `reaction`, `read`, `postback`, `referral`).
    #[error("no known event in item")]
    UnknownEvent,
    /// A `changes[]` item for a field other than the messaging ones (`comments`, `mentions`, …).
    #[error("changes field {field:?} is not handled")]
    UnsupportedChange {
        /// The `field` value (shortened).
        field: String,
    },
    /// A handover-protocol `standby[]` item, addressed to another app.
    #[error("standby item is for another app")]
    Standby,
}

/// The body could not be read at all: answer `400`, store nothing.
#[derive(Debug, Error)]
pub enum ParseError {
    /// The bytes are not UTF-8, so not JSON.
    #[error("body is not utf-8")]
    NotUtf8(#[source] std::str::Utf8Error),
    /// The body is not well-formed JSON.
    #[error("body is not json")]
    NotJson(#[source] serde_json::Error),
    /// The body is JSON but not an object.
    #[error("body is not a json object")]
    NotAnObject,
}

impl InboundEvent {
    /// When the event happened, or `fallback` (the time the body was received) when the body
    /// had no usable time.
    pub fn occurred_at_or(&self, fallback: Timestamp) -> Timestamp {
        self.occurred_at.unwrap_or(fallback)
    }

    /// The stored message for this event, with our `id`, the account it belongs to (`None` when
    /// no account has [`InboundEvent::business_id`]) and the time it was received, which also
    /// stands in for `occurred_at` when the body had no usable time. Links to outbound
    /// messages are the ingest use case's business, so `outbound_message_id` is `None`.
    pub fn into_message(
        self,
        id: MessageId,
        account_id: Option<AccountId>,
        received_at: Timestamp,
    ) -> Message {
        Message {
            id,
            account_id,
            occurred_at: self.occurred_at_or(received_at),
            instagram_account_id: self.business_id,
            event_key: self.event_key,
            direction: self.direction,
            kind: self.kind,
            instagram_message_id: self.instagram_message_id,
            participant_id: self.participant_id,
            sender_id: self.sender_id,
            recipient_id: self.recipient_id,
            text: self.text,
            attachments: self.attachments,
            details: self.details,
            outbound_message_id: None,
            received_at,
        }
    }
}

impl SkipReason {
    /// A short, stable label for metrics (`webhook items by outcome`).
    pub const fn code(&self) -> &'static str {
        match self {
            Self::UnsupportedObject { .. } => "unsupported_object",
            Self::MalformedEntry { .. } => "malformed_entry",
            Self::MalformedItem { .. } => "malformed_item",
            Self::MissingField { .. } => "missing_field",
            Self::InvalidField { .. } => "invalid_field",
            Self::UnknownEvent => "unknown_event",
            Self::UnsupportedChange { .. } => "unsupported_change",
            Self::Standby => "standby",
        }
    }
}

impl ItemList {
    /// The list's JSON name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Messaging => "messaging",
            Self::Changes => "changes",
            Self::Standby => "standby",
        }
    }
}

impl fmt::Display for ItemPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "entry[{}]", self.entry)?;
        match self.item {
            Some(item) => write!(f, ".{}[{}]", item.list.as_str(), item.index),
            None => Ok(()),
        }
    }
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.position, self.reason)
    }
}

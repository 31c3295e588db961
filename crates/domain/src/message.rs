//! A stored Instagram DM event: what the history shows and what the CRM is told about.

use serde::{Deserialize, Serialize};

use crate::{AccountId, InstagramId, InstagramMessageId, MessageId, Timestamp};

/// Longest text a message may carry, in bytes (Meta's limit for DMs).
pub const MAX_TEXT_BYTES: usize = 1000;

/// Whether the business received or sent the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the customer to the business.
    Inbound,
    /// From the business to the customer (API sends, auto-replies and echoes).
    Outbound,
}

impl Direction {
    /// The stored and serialized name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Inbound => "inbound",
            Self::Outbound => "outbound",
        }
    }

    /// The direction with this stored name.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Inbound, Self::Outbound]
            .into_iter()
            .find(|direction| direction.as_str() == name)
    }
}

/// Which kind of Instagram messaging event a stored row is (contract §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A message with text and/or attachments (including story mentions, shares, replies, quick
    /// replies).
    Message,
    /// A copy of a message the business sent (`is_echo`).
    Echo,
    /// The sender unsent a message (`is_deleted`).
    Deleted,
    /// The sender edited a message (`message_edit`).
    Edited,
    /// A reaction was added or removed.
    Reaction,
    /// The other party read the conversation up to a message.
    Read,
    /// A button or ice-breaker was tapped.
    Postback,
    /// The conversation was opened through a referral (ig.me link, ad).
    Referral,
}

impl EventKind {
    /// Every kind, in a stable order.
    pub const ALL: [Self; 8] = [
        Self::Message,
        Self::Echo,
        Self::Deleted,
        Self::Edited,
        Self::Reaction,
        Self::Read,
        Self::Postback,
        Self::Referral,
    ];

    /// The stored and serialized name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::Echo => "echo",
            Self::Deleted => "deleted",
            Self::Edited => "edited",
            Self::Reaction => "reaction",
            Self::Read => "read",
            Self::Postback => "postback",
            Self::Referral => "referral",
        }
    }

    /// The kind with this stored name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// One attachment of a message, as Meta described it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// Meta's attachment type (`image`, `video`, `audio`, `file`, `share`, `story_mention`,
    /// `ig_reel`, `reel`, `like_heart`, …), kept as sent so new types are not lost.
    #[serde(rename = "type")]
    pub kind: String,
    /// The media URL, when Meta sent one (a `like_heart` has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The fields only some event kinds carry. Stored as one JSON document so a new Meta field does
/// not need a migration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventDetails {
    /// The `mid` this message replies to (`reply_to.mid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to_message_id: Option<String>,
    /// The story this message replies to (`reply_to.story.url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to_story_url: Option<String>,
    /// A quick reply's payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quick_reply_payload: Option<String>,
    /// Reaction action: `react` or `unreact`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaction_action: Option<String>,
    /// Reaction name (`love`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaction: Option<String>,
    /// Reaction emoji.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emoji: Option<String>,
    /// Postback button title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postback_title: Option<String>,
    /// Postback payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postback_payload: Option<String>,
    /// Referral `ref` parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referral_ref: Option<String>,
    /// Referral source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referral_source: Option<String>,
    /// Referral type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referral_type: Option<String>,
    /// How many times the message has been edited (`message_edit.num_edit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit_count: Option<u32>,
    /// Meta marked the message as unsupported by the API.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unsupported: bool,
}

impl EventDetails {
    /// True when no field is set (stored as NULL).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// One stored event of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Our id.
    pub id: MessageId,
    /// The business account it belongs to; `None` when no account has its `instagram_account_id`
    /// (stored, not forwarded).
    pub account_id: Option<AccountId>,
    /// Meta's id of the business account (`entry[].id`).
    pub instagram_account_id: InstagramId,
    /// Makes redelivery harmless: unique per business account. See [`Message::event_key_for`].
    pub event_key: String,
    /// Received or sent by the business.
    pub direction: Direction,
    /// The kind of event.
    pub kind: EventKind,
    /// Meta's `mid` of the message this event is (or refers to), when there is one.
    pub instagram_message_id: Option<InstagramMessageId>,
    /// The customer's id: the other party of the conversation.
    pub participant_id: InstagramId,
    /// Who sent it.
    pub sender_id: InstagramId,
    /// Who it was sent to.
    pub recipient_id: InstagramId,
    /// Text, when the event has any (new text for edits).
    pub text: Option<String>,
    /// Attachments, in Meta's order.
    pub attachments: Vec<Attachment>,
    /// Kind-specific fields.
    pub details: EventDetails,
    /// The outbound message this row is the history entry of, when we sent it.
    pub outbound_message_id: Option<MessageId>,
    /// When it happened, by Meta's clock.
    pub occurred_at: Timestamp,
    /// When igrouter stored it.
    pub received_at: Timestamp,
}

impl Message {
    /// The dedupe key of an event: the same Meta event always gives the same key, different
    /// events never do.
    ///
    /// Messages and echoes share `mid:` keys on purpose: an echo of a message we sent and the
    /// message itself are one history entry. The other kinds refer to a `mid` but are events of
    /// their own, so they get their own namespace plus whatever distinguishes repeats (who
    /// reacted, the edit number, the time of a postback without a `mid`).
    pub fn event_key_for(
        kind: EventKind,
        mid: Option<&str>,
        sender: &str,
        occurred_at: Timestamp,
        discriminator: &str,
    ) -> String {
        let at = occurred_at.as_millis();
        match (kind, mid) {
            (EventKind::Message | EventKind::Echo, Some(mid)) => format!("mid:{mid}"),
            (EventKind::Deleted, Some(mid)) => format!("del:{mid}"),
            (EventKind::Edited, Some(mid)) => format!("edit:{mid}:{discriminator}"),
            (EventKind::Reaction, Some(mid)) => {
                format!("react:{mid}:{sender}:{discriminator}:{at}")
            }
            (EventKind::Read, Some(mid)) => format!("read:{mid}:{sender}"),
            (EventKind::Postback, Some(mid)) => format!("postback:{mid}"),
            (kind, _) => format!("{}:{sender}:{at}:{discriminator}", kind.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::from_name(kind.as_str()), Some(kind));
        }
        assert_eq!(EventKind::from_name("nope"), None);
        assert_eq!(Direction::from_name("outbound"), Some(Direction::Outbound));
    }

    #[test]
    fn echo_and_message_share_a_key_other_kinds_do_not() {
        let at = Timestamp::from_millis(5);
        let message = Message::event_key_for(EventKind::Message, Some("m1"), "u", at, "");
        let echo = Message::event_key_for(EventKind::Echo, Some("m1"), "biz", at, "");
        let deleted = Message::event_key_for(EventKind::Deleted, Some("m1"), "u", at, "");
        let edit1 = Message::event_key_for(EventKind::Edited, Some("m1"), "u", at, "1");
        let edit2 = Message::event_key_for(EventKind::Edited, Some("m1"), "u", at, "2");
        assert_eq!(message, echo);
        assert_ne!(message, deleted);
        assert_ne!(edit1, edit2);
        let postback = Message::event_key_for(EventKind::Postback, None, "u", at, "get_started");
        assert_eq!(postback, "postback:u:5:get_started");
    }

    #[test]
    fn empty_details_serialize_to_an_empty_object() {
        assert!(EventDetails::default().is_empty());
        assert_eq!(
            serde_json::to_string(&EventDetails::default()).unwrap(),
            "{}"
        );
        let details = EventDetails {
            reaction: Some("love".into()),
            ..EventDetails::default()
        };
        let json = serde_json::to_string(&details).unwrap();
        assert_eq!(
            serde_json::from_str::<EventDetails>(&json).unwrap(),
            details
        );
    }
}

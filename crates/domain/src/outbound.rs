//! A DM the business asked igrouter to send (through the API or an auto-reply) and its fate.

use crate::{
    AccountId, InstagramId, InstagramMessageId, MessageId, RequestId, RuleId, Timestamp,
    ValidationError,
};

/// Where an outbound message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboundStatus {
    /// Queued, waiting for its (next) attempt.
    Pending,
    /// Claimed by a send worker; the Graph API call is under way.
    Sending,
    /// Meta accepted it.
    Sent,
    /// Given up: a permanent error, or retries exhausted.
    Failed,
}

impl OutboundStatus {
    /// Every status.
    pub const ALL: [Self; 4] = [Self::Pending, Self::Sending, Self::Sent, Self::Failed];

    /// The stored and serialized name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }

    /// The status with this name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == name)
    }

    /// True once nothing more will happen to the message.
    pub const fn is_final(self) -> bool {
        matches!(self, Self::Sent | Self::Failed)
    }
}

/// Media types the Graph API accepts in an attachment send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttachmentType {
    /// An image.
    Image,
    /// A video.
    Video,
    /// An audio clip.
    Audio,
    /// Any other file.
    File,
}

impl AttachmentType {
    /// Every type.
    pub const ALL: [Self; 4] = [Self::Image, Self::Video, Self::Audio, Self::File];

    /// The name Meta and our API use.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Video => "video",
            Self::Audio => "audio",
            Self::File => "file",
        }
    }

    /// Parses Meta's name.
    ///
    /// # Errors
    /// A [`ValidationError`] for `attachment.type` naming the accepted values.
    pub fn parse(name: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| {
                ValidationError::new(
                    "attachment.type",
                    "must be one of image, video, audio, file",
                )
            })
    }
}

/// What an outbound message carries: text or one media attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboundContent {
    /// Text, 1 to 1000 bytes of UTF-8.
    Text(String),
    /// A media attachment by URL.
    Attachment {
        /// Media type.
        kind: AttachmentType,
        /// Public URL Meta fetches the media from.
        url: String,
    },
}

impl OutboundContent {
    /// Text content, checked against Meta's limits.
    ///
    /// # Errors
    /// A [`ValidationError`] for `message` when empty, over 1000 bytes, or containing NUL.
    pub fn text(text: &str) -> Result<Self, ValidationError> {
        if text.is_empty() {
            return Err(ValidationError::new("message", "must not be empty"));
        }
        if text.len() > crate::message::MAX_TEXT_BYTES {
            return Err(ValidationError::new(
                "message",
                "must be at most 1000 bytes of UTF-8",
            ));
        }
        if text.contains('\0') {
            return Err(ValidationError::new(
                "message",
                "must not contain NUL characters",
            ));
        }
        Ok(Self::Text(text.to_owned()))
    }
}

/// A message queued for sending, with everything the worker and the status endpoint need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundMessage {
    /// Our id, returned by the send API.
    pub id: MessageId,
    /// The sending account.
    pub account_id: AccountId,
    /// The customer it goes to.
    pub recipient_id: InstagramId,
    /// What it says.
    pub content: OutboundContent,
    /// Where it is in its life.
    pub status: OutboundStatus,
    /// Graph API attempts made so far.
    pub attempts: u32,
    /// Meta's `message_id` once sent.
    pub instagram_message_id: Option<InstagramMessageId>,
    /// Graph error code of the last failure.
    pub error_code: Option<i64>,
    /// Error message of the last failure (Meta's or ours).
    pub error_message: Option<String>,
    /// The auto-reply rule that queued it, if any.
    pub rule_id: Option<RuleId>,
    /// When the next attempt is due (pending) or the current claim expires (sending); `None` once
    /// final.
    pub due_at: Option<Timestamp>,
    /// When it was queued.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// The id of the request that queued it (the send request, or the webhook post of an
    /// auto-reply): sent as `X-Request-Id` on its Graph API calls.
    pub request_id: Option<RequestId>,
}

impl OutboundMessage {
    /// A new pending message, due immediately.
    pub fn new_pending(
        id: MessageId,
        account_id: AccountId,
        recipient_id: InstagramId,
        content: OutboundContent,
        rule_id: Option<RuleId>,
        now: Timestamp,
    ) -> Self {
        Self {
            id,
            account_id,
            recipient_id,
            content,
            status: OutboundStatus::Pending,
            attempts: 0,
            instagram_message_id: None,
            error_code: None,
            error_message: None,
            rule_id,
            due_at: Some(now),
            created_at: now,
            updated_at: now,
            request_id: None,
        }
    }

    /// The same message, queued by the request `request_id`.
    #[must_use]
    pub fn with_request_id(mut self, request_id: Option<RequestId>) -> Self {
        self.request_id = request_id;
        self
    }
}

/// How a send attempt ended, as the worker reports it to the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendResult {
    /// Meta accepted the message.
    Sent {
        /// Meta's id for it.
        instagram_message_id: InstagramMessageId,
    },
    /// A retryable failure: try again at `retry_at`.
    Retry {
        /// When to try again.
        retry_at: Timestamp,
        /// Graph error code, if Meta gave one.
        error_code: Option<i64>,
        /// What went wrong.
        error_message: String,
    },
    /// A permanent failure (or retries exhausted).
    Failed {
        /// Graph error code, if Meta gave one.
        error_code: Option<i64>,
        /// What went wrong.
        error_message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_limits_count_bytes_not_characters() {
        assert!(OutboundContent::text(&"é".repeat(500)).is_ok());
        assert_eq!(
            OutboundContent::text(&"é".repeat(501)).unwrap_err().field,
            "message"
        );
        assert!(OutboundContent::text("").is_err());
        assert!(OutboundContent::text("a\0b").is_err());
    }

    #[test]
    fn statuses_and_types_round_trip() {
        for status in OutboundStatus::ALL {
            assert_eq!(OutboundStatus::from_name(status.as_str()), Some(status));
        }
        assert!(OutboundStatus::Sent.is_final() && !OutboundStatus::Sending.is_final());
        assert_eq!(AttachmentType::parse("video"), Ok(AttachmentType::Video));
        assert_eq!(
            AttachmentType::parse("gif").unwrap_err().field,
            "attachment.type"
        );
    }
}

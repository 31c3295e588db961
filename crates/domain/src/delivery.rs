//! A CRM delivery: one event for one account's CRM, with every attempt made to deliver it.

use crate::{AccountId, EventId, MessageId, RequestId, Timestamp};

/// The `event` names of contract §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CrmEventType {
    /// `message.received`
    MessageReceived,
    /// `message.echo`
    MessageEcho,
    /// `message.deleted`
    MessageDeleted,
    /// `message.edited`
    MessageEdited,
    /// `message.reaction`
    MessageReaction,
    /// `message.read`
    MessageRead,
    /// `postback`
    Postback,
    /// `referral`
    Referral,
    /// `outbound.sent`
    OutboundSent,
    /// `outbound.failed`
    OutboundFailed,
}

impl CrmEventType {
    /// Every event type.
    pub const ALL: [Self; 10] = [
        Self::MessageReceived,
        Self::MessageEcho,
        Self::MessageDeleted,
        Self::MessageEdited,
        Self::MessageReaction,
        Self::MessageRead,
        Self::Postback,
        Self::Referral,
        Self::OutboundSent,
        Self::OutboundFailed,
    ];

    /// The contract's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::MessageReceived => "message.received",
            Self::MessageEcho => "message.echo",
            Self::MessageDeleted => "message.deleted",
            Self::MessageEdited => "message.edited",
            Self::MessageReaction => "message.reaction",
            Self::MessageRead => "message.read",
            Self::Postback => "postback",
            Self::Referral => "referral",
            Self::OutboundSent => "outbound.sent",
            Self::OutboundFailed => "outbound.failed",
        }
    }

    /// The type with this name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// Where a delivery is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Waiting for its (next) attempt.
    Pending,
    /// Claimed by a worker; an attempt is under way.
    Delivering,
    /// The CRM answered 2xx.
    Delivered,
    /// Every scheduled attempt failed; listed for replay.
    Failed,
}

impl DeliveryStatus {
    /// Every status.
    pub const ALL: [Self; 4] = [
        Self::Pending,
        Self::Delivering,
        Self::Delivered,
        Self::Failed,
    ];

    /// The stored and serialized name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivering => "delivering",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    /// The status with this name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == name)
    }
}

/// One event queued for one account's CRM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrmDelivery {
    /// The event id: the delivery's id and its `webhook-id`.
    pub id: EventId,
    /// The account whose CRM receives it.
    pub account_id: AccountId,
    /// The event's type.
    pub event_type: CrmEventType,
    /// The stored message (or outbound message) the event is about.
    pub message_id: Option<MessageId>,
    /// Unique per account: the same cause never queues two deliveries.
    pub dedupe_key: String,
    /// The exact JSON body, built once so every retry sends (and signs) the same bytes.
    pub payload: String,
    /// Where it is in its life.
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due (pending) or the claim expires (delivering); `None` once final.
    pub due_at: Option<Timestamp>,
    /// The last attempt's error, for lists.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// When the CRM accepted it.
    pub delivered_at: Option<Timestamp>,
    /// The id of the request that caused it (the webhook post, or the send request of an
    /// `outbound.*` event): sent as `X-Request-Id` with every attempt.
    pub request_id: Option<RequestId>,
}

impl CrmDelivery {
    /// A new pending delivery, due immediately.
    pub fn new_pending(
        id: EventId,
        account_id: AccountId,
        event_type: CrmEventType,
        message_id: Option<MessageId>,
        dedupe_key: String,
        payload: String,
        now: Timestamp,
    ) -> Self {
        Self {
            id,
            account_id,
            event_type,
            message_id,
            dedupe_key,
            payload,
            status: DeliveryStatus::Pending,
            attempts: 0,
            due_at: Some(now),
            last_error: None,
            created_at: now,
            updated_at: now,
            delivered_at: None,
            request_id: None,
        }
    }

    /// The same delivery, caused by the request `request_id`.
    #[must_use]
    pub fn with_request_id(mut self, request_id: Option<RequestId>) -> Self {
        self.request_id = request_id;
        self
    }
}

/// One recorded attempt to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    /// 1 for the first attempt.
    pub number: u32,
    /// When the request started.
    pub started_at: Timestamp,
    /// The CRM's HTTP status, when it answered.
    pub http_status: Option<u16>,
    /// How long the attempt took.
    pub latency_ms: u64,
    /// What went wrong (timeout, connection error, non-2xx), if anything.
    pub error: Option<String>,
    /// The start of the CRM's response body, for debugging.
    pub response_excerpt: Option<String>,
}

/// What happens to a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryNext {
    /// The CRM accepted it.
    Delivered,
    /// Try again at this time.
    RetryAt(Timestamp),
    /// No attempts left: it is `failed`.
    Dead,
}

/// Which deliveries a listing returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryFilter {
    /// Only this status.
    pub status: Option<DeliveryStatus>,
    /// Only these accounts (`None`: all).
    pub account_ids: Option<Vec<AccountId>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in CrmEventType::ALL {
            assert_eq!(CrmEventType::from_name(kind.as_str()), Some(kind));
        }
        for status in DeliveryStatus::ALL {
            assert_eq!(DeliveryStatus::from_name(status.as_str()), Some(status));
        }
        assert_eq!(CrmEventType::from_name("message"), None);
    }
}

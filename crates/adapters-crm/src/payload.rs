//! The JSON bodies igrouter posts to a CRM (contract §3; docs/crm-events.md lists every field).
//!
//! Every event shares one envelope (`event`, `event_id`, `account_id`, `instagram_account_id`,
//! `message_id`, `sender_id`, `recipient_id`, `message`, `attachments`, `timestamp`), whose keys
//! are always present (`null` when there is no value), so a CRM can read every event with one
//! type. Each event then adds its own extras. A body is serialized once, when the delivery is
//! queued, and stored: every retry sends, and signs, the same bytes.

use domain::{
    Account, AccountId, CrmEventType, EventDetails, EventId, EventKind, InstagramId, Message,
    MessageId, OutboundContent, OutboundMessage, OutboundStatus, RuleId,
};
use serde::Serialize;
use thiserror::Error;

/// A delivery body and the event type it announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrmPayload {
    /// The body's `event`, for the delivery row.
    pub event_type: CrmEventType,
    /// The exact JSON body: compact, UTF-8, non-ASCII and `/` written as themselves.
    pub body: String,
}

/// Why a body could not be built. Each is a bug in the caller, not a condition to retry.
#[derive(Debug, Error)]
pub enum PayloadError {
    /// The message or outbound message is not this account's: sending it would show one
    /// tenant's conversation to another's CRM.
    #[error("{message_id} does not belong to account {account_id}")]
    WrongAccount {
        /// The message (or outbound message) given.
        message_id: MessageId,
        /// The account given.
        account_id: AccountId,
    },
    /// Only a `sent` or `failed` outbound message has an `outbound.*` event.
    #[error("outbound message {message_id} is {}, not sent or failed", .status.as_str())]
    NotFinal {
        /// The outbound message given.
        message_id: MessageId,
        /// Its status.
        status: OutboundStatus,
    },
    /// serde_json refused the body (it cannot for these types: strings and numbers only).
    #[error("serializing the delivery body failed")]
    Serialize(#[source] serde_json::Error),
}

/// The CRM event announcing a stored Instagram event of this kind.
///
/// The mapping goes by kind alone: a `message` is `message.received` and an `echo` is
/// `message.echo` whatever else the event says.
pub const fn event_type_for(kind: EventKind) -> CrmEventType {
    match kind {
        EventKind::Message => CrmEventType::MessageReceived,
        EventKind::Echo => CrmEventType::MessageEcho,
        EventKind::Deleted => CrmEventType::MessageDeleted,
        EventKind::Edited => CrmEventType::MessageEdited,
        EventKind::Reaction => CrmEventType::MessageReaction,
        EventKind::Read => CrmEventType::MessageRead,
        EventKind::Postback => CrmEventType::Postback,
        EventKind::Referral => CrmEventType::Referral,
    }
}

/// The body announcing `message`, a stored Instagram event of `account`, as event `event_id`.
///
/// `message_id` is the Instagram `mid` (`null` when the event has none), `timestamp` is when the
/// event happened by Meta's clock. See docs/crm-events.md for each kind's extras.
///
/// # Errors
/// [`PayloadError::WrongAccount`] when `message` is not `account`'s (its `account_id` or
/// `instagram_account_id` differs); [`PayloadError::Serialize`] never in practice.
pub fn message_payload(
    account: &Account,
    event_id: &EventId,
    message: &Message,
) -> Result<CrmPayload, PayloadError> {
    let owned = message.account_id.as_ref() == Some(&account.id)
        && message.instagram_account_id == account.instagram_account_id;
    if !owned {
        return Err(PayloadError::WrongAccount {
            message_id: message.id.clone(),
            account_id: account.id.clone(),
        });
    }
    let event_type = event_type_for(message.kind);
    let envelope = Envelope {
        event: event_type.as_str(),
        event_id,
        account_id: &account.id,
        instagram_account_id: &account.instagram_account_id,
        message_id: message
            .instagram_message_id
            .as_ref()
            .map(|mid| mid.as_str()),
        sender_id: &message.sender_id,
        recipient_id: &message.recipient_id,
        message: message.text.as_deref(),
        attachments: message
            .attachments
            .iter()
            .map(|attachment| AttachmentBody {
                kind: &attachment.kind,
                url: attachment.url.as_deref(),
            })
            .collect(),
        timestamp: message.occurred_at.to_rfc3339(),
        extras: MessageExtras::new(message.kind, &message.details),
    };
    serialize(event_type, &envelope)
}

/// The `outbound.sent` or `outbound.failed` body for `outbound`, a message `account` sent (through
/// the API or an auto-reply), as event `event_id`.
///
/// `message_id` is our `msg_` id (the one the send API returned), `sender_id` the business,
/// `timestamp` the message's `updated_at` (when it was sent or given up).
///
/// # Errors
/// [`PayloadError::WrongAccount`] when `outbound` is not `account`'s; [`PayloadError::NotFinal`]
/// when it is still `pending` or `sending`; [`PayloadError::Serialize`] never in practice.
pub fn outbound_payload(
    account: &Account,
    event_id: &EventId,
    outbound: &OutboundMessage,
) -> Result<CrmPayload, PayloadError> {
    if outbound.account_id != account.id {
        return Err(PayloadError::WrongAccount {
            message_id: outbound.id.clone(),
            account_id: account.id.clone(),
        });
    }
    let (event_type, failure) = match outbound.status {
        OutboundStatus::Sent => (CrmEventType::OutboundSent, None),
        OutboundStatus::Failed => (
            CrmEventType::OutboundFailed,
            Some(Failure {
                error_code: outbound.error_code,
                error_message: outbound.error_message.as_deref(),
            }),
        ),
        status @ (OutboundStatus::Pending | OutboundStatus::Sending) => {
            return Err(PayloadError::NotFinal {
                message_id: outbound.id.clone(),
                status,
            });
        }
    };
    let (text, attachments) = match &outbound.content {
        OutboundContent::Text(text) => (Some(text.as_str()), Vec::new()),
        OutboundContent::Attachment { kind, url } => (
            None,
            vec![AttachmentBody {
                kind: kind.as_str(),
                url: Some(url),
            }],
        ),
    };
    let envelope = Envelope {
        event: event_type.as_str(),
        event_id,
        account_id: &account.id,
        instagram_account_id: &account.instagram_account_id,
        message_id: Some(outbound.id.as_str()),
        sender_id: &account.instagram_account_id,
        recipient_id: &outbound.recipient_id,
        message: text,
        attachments,
        timestamp: outbound.updated_at.to_rfc3339(),
        extras: OutboundExtras {
            instagram_message_id: outbound
                .instagram_message_id
                .as_ref()
                .map(|mid| mid.as_str()),
            status: outbound.status.as_str(),
            rule_id: outbound.rule_id.as_ref(),
            failure,
        },
    };
    serialize(event_type, &envelope)
}

fn serialize<T: Serialize>(event_type: CrmEventType, body: &T) -> Result<CrmPayload, PayloadError> {
    let body = serde_json::to_string(body).map_err(PayloadError::Serialize)?;
    Ok(CrmPayload { event_type, body })
}

/// The keys every event has, in the contract's order, then the event's extras.
#[derive(Serialize)]
struct Envelope<'a, X> {
    event: &'static str,
    event_id: &'a EventId,
    account_id: &'a AccountId,
    instagram_account_id: &'a InstagramId,
    message_id: Option<&'a str>,
    sender_id: &'a InstagramId,
    recipient_id: &'a InstagramId,
    message: Option<&'a str>,
    attachments: Vec<AttachmentBody<'a>>,
    timestamp: String,
    #[serde(flatten)]
    extras: X,
}

/// One element of `attachments`: Meta's type as sent, and the URL when there is one.
#[derive(Serialize)]
struct AttachmentBody<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
}

/// Extras of the Instagram events. An event's own object (`reaction` on `message.reaction`, …) is
/// always there; the others only when Meta sent them (a referral on a message from an ad).
#[derive(Serialize)]
struct MessageExtras<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_to: Option<ReplyTo<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quick_reply: Option<QuickReply<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reaction: Option<Reaction<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    postback: Option<Postback<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    referral: Option<Referral<'a>>,
    /// `Some(None)` is `"edit_count": null`: an edit whose count Meta did not give.
    #[serde(skip_serializing_if = "Option::is_none")]
    edit_count: Option<Option<u32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_unsupported: Option<bool>,
}

impl<'a> MessageExtras<'a> {
    fn new(kind: EventKind, details: &'a EventDetails) -> Self {
        let reply_to = (details.reply_to_message_id.is_some()
            || details.reply_to_story_url.is_some())
        .then_some(ReplyTo {
            message_id: details.reply_to_message_id.as_deref(),
            story_url: details.reply_to_story_url.as_deref(),
        });
        let quick_reply = details
            .quick_reply_payload
            .as_deref()
            .map(|payload| QuickReply { payload });
        let reaction = (kind == EventKind::Reaction
            || details.reaction_action.is_some()
            || details.reaction.is_some()
            || details.emoji.is_some())
        .then_some(Reaction {
            action: details.reaction_action.as_deref(),
            reaction: details.reaction.as_deref(),
            emoji: details.emoji.as_deref(),
        });
        let postback = (kind == EventKind::Postback
            || details.postback_title.is_some()
            || details.postback_payload.is_some())
        .then_some(Postback {
            title: details.postback_title.as_deref(),
            payload: details.postback_payload.as_deref(),
        });
        let referral = (kind == EventKind::Referral
            || details.referral_ref.is_some()
            || details.referral_source.is_some()
            || details.referral_type.is_some())
        .then_some(Referral {
            reference: details.referral_ref.as_deref(),
            source: details.referral_source.as_deref(),
            kind: details.referral_type.as_deref(),
        });
        let edit_count = (kind == EventKind::Edited || details.edit_count.is_some())
            .then_some(details.edit_count);
        let is_unsupported = match kind {
            EventKind::Message | EventKind::Echo => Some(details.unsupported),
            _ => details.unsupported.then_some(true),
        };
        Self {
            reply_to,
            quick_reply,
            reaction,
            postback,
            referral,
            edit_count,
            is_unsupported,
        }
    }
}

#[derive(Serialize)]
struct ReplyTo<'a> {
    message_id: Option<&'a str>,
    story_url: Option<&'a str>,
}

#[derive(Serialize)]
struct QuickReply<'a> {
    payload: &'a str,
}

#[derive(Serialize)]
struct Reaction<'a> {
    action: Option<&'a str>,
    reaction: Option<&'a str>,
    emoji: Option<&'a str>,
}

#[derive(Serialize)]
struct Postback<'a> {
    title: Option<&'a str>,
    payload: Option<&'a str>,
}

#[derive(Serialize)]
struct Referral<'a> {
    #[serde(rename = "ref")]
    reference: Option<&'a str>,
    source: Option<&'a str>,
    #[serde(rename = "type")]
    kind: Option<&'a str>,
}

/// Extras of `outbound.sent` and `outbound.failed`.
#[derive(Serialize)]
struct OutboundExtras<'a> {
    instagram_message_id: Option<&'a str>,
    status: &'static str,
    rule_id: Option<&'a RuleId>,
    /// Only on `outbound.failed`, where both keys are always present.
    #[serde(flatten)]
    failure: Option<Failure<'a>>,
}

#[derive(Serialize)]
struct Failure<'a> {
    error_code: Option<i64>,
    error_message: Option<&'a str>,
}

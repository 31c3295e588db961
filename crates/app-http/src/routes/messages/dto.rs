//! The messages resource's public JSON: the send body, parsed into domain types, the status of
//! a send, and the entries of the conversation history.

use domain::{
    AccountId, AttachmentType, EventDetails, HistoryEntry, IdempotencyKey, InstagramId, Message,
    OutboundContent, OutboundMessage, ValidationError, WebhookUrl,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::openapi::schemas;
use crate::routes::json_fields::{optional_string, present, required_string};

/// `POST /api/v1/messages/send`: exactly one of `message` and `attachment`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SendRequest)]
pub(crate) struct SendBody {
    /// The sending account (an unknown one, or one outside the key's scope, is `422`).
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = schemas::account_id, required = true)]
    account_id: Option<Value>,
    /// The customer's Instagram-scoped id: 1–64 printable ASCII characters without spaces.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = true, pattern = "^[!-~]{1,64}$", examples("1234567890"))]
    recipient_id: Option<Value>,
    /// The text: 1–1000 bytes of UTF-8, no NUL.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 1000, examples("Hello!"))]
    message: Option<Value>,
    /// Media instead of text, in Meta's shape.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<OutboundAttachmentSchema>)]
    attachment: Option<Value>,
    /// 1–255 printable ASCII characters (spaces allowed); or the `Idempotency-Key` header.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, pattern = "^[ -~]{1,255}$")]
    idempotency_key: Option<Value>,
}

/// `{"type": …, "payload": {"url": …}}`. Schema only: the handler reads the member itself, so
/// every `422` names the part at fault.
#[derive(ToSchema)]
#[schema(as = OutboundAttachment)]
#[expect(dead_code, reason = "never built: it only describes the send body")]
pub(crate) struct OutboundAttachmentSchema {
    #[serde(rename = "type")]
    #[schema(schema_with = schemas::attachment_type)]
    kind: String,
    payload: OutboundAttachmentPayloadSchema,
}

/// Where Meta fetches the media.
#[derive(ToSchema)]
#[schema(as = OutboundAttachmentPayload)]
#[expect(dead_code, reason = "never built: it only describes the send body")]
struct OutboundAttachmentPayloadSchema {
    /// An absolute `http` or `https` URL without credentials, at most 2048 bytes.
    #[schema(
        format = "uri",
        max_length = 2048,
        examples("https://cdn.example.com/p.png")
    )]
    url: String,
}

/// The `202` of a send (`sending::accepted_body` writes it; it is stored with the idempotency
/// key and replayed byte for byte).
#[derive(ToSchema)]
#[schema(as = SendAccepted)]
#[expect(
    dead_code,
    reason = "never built: it only describes sending::accepted_body"
)]
pub(crate) struct AcceptedSchema {
    #[schema(schema_with = schemas::message_id)]
    message_id: String,
    /// Always `pending`.
    #[schema(schema_with = schemas::outbound_status)]
    status: String,
    #[schema(format = DateTime)]
    created_at: String,
}

/// A send body, validated.
#[derive(Debug)]
pub(super) struct SendFields {
    pub(super) account_id: AccountId,
    pub(super) recipient_id: InstagramId,
    pub(super) content: OutboundContent,
    pub(super) idempotency_key: Option<IdempotencyKey>,
}

impl SendBody {
    /// The request, validated member by member in the contract's order. `null` is the same as
    /// leaving a member out (`message: null` beside an attachment is fine).
    pub(super) fn parse(self) -> Result<SendFields, ValidationError> {
        let account_id = AccountId::parse(&required_string("account_id", self.account_id)?)?;
        let recipient_id = InstagramId::parse(
            "recipient_id",
            &required_string("recipient_id", self.recipient_id)?,
        )?;
        let content = content(
            self.message.filter(|value| !value.is_null()),
            self.attachment.filter(|value| !value.is_null()),
        )?;
        let idempotency_key = optional_string(
            "idempotency_key",
            self.idempotency_key.filter(|value| !value.is_null()),
        )?
        .map(|key| IdempotencyKey::parse(&key))
        .transpose()?;
        Ok(SendFields {
            account_id,
            recipient_id,
            content,
            idempotency_key,
        })
    }
}

/// Exactly one of `message` and `attachment`.
fn content(
    message: Option<Value>,
    attachment: Option<Value>,
) -> Result<OutboundContent, ValidationError> {
    match (message, attachment) {
        (Some(_), Some(_)) => Err(ValidationError::new(
            "message",
            "give either message or attachment, not both",
        )),
        (None, None) => Err(ValidationError::new(
            "message",
            "is required unless attachment is given",
        )),
        (Some(text), None) => OutboundContent::text(&required_string("message", Some(text))?),
        (None, Some(attachment)) => attachment_content(attachment),
    }
}

/// `{"type": "image|video|audio|file", "payload": {"url": "https://…"}}`, Meta's own shape.
fn attachment_content(attachment: Value) -> Result<OutboundContent, ValidationError> {
    const FIELD: &str = "attachment";
    const PAYLOAD: &str = "attachment.payload";
    let mut attachment = object(FIELD, attachment, "must be an object with type and payload")?;
    let kind = AttachmentType::parse(&required_string(
        "attachment.type",
        attachment.remove("type"),
    )?)?;
    let payload = attachment.remove("payload");
    no_other_members(FIELD, &attachment)?;
    let Some(payload) = payload else {
        return Err(ValidationError::new(PAYLOAD, "is required"));
    };
    let mut payload = object(PAYLOAD, payload, "must be an object with url")?;
    let url = required_string("attachment.payload.url", payload.remove("url"))?;
    no_other_members(PAYLOAD, &payload)?;
    // Meta fetches the media from it: the shape rule of every URL igrouter takes (absolute
    // http or https, with a host, no credentials, at most 2048 bytes).
    let url = WebhookUrl::parse("attachment.payload.url", &url)?;
    Ok(OutboundContent::Attachment {
        kind,
        url: url.as_str().to_owned(),
    })
}

fn object(
    field: &'static str,
    value: Value,
    expected: &'static str,
) -> Result<Map<String, Value>, ValidationError> {
    match value {
        Value::Object(members) => Ok(members),
        _ => Err(ValidationError::new(field, expected)),
    }
}

fn no_other_members(
    field: &'static str,
    members: &Map<String, Value>,
) -> Result<(), ValidationError> {
    match members.keys().next() {
        Some(unknown) => Err(ValidationError::new(
            field,
            format!("unknown member `{unknown}`"),
        )),
        None => Ok(()),
    }
}

/// A send as `GET /api/v1/messages/{id}/status` and a finished `Prefer: wait` show it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = MessageStatus)]
pub(super) struct StatusDto {
    #[schema(schema_with = schemas::message_id)]
    message_id: String,
    #[schema(schema_with = schemas::account_id)]
    account_id: String,
    recipient_id: String,
    #[schema(schema_with = schemas::outbound_status)]
    status: &'static str,
    /// Meta's id of the sent message; `null` until `sent`.
    #[schema(required = true)]
    instagram_message_id: Option<String>,
    /// The Graph error code of the latest failed attempt (`null` for errors without one).
    #[schema(required = true)]
    error_code: Option<i64>,
    /// The error of the latest failed attempt.
    #[schema(required = true)]
    error_message: Option<String>,
    /// Graph API attempts started so far, including one under way.
    attempts: u32,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    /// The `X-Request-Id` of the request that queued it (the send, or the webhook that
    /// triggered an auto-reply), sent with its Graph API calls; `null` when none was kept.
    #[schema(schema_with = schemas::nullable_request_id, required = true)]
    request_id: Option<String>,
}

impl From<&OutboundMessage> for StatusDto {
    fn from(message: &OutboundMessage) -> Self {
        Self {
            message_id: message.id.to_string(),
            account_id: message.account_id.to_string(),
            recipient_id: message.recipient_id.to_string(),
            status: message.status.as_str(),
            instagram_message_id: message
                .instagram_message_id
                .as_ref()
                .map(ToString::to_string),
            error_code: message.error_code,
            error_message: message.error_message.clone(),
            attempts: message.attempts,
            created_at: message.created_at.to_rfc3339(),
            updated_at: message.updated_at.to_rfc3339(),
            request_id: message.request_id.as_ref().map(ToString::to_string),
        }
    }
}

/// One page of the conversation history.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct HistoryPage {
    pub(super) data: Vec<HistoryItem>,
    /// Pass it back as `cursor` for the next page; `null` on the last.
    #[schema(required = true)]
    pub(super) next_cursor: Option<String>,
}

/// One entry of the history. Every entry has every member, so clients need one type: the send
/// members are `null` on Instagram's events, and `details` is `{}` on sends.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = HistoryEntry)]
pub(super) struct HistoryItem {
    /// igrouter's id of the event, or of the send (the one the status endpoint takes).
    #[schema(schema_with = schemas::message_id)]
    id: String,
    #[schema(schema_with = schemas::direction)]
    direction: &'static str,
    #[schema(schema_with = schemas::event_kind)]
    kind: &'static str,
    /// The customer.
    participant_id: String,
    sender_id: String,
    recipient_id: String,
    /// `null` when there is none (media, reactions, reads); an edit's new text.
    #[schema(required = true)]
    text: Option<String>,
    attachments: Vec<AttachmentDto>,
    /// Meta's `mid`; for a send, `null` until `sent`.
    #[schema(required = true)]
    instagram_message_id: Option<String>,
    details: DetailsDto,
    /// A send's status; `null` for events.
    #[schema(schema_with = schemas::nullable_outbound_status, required = true)]
    status: Option<&'static str>,
    #[schema(required = true)]
    error_code: Option<i64>,
    #[schema(required = true)]
    error_message: Option<String>,
    /// The auto-reply rule that sent it; `null` for API sends and events.
    #[schema(schema_with = schemas::nullable_rule_id, required = true)]
    rule_id: Option<String>,
    /// When it happened by Meta's clock, or when the send was queued.
    #[schema(format = DateTime)]
    timestamp: String,
}

/// An attachment as the CRM payloads show it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Attachment)]
struct AttachmentDto {
    /// Meta's type (`image`, `video`, `audio`, `file`, `share`, `story_mention`, …).
    #[serde(rename = "type")]
    kind: String,
    /// `null` when Meta gave none.
    #[schema(required = true)]
    url: Option<String>,
}

/// The members only some kinds of event carry; absent when not set.
#[derive(Debug, Default, Serialize, ToSchema)]
#[schema(as = EventDetails)]
struct DetailsDto {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    reply_to_message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    reply_to_story_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    quick_reply_payload: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    reaction_action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    reaction: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    emoji: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    postback_title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    postback_payload: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    referral_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    referral_source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    referral_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    edit_count: Option<u32>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    unsupported: bool,
}

impl HistoryItem {
    /// The entry as the API shows it; `business` is the account's Instagram id, the sender of
    /// its sends.
    pub(super) fn new(entry: &HistoryEntry, business: &InstagramId) -> Self {
        match entry {
            HistoryEntry::Event(message) => Self::event(message),
            HistoryEntry::Sent(message) => Self::sent(message, business),
        }
    }

    fn event(message: &Message) -> Self {
        Self {
            id: message.id.to_string(),
            direction: message.direction.as_str(),
            kind: message.kind.as_str(),
            participant_id: message.participant_id.to_string(),
            sender_id: message.sender_id.to_string(),
            recipient_id: message.recipient_id.to_string(),
            text: message.text.clone(),
            attachments: message
                .attachments
                .iter()
                .map(|attachment| AttachmentDto {
                    kind: attachment.kind.clone(),
                    url: attachment.url.clone(),
                })
                .collect(),
            instagram_message_id: message
                .instagram_message_id
                .as_ref()
                .map(ToString::to_string),
            details: DetailsDto::from(&message.details),
            status: None,
            error_code: None,
            error_message: None,
            rule_id: None,
            timestamp: message.occurred_at.to_rfc3339(),
        }
    }

    fn sent(message: &OutboundMessage, business: &InstagramId) -> Self {
        let (text, attachments) = match &message.content {
            OutboundContent::Text(text) => (Some(text.clone()), Vec::new()),
            OutboundContent::Attachment { kind, url } => (
                None,
                vec![AttachmentDto {
                    kind: kind.as_str().to_owned(),
                    url: Some(url.clone()),
                }],
            ),
        };
        Self {
            id: message.id.to_string(),
            direction: domain::Direction::Outbound.as_str(),
            kind: domain::EventKind::Message.as_str(),
            participant_id: message.recipient_id.to_string(),
            sender_id: business.to_string(),
            recipient_id: message.recipient_id.to_string(),
            text,
            attachments,
            instagram_message_id: message
                .instagram_message_id
                .as_ref()
                .map(ToString::to_string),
            details: DetailsDto::default(),
            status: Some(message.status.as_str()),
            error_code: message.error_code,
            error_message: message.error_message.clone(),
            rule_id: message.rule_id.as_ref().map(ToString::to_string),
            timestamp: message.created_at.to_rfc3339(),
        }
    }
}

impl From<&EventDetails> for DetailsDto {
    fn from(details: &EventDetails) -> Self {
        Self {
            reply_to_message_id: details.reply_to_message_id.clone(),
            reply_to_story_url: details.reply_to_story_url.clone(),
            quick_reply_payload: details.quick_reply_payload.clone(),
            reaction_action: details.reaction_action.clone(),
            reaction: details.reaction.clone(),
            emoji: details.emoji.clone(),
            postback_title: details.postback_title.clone(),
            postback_payload: details.postback_payload.clone(),
            referral_ref: details.referral_ref.clone(),
            referral_source: details.referral_source.clone(),
            referral_type: details.referral_type.clone(),
            edit_count: details.edit_count,
            unsupported: details.unsupported,
        }
    }
}

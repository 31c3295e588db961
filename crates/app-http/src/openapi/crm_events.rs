//! The body igrouter posts to a CRM (docs/crm-events.md), as a schema: the `webhooks` entry of
//! the document and the `payload` of a delivery in the API. Schema-only types: `adapters-crm`
//! writes these bodies itself, byte for byte, and is the only crate that knows the wire format.

use utoipa::ToSchema;

use super::schemas;

/// One CRM event: the envelope every event has, then the extras of its kind.
#[derive(ToSchema)]
#[schema(as = CrmEvent)]
#[expect(
    dead_code,
    reason = "never built: it only describes adapters-crm's bodies"
)]
pub(crate) struct CrmEventSchema {
    /// The event type.
    #[schema(schema_with = schemas::crm_event)]
    event: String,
    /// Unique per delivery, the same on every retry, equal to the `webhook-id` header.
    #[schema(schema_with = schemas::event_id)]
    event_id: String,
    /// The igrouter account.
    #[schema(schema_with = schemas::account_id)]
    account_id: String,
    /// The business's Instagram id.
    #[schema(examples("17841400000000000"))]
    instagram_account_id: String,
    /// Instagram events: Meta's `mid` the event is or refers to (`null` when Meta sent none);
    /// `outbound.*`: igrouter's `msg_` id.
    #[schema(required = true)]
    message_id: Option<String>,
    /// Who sent it.
    sender_id: String,
    /// Who it was sent to.
    recipient_id: String,
    /// The text (the new text of an edit), `null` when there is none.
    #[schema(required = true)]
    message: Option<String>,
    /// In Meta's order, `[]` when none.
    attachments: Vec<CrmAttachmentSchema>,
    /// When it happened by Meta's clock (`outbound.*`: when it was sent or given up), UTC.
    #[schema(format = DateTime)]
    timestamp: String,
    /// `message.received`, `message.echo` (others only when `true`): Meta flagged the message
    /// as one the API cannot show.
    #[schema(nullable = false)]
    is_unsupported: Option<bool>,
    /// Replies: `{"message_id", "story_url"}`, each possibly `null`.
    #[schema(value_type = Option<Object>, nullable = false)]
    reply_to: Option<()>,
    /// Quick-reply taps: `{"payload"}`.
    #[schema(value_type = Option<Object>, nullable = false)]
    quick_reply: Option<()>,
    /// `message.reaction`: `{"action": "react" | "unreact", "reaction", "emoji"}`.
    #[schema(value_type = Option<Object>, nullable = false)]
    reaction: Option<()>,
    /// `postback`: `{"title", "payload"}`.
    #[schema(value_type = Option<Object>, nullable = false)]
    postback: Option<()>,
    /// Referrals, and messages and postbacks from ads: `{"ref", "source", "type"}`.
    #[schema(value_type = Option<Object>, nullable = false)]
    referral: Option<()>,
    /// `message.edited`: how many times the message was edited, `null` when Meta did not say.
    edit_count: Option<u32>,
    /// `outbound.*`: Meta's `mid` of the sent message, `null` when it was never sent.
    instagram_message_id: Option<String>,
    /// `outbound.*`: `sent` or `failed`.
    #[schema(nullable = false)]
    status: Option<String>,
    /// `outbound.*`: the auto-reply rule that sent it, `null` for API sends.
    rule_id: Option<String>,
    /// `outbound.failed`: Meta's Graph error code, `null` when the failure had none.
    error_code: Option<i64>,
    /// `outbound.failed`: what went wrong.
    error_message: Option<String>,
}

/// An attachment as Meta gave it.
#[derive(ToSchema)]
#[schema(as = CrmAttachment)]
#[expect(
    dead_code,
    reason = "never built: it only describes adapters-crm's bodies"
)]
struct CrmAttachmentSchema {
    /// Meta's type as sent (`image`, `video`, `share`, `story_mention`, `like_heart`, …).
    #[serde(rename = "type")]
    kind: String,
    /// Left out when Meta gave none.
    #[schema(nullable = false, format = "uri")]
    url: Option<String>,
}

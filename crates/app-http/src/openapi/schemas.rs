//! Schemas of values whose rules live in `domain`: prefixed ids and the named enumerations. Each
//! is built from the domain's own constants (`PREFIX`, `ALL`, `as_str`), so the document lists
//! exactly the names the handlers write and cannot drift from them.

use domain::id::ID_SUFFIX_LEN;
use domain::request_id::MAX_REQUEST_ID_LEN;
use domain::{
    AccountId, AttachmentType, CrmEventType, DeliveryStatus, Direction, EventId, EventKind,
    MatchKind, MessageId, OutboundStatus, RuleId,
};
use serde_json::Value;
use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};

/// An `acc_` id.
pub(crate) fn account_id() -> Object {
    prefixed_id(AccountId::PREFIX, "acc_3k9x2m7q1z8w")
}

/// An `evt_` id: a CRM delivery and its event.
pub(crate) fn event_id() -> Object {
    prefixed_id(EventId::PREFIX, "evt_9f2c4e1a7b3d")
}

/// A `msg_` id: a stored event or a send.
pub(crate) fn message_id() -> Object {
    prefixed_id(MessageId::PREFIX, "msg_7h2k9d4m1x5p")
}

/// A `msg_` id, or `null`.
pub(crate) fn nullable_message_id() -> Object {
    nullable(message_id())
}

/// An `rul_` id.
pub(crate) fn rule_id() -> Object {
    prefixed_id(RuleId::PREFIX, "rul_5t8w2k9d1m4x")
}

/// An `rul_` id, or `null`.
pub(crate) fn nullable_rule_id() -> Object {
    nullable(rule_id())
}

/// A delivery's status.
pub(crate) fn delivery_status() -> Object {
    names(DeliveryStatus::ALL.map(DeliveryStatus::as_str))
}

/// A send's status.
pub(crate) fn outbound_status() -> Object {
    names(OutboundStatus::ALL.map(OutboundStatus::as_str))
}

/// A send's status, or `null` (history entries that are Instagram events).
pub(crate) fn nullable_outbound_status() -> Object {
    nullable(outbound_status())
}

/// `inbound` or `outbound`.
pub(crate) fn direction() -> Object {
    names([Direction::Inbound, Direction::Outbound].map(Direction::as_str))
}

/// The kind of a history entry.
pub(crate) fn event_kind() -> Object {
    names(EventKind::ALL.map(EventKind::as_str))
}

/// How a rule's pattern is compared with a message.
pub(crate) fn match_kind() -> Object {
    names(MatchKind::ALL.map(MatchKind::as_str))
}

/// The name of a CRM event.
pub(crate) fn crm_event() -> Object {
    names(CrmEventType::ALL.map(CrmEventType::as_str))
}

/// The media type of a sent attachment.
pub(crate) fn attachment_type() -> Object {
    names(AttachmentType::ALL.map(AttachmentType::as_str))
}

/// The `X-Request-Id` of the request that queued a delivery or a send (1 to 128 visible ASCII
/// characters, `domain::RequestId`'s rule), or `null` for rows queued before request ids were
/// kept.
pub(crate) fn nullable_request_id() -> Object {
    nullable(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(MAX_REQUEST_ID_LEN))
            .pattern(Some("^[!-~]+$"))
            .description(Some(
                "The `X-Request-Id` of the request that queued it (a webhook, a send; an \
                 `outbound.*` delivery and an auto-reply keep the id of the send or webhook that \
                 caused them), sent with its calls; `null` when none was kept.",
            ))
            .examples(["req_0123456789abcdef"])
            .build(),
    )
}

/// The pattern every id with `prefix` matches (`domain`'s `parse` rule: the prefix and 12
/// lowercase letters or digits).
pub(crate) fn id_pattern(prefix: &str) -> String {
    format!("^{prefix}[0-9a-z]{{{ID_SUFFIX_LEN}}}$")
}

fn prefixed_id(prefix: &str, example: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(id_pattern(prefix)))
        .examples([example])
        .build()
}

fn names<const N: usize>(names: [&'static str; N]) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(names))
        .build()
}

/// `schema` that also admits `null`: the type gains `null`, and so does an `enum`, which would
/// refuse `null` otherwise.
fn nullable(schema: Object) -> Object {
    let mut schema = schema;
    if let SchemaType::Type(only) = schema.schema_type {
        schema.schema_type = SchemaType::from_iter([only, Type::Null]);
    }
    if let Some(values) = schema.enum_values.as_mut() {
        values.push(Value::Null);
    }
    schema
}

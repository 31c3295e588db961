//! The kind-specific half of an event: what each Meta event field (`message`, `message_edit`,
//! `reaction`, `read`, `postback`, `referral`) contributes, which of its fields are required,
//! and the discriminator that goes into its event key.

use domain::{
    Attachment, EventDetails, EventKind, InstagramId, InstagramMessageId, ValidationError,
};
use ring::digest;

use super::SkipReason;
use super::payload::{
    AttachmentPayload, AttachmentUrl, MessageEdit, MessagePayload, MetaId, Postback, Reaction,
    Read, Referral,
};

/// Longest discriminator kept verbatim in an event key; longer or unusual ones are hashed, so a
/// key always fits the 400-character `event_key` column.
const MAX_PLAIN_DISCRIMINATOR: usize = 32;

/// The part of an event that depends on its kind.
pub(super) struct EventBody {
    pub(super) kind: EventKind,
    pub(super) mid: Option<InstagramMessageId>,
    pub(super) text: Option<String>,
    pub(super) attachments: Vec<Attachment>,
    pub(super) details: EventDetails,
    /// Whatever tells two events of this kind on the same `mid` (or without one) apart.
    pub(super) discriminator: String,
}

/// A `message`: a message, an echo (`is_echo`) or an unsent message (`is_deleted`, which
/// needs its `mid`). `item_referral` is the item-level `referral` Meta may send beside it.
pub(super) fn message_body(
    message: MessagePayload,
    item_referral: Option<Referral>,
) -> Result<EventBody, SkipReason> {
    let is_deleted = message.is_deleted.is_some_and(|flag| flag.0);
    let is_echo = message.is_echo.is_some_and(|flag| flag.0);
    let kind = match (is_deleted, is_echo) {
        (true, _) => EventKind::Deleted,
        (false, true) => EventKind::Echo,
        (false, false) => EventKind::Message,
    };
    let mid = if kind == EventKind::Deleted {
        Some(required_mid(message.mid, "message.mid")?)
    } else {
        optional_mid(message.mid, "message.mid")?
    };
    let text = message.text.map(|text| text.0);
    let attachments: Vec<Attachment> = message
        .attachments
        .into_iter()
        .flatten()
        .map(attachment)
        .collect();

    let mut details = EventDetails {
        unsupported: message.is_unsupported.is_some_and(|flag| flag.0),
        ..EventDetails::default()
    };
    if let Some(reply_to) = message.reply_to {
        details.reply_to_message_id = reply_to.mid.and_then(|mid| mid.0);
        details.reply_to_story_url = reply_to.story.and_then(|story| story.url).map(|url| url.0);
    }
    details.quick_reply_payload = message
        .quick_reply
        .and_then(|quick_reply| quick_reply.payload)
        .map(|payload| payload.0);
    if let Some(referral) = message.referral.or(item_referral) {
        set_referral(&mut details, referral);
    }

    // A message without a `mid` (never seen from Meta, but nothing guarantees it) is keyed by
    // its content, so a redelivery still dedupes.
    let discriminator = if mid.is_some() {
        String::new()
    } else {
        let mut content = text.clone().unwrap_or_default();
        for attachment in &attachments {
            content.push('\u{1f}');
            content.push_str(&attachment.kind);
            content.push('\u{1f}');
            content.push_str(attachment.url.as_deref().unwrap_or_default());
        }
        content.push('\u{1f}');
        content.push_str(details.quick_reply_payload.as_deref().unwrap_or_default());
        hashed(&content)
    };
    Ok(EventBody {
        kind,
        mid,
        text,
        attachments,
        details,
        discriminator,
    })
}

fn attachment(payload: AttachmentPayload) -> Attachment {
    // The payload's shape depends on the type; only its `url` is kept, and a payload without
    // one (a `like_heart`, a template) is not an error.
    let url = payload
        .payload
        .and_then(|raw| serde_json::from_str::<AttachmentUrl>(raw.get()).ok())
        .and_then(|payload| payload.url)
        .map(|url| url.0);
    Attachment {
        kind: payload
            .kind
            .map_or_else(|| "unknown".to_owned(), |kind| kind.0),
        url,
    }
}

/// A `message_edit`, which needs the `mid` it edits.
pub(super) fn edit_body(edit: MessageEdit) -> Result<EventBody, SkipReason> {
    let mid = required_mid(edit.mid, "message_edit.mid")?;
    let text = edit.text.map(|text| text.0);
    let edit_count = edit.num_edit.and_then(|count| count.0);
    // The edit number tells successive edits apart; without a usable one, the new text does.
    let discriminator = match edit_count {
        Some(count) => count.to_string(),
        None => hashed(text.as_deref().unwrap_or_default()),
    };
    Ok(EventBody {
        kind: EventKind::Edited,
        mid: Some(mid),
        text,
        attachments: Vec::new(),
        details: EventDetails {
            edit_count,
            ..EventDetails::default()
        },
        discriminator,
    })
}

/// A `reaction` (`react` or `unreact`), which needs the `mid` it is on.
pub(super) fn reaction_body(reaction: Reaction) -> Result<EventBody, SkipReason> {
    let mid = required_mid(reaction.mid, "reaction.mid")?;
    let action = reaction.action.map(|action| action.0);
    let discriminator = discriminator(action.as_deref().unwrap_or_default());
    Ok(EventBody {
        kind: EventKind::Reaction,
        mid: Some(mid),
        text: None,
        attachments: Vec::new(),
        details: EventDetails {
            reaction_action: action,
            reaction: reaction.reaction.map(|name| name.0),
            emoji: reaction.emoji.map(|emoji| emoji.0),
            ..EventDetails::default()
        },
        discriminator,
    })
}

/// A `read` (messaging_seen); its `mid` is optional.
pub(super) fn read_body(read: Read) -> Result<EventBody, SkipReason> {
    Ok(EventBody {
        kind: EventKind::Read,
        mid: optional_mid(read.mid, "read.mid")?,
        text: None,
        attachments: Vec::new(),
        details: EventDetails::default(),
        discriminator: String::new(),
    })
}

/// A `postback` (ice-breaker or button tap); its `mid` is optional.
pub(super) fn postback_body(postback: Postback) -> Result<EventBody, SkipReason> {
    let mid = optional_mid(postback.mid, "postback.mid")?;
    let title = postback.title.map(|title| title.0);
    let payload = postback.payload.map(|payload| payload.0);
    let discriminator = discriminator(payload.as_deref().or(title.as_deref()).unwrap_or_default());
    let mut details = EventDetails {
        postback_title: title,
        postback_payload: payload,
        ..EventDetails::default()
    };
    if let Some(referral) = postback.referral {
        set_referral(&mut details, referral);
    }
    Ok(EventBody {
        kind: EventKind::Postback,
        mid,
        text: None,
        attachments: Vec::new(),
        details,
        discriminator,
    })
}

/// A `referral` (ig.me link, ad) that opened the conversation.
pub(super) fn referral_body(referral: Referral) -> EventBody {
    let mut details = EventDetails::default();
    set_referral(&mut details, referral);
    let discriminator = discriminator(details.referral_ref.as_deref().unwrap_or_default());
    EventBody {
        kind: EventKind::Referral,
        mid: None,
        text: None,
        attachments: Vec::new(),
        details,
        discriminator,
    }
}

fn set_referral(details: &mut EventDetails, referral: Referral) {
    details.referral_ref = referral.reference.map(|reference| reference.0);
    details.referral_source = referral.source.map(|source| source.0);
    details.referral_type = referral.kind.map(|kind| kind.0);
}

/// The Instagram id at `field`, which must be present and valid.
pub(super) fn required_id(
    id: Option<MetaId>,
    field: &'static str,
) -> Result<InstagramId, SkipReason> {
    let text = id_text(id, field)?.ok_or(SkipReason::MissingField { field })?;
    InstagramId::parse(field, &text).map_err(invalid_field)
}

fn required_mid(
    mid: Option<MetaId>,
    field: &'static str,
) -> Result<InstagramMessageId, SkipReason> {
    optional_mid(mid, field)?.ok_or(SkipReason::MissingField { field })
}

fn optional_mid(
    mid: Option<MetaId>,
    field: &'static str,
) -> Result<Option<InstagramMessageId>, SkipReason> {
    id_text(mid, field)?
        .map(|text| InstagramMessageId::parse(field, &text).map_err(invalid_field))
        .transpose()
}

/// The id's text; an id of the wrong JSON type is an invalid field, not a missing one.
fn id_text(id: Option<MetaId>, field: &'static str) -> Result<Option<String>, SkipReason> {
    match id {
        None => Ok(None),
        Some(MetaId(Some(text))) => Ok(Some(text)),
        Some(MetaId(None)) => Err(SkipReason::InvalidField {
            field,
            reason: "must be a string or an integer".to_owned(),
        }),
    }
}

fn invalid_field(error: ValidationError) -> SkipReason {
    SkipReason::InvalidField {
        field: error.field,
        reason: error.reason,
    }
}

/// `value` itself when it is short and plain, else its hash: keys stay short and never contain
/// a customer's free text verbatim.
fn discriminator(value: &str) -> String {
    let plain = value.len() <= MAX_PLAIN_DISCRIMINATOR
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if plain {
        value.to_owned()
    } else {
        hashed(value)
    }
}

/// `h` and the first 128 bits of the SHA-256 of `value` in hex (33 characters, so never equal to
/// a plain discriminator).
fn hashed(value: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = digest::digest(&digest::SHA256, value.as_bytes());
    let mut out = String::with_capacity(33);
    out.push('h');
    for byte in digest.as_ref().iter().take(16) {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discriminators_are_short_and_plain_or_hashed() {
        assert_eq!(discriminator("get_started"), "get_started");
        assert_eq!(discriminator(""), "");
        let long = discriminator(&"x".repeat(33));
        assert_eq!(long.len(), 33);
        assert!(long.starts_with('h'));
        assert_ne!(discriminator("a b"), "a b");
        assert_ne!(discriminator("a:b"), discriminator("a:c"));
        assert_eq!(hashed("same"), hashed("same"));
    }
}

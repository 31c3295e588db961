//! Turns the serde view of a webhook body (`payload.rs`) into [`InboundEvent`]s and [`Skipped`]
//! items: which fields are required, what kind each item is, and its event key.

use domain::{
    Attachment, Direction, EventDetails, EventKind, InstagramId, InstagramMessageId, Message,
    Timestamp, ValidationError,
};
use ring::digest;
use serde_json::value::RawValue;

use super::payload::{
    AttachmentPayload, AttachmentUrl, Change, Entry, MessageEdit, MessagePayload, MessagingItem,
    MetaId, Postback, Reaction, Read, Referral, Text, TopLevel,
};
use super::{
    InboundEvent, ItemList, ItemPosition, ItemRef, ParseError, ParsedWebhook, SkipReason, Skipped,
};

/// The `object` values whose entries carry Instagram messaging events. `page` is what Meta sends
/// for accounts connected through Facebook Login (the Messenger Platform).
const SUPPORTED_OBJECTS: [&str; 2] = ["instagram", "page"];

/// `changes[].field` values whose `value` is shaped like a `messaging[]` item. `messages` is what
/// Meta documents; the others are the names of the matching subscription fields, which Meta's
/// dashboard test tool sends in this form.
const MESSAGING_CHANGE_FIELDS: [&str; 8] = [
    "messages",
    "message_echoes",
    "message_edit",
    "message_reactions",
    "messaging_seen",
    "messaging_postbacks",
    "messaging_referral",
    "messaging_referrals",
];

/// Longest skip detail or echoed field value kept in a [`SkipReason`].
const MAX_DETAIL_CHARS: usize = 160;

/// Longest discriminator kept verbatim in an event key; longer or unusual ones are hashed, so a
/// key always fits the 400-character `event_key` column.
const MAX_PLAIN_DISCRIMINATOR: usize = 32;

/// Parses a webhook body into the events it describes and the items it skips.
///
/// Never panics, whatever the bytes. Deeply nested JSON is scanned iteratively (where a value
/// is not needed) or stopped by `serde_json`'s recursion limit (where it is), so it cannot
/// overflow the stack.
///
/// # Errors
/// [`ParseError`] only when the body as a whole is unusable: not UTF-8, not JSON, or not a JSON
/// object. Anything wrong inside a well-formed body skips the affected entry or item instead.
pub fn parse_webhook(raw_body: &[u8]) -> Result<ParsedWebhook, ParseError> {
    let body = std::str::from_utf8(raw_body).map_err(ParseError::NotUtf8)?;
    let top: TopLevel = serde_json::from_str(body).map_err(|error| match error.classify() {
        serde_json::error::Category::Data => ParseError::NotAnObject,
        _ => ParseError::NotJson(error),
    })?;

    let mut parsed = ParsedWebhook::default();
    let Some(raw_entries) = top.entry else {
        return Ok(parsed);
    };
    let entries = match serde_json::from_str::<Option<Vec<Box<RawValue>>>>(raw_entries.get()) {
        Ok(entries) => entries.unwrap_or_default(),
        Err(_) => {
            parsed.skipped.push(Skipped {
                position: ItemPosition {
                    entry: 0,
                    item: None,
                },
                reason: SkipReason::MalformedEntry {
                    detail: "entry is not an array".to_owned(),
                },
            });
            return Ok(parsed);
        }
    };

    match object_name(top.object.as_deref()) {
        Ok(()) => {
            for (index, raw_entry) in entries.iter().enumerate() {
                parse_entry(index, raw_entry, &mut parsed);
            }
        }
        Err(object) => {
            for (index, raw_entry) in entries.iter().enumerate() {
                skip_entry(
                    index,
                    raw_entry,
                    &SkipReason::UnsupportedObject {
                        object: object.clone(),
                    },
                    &mut parsed,
                );
            }
        }
    }
    Ok(parsed)
}

/// `Ok` for a supported `object`, else the value to report.
fn object_name(object: Option<&RawValue>) -> Result<(), String> {
    let Some(raw) = object else {
        return Err("<missing>".to_owned());
    };
    match serde_json::from_str::<Text>(raw.get()) {
        Ok(Text(name)) if SUPPORTED_OBJECTS.contains(&name.as_str()) => Ok(()),
        Ok(Text(name)) => Err(bounded(&name)),
        Err(_) => Err("<not a string>".to_owned()),
    }
}

/// Skips every item of an entry for `reason` (one skip for the entry when it has none).
fn skip_entry(index: usize, raw_entry: &RawValue, reason: &SkipReason, parsed: &mut ParsedWebhook) {
    let before = parsed.skipped.len();
    if let Ok(entry) = serde_json::from_str::<Entry>(raw_entry.get()) {
        let lists = [
            (
                ItemList::Messaging,
                entry.messaging.map_or(0, |items| items.len()),
            ),
            (
                ItemList::Changes,
                entry.changes.map_or(0, |items| items.len()),
            ),
            (
                ItemList::Standby,
                entry.standby.map_or(0, |items| items.len()),
            ),
        ];
        for (list, len) in lists {
            for item in 0..len {
                parsed.skipped.push(Skipped {
                    position: item_position(index, list, item),
                    reason: reason.clone(),
                });
            }
        }
    }
    if parsed.skipped.len() == before {
        parsed.skipped.push(Skipped {
            position: ItemPosition {
                entry: index,
                item: None,
            },
            reason: reason.clone(),
        });
    }
}

fn parse_entry(index: usize, raw_entry: &RawValue, parsed: &mut ParsedWebhook) {
    let entry = match serde_json::from_str::<Entry>(raw_entry.get()) {
        Ok(entry) => entry,
        Err(error) => {
            parsed.skipped.push(Skipped {
                position: ItemPosition {
                    entry: index,
                    item: None,
                },
                reason: SkipReason::MalformedEntry {
                    detail: bounded(&error.to_string()),
                },
            });
            return;
        }
    };

    let business = match required_id(entry.id, "entry.id") {
        Ok(business) => business,
        Err(reason) => {
            // Without the business account nothing in the entry can be routed.
            skip_entry(index, raw_entry, &reason, parsed);
            return;
        }
    };
    let context = EntryContext {
        business,
        time: entry.time.and_then(|time| time.0),
    };

    for (item, raw_item) in entry.messaging.iter().flatten().enumerate() {
        let position = item_position(index, ItemList::Messaging, item);
        let outcome = serde_json::from_str::<MessagingItem>(raw_item.get())
            .map_err(|error| malformed_item(&error))
            .and_then(|item| event_from_item(&context, item, position));
        push_outcome(parsed, position, outcome);
    }
    for (item, raw_change) in entry.changes.iter().flatten().enumerate() {
        let position = item_position(index, ItemList::Changes, item);
        let outcome = event_from_change(&context, raw_change, position);
        push_outcome(parsed, position, outcome);
    }
    for item in 0..entry.standby.map_or(0, |items| items.len()) {
        parsed.skipped.push(Skipped {
            position: item_position(index, ItemList::Standby, item),
            reason: SkipReason::Standby,
        });
    }
}

/// What every item of an entry shares.
struct EntryContext {
    business: InstagramId,
    /// `entry.time` in ms, when usable.
    time: Option<i64>,
}

fn push_outcome(
    parsed: &mut ParsedWebhook,
    position: ItemPosition,
    outcome: Result<InboundEvent, SkipReason>,
) {
    match outcome {
        Ok(event) => parsed.events.push(event),
        Err(reason) => parsed.skipped.push(Skipped { position, reason }),
    }
}

fn event_from_change(
    context: &EntryContext,
    raw_change: &RawValue,
    position: ItemPosition,
) -> Result<InboundEvent, SkipReason> {
    let change: Change =
        serde_json::from_str(raw_change.get()).map_err(|error| malformed_item(&error))?;
    let Text(field) = change
        .field
        .ok_or(SkipReason::MissingField { field: "field" })?;
    if !MESSAGING_CHANGE_FIELDS.contains(&field.as_str()) {
        return Err(SkipReason::UnsupportedChange {
            field: bounded(&field),
        });
    }
    let value = change
        .value
        .ok_or(SkipReason::MissingField { field: "value" })?;
    let item: MessagingItem =
        serde_json::from_str(value.get()).map_err(|error| malformed_item(&error))?;
    event_from_item(context, item, position)
}

/// The part of an event that depends on its kind.
struct EventBody {
    kind: EventKind,
    mid: Option<InstagramMessageId>,
    text: Option<String>,
    attachments: Vec<Attachment>,
    details: EventDetails,
    /// Whatever tells two events of this kind on the same `mid` (or without one) apart.
    discriminator: String,
}

fn event_from_item(
    context: &EntryContext,
    item: MessagingItem,
    position: ItemPosition,
) -> Result<InboundEvent, SkipReason> {
    let sender = required_id(item.sender.and_then(|party| party.id), "sender.id")?;
    let recipient = required_id(item.recipient.and_then(|party| party.id), "recipient.id")?;
    let occurred_at = item
        .timestamp
        .and_then(|time| time.0)
        .or(context.time)
        .map(Timestamp::from_millis);

    let mut is_echo = false;
    let body = if let Some(message) = item.message {
        is_echo = message.is_echo.is_some_and(|flag| flag.0);
        message_body(message, item.referral)?
    } else if let Some(edit) = item.message_edit {
        edit_body(edit)?
    } else if let Some(reaction) = item.reaction {
        reaction_body(reaction)?
    } else if let Some(read) = item.read {
        read_body(read)?
    } else if let Some(postback) = item.postback {
        postback_body(postback)?
    } else if let Some(referral) = item.referral {
        referral_body(referral)
    } else {
        return Err(SkipReason::UnknownEvent);
    };

    // Echoes are the business's own messages; other events whose sender is the business (it
    // reacted, or read the thread) are outbound too. The customer is the party that is not the
    // business; when neither id is the entry's (a `page` entry carries the Page id), it is the
    // recipient of an outbound event and the sender of an inbound one.
    let outbound = is_echo || sender == context.business;
    let participant = if sender == context.business {
        &recipient
    } else if recipient == context.business || !outbound {
        &sender
    } else {
        &recipient
    };
    // The key never uses the clock: a redelivered body without usable times gets the same keys.
    let key_time = occurred_at.unwrap_or(Timestamp::from_millis(0));
    let event_key = Message::event_key_for(
        body.kind,
        body.mid.as_ref().map(InstagramMessageId::as_str),
        sender.as_str(),
        key_time,
        &body.discriminator,
    );
    Ok(InboundEvent {
        position,
        business_id: context.business.clone(),
        kind: body.kind,
        direction: if outbound {
            Direction::Outbound
        } else {
            Direction::Inbound
        },
        participant_id: participant.clone(),
        sender_id: sender,
        recipient_id: recipient,
        instagram_message_id: body.mid,
        text: body.text,
        attachments: body.attachments,
        details: body.details,
        occurred_at,
        event_key,
    })
}

fn message_body(
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

fn edit_body(edit: MessageEdit) -> Result<EventBody, SkipReason> {
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

fn reaction_body(reaction: Reaction) -> Result<EventBody, SkipReason> {
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

fn read_body(read: Read) -> Result<EventBody, SkipReason> {
    Ok(EventBody {
        kind: EventKind::Read,
        mid: optional_mid(read.mid, "read.mid")?,
        text: None,
        attachments: Vec::new(),
        details: EventDetails::default(),
        discriminator: String::new(),
    })
}

fn postback_body(postback: Postback) -> Result<EventBody, SkipReason> {
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

fn referral_body(referral: Referral) -> EventBody {
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

fn item_position(entry: usize, list: ItemList, index: usize) -> ItemPosition {
    ItemPosition {
        entry,
        item: Some(ItemRef { list, index }),
    }
}

fn required_id(id: Option<MetaId>, field: &'static str) -> Result<InstagramId, SkipReason> {
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

fn malformed_item(error: &serde_json::Error) -> SkipReason {
    SkipReason::MalformedItem {
        detail: bounded(&error.to_string()),
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

/// At most [`MAX_DETAIL_CHARS`] characters of `text`, marked when cut.
fn bounded(text: &str) -> String {
    match text.char_indices().nth(MAX_DETAIL_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
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

    #[test]
    fn bounded_cuts_on_char_boundaries() {
        assert_eq!(bounded("short"), "short");
        let cut = bounded(&"é".repeat(500));
        assert_eq!(cut.chars().count(), MAX_DETAIL_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}

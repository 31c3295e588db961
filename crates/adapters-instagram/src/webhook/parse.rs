//! Walks a webhook body (`payload.rs`) entry by entry and item by item, turning each item into
//! an [`InboundEvent`] (the parts every kind shares: ids, routing, time, event key) or a
//! [`Skipped`]; `kinds.rs` supplies the kind-specific part.

use domain::{Direction, InstagramId, InstagramMessageId, Message, Timestamp};
use serde_json::value::RawValue;

use super::kinds::{
    edit_body, message_body, postback_body, reaction_body, read_body, referral_body, required_id,
};
use super::payload::{Change, Entry, MessagingItem, Text, TopLevel};
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

fn item_position(entry: usize, list: ItemList, index: usize) -> ItemPosition {
    ItemPosition {
        entry,
        item: Some(ItemRef { list, index }),
    }
}

fn malformed_item(error: &serde_json::Error) -> SkipReason {
    SkipReason::MalformedItem {
        detail: bounded(&error.to_string()),
    }
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
    fn bounded_cuts_on_char_boundaries() {
        assert_eq!(bounded("short"), "short");
        let cut = bounded(&"é".repeat(500));
        assert_eq!(cut.chars().count(), MAX_DETAIL_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}

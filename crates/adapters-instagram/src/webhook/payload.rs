//! Meta's webhook JSON as serde structs, with forgiving leaf types.
//!
//! The body is read in layers: the top level keeps `entry` as raw JSON, each entry keeps its
//! items as raw JSON, and each item is deserialized on its own, so a malformed item is skipped
//! without losing its neighbours. Every field is optional here; `parse.rs` decides what is
//! required. Leaf types never trust Meta's types: ids may be strings or numbers (kept as the
//! number's exact text), timestamps may be numbers, numeric strings or documentation
//! placeholders, and text is decoded without failing on `\u0000` or a lone surrogate.

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::text::decode_json_string_lossy;

/// The top level of a body: any JSON object. Duplicate keys keep the last value, as JavaScript
/// and `serde_json::Value` do, instead of failing the whole body.
#[derive(Debug, Default)]
pub(crate) struct TopLevel {
    /// `object`: `instagram`, `page`, or something this service does not handle.
    pub(crate) object: Option<Box<RawValue>>,
    /// `entry`: normally an array of entries.
    pub(crate) entry: Option<Box<RawValue>>,
}

/// One `entry[]` element: a business account and its items.
#[derive(Debug, Deserialize)]
pub(crate) struct Entry {
    /// The business account's Instagram id.
    #[serde(default)]
    pub(crate) id: Option<MetaId>,
    /// When Meta sent the notification.
    #[serde(default)]
    pub(crate) time: Option<LooseMillis>,
    /// Messaging items, each parsed later on its own.
    #[serde(default)]
    pub(crate) messaging: Option<Vec<Box<RawValue>>>,
    /// `changes`-form items (`{field, value}`), each parsed later on its own.
    #[serde(default)]
    pub(crate) changes: Option<Vec<Box<RawValue>>>,
    /// Handover-protocol items meant for another app; counted, never handled.
    #[serde(default)]
    pub(crate) standby: Option<Vec<IgnoredAny>>,
}

/// One `changes[]` element.
#[derive(Debug, Deserialize)]
pub(crate) struct Change {
    /// Which subscription field this is (`messages`, `comments`, `mentions`, …).
    #[serde(default)]
    pub(crate) field: Option<Text>,
    /// For the messaging fields, a value shaped like a messaging item.
    #[serde(default)]
    pub(crate) value: Option<Box<RawValue>>,
}

/// One `messaging[]` element (or the `value` of a messaging `changes[]` element).
#[derive(Debug, Deserialize)]
pub(crate) struct MessagingItem {
    #[serde(default)]
    pub(crate) sender: Option<Party>,
    #[serde(default)]
    pub(crate) recipient: Option<Party>,
    #[serde(default)]
    pub(crate) timestamp: Option<LooseMillis>,
    #[serde(default)]
    pub(crate) message: Option<MessagePayload>,
    #[serde(default)]
    pub(crate) message_edit: Option<MessageEdit>,
    #[serde(default)]
    pub(crate) reaction: Option<Reaction>,
    #[serde(default)]
    pub(crate) read: Option<Read>,
    #[serde(default)]
    pub(crate) postback: Option<Postback>,
    #[serde(default)]
    pub(crate) referral: Option<Referral>,
}

/// `sender` / `recipient`.
#[derive(Debug, Deserialize)]
pub(crate) struct Party {
    #[serde(default)]
    pub(crate) id: Option<MetaId>,
}

/// `message`: a message, an echo or an unsent message.
#[derive(Debug, Deserialize)]
pub(crate) struct MessagePayload {
    #[serde(default)]
    pub(crate) mid: Option<MetaId>,
    #[serde(default)]
    pub(crate) text: Option<Text>,
    #[serde(default)]
    pub(crate) attachments: Option<Vec<AttachmentPayload>>,
    #[serde(default)]
    pub(crate) is_echo: Option<LooseBool>,
    #[serde(default)]
    pub(crate) is_deleted: Option<LooseBool>,
    #[serde(default)]
    pub(crate) is_unsupported: Option<LooseBool>,
    #[serde(default)]
    pub(crate) reply_to: Option<ReplyTo>,
    #[serde(default)]
    pub(crate) quick_reply: Option<QuickReply>,
    /// Set on the first message of a conversation opened from an ad or an ig.me link.
    #[serde(default)]
    pub(crate) referral: Option<Referral>,
}

/// `message.attachments[]`.
#[derive(Debug, Deserialize)]
pub(crate) struct AttachmentPayload {
    #[serde(default, rename = "type")]
    pub(crate) kind: Option<Text>,
    /// Kept raw: its shape depends on the type (a `url`, a template, nothing for `like_heart`).
    #[serde(default)]
    pub(crate) payload: Option<Box<RawValue>>,
}

/// The part of an attachment payload we keep.
#[derive(Debug, Deserialize)]
pub(crate) struct AttachmentUrl {
    #[serde(default)]
    pub(crate) url: Option<Text>,
}

/// `message.reply_to`: a reply to a message or to a story.
#[derive(Debug, Deserialize)]
pub(crate) struct ReplyTo {
    #[serde(default)]
    pub(crate) mid: Option<MetaId>,
    #[serde(default)]
    pub(crate) story: Option<Story>,
}

/// `message.reply_to.story`.
#[derive(Debug, Deserialize)]
pub(crate) struct Story {
    #[serde(default)]
    pub(crate) url: Option<Text>,
}

/// `message.quick_reply`.
#[derive(Debug, Deserialize)]
pub(crate) struct QuickReply {
    #[serde(default)]
    pub(crate) payload: Option<Text>,
}

/// `message_edit`.
#[derive(Debug, Deserialize)]
pub(crate) struct MessageEdit {
    #[serde(default)]
    pub(crate) mid: Option<MetaId>,
    #[serde(default)]
    pub(crate) text: Option<Text>,
    #[serde(default)]
    pub(crate) num_edit: Option<LooseCount>,
}

/// `reaction`.
#[derive(Debug, Deserialize)]
pub(crate) struct Reaction {
    #[serde(default)]
    pub(crate) mid: Option<MetaId>,
    #[serde(default)]
    pub(crate) action: Option<Text>,
    #[serde(default)]
    pub(crate) reaction: Option<Text>,
    #[serde(default)]
    pub(crate) emoji: Option<Text>,
}

/// `read` (messaging_seen).
#[derive(Debug, Deserialize)]
pub(crate) struct Read {
    #[serde(default)]
    pub(crate) mid: Option<MetaId>,
}

/// `postback`.
#[derive(Debug, Deserialize)]
pub(crate) struct Postback {
    #[serde(default)]
    pub(crate) mid: Option<MetaId>,
    #[serde(default)]
    pub(crate) title: Option<Text>,
    #[serde(default)]
    pub(crate) payload: Option<Text>,
    #[serde(default)]
    pub(crate) referral: Option<Referral>,
}

/// `referral` (top-level, or inside a message or postback).
#[derive(Debug, Deserialize)]
pub(crate) struct Referral {
    #[serde(default, rename = "ref")]
    pub(crate) reference: Option<Text>,
    #[serde(default)]
    pub(crate) source: Option<Text>,
    #[serde(default, rename = "type")]
    pub(crate) kind: Option<Text>,
}

/// An id Meta sent as a JSON string or integer.
///
/// `Some(text)` is the string's value or the integer's exact digits (read from the raw token, so
/// ids beyond `u64` keep every digit); `None` means the value was of another JSON type, which
/// `parse.rs` reports as an invalid field rather than failing the item's deserialization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MetaId(pub(crate) Option<String>);

/// A time in epoch milliseconds, `None` when the value is not a usable time (Meta's docs put
/// placeholders such as `"<TIME_WEBHOOK_WAS_TRIGGERED>"` there).
///
/// Accepts integers, decimals and numeric strings. Values below 10^11 are taken as seconds
/// (10^11 ms is March 1973; 10^11 s is year 5138): Meta's `changes`-form test payloads send
/// seconds as strings. Zero, negative and post-9999 values are not usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LooseMillis(pub(crate) Option<i64>);

/// A count (`num_edit`) sent as an integer or a numeric string; `None` for anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LooseCount(pub(crate) Option<u32>);

/// A flag: `true` (or the string `"true"`) is true, anything else false.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LooseBool(pub(crate) bool);

/// A JSON string decoded without ever failing on its content: `\u0000` and lone surrogates
/// become U+FFFD. Any other JSON type is a deserialization error (the item is malformed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub(crate) struct Text(pub(crate) String);

/// Largest usable time: 9999-12-31T23:59:59.999Z.
const MAX_MILLIS: i64 = 253_402_300_799_999;

/// Below this a time is taken to be in seconds.
const SECONDS_BELOW: i64 = 100_000_000_000;

impl<'de> Deserialize<'de> for TopLevel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TopLevelVisitor;

        impl<'de> Visitor<'de> for TopLevelVisitor {
            type Value = TopLevel;

            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopLevel, A::Error> {
                let mut top = TopLevel::default();
                while let Some(key) = map.next_key::<Text>()? {
                    match key.0.as_str() {
                        "object" => top.object = Some(map.next_value()?),
                        "entry" => top.entry = Some(map.next_value()?),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(top)
            }
        }

        deserializer.deserialize_map(TopLevelVisitor)
    }
}

impl<'de> Deserialize<'de> for MetaId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        let token = raw.get();
        if token.starts_with('"') {
            return decode_json_string_lossy(token)
                .map(|text| Self(Some(text)))
                .ok_or_else(|| de::Error::custom("invalid string"));
        }
        Ok(Self(is_integer_token(token).then(|| token.to_owned())))
    }
}

impl<'de> Deserialize<'de> for LooseMillis {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        let number = numeric_text(raw.get()).and_then(parse_number);
        Ok(Self(number.and_then(millis_from_number)))
    }
}

impl<'de> Deserialize<'de> for LooseCount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        let count = numeric_text(raw.get()).and_then(|text| text.parse::<u32>().ok());
        Ok(Self(count))
    }
}

impl<'de> Deserialize<'de> for LooseBool {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        Ok(Self(matches!(raw.get(), "true" | "\"true\"")))
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        if !raw.get().starts_with('"') {
            return Err(de::Error::custom("expected a string"));
        }
        decode_json_string_lossy(raw.get())
            .map(Self)
            .ok_or_else(|| de::Error::custom("invalid string"))
    }
}

/// True for a JSON integer token: an optional `-` and digits only.
fn is_integer_token(token: &str) -> bool {
    let digits = token.strip_prefix('-').unwrap_or(token);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The text of a JSON number, or of a string holding one (trimmed); `None` otherwise.
fn numeric_text(token: &str) -> Option<String> {
    if token.starts_with('"') {
        let text = decode_json_string_lossy(token)?;
        return Some(text.trim().to_owned());
    }
    let first = token.bytes().next()?;
    (first == b'-' || first.is_ascii_digit()).then(|| token.to_owned())
}

/// An integer, or a finite decimal rounded down; `None` for anything else or out of range.
fn parse_number(text: String) -> Option<i64> {
    if let Ok(integer) = text.parse::<i64>() {
        return Some(integer);
    }
    let float = text.parse::<f64>().ok()?;
    // The range check makes the `as` conversion exact apart from the dropped fraction.
    (float.is_finite() && float.abs() < 9.0e15).then(|| float.trunc() as i64)
}

fn millis_from_number(number: i64) -> Option<i64> {
    let millis = if number < SECONDS_BELOW {
        number.checked_mul(1000)?
    } else {
        number
    };
    (1..=MAX_MILLIS).contains(&millis).then_some(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(json: &str) -> Option<i64> {
        serde_json::from_str::<LooseMillis>(json).unwrap().0
    }

    #[test]
    fn times_accept_numbers_strings_and_seconds_and_nothing_else() {
        assert_eq!(millis("1459991487970"), Some(1_459_991_487_970));
        assert_eq!(millis("\"1459991487970\""), Some(1_459_991_487_970));
        assert_eq!(millis("\" 1527459824 \""), Some(1_527_459_824_000));
        assert_eq!(millis("1527459824"), Some(1_527_459_824_000));
        assert_eq!(millis("1459991487970.9"), Some(1_459_991_487_970));
        assert_eq!(millis("1.459991487970e12"), Some(1_459_991_487_970));
        for unusable in [
            "\"<TIME_WEBHOOK_WAS_TRIGGERED>\"",
            "0",
            "-5",
            "99999999999999999999999",
            "1e300",
            "true",
            "{}",
            "[1]",
            "\"\"",
            "253402300800000",
        ] {
            assert_eq!(millis(unusable), None, "{unusable}");
        }
    }

    #[test]
    fn ids_keep_every_digit_and_reject_other_types() {
        let id = |json: &str| serde_json::from_str::<MetaId>(json).unwrap().0;
        assert_eq!(
            id("17841400000000000123").as_deref(),
            Some("17841400000000000123")
        );
        assert_eq!(
            id("\"17841400000000000\"").as_deref(),
            Some("17841400000000000")
        );
        assert_eq!(id("-12").as_deref(), Some("-12"));
        assert_eq!(id("1.5"), None);
        assert_eq!(id("1e5"), None);
        assert_eq!(id("true"), None);
        assert_eq!(id("{\"id\":1}"), None);
    }

    #[test]
    fn counts_and_flags_are_forgiving() {
        let count = |json: &str| serde_json::from_str::<LooseCount>(json).unwrap().0;
        assert_eq!(count("2"), Some(2));
        assert_eq!(count("\"3\""), Some(3));
        assert_eq!(count("\"<NUMBER_OF_TIMES_MESSAGE_IS_EDITED>\""), None);
        assert_eq!(count("-1"), None);
        let flag = |json: &str| serde_json::from_str::<LooseBool>(json).unwrap().0;
        assert!(flag("true"));
        assert!(flag("\"true\""));
        assert!(!flag("false"));
        assert!(!flag("1"));
        assert!(!flag("{}"));
    }

    #[test]
    fn text_must_be_a_string() {
        assert_eq!(
            serde_json::from_str::<Text>("\"a\\u0000b\"").unwrap().0,
            "a\u{fffd}b"
        );
        assert!(serde_json::from_str::<Text>("5").is_err());
        assert!(serde_json::from_str::<Text>("null").is_err());
    }

    #[test]
    fn top_level_keeps_the_last_duplicate_and_ignores_other_keys() {
        let top: TopLevel =
            serde_json::from_str(r#"{"object":"page","x":[[[]]],"object":"instagram"}"#).unwrap();
        assert_eq!(top.object.unwrap().get(), "\"instagram\"");
        assert!(top.entry.is_none());
        // Keys are decoded like any string, escapes and all.
        let top: TopLevel = serde_json::from_str(r#"{"\u006fbject":"page","\ud800":1}"#).unwrap();
        assert_eq!(top.object.unwrap().get(), "\"page\"");
    }
}

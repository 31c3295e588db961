//! The parser against hostile input: arbitrary bytes and JSON (proptest), webhook-shaped
//! bodies with random fields, deep nesting, and 1 MiB bodies.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use adapters_instagram::{ItemList, ParseError, parse_webhook};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::helpers::parse;

/// Longest an event key may be: the `event_key` column is `VARCHAR(400)`.
const MAX_EVENT_KEY_CHARS: usize = 400;

/// Short strings with the characters that matter here: NUL, surrogates' neighbours, quotes,
/// backslashes, non-ASCII.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::collection::vec(any::<char>(), 0..12).prop_map(String::from_iter),
        proptest::sample::select(vec![
            "",
            "\0",
            "a\0b",
            "\"",
            "\\",
            "é",
            "😀",
            "instagram",
            "page",
            "messages",
            "comments",
            "react",
            "unreact",
            "true",
            "1700000000000",
            "<PLACEHOLDER>",
            " ",
        ])
        .prop_map(str::to_owned),
    ]
}

/// Any JSON value, nested up to a few levels.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|float| json!(float)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::vec((text(), inner), 0..8)
                .prop_map(|fields| Value::Object(fields.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// An id as Meta might send it, or something that is not one.
fn id_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => proptest::sample::select(vec!["biz", "cust", "17841400000000000", "5678"])
            .prop_map(|id| json!(id)),
        2 => any::<u64>().prop_map(Value::from),
        1 => json_value(),
    ]
}

/// A `messaging[]` item with each field either plausible, arbitrary or absent.
fn messaging_item() -> impl Strategy<Value = Value> {
    let party = prop_oneof![
        3 => id_value().prop_map(|id| json!({ "id": id })),
        1 => json_value(),
    ];
    let time = prop_oneof![
        any::<i64>().prop_map(Value::from),
        Just(json!("<TIME_WEBHOOK_WAS_TRIGGERED>")),
        json_value(),
    ];
    let message = (
        proptest::option::of(id_value()),
        proptest::option::of(text()),
        proptest::option::of(any::<bool>()),
        proptest::option::of(any::<bool>()),
        proptest::option::of(json_value()),
    )
        .prop_map(|(mid, text, is_echo, is_deleted, extra)| {
            let mut message = Map::new();
            if let Some(mid) = mid {
                message.insert("mid".to_owned(), mid);
            }
            if let Some(text) = text {
                message.insert("text".to_owned(), json!(text));
            }
            if let Some(is_echo) = is_echo {
                message.insert("is_echo".to_owned(), json!(is_echo));
            }
            if let Some(is_deleted) = is_deleted {
                message.insert("is_deleted".to_owned(), json!(is_deleted));
            }
            if let Some(extra) = extra {
                message.insert(
                    "attachments".to_owned(),
                    json!([{ "type": "image", "payload": extra }]),
                );
            }
            Value::Object(message)
        });
    let event = prop_oneof![
        message.prop_map(|message| ("message", message)),
        (id_value(), json_value(), text()).prop_map(|(mid, num, text)| (
            "message_edit",
            json!({"mid": mid, "num_edit": num, "text": text})
        )),
        (id_value(), text())
            .prop_map(|(mid, action)| ("reaction", json!({"mid": mid, "action": action}))),
        id_value().prop_map(|mid| ("read", json!({ "mid": mid }))),
        (text(), text())
            .prop_map(|(title, payload)| ("postback", json!({"title": title, "payload": payload}))),
        text().prop_map(|reference| ("referral", json!({ "ref": reference }))),
        (text(), json_value()).prop_map(|(_, value)| ("optin", value)),
        json_value().prop_map(|value| ("message", value)),
    ];
    (
        proptest::option::of(party.clone()),
        proptest::option::of(party),
        proptest::option::of(time),
        event,
    )
        .prop_map(|(sender, recipient, timestamp, (name, event))| {
            let mut item = Map::new();
            if let Some(sender) = sender {
                item.insert("sender".to_owned(), sender);
            }
            if let Some(recipient) = recipient {
                item.insert("recipient".to_owned(), recipient);
            }
            if let Some(timestamp) = timestamp {
                item.insert("timestamp".to_owned(), timestamp);
            }
            item.insert(name.to_owned(), event);
            Value::Object(item)
        })
}

/// A body whose entries are objects with an `id` and a `messaging` list.
fn webhook_body() -> impl Strategy<Value = (Value, Vec<usize>)> {
    let entry = (
        id_value(),
        proptest::option::of(any::<i64>()),
        proptest::collection::vec(messaging_item(), 0..6),
    );
    (
        proptest::sample::select(vec!["instagram", "page"]),
        proptest::collection::vec(entry, 0..4),
    )
        .prop_map(|(object, entries)| {
            let counts = entries.iter().map(|(_, _, items)| items.len()).collect();
            let entries: Vec<Value> = entries
                .into_iter()
                .map(|(id, time, items)| json!({"id": id, "time": time, "messaging": items}))
                .collect();
            (json!({ "object": object, "entry": entries }), counts)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse_webhook(&body);
    }

    #[test]
    fn arbitrary_json_never_panics(value in json_value()) {
        let body = serde_json::to_vec(&value).unwrap();
        let outcome = parse_webhook(&body);
        prop_assert_eq!(outcome.is_ok(), value.is_object());
    }

    #[test]
    fn arbitrary_json_under_instagram_keys_never_panics(
        object in json_value(),
        entry in json_value(),
        items in proptest::collection::vec(json_value(), 0..4),
    ) {
        for body in [
            json!({ "object": object, "entry": entry }),
            json!({ "object": "instagram", "entry": entry }),
            json!({ "object": "instagram", "entry": [{ "id": "biz", "messaging": items }] }),
            json!({ "object": "instagram", "entry": [{ "id": "biz", "changes": items }] }),
        ] {
            parse(&serde_json::to_vec(&body).unwrap());
        }
    }

    #[test]
    fn any_text_is_kept_except_nul(chars in proptest::collection::vec(any::<char>(), 0..64)) {
        let text = String::from_iter(chars);
        let item = json!({
            "sender": {"id": "c"}, "recipient": {"id": "b"},
            "message": {"mid": "m", "text": text},
        });
        let body = json!({"object": "instagram", "entry": [{"id": "b", "messaging": [item]}]});
        let parsed = parse(&serde_json::to_vec(&body).unwrap());
        prop_assert_eq!(parsed.events.len(), 1);
        let expected = text.replace('\0', "\u{fffd}");
        prop_assert_eq!(parsed.events[0].text.as_deref(), Some(expected.as_str()));
    }

    #[test]
    fn every_messaging_item_is_an_event_or_a_skip_exactly_once((body, counts) in webhook_body()) {
        let bytes = serde_json::to_vec(&body).unwrap();
        let parsed = parse(&bytes);
        prop_assert_eq!(&parse(&bytes), &parsed, "parsing is deterministic");

        let mut seen = BTreeSet::new();
        let positions = parsed
            .events
            .iter()
            .map(|event| event.position)
            .chain(parsed.skipped.iter().map(|skip| skip.position));
        for position in positions {
            let Some(item) = position.item else {
                // Only an entry without items (and an unusable id) is skipped as a whole.
                prop_assert_eq!(counts[position.entry], 0);
                continue;
            };
            prop_assert_eq!(item.list, ItemList::Messaging);
            prop_assert!(seen.insert((position.entry, item.index)), "{:?} twice", position);
        }
        let expected: BTreeSet<_> = counts
            .iter()
            .enumerate()
            .flat_map(|(entry, count)| (0..*count).map(move |index| (entry, index)))
            .collect();
        prop_assert_eq!(seen, expected);

        for event in &parsed.events {
            prop_assert!(event.event_key.chars().count() <= MAX_EVENT_KEY_CHARS);
            prop_assert!(!event.text.as_deref().unwrap_or_default().contains('\0'));
            let details = serde_json::to_string(&event.details).unwrap();
            prop_assert!(!details.contains("\\u0000"));
            for attachment in &event.attachments {
                prop_assert!(!attachment.kind.contains('\0'));
                prop_assert!(!attachment.url.as_deref().unwrap_or_default().contains('\0'));
            }
        }
    }
}

#[test]
fn serde_json_stops_deep_recursion_at_128_levels() {
    // The guard this crate relies on wherever it does deserialize nested values.
    let deep = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    assert!(serde_json::from_str::<Value>(&deep(127)).is_ok());
    let error = serde_json::from_str::<Value>(&deep(129)).unwrap_err();
    assert!(error.to_string().contains("recursion limit"), "{error}");
}

#[test]
fn deeply_nested_json_neither_overflows_nor_fails_the_body() {
    let depth = 100_000;
    let open = "[".repeat(depth);
    let close = "]".repeat(depth);
    let deep_object = format!("{}{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));

    // Not an object at the top.
    assert!(matches!(
        parse_webhook(open.as_bytes()),
        Err(ParseError::NotAnObject)
    ));
    assert!(matches!(
        parse_webhook(format!("{open}{close}").as_bytes()),
        Err(ParseError::NotAnObject)
    ));
    // Unclosed deep nesting inside an object is not JSON.
    assert!(matches!(
        parse_webhook(format!(r#"{{"entry":{open}"#).as_bytes()),
        Err(ParseError::NotJson(_))
    ));
    assert!(matches!(
        parse_webhook(deep_object.as_bytes()),
        Err(ParseError::NotJson(_)) | Ok(_)
    ));

    // Deep values in ignored places, as entries, as items and inside items.
    let deep = format!("{open}{close}");
    let bodies = [
        format!(r#"{{"object":"instagram","ignored":{deep},"entry":[]}}"#),
        format!(r#"{{"object":"instagram","entry":{deep}}}"#),
        format!(r#"{{"object":"instagram","entry":[{deep}]}}"#),
        format!(r#"{{"object":"instagram","entry":[{{"id":"b","messaging":[{deep}]}}]}}"#),
        format!(
            r#"{{"object":"instagram","entry":[{{"id":"b","changes":[{{"field":"messages","value":{deep}}}]}}]}}"#
        ),
        format!(r#"{{"object":"other","entry":[{{"id":"b","messaging":[{deep}]}}]}}"#),
        format!(
            r#"{{"object":"instagram","entry":[{{"id":"b","messaging":[{{"sender":{{"id":"c"}},"recipient":{{"id":"b"}},"message":{{"mid":"m","text":{deep}}}}}]}}]}}"#
        ),
        format!(
            r#"{{"object":"instagram","entry":[{{"id":"b","messaging":[{{"sender":{{"id":"c"}},"recipient":{{"id":"b"}},"message":{{"mid":"m","attachments":[{{"type":"image","payload":{deep}}}]}}}}]}}]}}"#
        ),
    ];
    for body in &bodies {
        let parsed = parse(body.as_bytes());
        assert!(parsed.events.len() <= 1);
    }
    // An unknown field holding deep JSON next to a valid message does not cost the message.
    let body = format!(
        r#"{{"object":"instagram","entry":[{{"id":"b","messaging":[{{"sender":{{"id":"c"}},"recipient":{{"id":"b"}},"extra":{deep},"message":{{"mid":"m","text":"hi","extra":{deep}}}}}]}}]}}"#
    );
    let parsed = parse(body.as_bytes());
    assert_eq!(parsed.events.len(), 1);
    assert_eq!(parsed.events[0].text.as_deref(), Some("hi"));
}

#[test]
fn a_one_mebibyte_batch_parses_quickly() {
    let item = r#"{"sender":{"id":"1234567890123456"},"recipient":{"id":"17841400000000000"},"timestamp":1700000000000,"message":{"mid":"aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlE_NNNNNNNN","text":"Hello, is this still available? I would like to order two of them"}}"#;
    let mut items = Vec::new();
    let mut size = 0;
    while size < 1024 * 1024 - 2 * item.len() {
        let unique = item.replace("NNNNNNNN", &format!("{:08}", items.len()));
        size += unique.len() + 1;
        items.push(unique);
    }
    let body = format!(
        r#"{{"object":"instagram","entry":[{{"id":"17841400000000000","time":1700000000000,"messaging":[{}]}}]}}"#,
        items.join(",")
    );
    assert!(body.len() <= 1024 * 1024);

    let started = Instant::now();
    let parsed = parse(body.as_bytes());
    let elapsed = started.elapsed();
    assert_eq!(parsed.events.len(), items.len());
    assert!(parsed.skipped.is_empty());
    // Generous for an unoptimized build on a busy 2-core machine; release takes milliseconds.
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
}

#[test]
fn a_one_mebibyte_text_parses_quickly() {
    let text = "é\\u0000😀 ".repeat(70_000);
    let body = format!(
        r#"{{"object":"instagram","entry":[{{"id":"b","messaging":[{{"sender":{{"id":"c"}},"recipient":{{"id":"b"}},"message":{{"mid":"m","text":"{text}"}}}}]}}]}}"#
    );
    assert!(body.len() <= 1024 * 1024);
    let started = Instant::now();
    let parsed = parse(body.as_bytes());
    let elapsed = started.elapsed();
    let stored = parsed.events[0].text.as_deref().unwrap();
    assert!(!stored.contains('\0'));
    assert_eq!(stored.chars().count(), 70_000 * 4);
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
}

//! Hand-written bodies for shapes the fixtures lack: numeric ids, `changes`-form entries, story
//! replies, every attachment type, reactions, edits, batches, `page` bodies, NUL, placeholder
//! times, and items that must be skipped.

use adapters_instagram::{
    ItemList, ItemPosition, ItemRef, ParseError, SkipReason, Skipped, parse_webhook,
};
use domain::{Attachment, Direction, EventDetails, EventKind, Timestamp};

use crate::helpers::{body_with_items, item, messaging, parse, single_event, single_skip};

fn attachment(kind: &str, url: Option<&str>) -> Attachment {
    Attachment {
        kind: kind.to_owned(),
        url: url.map(str::to_owned),
    }
}

#[test]
fn numeric_ids_keep_every_digit() {
    // 17841400000000000123 is beyond u64::MAX; as an f64 it would lose its last digits.
    let body = br#"{"object":"instagram","entry":[{"id":17841400000000000123,"time":1700000000000,
        "messaging":[{"sender":{"id":98765432109876543210},"recipient":{"id":17841400000000000123},
        "timestamp":1700000000001,"message":{"mid":1234567890123456789012,"text":"hi"}}]}]}"#;
    let event = single_event(body);
    assert_eq!(event.business_id.as_str(), "17841400000000000123");
    assert_eq!(event.sender_id.as_str(), "98765432109876543210");
    assert_eq!(event.recipient_id.as_str(), "17841400000000000123");
    assert_eq!(event.participant_id.as_str(), "98765432109876543210");
    assert_eq!(
        event.instagram_message_id.as_ref().map(|mid| mid.as_str()),
        Some("1234567890123456789012")
    );
    assert_eq!(event.event_key, "mid:1234567890123456789012");
}

#[test]
fn ids_of_other_json_types_skip_the_item_naming_the_field() {
    for (sender, field) in [
        (r#"{"id":1.5}"#, "sender.id"),
        (r#"{"id":true}"#, "sender.id"),
        (r#"{"id":{"x":1}}"#, "sender.id"),
        (r#"{"id":"has space"}"#, "sender.id"),
        (r#"{"id":""}"#, "sender.id"),
    ] {
        let body = body_with_items(&[&format!(
            r#"{{"sender":{sender},"recipient":{{"id":"biz"}},"message":{{"mid":"m"}}}}"#
        )]);
        match single_skip(&body) {
            SkipReason::InvalidField { field: got, .. } => assert_eq!(got, field, "{sender}"),
            other => panic!("{sender}: {other:?}"),
        }
    }
    let long_id = format!(r#"{{"id":"{}"}}"#, "9".repeat(65));
    let body = body_with_items(&[&format!(
        r#"{{"sender":{long_id},"recipient":{{"id":"biz"}},"message":{{"mid":"m"}}}}"#
    )]);
    assert!(matches!(
        single_skip(&body),
        SkipReason::InvalidField {
            field: "sender.id",
            ..
        }
    ));
}

#[test]
fn items_without_sender_or_recipient_are_skipped() {
    let no_sender = r#"{"recipient":{"id":"biz"},"message":{"mid":"m1"}}"#;
    let no_recipient_id = r#"{"sender":{"id":"c"},"recipient":{},"message":{"mid":"m2"}}"#;
    let ok = item(r#""message":{"mid":"m3","text":"fine"}"#);
    let parsed = parse(&body_with_items(&[no_sender, no_recipient_id, &ok]));
    assert_eq!(parsed.events.len(), 1);
    assert_eq!(parsed.events[0].position, messaging(0, 2));
    assert_eq!(
        parsed.skipped,
        [
            Skipped {
                position: messaging(0, 0),
                reason: SkipReason::MissingField { field: "sender.id" },
            },
            Skipped {
                position: messaging(0, 1),
                reason: SkipReason::MissingField {
                    field: "recipient.id"
                },
            },
        ]
    );
    assert_eq!(parsed.skipped[0].reason.code(), "missing_field");
    assert_eq!(
        parsed.skipped[1].to_string(),
        "entry[0].messaging[1]: missing field recipient.id"
    );
}

#[test]
fn every_attachment_type_is_kept_by_name() {
    let body = body_with_items(&[&item(
        r#""message":{"mid":"m","attachments":[
            {"type":"image","payload":{"url":"https://cdn/i.jpg"}},
            {"type":"video","payload":{"url":"https://cdn/v.mp4"}},
            {"type":"audio","payload":{"url":"https://cdn/a.mp4"}},
            {"type":"file","payload":{"url":"https://cdn/f.pdf"}},
            {"type":"share","payload":{"url":"https:\/\/cdn\/s.jpg"}},
            {"type":"story_mention","payload":{"url":"https://cdn/story"}},
            {"type":"ig_reel","payload":{"url":"https://cdn/r.mp4","title":"t","reel_video_id":"1"}},
            {"type":"reel","payload":{"url":"https://cdn/r2.mp4"}},
            {"type":"like_heart"},
            {"type":"template","payload":{"generic":{"elements":[]}}},
            {"type":"brand_new_type","payload":null},
            {"payload":{"url":"https://cdn/x"}},
            {"type":"odd_payload","payload":"not an object"}
        ]}"#,
    )]);
    let event = single_event(&body);
    assert_eq!(
        event.attachments,
        [
            attachment("image", Some("https://cdn/i.jpg")),
            attachment("video", Some("https://cdn/v.mp4")),
            attachment("audio", Some("https://cdn/a.mp4")),
            attachment("file", Some("https://cdn/f.pdf")),
            attachment("share", Some("https://cdn/s.jpg")),
            attachment("story_mention", Some("https://cdn/story")),
            attachment("ig_reel", Some("https://cdn/r.mp4")),
            attachment("reel", Some("https://cdn/r2.mp4")),
            attachment("like_heart", None),
            attachment("template", None),
            attachment("brand_new_type", None),
            attachment("unknown", Some("https://cdn/x")),
            attachment("odd_payload", None),
        ]
    );
}

#[test]
fn unsupported_messages_are_flagged() {
    let event = single_event(&body_with_items(&[&item(
        r#""message":{"mid":"m","is_unsupported":true}"#,
    )]));
    assert_eq!(event.kind, EventKind::Message);
    assert!(event.details.unsupported);
    assert_eq!(event.text, None);
}

#[test]
fn replies_to_messages_and_to_stories() {
    let body = body_with_items(&[
        &item(r#""message":{"mid":"m1","text":"yes","reply_to":{"mid":"m0"}}"#),
        &item(
            r#""message":{"mid":"m2","text":"nice story","reply_to":{"story":{"url":"https://cdn/story.jpg","id":"178000"}}}"#,
        ),
    ]);
    let parsed = parse(&body);
    assert!(parsed.skipped.is_empty());
    assert_eq!(
        parsed.events[0].details,
        EventDetails {
            reply_to_message_id: Some("m0".to_owned()),
            ..EventDetails::default()
        }
    );
    assert_eq!(parsed.events[1].text.as_deref(), Some("nice story"));
    assert_eq!(
        parsed.events[1].details,
        EventDetails {
            reply_to_story_url: Some("https://cdn/story.jpg".to_owned()),
            ..EventDetails::default()
        }
    );
}

#[test]
fn quick_reply_with_text() {
    let event = single_event(&body_with_items(&[&item(
        r#""message":{"mid":"m","text":"Red","quick_reply":{"payload":"COLOR_RED"}}"#,
    )]));
    assert_eq!(event.text.as_deref(), Some("Red"));
    assert_eq!(
        event.details.quick_reply_payload.as_deref(),
        Some("COLOR_RED")
    );
}

#[test]
fn a_message_from_an_ad_keeps_its_referral() {
    let event = single_event(&body_with_items(&[&item(
        r#""message":{"mid":"m","text":"Is this available?","referral":{"ref":"r","source":"ADS","type":"OPEN_THREAD","ad_id":"1"}}"#,
    )]));
    assert_eq!(event.kind, EventKind::Message);
    assert_eq!(event.details.referral_ref.as_deref(), Some("r"));
    assert_eq!(event.details.referral_source.as_deref(), Some("ADS"));
    assert_eq!(event.details.referral_type.as_deref(), Some("OPEN_THREAD"));
}

#[test]
fn an_echo_sent_by_the_business_is_outbound_to_the_customer() {
    let body = br#"{"object":"instagram","entry":[{"id":"biz","time":1700000000000,"messaging":[
        {"sender":{"id":"biz"},"recipient":{"id":"cust"},"timestamp":1700000000001,
         "message":{"mid":"m-out","text":"Thanks!","is_echo":true}}]}]}"#;
    let event = single_event(body);
    assert_eq!(event.kind, EventKind::Echo);
    assert_eq!(event.direction, Direction::Outbound);
    assert_eq!(event.participant_id.as_str(), "cust");
    assert_eq!(event.event_key, "mid:m-out");
}

#[test]
fn reactions_react_and_unreact() {
    let body = body_with_items(&[
        &item(
            r#""reaction":{"mid":"m","action":"react","reaction":"love","emoji":"\u2764\uFE0F"}"#,
        ),
        r#"{"sender":{"id":"cust"},"recipient":{"id":"biz"},"timestamp":1700000000500,"reaction":{"mid":"m","action":"unreact"}}"#,
    ]);
    let parsed = parse(&body);
    assert!(parsed.skipped.is_empty());
    let [react, unreact] = parsed.events.as_slice() else {
        panic!("{:?}", parsed.events)
    };
    assert_eq!(react.kind, EventKind::Reaction);
    assert_eq!(react.details.emoji.as_deref(), Some("\u{2764}\u{fe0f}"));
    assert_eq!(react.event_key, "react:m:cust:react:1700000000000");
    assert_eq!(unreact.kind, EventKind::Reaction);
    assert_eq!(
        unreact.details,
        EventDetails {
            reaction_action: Some("unreact".to_owned()),
            ..EventDetails::default()
        }
    );
    assert_eq!(unreact.event_key, "react:m:cust:unreact:1700000000500");
}

#[test]
fn the_business_reacting_is_outbound() {
    let body = br#"{"object":"instagram","entry":[{"id":"biz","messaging":[
        {"sender":{"id":"biz"},"recipient":{"id":"cust"},"timestamp":1700000000000,
         "reaction":{"mid":"m","action":"react","reaction":"love"}}]}]}"#;
    let event = single_event(body);
    assert_eq!(event.direction, Direction::Outbound);
    assert_eq!(event.participant_id.as_str(), "cust");
}

#[test]
fn edits_are_keyed_by_their_number() {
    let body = body_with_items(&[
        &item(r#""message_edit":{"mid":"m","text":"fixed","num_edit":1}"#),
        &item(r#""message_edit":{"mid":"m","text":"fixed again","num_edit":"2"}"#),
    ]);
    let parsed = parse(&body);
    assert!(parsed.skipped.is_empty());
    assert_eq!(parsed.events[0].kind, EventKind::Edited);
    assert_eq!(parsed.events[0].text.as_deref(), Some("fixed"));
    assert_eq!(parsed.events[0].details.edit_count, Some(1));
    assert_eq!(parsed.events[0].event_key, "edit:m:1");
    assert_eq!(parsed.events[1].details.edit_count, Some(2));
    assert_eq!(parsed.events[1].event_key, "edit:m:2");
}

#[test]
fn events_that_refer_to_a_message_need_its_mid() {
    for (event, field) in [
        (r#""message":{"is_deleted":true}"#, "message.mid"),
        (
            r#""message_edit":{"text":"x","num_edit":1}"#,
            "message_edit.mid",
        ),
        (r#""reaction":{"action":"react"}"#, "reaction.mid"),
    ] {
        assert_eq!(
            single_skip(&body_with_items(&[&item(event)])),
            SkipReason::MissingField { field },
            "{event}"
        );
    }
}

#[test]
fn events_without_a_mid_get_deterministic_keys() {
    let read = single_event(&body_with_items(&[&item(r#""read":{"watermark":1}"#)]));
    assert_eq!(read.kind, EventKind::Read);
    assert_eq!(read.event_key, "read:cust:1700000000000:");

    let body = body_with_items(&[&item(r#""message":{"text":"no mid here"}"#)]);
    let message = single_event(&body);
    assert_eq!(message.instagram_message_id, None);
    let hash = message
        .event_key
        .strip_prefix("message:cust:1700000000000:h")
        .unwrap();
    assert_eq!(hash.len(), 32);
    assert_eq!(single_event(&body).event_key, message.event_key);
    let other = single_event(&body_with_items(&[&item(r#""message":{"text":"other"}"#)]));
    assert_ne!(other.event_key, message.event_key);
}

#[test]
fn several_entries_with_several_items_out_of_order() {
    let body = br#"{"object":"instagram","entry":[
        {"id":"biz1","time":1700000009000,"messaging":[
            {"sender":{"id":"a"},"recipient":{"id":"biz1"},"timestamp":1700000005000,"message":{"mid":"m2","text":"second"}},
            {"sender":{"id":"a"},"recipient":{"id":"biz1"},"timestamp":1700000001000,"message":{"mid":"m1","text":"first"}},
            {"sender":{"id":"a"},"recipient":{"id":"biz1"},"timestamp":1700000006000,"read":{"mid":"m0"}}
        ]},
        {"id":"biz2","time":1700000008000,"messaging":[
            {"sender":{"id":"b"},"recipient":{"id":"biz2"},"message":{"mid":"m3","text":"entry time"}},
            {"sender":{"id":"b"},"recipient":{"id":"biz2"},"timestamp":1700000002000,"message":{"mid":"m3","text":"same mid again"}}
        ]}
    ]}"#;
    let parsed = parse(body);
    assert!(parsed.skipped.is_empty());
    let summary: Vec<_> = parsed
        .events
        .iter()
        .map(|event| {
            (
                event.position,
                event.business_id.as_str(),
                event.event_key.as_str(),
                event.occurred_at.map(Timestamp::as_millis),
            )
        })
        .collect();
    // Body order is kept; each item has its own time; a repeated mid in one body keeps its key
    // (the store dedupes it).
    assert_eq!(
        summary,
        [
            (messaging(0, 0), "biz1", "mid:m2", Some(1_700_000_005_000)),
            (messaging(0, 1), "biz1", "mid:m1", Some(1_700_000_001_000)),
            (
                messaging(0, 2),
                "biz1",
                "read:m0:a",
                Some(1_700_000_006_000)
            ),
            (messaging(1, 0), "biz2", "mid:m3", Some(1_700_000_008_000)),
            (messaging(1, 1), "biz2", "mid:m3", Some(1_700_000_002_000)),
        ]
    );
}

#[test]
fn page_bodies_are_handled_like_instagram_ones() {
    let body =
        br#"{"object":"page","entry":[{"id":"17841400000000000","time":1700000000000,"messaging":[
        {"sender":{"id":"cust"},"recipient":{"id":"17841400000000000"},"timestamp":1700000000000,
         "message":{"mid":"m","text":"via page"}}]}]}"#;
    let event = single_event(body);
    assert_eq!(event.business_id.as_str(), "17841400000000000");
    assert_eq!(event.text.as_deref(), Some("via page"));
}

#[test]
fn other_objects_skip_every_item() {
    let body = br#"{"object":"whatsapp_business_account","entry":[
        {"id":"1","messaging":[{"a":1},{"b":2}],"changes":[{"field":"messages"}]},
        {"id":"2"}
    ]}"#;
    let parsed = parse(body);
    assert!(parsed.events.is_empty());
    let positions: Vec<_> = parsed.skipped.iter().map(|skip| skip.position).collect();
    let changes = ItemPosition {
        entry: 0,
        item: Some(ItemRef {
            list: ItemList::Changes,
            index: 0,
        }),
    };
    let whole_entry = ItemPosition {
        entry: 1,
        item: None,
    };
    assert_eq!(
        positions,
        [messaging(0, 0), messaging(0, 1), changes, whole_entry]
    );
    assert!(parsed.skipped.iter().all(|skip| skip.reason
        == SkipReason::UnsupportedObject {
            object: "whatsapp_business_account".to_owned()
        }));

    for (object, shown) in [(r#""object":5,"#, "<not a string>"), ("", "<missing>")] {
        let body = format!(r#"{{{object}"entry":[{{"id":"1"}}]}}"#);
        assert_eq!(
            single_skip(body.as_bytes()),
            SkipReason::UnsupportedObject {
                object: shown.to_owned()
            }
        );
    }
}

#[test]
fn changes_form_messaging_fields_are_mapped_and_others_skipped() {
    // Meta's dashboard test tool sends `changes` with string timestamps in seconds.
    let body = br#"{"object":"instagram","entry":[{"id":"biz","time":1700000000,"changes":[
        {"field":"messages","value":{"sender":{"id":"cust"},"recipient":{"id":"biz"},"timestamp":"1527459824","message":{"mid":"random_mid","text":"random_text"}}},
        {"field":"comments","value":{"id":"17865799348089039","text":"This is an example."}},
        {"field":"message_reactions","value":{"sender":{"id":"cust"},"recipient":{"id":"biz"},"timestamp":1527459825000,"reaction":{"mid":"random_mid","action":"react","reaction":"love","emoji":"x"}}},
        {"field":"mentions","value":{"media_id":"1","comment_id":"2"}},
        {"field":"messaging_seen","value":{"sender":{"id":"cust"},"recipient":{"id":"biz"},"read":{"mid":"random_mid"}}},
        {"value":{}},
        {"field":"messages"}
    ]}]}"#;
    let parsed = parse(body);
    let changes = |index| ItemPosition {
        entry: 0,
        item: Some(ItemRef {
            list: ItemList::Changes,
            index,
        }),
    };
    let events: Vec<_> = parsed
        .events
        .iter()
        .map(|event| {
            (
                event.position,
                event.kind,
                event.event_key.as_str(),
                event.occurred_at.map(Timestamp::as_millis),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            (
                changes(0),
                EventKind::Message,
                "mid:random_mid",
                Some(1_527_459_824_000)
            ),
            (
                changes(2),
                EventKind::Reaction,
                "react:random_mid:cust:react:1527459825000",
                Some(1_527_459_825_000)
            ),
            // No item timestamp: the entry's time, which was in seconds.
            (
                changes(4),
                EventKind::Read,
                "read:random_mid:cust",
                Some(1_700_000_000_000)
            ),
        ]
    );
    assert_eq!(parsed.events[0].text.as_deref(), Some("random_text"));
    assert_eq!(
        parsed.skipped,
        [
            Skipped {
                position: changes(1),
                reason: SkipReason::UnsupportedChange {
                    field: "comments".to_owned()
                },
            },
            Skipped {
                position: changes(3),
                reason: SkipReason::UnsupportedChange {
                    field: "mentions".to_owned()
                },
            },
            Skipped {
                position: changes(5),
                reason: SkipReason::MissingField { field: "field" },
            },
            Skipped {
                position: changes(6),
                reason: SkipReason::MissingField { field: "value" },
            },
        ]
    );
}

#[test]
fn standby_items_are_skipped() {
    let body = br#"{"object":"page","entry":[{"id":"biz","standby":[{"sender":{"id":"c"}},{}]}]}"#;
    let parsed = parse(body);
    assert!(parsed.events.is_empty());
    assert_eq!(parsed.skipped.len(), 2);
    assert!(
        parsed
            .skipped
            .iter()
            .all(|skip| skip.reason == SkipReason::Standby)
    );
}

#[test]
fn nul_and_lone_surrogates_never_reach_storage() {
    let body = body_with_items(&[&item(
        r#""message":{"mid":"m","text":"a\u0000b \ud83d c \ud83d\ude00","quick_reply":{"payload":"p\u0000"},
           "attachments":[{"type":"im\u0000age","payload":{"url":"https://cdn/\u0000"}}]}"#,
    )]);
    let event = single_event(&body);
    assert_eq!(event.text.as_deref(), Some("a\u{fffd}b \u{fffd} c 😀"));
    assert_eq!(
        event.details.quick_reply_payload.as_deref(),
        Some("p\u{fffd}")
    );
    assert_eq!(
        event.attachments,
        [attachment("im\u{fffd}age", Some("https://cdn/\u{fffd}"))]
    );
    // A NUL in an id is not printable ASCII: the item is skipped, not stored.
    let body = body_with_items(&[&item(r#""message":{"mid":"m\u0000"}"#)]);
    assert!(matches!(
        single_skip(&body),
        SkipReason::InvalidField {
            field: "message.mid",
            ..
        }
    ));
}

#[test]
fn placeholder_times_fall_back_to_the_entry_then_to_none() {
    let body = br#"{"object":"instagram","entry":[
        {"id":"biz","time":1700000000000,"messaging":[
            {"sender":{"id":"c"},"recipient":{"id":"biz"},"timestamp":"<TIME_WEBHOOK_WAS_TRIGGERED>","message":{"mid":"m1"}}]},
        {"id":"biz","time":"<TIME_NOTIFICATION_WAS_SENT>","messaging":[
            {"sender":{"id":"c"},"recipient":{"id":"biz"},"timestamp":null,"postback":{"payload":"P"}}]}
    ]}"#;
    let parsed = parse(body);
    assert!(parsed.skipped.is_empty());
    assert_eq!(
        parsed.events[0].occurred_at,
        Some(Timestamp::from_millis(1_700_000_000_000))
    );
    assert_eq!(parsed.events[1].occurred_at, None);
    assert_eq!(parsed.events[1].event_key, "postback:c:0:P");
    let now = Timestamp::from_millis(1_800_000_000_000);
    assert_eq!(parsed.events[1].occurred_at_or(now), now);
}

#[test]
fn unknown_and_malformed_items_are_skipped_not_fatal() {
    let body = body_with_items(&[
        &item(r#""optin":{"ref":"x"}"#),
        "42",
        r#"{"sender":{"id":"c"},"recipient":{"id":"biz"},"message":{"mid":"m","text":5}}"#,
        r#"{"sender":{"id":"c"},"sender":{"id":"d"},"recipient":{"id":"biz"},"message":{"mid":"m"}}"#,
        &item(r#""message":{"mid":"ok","text":"still here"}"#),
    ]);
    let parsed = parse(&body);
    assert_eq!(parsed.events.len(), 1);
    assert_eq!(parsed.events[0].text.as_deref(), Some("still here"));
    let codes: Vec<_> = parsed
        .skipped
        .iter()
        .map(|skip| skip.reason.code())
        .collect();
    assert_eq!(
        codes,
        [
            "unknown_event",
            "malformed_item",
            "malformed_item",
            "malformed_item"
        ]
    );
}

#[test]
fn malformed_entries_are_skipped_whole() {
    let body = br#"{"object":"instagram","entry":[
        "not an object",
        {"id":"biz","messaging":{"not":"a list"}},
        {"messaging":[{"sender":{"id":"c"},"recipient":{"id":"biz"},"message":{"mid":"m"}}]},
        {"id":"biz","messaging":[]}
    ]}"#;
    let parsed = parse(body);
    assert!(parsed.events.is_empty());
    let codes: Vec<_> = parsed
        .skipped
        .iter()
        .map(|skip| (skip.position, skip.reason.code()))
        .collect();
    let whole = |entry| ItemPosition { entry, item: None };
    assert_eq!(
        codes,
        [
            (whole(0), "malformed_entry"),
            (whole(1), "malformed_entry"),
            (messaging(2, 0), "missing_field"),
        ]
    );
    assert_eq!(
        parsed.skipped[2].reason,
        SkipReason::MissingField { field: "entry.id" }
    );

    let parsed = parse(br#"{"object":"instagram","entry":{"id":"1"}}"#);
    assert_eq!(parsed.skipped.len(), 1);
    assert_eq!(parsed.skipped[0].reason.code(), "malformed_entry");
    assert!(
        parse(br#"{"object":"instagram","entry":null}"#)
            .skipped
            .is_empty()
    );
    assert!(parse(br#"{"object":"instagram"}"#).skipped.is_empty());
}

#[test]
fn skip_details_are_bounded() {
    let long = "x".repeat(10_000);
    let body = body_with_items(&[&format!(
        r#"{{"sender":{{"id":"c"}},"recipient":{{"id":"biz"}},"message":{{"mid":"m","attachments":"{long}"}}}}"#
    )]);
    let reason = single_skip(&body);
    assert_eq!(reason.code(), "malformed_item");
    assert!(reason.to_string().chars().count() < 200, "{reason}");
}

#[test]
fn bodies_that_are_not_json_objects_are_errors() {
    for body in [
        &b""[..],
        b"   ",
        b"not json",
        b"{\"object\":",
        b"{\"object\":\"instagram\"} trailing",
        b"{\"a\":1,}",
    ] {
        assert!(
            matches!(parse_webhook(body), Err(ParseError::NotJson(_))),
            "{:?}",
            String::from_utf8_lossy(body)
        );
    }
    for body in [&b"[]"[..], b"\"instagram\"", b"42", b"null", b"true"] {
        assert!(
            matches!(parse_webhook(body), Err(ParseError::NotAnObject)),
            "{:?}",
            String::from_utf8_lossy(body)
        );
    }
    assert!(matches!(
        parse_webhook(b"{\"object\":\"insta\xffgram\"}"),
        Err(ParseError::NotUtf8(_))
    ));
    assert_eq!(
        ParseError::NotAnObject.to_string(),
        "body is not a json object"
    );
}

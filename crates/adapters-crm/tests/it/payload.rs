//! Bodies of the Instagram events: the exact JSON of each kind, checked against `json!` literals.

use adapters_crm::{PayloadError, event_type_for, message_payload};
use domain::{Attachment, CrmEventType, EventKind, Message};
use serde_json::json;

use crate::helpers::{AT_MILLIS, account, event_id, ig, json, message};

fn body_of(message: &Message) -> serde_json::Value {
    let payload = message_payload(&account(), &event_id(), message).unwrap();
    assert_eq!(payload.event_type, event_type_for(message.kind));
    json(&payload.body)
}

#[test]
fn the_contract_example_byte_for_byte() {
    let mut received = message(
        EventKind::Message,
        Some("aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlE"),
    );
    received.text = Some("Hello!".to_owned());
    received.attachments = vec![Attachment {
        kind: "image".to_owned(),
        url: Some("https://...".to_owned()),
    }];

    let payload = message_payload(&account(), &event_id(), &received).unwrap();

    assert_eq!(payload.event_type, CrmEventType::MessageReceived);
    // Compact, in the contract's key order, the message extras after the envelope.
    assert_eq!(
        payload.body,
        concat!(
            r#"{"event":"message.received","event_id":"evt_9f2c4e1a7b3d","#,
            r#""account_id":"acc_3k9x2m7q1z8w","instagram_account_id":"17841400000000000","#,
            r#""message_id":"aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlE","sender_id":"1234567890","#,
            r#""recipient_id":"17841400000000000","message":"Hello!","#,
            r#""attachments":[{"type":"image","url":"https://..."}],"#,
            r#""timestamp":"2025-11-15T10:30:00Z","is_unsupported":false}"#
        )
    );
}

#[test]
fn every_kind_maps_to_its_event_name() {
    let names: Vec<_> = EventKind::ALL
        .into_iter()
        .map(|kind| event_type_for(kind).as_str())
        .collect();
    assert_eq!(
        names,
        [
            "message.received",
            "message.echo",
            "message.deleted",
            "message.edited",
            "message.reaction",
            "message.read",
            "postback",
            "referral",
        ]
    );
}

#[test]
fn a_story_reply_with_a_quick_reply_from_an_ad() {
    let mut received = message(EventKind::Message, Some("m_1"));
    received.text = Some("Is this in stock?".to_owned());
    received.details.reply_to_story_url = Some("https://lookaside.fbsbx.com/story/1".to_owned());
    received.details.quick_reply_payload = Some("STOCK".to_owned());
    received.details.referral_ref = Some("summer_ad".to_owned());
    received.details.referral_source = Some("ADS".to_owned());
    received.details.referral_type = Some("OPEN_THREAD".to_owned());

    assert_eq!(
        body_of(&received),
        json!({
            "event": "message.received",
            "event_id": "evt_9f2c4e1a7b3d",
            "account_id": "acc_3k9x2m7q1z8w",
            "instagram_account_id": "17841400000000000",
            "message_id": "m_1",
            "sender_id": "1234567890",
            "recipient_id": "17841400000000000",
            "message": "Is this in stock?",
            "attachments": [],
            "timestamp": "2025-11-15T10:30:00Z",
            "reply_to": {"message_id": null, "story_url": "https://lookaside.fbsbx.com/story/1"},
            "quick_reply": {"payload": "STOCK"},
            "referral": {"ref": "summer_ad", "source": "ADS", "type": "OPEN_THREAD"},
            "is_unsupported": false
        })
    );
}

#[test]
fn a_reply_to_a_message_with_attachments_of_every_shape() {
    let mut received = message(EventKind::Message, Some("m_2"));
    received.details.reply_to_message_id = Some("m_0".to_owned());
    received.attachments = vec![
        Attachment {
            kind: "story_mention".to_owned(),
            url: Some("https://cdn.example/s.mp4".to_owned()),
        },
        Attachment {
            kind: "like_heart".to_owned(),
            url: None,
        },
        Attachment {
            kind: "ig_reel".to_owned(),
            url: Some("https://cdn.example/r".to_owned()),
        },
    ];

    assert_eq!(
        body_of(&received),
        json!({
            "event": "message.received",
            "event_id": "evt_9f2c4e1a7b3d",
            "account_id": "acc_3k9x2m7q1z8w",
            "instagram_account_id": "17841400000000000",
            "message_id": "m_2",
            "sender_id": "1234567890",
            "recipient_id": "17841400000000000",
            "message": null,
            "attachments": [
                {"type": "story_mention", "url": "https://cdn.example/s.mp4"},
                {"type": "like_heart"},
                {"type": "ig_reel", "url": "https://cdn.example/r"}
            ],
            "timestamp": "2025-11-15T10:30:00Z",
            "reply_to": {"message_id": "m_0", "story_url": null},
            "is_unsupported": false
        })
    );
}

#[test]
fn an_unsupported_message_without_a_mid() {
    let mut received = message(EventKind::Message, None);
    received.details.unsupported = true;
    received.occurred_at = domain::Timestamp::from_millis(1_459_991_487_970);

    assert_eq!(
        body_of(&received),
        json!({
            "event": "message.received",
            "event_id": "evt_9f2c4e1a7b3d",
            "account_id": "acc_3k9x2m7q1z8w",
            "instagram_account_id": "17841400000000000",
            "message_id": null,
            "sender_id": "1234567890",
            "recipient_id": "17841400000000000",
            "message": null,
            "attachments": [],
            "timestamp": "2016-04-07T01:11:27.970Z",
            "is_unsupported": true
        })
    );
}

#[test]
fn an_echo_of_a_message_sent_elsewhere() {
    let mut echo = message(EventKind::Echo, Some("m_3"));
    echo.text = Some("Thanks, shipped today".to_owned());

    assert_eq!(
        body_of(&echo),
        json!({
            "event": "message.echo",
            "event_id": "evt_9f2c4e1a7b3d",
            "account_id": "acc_3k9x2m7q1z8w",
            "instagram_account_id": "17841400000000000",
            "message_id": "m_3",
            "sender_id": "17841400000000000",
            "recipient_id": "1234567890",
            "message": "Thanks, shipped today",
            "attachments": [],
            "timestamp": "2025-11-15T10:30:00Z",
            "is_unsupported": false
        })
    );
}

#[test]
fn a_deletion() {
    assert_eq!(
        body_of(&message(EventKind::Deleted, Some("m_4"))),
        json!({
            "event": "message.deleted",
            "event_id": "evt_9f2c4e1a7b3d",
            "account_id": "acc_3k9x2m7q1z8w",
            "instagram_account_id": "17841400000000000",
            "message_id": "m_4",
            "sender_id": "1234567890",
            "recipient_id": "17841400000000000",
            "message": null,
            "attachments": [],
            "timestamp": "2025-11-15T10:30:00Z"
        })
    );
}

#[test]
fn an_edit_with_and_without_a_count() {
    let mut edited = message(EventKind::Edited, Some("m_5"));
    edited.text = Some("new text".to_owned());
    edited.details.edit_count = Some(2);
    let expected = json!({
        "event": "message.edited",
        "event_id": "evt_9f2c4e1a7b3d",
        "account_id": "acc_3k9x2m7q1z8w",
        "instagram_account_id": "17841400000000000",
        "message_id": "m_5",
        "sender_id": "1234567890",
        "recipient_id": "17841400000000000",
        "message": "new text",
        "attachments": [],
        "timestamp": "2025-11-15T10:30:00Z",
        "edit_count": 2
    });
    assert_eq!(body_of(&edited), expected);

    edited.details.edit_count = None;
    let mut expected = expected;
    expected["edit_count"] = json!(null);
    assert_eq!(body_of(&edited), expected);
}

#[test]
fn a_reaction_and_its_removal() {
    let mut reaction = message(EventKind::Reaction, Some("m_6"));
    reaction.details.reaction_action = Some("react".to_owned());
    reaction.details.reaction = Some("love".to_owned());
    reaction.details.emoji = Some("❤️".to_owned());
    assert_eq!(
        body_of(&reaction),
        json!({
            "event": "message.reaction",
            "event_id": "evt_9f2c4e1a7b3d",
            "account_id": "acc_3k9x2m7q1z8w",
            "instagram_account_id": "17841400000000000",
            "message_id": "m_6",
            "sender_id": "1234567890",
            "recipient_id": "17841400000000000",
            "message": null,
            "attachments": [],
            "timestamp": "2025-11-15T10:30:00Z",
            "reaction": {"action": "react", "reaction": "love", "emoji": "❤️"}
        })
    );

    // Meta's unreact carries only the action: the object is still there, with nulls.
    let mut unreact = message(EventKind::Reaction, Some("m_6"));
    unreact.details.reaction_action = Some("unreact".to_owned());
    assert_eq!(
        body_of(&unreact)["reaction"],
        json!({"action": "unreact", "reaction": null, "emoji": null})
    );
}

#[test]
fn a_read_with_and_without_a_mid() {
    let read = message(EventKind::Read, Some("m_7"));
    assert_eq!(
        body_of(&read),
        json!({
            "event": "message.read",
            "event_id": "evt_9f2c4e1a7b3d",
            "account_id": "acc_3k9x2m7q1z8w",
            "instagram_account_id": "17841400000000000",
            "message_id": "m_7",
            "sender_id": "1234567890",
            "recipient_id": "17841400000000000",
            "message": null,
            "attachments": [],
            "timestamp": "2025-11-15T10:30:00Z"
        })
    );
    assert_eq!(
        body_of(&message(EventKind::Read, None))["message_id"],
        json!(null)
    );
}

#[test]
fn a_postback_from_an_ice_breaker_and_from_an_ad() {
    let mut postback = message(EventKind::Postback, None);
    postback.details.postback_title = Some("Get started".to_owned());
    postback.details.postback_payload = Some("GET_STARTED".to_owned());
    let expected = json!({
        "event": "postback",
        "event_id": "evt_9f2c4e1a7b3d",
        "account_id": "acc_3k9x2m7q1z8w",
        "instagram_account_id": "17841400000000000",
        "message_id": null,
        "sender_id": "1234567890",
        "recipient_id": "17841400000000000",
        "message": null,
        "attachments": [],
        "timestamp": "2025-11-15T10:30:00Z",
        "postback": {"title": "Get started", "payload": "GET_STARTED"}
    });
    assert_eq!(body_of(&postback), expected);

    postback.instagram_message_id = Some(crate::helpers::mid("m_8"));
    postback.details.referral_ref = Some("spring".to_owned());
    postback.details.referral_source = Some("ADS".to_owned());
    postback.details.referral_type = Some("OPEN_THREAD".to_owned());
    let mut expected = expected;
    expected["message_id"] = json!("m_8");
    expected["referral"] = json!({"ref": "spring", "source": "ADS", "type": "OPEN_THREAD"});
    assert_eq!(body_of(&postback), expected);

    // A postback Meta sent without title or payload still has its object.
    let bare = message(EventKind::Postback, None);
    assert_eq!(
        body_of(&bare)["postback"],
        json!({"title": null, "payload": null})
    );
}

#[test]
fn a_referral_from_an_ig_me_link() {
    let mut referral = message(EventKind::Referral, None);
    referral.details.referral_ref = Some("promo_42".to_owned());
    referral.details.referral_source = Some("IGME_LINK".to_owned());
    referral.details.referral_type = Some("OPEN_THREAD".to_owned());
    assert_eq!(
        body_of(&referral),
        json!({
            "event": "referral",
            "event_id": "evt_9f2c4e1a7b3d",
            "account_id": "acc_3k9x2m7q1z8w",
            "instagram_account_id": "17841400000000000",
            "message_id": null,
            "sender_id": "1234567890",
            "recipient_id": "17841400000000000",
            "message": null,
            "attachments": [],
            "timestamp": "2025-11-15T10:30:00Z",
            "referral": {"ref": "promo_42", "source": "IGME_LINK", "type": "OPEN_THREAD"}
        })
    );
    assert_eq!(
        body_of(&message(EventKind::Referral, None))["referral"],
        json!({"ref": null, "source": null, "type": null})
    );
}

#[test]
fn non_ascii_and_slashes_are_written_as_themselves() {
    let text = "Привет 👋 «ça va?» see https://shop.example/a/b?c=d&e=\"f\"";
    let mut received = message(EventKind::Message, Some("m/9"));
    received.text = Some(text.to_owned());
    received.attachments = vec![Attachment {
        kind: "image".to_owned(),
        url: Some("https://cdn.example/p/q.jpg".to_owned()),
    }];

    let body = message_payload(&account(), &event_id(), &received)
        .unwrap()
        .body;

    assert!(body.contains("Привет 👋 «ça va?»"), "{body}");
    assert!(
        body.contains("https://shop.example/a/b?c=d&e=\\\"f\\\""),
        "{body}"
    );
    assert!(body.contains(r#""message_id":"m/9""#), "{body}");
    assert!(body.contains("https://cdn.example/p/q.jpg"), "{body}");
    assert!(!body.contains("\\/"), "{body}");
    assert!(!body.contains("\\u"), "{body}");
    assert_eq!(json(&body)["message"], json!(text));
}

#[test]
fn control_characters_are_escaped_once() {
    let text = "line one\nline two\ttab \u{1} \\ end";
    let mut received = message(EventKind::Message, Some("m_10"));
    received.text = Some(text.to_owned());

    let body = message_payload(&account(), &event_id(), &received)
        .unwrap()
        .body;

    assert!(
        body.contains(r#""message":"line one\nline two\ttab \u0001 \\ end""#),
        "{body}"
    );
    assert_eq!(json(&body)["message"], json!(text));
}

#[test]
fn a_1000_byte_message_is_kept_whole() {
    for text in ["a".repeat(1000), "é".repeat(500), "👋".repeat(250)] {
        assert_eq!(text.len(), 1000);
        let mut received = message(EventKind::Message, Some("m_11"));
        received.text = Some(text.clone());

        let body = message_payload(&account(), &event_id(), &received)
            .unwrap()
            .body;

        assert!(body.contains(&text));
        assert_eq!(json(&body)["message"], json!(text));
    }
}

#[test]
fn the_same_event_always_gives_the_same_bytes() {
    let mut received = message(EventKind::Message, Some("m_12"));
    received.text = Some("same".to_owned());
    received.details.quick_reply_payload = Some("P".to_owned());
    let first = message_payload(&account(), &event_id(), &received).unwrap();
    let second = message_payload(&account(), &event_id(), &received).unwrap();
    assert_eq!(first, second);
}

#[test]
fn another_accounts_message_is_refused() {
    let mut unknown_account = message(EventKind::Message, Some("m_13"));
    unknown_account.account_id = None;
    let mut other_account = message(EventKind::Message, Some("m_13"));
    other_account.account_id = Some(domain::AccountId::parse("acc_000000000000").unwrap());
    let mut other_business = message(EventKind::Message, Some("m_13"));
    other_business.instagram_account_id = ig("99999");

    for foreign in [unknown_account, other_account, other_business] {
        let error = message_payload(&account(), &event_id(), &foreign).unwrap_err();
        assert!(
            matches!(error, PayloadError::WrongAccount { .. }),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "msg_00000000000a does not belong to account acc_3k9x2m7q1z8w"
        );
    }
}

#[test]
fn timestamps_are_utc_with_z_and_milliseconds_only_when_present() {
    let mut received = message(EventKind::Message, Some("m_14"));
    received.occurred_at = domain::Timestamp::from_millis(AT_MILLIS + 7);
    assert_eq!(
        body_of(&received)["timestamp"],
        json!("2025-11-15T10:30:00.007Z")
    );
}

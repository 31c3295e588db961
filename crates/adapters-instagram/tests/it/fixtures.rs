//! One test per file in `../shared/fixtures/instagram/`: exactly what each body parses into
//! (kind, ids, text, attachments, details, time, event key) and what it skips.

use adapters_instagram::{ItemPosition, SkipReason, Skipped};
use domain::{
    AccountId, Attachment, Direction, EventDetails, EventKind, InstagramId, InstagramMessageId,
    MessageId, Timestamp,
};

use crate::helpers::{fixture, fixtures_dir, messaging, parse, single_event};

/// Every fixture file this module tests; a new file in the folder must get a test here.
const TESTED: [&str; 16] = [
    "001-text-hello.json",
    "002-image-attachment.json",
    "003-story-mention.json",
    "004-like-heart-sticker-no-payload.json",
    "005-echo-no-text-no-entry-time.json",
    "006-deleted-unsend.json",
    "008-postback-icebreaker-no-mid.json",
    "010-empty-entry-array.json",
    "012-object-not-instagram.json",
    "016-messaging-seen-read.json",
    "022-postback-with-mid.json",
    "023-referral-igme-open-thread.json",
    "024-quick-reply-without-text.json",
    "025-reel-attachment-type-reel.json",
    "033-message-edit-instagram-postman.json",
    "034-reaction-react-instagram-postman.json",
];

fn id(value: &str) -> InstagramId {
    InstagramId::parse("test", value).unwrap()
}

fn mid(value: &str) -> Option<InstagramMessageId> {
    Some(InstagramMessageId::parse("test", value).unwrap())
}

fn at(millis: i64) -> Option<Timestamp> {
    Some(Timestamp::from_millis(millis))
}

#[test]
fn every_fixture_file_has_a_test() {
    let mut files: Vec<String> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".json"))
        .collect();
    files.sort();
    assert_eq!(files, TESTED);
}

#[test]
fn fixture_001_text_hello() {
    let event = single_event(&fixture("001-text-hello.json"));
    assert_eq!(event.position, messaging(0, 0));
    assert_eq!(event.business_id, id("1234567890"));
    assert_eq!(event.kind, EventKind::Message);
    assert_eq!(event.direction, Direction::Inbound);
    assert_eq!(event.sender_id, id("5678"));
    assert_eq!(event.recipient_id, id("1234567890"));
    assert_eq!(event.participant_id, id("5678"));
    assert_eq!(event.instagram_message_id, mid("external_id"));
    assert_eq!(event.text.as_deref(), Some("Hello World"));
    assert!(event.attachments.is_empty());
    assert_eq!(event.details, EventDetails::default());
    assert_eq!(event.occurred_at, at(1_459_991_487_970));
    assert_eq!(event.event_key, "mid:external_id");
}

#[test]
fn fixture_001_becomes_a_stored_message() {
    let event = single_event(&fixture("001-text-hello.json"));
    let id = MessageId::parse("msg_000000000001").unwrap();
    let account = AccountId::parse("acc_000000000001").unwrap();
    let received = Timestamp::from_millis(1_700_000_000_000);
    let message = event.into_message(id.clone(), Some(account.clone()), received);
    assert_eq!(message.id, id);
    assert_eq!(message.account_id, Some(account));
    assert_eq!(message.instagram_account_id.as_str(), "1234567890");
    assert_eq!(message.event_key, "mid:external_id");
    assert_eq!(message.kind, EventKind::Message);
    assert_eq!(message.direction, Direction::Inbound);
    assert_eq!(message.participant_id.as_str(), "5678");
    assert_eq!(message.text.as_deref(), Some("Hello World"));
    assert_eq!(message.outbound_message_id, None);
    assert_eq!(
        message.occurred_at,
        Timestamp::from_millis(1_459_991_487_970)
    );
    assert_eq!(message.received_at, received);
}

#[test]
fn fixture_002_image_attachment() {
    let event = single_event(&fixture("002-image-attachment.json"));
    assert_eq!(event.kind, EventKind::Message);
    assert_eq!(event.instagram_message_id, mid("external_id"));
    assert_eq!(event.text, None);
    assert_eq!(
        event.attachments,
        [Attachment {
            kind: "image".to_owned(),
            url: Some("https://image-url/foo.png".to_owned()),
        }]
    );
    assert_eq!(event.details, EventDetails::default());
    assert_eq!(event.occurred_at, at(1_459_991_487_970));
    assert_eq!(event.event_key, "mid:external_id");
}

#[test]
fn fixture_003_story_mention() {
    let event = single_event(&fixture("003-story-mention.json"));
    assert_eq!(event.kind, EventKind::Message);
    assert_eq!(event.direction, Direction::Inbound);
    assert_eq!(event.participant_id, id("5678"));
    assert_eq!(event.text, None);
    assert_eq!(
        event.attachments,
        [Attachment {
            kind: "story_mention".to_owned(),
            url: Some("https://story-url".to_owned()),
        }]
    );
    assert_eq!(event.event_key, "mid:external_id");
}

#[test]
fn fixture_004_like_heart_without_payload() {
    let event = single_event(&fixture("004-like-heart-sticker-no-payload.json"));
    assert_eq!(event.kind, EventKind::Message);
    assert_eq!(event.text, None);
    assert_eq!(
        event.attachments,
        [Attachment {
            kind: "like_heart".to_owned(),
            url: None,
        }]
    );
    assert_eq!(event.event_key, "mid:external_id");
    assert_eq!(event.occurred_at, at(1_459_991_487_970));
}

#[test]
fn fixture_005_echo_without_text_or_entry_time() {
    let event = single_event(&fixture("005-echo-no-text-no-entry-time.json"));
    assert_eq!(event.kind, EventKind::Echo);
    assert_eq!(event.direction, Direction::Outbound);
    assert_eq!(event.business_id, id("1234567890"));
    assert_eq!(event.sender_id, id("5678"));
    assert_eq!(event.recipient_id, id("1234567890"));
    // This test body has the ids the other way round from Meta's echoes; the customer is still
    // the party that is not the business.
    assert_eq!(event.participant_id, id("5678"));
    assert_eq!(event.instagram_message_id, mid("qT7ywaK"));
    assert_eq!(event.text, None);
    assert!(event.attachments.is_empty());
    assert_eq!(event.occurred_at, at(1_459_991_487_970));
    // Same key as the message itself would have: an echo of our own send is one history entry.
    assert_eq!(event.event_key, "mid:qT7ywaK");
}

#[test]
fn fixture_006_deleted() {
    let event = single_event(&fixture("006-deleted-unsend.json"));
    assert_eq!(event.kind, EventKind::Deleted);
    assert_eq!(event.direction, Direction::Inbound);
    assert_eq!(event.participant_id, id("5678"));
    assert_eq!(event.instagram_message_id, mid("external_id"));
    assert_eq!(event.text, None);
    // The item's own timestamp wins over the entry's time.
    assert_eq!(event.occurred_at, at(1_569_262_485_349));
    assert_eq!(event.event_key, "del:external_id");
}

#[test]
fn fixture_008_postback_without_mid() {
    let event = single_event(&fixture("008-postback-icebreaker-no-mid.json"));
    assert_eq!(event.kind, EventKind::Postback);
    assert_eq!(event.direction, Direction::Inbound);
    assert_eq!(event.instagram_message_id, None);
    assert_eq!(event.text, None);
    assert_eq!(
        event.details,
        EventDetails {
            postback_title: Some("icebreaker question".to_owned()),
            postback_payload: Some("get_started".to_owned()),
            ..EventDetails::default()
        }
    );
    assert_eq!(event.occurred_at, at(1_459_991_487_970));
    assert_eq!(event.event_key, "postback:5678:1459991487970:get_started");
}

#[test]
fn fixture_010_empty_entry_array() {
    let parsed = parse(&fixture("010-empty-entry-array.json"));
    assert!(parsed.events.is_empty());
    assert!(parsed.skipped.is_empty());
}

#[test]
fn fixture_012_object_not_instagram() {
    let parsed = parse(&fixture("012-object-not-instagram.json"));
    assert!(parsed.events.is_empty());
    assert_eq!(
        parsed.skipped,
        [Skipped {
            position: ItemPosition {
                entry: 0,
                item: None
            },
            reason: SkipReason::UnsupportedObject {
                object: "notinstagram".to_owned()
            },
        }]
    );
    assert_eq!(parsed.skipped[0].reason.code(), "unsupported_object");
}

#[test]
fn fixture_016_read() {
    let event = single_event(&fixture("016-messaging-seen-read.json"));
    assert_eq!(event.kind, EventKind::Read);
    assert_eq!(event.direction, Direction::Inbound);
    assert_eq!(event.business_id, id("17841452691600098"));
    assert_eq!(event.sender_id, id("5614879045272581"));
    assert_eq!(event.participant_id, id("5614879045272581"));
    assert_eq!(event.instagram_message_id, mid("MESSAGE-ID"));
    assert_eq!(event.text, None);
    assert_eq!(event.details, EventDetails::default());
    assert_eq!(event.occurred_at, at(1_668_022_333_735));
    assert_eq!(event.event_key, "read:MESSAGE-ID:5614879045272581");
}

#[test]
fn fixture_022_postback_with_mid() {
    let event = single_event(&fixture("022-postback-with-mid.json"));
    assert_eq!(event.kind, EventKind::Postback);
    assert_eq!(event.business_id, id("123"));
    assert_eq!(event.participant_id, id("567"));
    assert_eq!(event.instagram_message_id, mid("MESSAGE-ID"));
    assert_eq!(
        event.details,
        EventDetails {
            postback_title: Some("SELECTED-ICEBREAKER-REPLY-OR-CTA-BUTTON".to_owned()),
            postback_payload: Some("CUSTOMER-RESPONSE-PAYLOAD".to_owned()),
            ..EventDetails::default()
        }
    );
    assert_eq!(event.occurred_at, at(1_569_262_485_349));
    assert_eq!(event.event_key, "postback:MESSAGE-ID");
}

#[test]
fn fixture_023_referral() {
    let event = single_event(&fixture("023-referral-igme-open-thread.json"));
    assert_eq!(event.kind, EventKind::Referral);
    assert_eq!(event.direction, Direction::Inbound);
    assert_eq!(event.participant_id, id("567"));
    assert_eq!(event.instagram_message_id, None);
    assert_eq!(
        event.details,
        EventDetails {
            referral_ref: Some("INFORMATION-INCLUDED-IN-REF-PARAMETER-OF-IGME-LINK".to_owned()),
            referral_source: Some("IGME-SOURCE-LINK".to_owned()),
            referral_type: Some("OPEN_THREAD".to_owned()),
            ..EventDetails::default()
        }
    );
    assert_eq!(event.occurred_at, at(1_569_262_485_349));
    // A `ref` longer than 32 characters is hashed into the key.
    let hash = event
        .event_key
        .strip_prefix("referral:567:1569262485349:h")
        .unwrap();
    assert_eq!(hash.len(), 32);
    assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()));
}

#[test]
fn fixture_024_quick_reply_without_text() {
    let event = single_event(&fixture("024-quick-reply-without-text.json"));
    assert_eq!(event.kind, EventKind::Message);
    assert_eq!(event.instagram_message_id, mid("890"));
    assert_eq!(event.text, None);
    assert!(event.attachments.is_empty());
    assert_eq!(
        event.details,
        EventDetails {
            quick_reply_payload: Some("QR-PAYLOAD".to_owned()),
            ..EventDetails::default()
        }
    );
    assert_eq!(event.event_key, "mid:890");
}

#[test]
fn fixture_025_reel() {
    let event = single_event(&fixture("025-reel-attachment-type-reel.json"));
    assert_eq!(event.kind, EventKind::Message);
    assert_eq!(event.instagram_message_id, mid("890"));
    assert_eq!(
        event.attachments,
        [Attachment {
            kind: "reel".to_owned(),
            url: Some("<CDN_URL>".to_owned()),
        }]
    );
    assert_eq!(event.event_key, "mid:890");
}

#[test]
fn fixture_033_edit_with_placeholders() {
    let event = single_event(&fixture("033-message-edit-instagram-postman.json"));
    assert_eq!(event.kind, EventKind::Edited);
    assert_eq!(event.direction, Direction::Inbound);
    assert_eq!(event.business_id, id("<YOUR_APP_USERS_INSTAGRAM_USER_ID>"));
    assert_eq!(event.sender_id, id("<INSTAGRAM_SCOPED_ID>"));
    assert_eq!(event.participant_id, id("<INSTAGRAM_SCOPED_ID>"));
    assert_eq!(event.instagram_message_id, mid("<MESSAGE_ID>"));
    assert_eq!(event.text.as_deref(), Some("<USER_EDITED_MESSAGE>"));
    // `num_edit` is a placeholder: no count, and the new text tells edits apart in the key.
    assert_eq!(event.details, EventDetails::default());
    assert_eq!(event.occurred_at, None);
    let hash = event.event_key.strip_prefix("edit:<MESSAGE_ID>:h").unwrap();
    assert_eq!(hash.len(), 32);

    // Stored with the time it was received.
    let received = Timestamp::from_millis(1_700_000_000_123);
    let message = event.into_message(
        MessageId::parse("msg_000000000002").unwrap(),
        None,
        received,
    );
    assert_eq!(message.occurred_at, received);
    assert_eq!(message.account_id, None);
}

#[test]
fn fixture_034_reaction_with_placeholders() {
    let event = single_event(&fixture("034-reaction-react-instagram-postman.json"));
    assert_eq!(event.kind, EventKind::Reaction);
    assert_eq!(event.direction, Direction::Inbound);
    assert_eq!(event.participant_id, id("<INSTAGRAM_SCOPED_ID>"));
    assert_eq!(event.instagram_message_id, mid("<MESSAGE_ID>"));
    assert_eq!(event.text, None);
    assert_eq!(
        event.details,
        EventDetails {
            reaction_action: Some("react".to_owned()),
            reaction: Some("love".to_owned()),
            emoji: Some("❤".to_owned()),
            ..EventDetails::default()
        }
    );
    assert_eq!(event.occurred_at, None);
    // No usable time: the key uses 0, never the clock, so a redelivery gets the same key.
    assert_eq!(
        event.event_key,
        "react:<MESSAGE_ID>:<INSTAGRAM_SCOPED_ID>:react:0"
    );
}

#[test]
fn every_fixture_parses_the_same_twice() {
    for name in TESTED {
        let body = fixture(name);
        assert_eq!(parse(&body), parse(&body), "{name}");
    }
}

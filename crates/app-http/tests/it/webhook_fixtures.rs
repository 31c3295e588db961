//! Every body in `../shared/fixtures/instagram/` posted signed, byte for byte, on every backend:
//! what is stored and what the CRM will be sent.

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use domain::{Account, CrmEventType, DeliveryStatus, Direction, EventKind};
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::webhook_support::{
    CRM_URL, deliveries, fixture, fixtures_dir, history, payload, post_signed,
    seed_account_with_crm, webhook_config,
};

backend_tests!(every_fixture_is_stored_and_queued_for_the_crm);

/// What one fixture must cause: one stored event and its delivery.
struct Expected {
    file: &'static str,
    business: &'static str,
    kind: EventKind,
    direction: Direction,
    event: CrmEventType,
    mid: Option<&'static str>,
    sender: &'static str,
    text: Option<&'static str>,
    /// `(type, url)` of each attachment.
    attachments: &'static [(&'static str, Option<&'static str>)],
    /// `timestamp` in the payload; `None` when the body has no usable time (the time it was
    /// received is used).
    timestamp: Option<&'static str>,
}

const T2016: Option<&str> = Some("2016-04-07T01:11:27.970Z");
const T2019: Option<&str> = Some("2019-09-23T18:14:45.349Z");

/// The fixtures that hold no event: `200`, nothing stored, nothing queued.
const EMPTY: [&str; 2] = [
    "010-empty-entry-array.json",
    "012-object-not-instagram.json",
];

fn expected() -> Vec<Expected> {
    let message = |file, business, mid, sender, text, attachments, timestamp| Expected {
        file,
        business,
        kind: EventKind::Message,
        direction: Direction::Inbound,
        event: CrmEventType::MessageReceived,
        mid,
        sender,
        text,
        attachments,
        timestamp,
    };
    let other = |file, business, kind, event, mid, sender, text, timestamp| Expected {
        file,
        business,
        kind,
        direction: Direction::Inbound,
        event,
        mid,
        sender,
        text,
        attachments: &[],
        timestamp,
    };
    vec![
        message(
            "001-text-hello.json",
            "1234567890",
            Some("external_id"),
            "5678",
            Some("Hello World"),
            &[],
            T2016,
        ),
        message(
            "002-image-attachment.json",
            "1234567890",
            Some("external_id"),
            "5678",
            None,
            &[("image", Some("https://image-url/foo.png"))],
            T2016,
        ),
        message(
            "003-story-mention.json",
            "1234567890",
            Some("external_id"),
            "5678",
            None,
            &[("story_mention", Some("https://story-url"))],
            T2016,
        ),
        message(
            "004-like-heart-sticker-no-payload.json",
            "1234567890",
            Some("external_id"),
            "5678",
            None,
            &[("like_heart", None)],
            T2016,
        ),
        Expected {
            direction: Direction::Outbound,
            kind: EventKind::Echo,
            event: CrmEventType::MessageEcho,
            ..message(
                "005-echo-no-text-no-entry-time.json",
                "1234567890",
                Some("qT7ywaK"),
                "5678",
                None,
                &[],
                T2016,
            )
        },
        other(
            "006-deleted-unsend.json",
            "1234567890",
            EventKind::Deleted,
            CrmEventType::MessageDeleted,
            Some("external_id"),
            "5678",
            None,
            T2019,
        ),
        other(
            "008-postback-icebreaker-no-mid.json",
            "1234567890",
            EventKind::Postback,
            CrmEventType::Postback,
            None,
            "5678",
            None,
            T2016,
        ),
        other(
            "016-messaging-seen-read.json",
            "17841452691600098",
            EventKind::Read,
            CrmEventType::MessageRead,
            Some("MESSAGE-ID"),
            "5614879045272581",
            None,
            Some("2022-11-09T19:32:13.735Z"),
        ),
        other(
            "022-postback-with-mid.json",
            "123",
            EventKind::Postback,
            CrmEventType::Postback,
            Some("MESSAGE-ID"),
            "567",
            None,
            T2019,
        ),
        other(
            "023-referral-igme-open-thread.json",
            "123",
            EventKind::Referral,
            CrmEventType::Referral,
            None,
            "567",
            None,
            T2019,
        ),
        message(
            "024-quick-reply-without-text.json",
            "123",
            Some("890"),
            "567",
            None,
            &[],
            T2019,
        ),
        message(
            "025-reel-attachment-type-reel.json",
            "123",
            Some("890"),
            "567",
            None,
            &[("reel", Some("<CDN_URL>"))],
            T2019,
        ),
        other(
            "033-message-edit-instagram-postman.json",
            "<YOUR_APP_USERS_INSTAGRAM_USER_ID>",
            EventKind::Edited,
            CrmEventType::MessageEdited,
            Some("<MESSAGE_ID>"),
            "<INSTAGRAM_SCOPED_ID>",
            Some("<USER_EDITED_MESSAGE>"),
            None,
        ),
        other(
            "034-reaction-react-instagram-postman.json",
            "<YOUR_APP_USERS_INSTAGRAM_USER_ID>",
            EventKind::Reaction,
            CrmEventType::MessageReaction,
            Some("<MESSAGE_ID>"),
            "<INSTAGRAM_SCOPED_ID>",
            None,
            None,
        ),
    ]
}

/// One service per backend; each fixture gets a fresh account for its business, deleted (with
/// its history) afterwards, so fixtures that share a `mid` do not dedupe against each other.
async fn every_fixture_is_stored_and_queued_for_the_crm(test: TestDb) {
    let mut files: Vec<String> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".json"))
        .collect();
    files.sort();
    let cases = expected();
    let mut covered: Vec<String> = cases
        .iter()
        .map(|case| case.file)
        .chain(EMPTY)
        .map(str::to_owned)
        .collect();
    covered.sort();
    assert_eq!(files, covered, "every fixture file has an expectation here");

    let config = webhook_config(&test.url);
    let app = TestApp::spawn(config.clone()).await;
    for file in EMPTY {
        post_signed(&app, &fixture(file)).await;
        assert!(deliveries(&test).await.is_empty(), "{file}");
    }
    let skipped = app.webhook_counters.snapshot();
    assert!(
        skipped.skipped.contains(&("unsupported_object", 1)),
        "{skipped:?}"
    );
    assert_eq!(skipped.stored, 0);

    for case in cases {
        let account = seed_account_with_crm(&test.db, &config, case.business, Some(CRM_URL)).await;
        post_signed(&app, &fixture(case.file)).await;
        check_stored(&test, &account, &case).await;
        // Through the API, as an operator would: the service forgets the account at once (a
        // delete straight in the database is seen only after the account cache's second).
        let deleted = app
            .request_as(
                reqwest::Method::DELETE,
                &format!("/api/v1/accounts/{}", account.id),
                Some("Bearer any-token"),
            )
            .await;
        assert_eq!(deleted.status(), 204, "{}", case.file);
    }
}

async fn check_stored(test: &TestDb, account: &Account, case: &Expected) {
    let file = case.file;
    let stored = history(test, &account.id).await;
    assert_eq!(stored.len(), 1, "{file}: {stored:?}");
    let message = &stored[0];
    assert_eq!(message.account_id.as_ref(), Some(&account.id), "{file}");
    assert_eq!(
        message.instagram_account_id.as_str(),
        case.business,
        "{file}"
    );
    assert_eq!(message.kind, case.kind, "{file}");
    assert_eq!(message.direction, case.direction, "{file}");
    assert_eq!(
        message
            .instagram_message_id
            .as_ref()
            .map(|mid| mid.as_str()),
        case.mid,
        "{file}"
    );
    assert_eq!(message.sender_id.as_str(), case.sender, "{file}");
    assert_eq!(message.participant_id.as_str(), case.sender, "{file}");
    assert_eq!(message.text.as_deref(), case.text, "{file}");
    let attachments: Vec<(&str, Option<&str>)> = message
        .attachments
        .iter()
        .map(|a| (a.kind.as_str(), a.url.as_deref()))
        .collect();
    assert_eq!(attachments, case.attachments, "{file}");
    assert!(message.id.as_str().starts_with("msg_"), "{file}");
    match case.timestamp {
        Some(_) => assert_ne!(message.occurred_at, message.received_at, "{file}"),
        None => assert_eq!(message.occurred_at, message.received_at, "{file}"),
    }

    let queued: Vec<_> = deliveries(test)
        .await
        .into_iter()
        .filter(|delivery| delivery.account_id == account.id)
        .collect();
    assert_eq!(queued.len(), 1, "{file}: {queued:?}");
    let delivery = &queued[0];
    // Nothing listens at CRM_URL: the worker's first attempt may have failed already.
    assert!(
        matches!(
            delivery.status,
            DeliveryStatus::Pending | DeliveryStatus::Delivering
        ),
        "{file}: {:?}",
        delivery.status
    );
    assert_eq!(delivery.event_type, case.event, "{file}");
    assert_eq!(delivery.message_id.as_ref(), Some(&message.id), "{file}");
    assert_eq!(delivery.dedupe_key, message.event_key, "{file}");

    let body = payload(delivery);
    let timestamp = case
        .timestamp
        .map_or_else(|| message.received_at.to_rfc3339(), str::to_owned);
    assert_eq!(body["event"], case.event.as_str(), "{file}: {body}");
    assert_eq!(body["event_id"], delivery.id.as_str(), "{file}: {body}");
    assert_eq!(body["account_id"], account.id.as_str(), "{file}: {body}");
    assert_eq!(
        body["instagram_account_id"], case.business,
        "{file}: {body}"
    );
    assert_eq!(body["message_id"], json!(case.mid), "{file}: {body}");
    assert_eq!(body["sender_id"], case.sender, "{file}: {body}");
    assert_eq!(body["message"], json!(case.text), "{file}: {body}");
    assert_eq!(
        body["timestamp"],
        Value::String(timestamp),
        "{file}: {body}"
    );
    let sent_attachments: Vec<Value> = case
        .attachments
        .iter()
        .map(|(kind, url)| json!({"type": kind, "url": url}))
        .collect();
    let got: Vec<Value> = body["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| json!({"type": a["type"], "url": a.get("url").cloned().unwrap_or(Value::Null)}))
        .collect();
    assert_eq!(got, sent_attachments, "{file}: {body}");
}

//! `GET /api/v1/accounts/{id}/messages` on every backend: both directions newest first, the
//! JSON of each kind of entry, the participant filter, a cursor that stays put while messages
//! arrive, scoping and query errors.
//!
//! Inbound events are stored through `MessageStore::ingest`, as the webhook does; sends go
//! through the API.

use std::time::Duration;

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use app_http::clock::SystemClock;
use domain::ports::{Clock, MessageStore, OutboundQueue};
use domain::{
    Account, Attachment, Direction, EventDetails, EventKind, InboundRecord, InstagramId,
    InstagramMessageId, Message, MessageId,
};
use serde_json::{Value, json};

use crate::helpers::{TestApp, seed_account};
use crate::send_api::{Api, accepting_graph, send_config};

backend_tests!(
    both_directions_are_listed_newest_first,
    pages_filter_by_participant_and_survive_new_messages,
    the_history_is_scoped_and_checks_its_query,
);

/// Stores a text message from `customer` to `account` that happened `ago` before now.
async fn receive(
    test: &TestDb,
    account: &Account,
    customer: &str,
    text: &str,
    ago: Duration,
) -> Message {
    let customer = InstagramId::parse("sender_id", customer).unwrap();
    let occurred_at = SystemClock.now().minus(ago);
    let mid = format!("mid-{}", app_http::random::message_id().unwrap());
    let message = Message {
        id: app_http::random::message_id().unwrap(),
        account_id: Some(account.id.clone()),
        instagram_account_id: account.instagram_account_id.clone(),
        event_key: Message::event_key_for(
            EventKind::Message,
            Some(&mid),
            customer.as_str(),
            occurred_at,
            "",
        ),
        direction: Direction::Inbound,
        kind: EventKind::Message,
        instagram_message_id: Some(InstagramMessageId::parse("mid", &mid).unwrap()),
        participant_id: customer.clone(),
        sender_id: customer,
        recipient_id: account.instagram_account_id.clone(),
        text: Some(text.to_owned()),
        attachments: Vec::new(),
        details: EventDetails::default(),
        outbound_message_id: None,
        occurred_at,
        received_at: SystemClock.now(),
    };
    store(test, message.clone()).await;
    message
}

async fn store(test: &TestDb, message: Message) {
    test.db
        .ingest(vec![InboundRecord {
            message,
            delivery: None,
            auto_reply: None,
        }])
        .await
        .unwrap();
}

/// `GET path`, asserting `200`: the entries and the next cursor.
async fn page(api: &Api, path: &str) -> (Vec<Value>, Option<String>) {
    let answer = api.get(path).await;
    assert_eq!(answer.status, 200, "{path}: {}", answer.text);
    (
        answer.json["data"].as_array().unwrap().clone(),
        answer.json["next_cursor"].as_str().map(str::to_owned),
    )
}

fn ids(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|entry| entry["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn both_directions_are_listed_newest_first(test: TestDb) {
    let graph = accepting_graph().await;
    let config = send_config(&test, &graph);
    let account = seed_account(&test.db, &config, "17841400000000000", "token").await;
    let app = TestApp::spawn(config).await;
    let api = Api::new(&app, &test, Vec::new()).await;
    let hello = receive(
        &test,
        &account,
        "alice",
        "Привет! 👗",
        Duration::from_secs(60),
    )
    .await;
    let mut reaction = hello.clone();
    reaction.id = app_http::random::message_id().unwrap();
    reaction.kind = EventKind::Reaction;
    reaction.event_key = "react:test".to_owned();
    reaction.text = None;
    reaction.attachments = vec![Attachment {
        kind: "like_heart".to_owned(),
        url: None,
    }];
    reaction.details = EventDetails {
        reaction_action: Some("react".to_owned()),
        emoji: Some("❤️".to_owned()),
        ..EventDetails::default()
    };
    reaction.occurred_at = hello.occurred_at.plus(Duration::from_secs(10));
    store(&test, reaction.clone()).await;
    let reply = api.send_text(&account, "alice", "Hi Alice!").await;
    // Waited for until sent, so the entry's state is known.
    let photo = api
        .send(
            &json!({"account_id": account.id, "recipient_id": "bob",
                    "attachment": {"type": "image", "payload": {"url": "https://cdn.example/p.png"}}}),
            &[("prefer", "wait=10")],
        )
        .await;
    assert_eq!(photo.status, 200, "{}", photo.text);
    let photo = photo.json["message_id"].as_str().unwrap().to_owned();
    let sent = test
        .db
        .outbound(&MessageId::parse(&photo).unwrap())
        .await
        .unwrap()
        .unwrap();

    let (entries, next) = page(&api, &format!("/api/v1/accounts/{}/messages", account.id)).await;

    assert_eq!(next, None);
    assert_eq!(
        ids(&entries),
        vec![
            photo.clone(),
            reply.clone(),
            reaction.id.to_string(),
            hello.id.to_string()
        ]
    );
    assert_eq!(
        entries[0],
        json!({
            "id": photo, "direction": "outbound", "kind": "message", "participant_id": "bob",
            "sender_id": "17841400000000000", "recipient_id": "bob", "text": null,
            "attachments": [{"type": "image", "url": "https://cdn.example/p.png"}],
            "instagram_message_id": sent.instagram_message_id.as_ref().unwrap().as_str(),
            "details": {}, "status": "sent", "error_code": null, "error_message": null,
            "rule_id": null, "timestamp": sent.created_at.to_rfc3339(),
        })
    );
    assert_eq!(entries[1]["text"], "Hi Alice!");
    assert_eq!(entries[1]["participant_id"], "alice");
    assert_eq!(entries[1]["attachments"], json!([]));
    assert_eq!(
        entries[2],
        json!({
            "id": reaction.id, "direction": "inbound", "kind": "reaction",
            "participant_id": "alice", "sender_id": "alice",
            "recipient_id": "17841400000000000", "text": null,
            "attachments": [{"type": "like_heart", "url": null}],
            "instagram_message_id": hello.instagram_message_id.as_ref().unwrap().as_str(),
            "details": {"reaction_action": "react", "emoji": "❤️"}, "status": null,
            "error_code": null, "error_message": null, "rule_id": null,
            "timestamp": reaction.occurred_at.to_rfc3339(),
        })
    );
    assert_eq!(entries[3]["text"], "Привет! 👗");
    assert_eq!(entries[3]["kind"], "message");
    assert_eq!(entries[3]["details"], json!({}));
    app.stop().await.unwrap();
}

async fn pages_filter_by_participant_and_survive_new_messages(test: TestDb) {
    let graph = accepting_graph().await;
    let config = send_config(&test, &graph);
    let account = seed_account(&test.db, &config, "1001", "token").await;
    let app = TestApp::spawn(config).await;
    let api = Api::new(&app, &test, Vec::new()).await;
    for n in 0..4_u64 {
        let customer = if n % 2 == 0 { "alice" } else { "bob" };
        receive(
            &test,
            &account,
            customer,
            &format!("question {n}"),
            Duration::from_secs(600 - n * 60),
        )
        .await;
        api.send_text(&account, customer, &format!("answer {n}"))
            .await;
    }
    let path = format!(
        "/api/v1/accounts/{}/messages?participant_id=alice",
        account.id
    );
    let (everything, _) = page(&api, &path).await;
    assert_eq!(everything.len(), 4);
    assert!(
        everything
            .iter()
            .all(|entry| entry["participant_id"] == "alice")
    );

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut request = format!("{path}&limit=1");
        if let Some(cursor) = &cursor {
            request.push_str(&format!("&cursor={cursor}"));
        }
        let (entries, next) = page(&api, &request).await;
        assert!(entries.len() <= 1);
        seen.extend(entries);
        pages += 1;
        // New messages of both directions arrive while the client pages.
        receive(&test, &account, "alice", "one more thing", Duration::ZERO).await;
        api.send_text(&account, "alice", "sure").await;
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }

    assert_eq!(ids(&seen), ids(&everything), "nothing repeated or skipped");
    assert_eq!(pages, 4);
    let (bob, _) = page(
        &api,
        &format!(
            "/api/v1/accounts/{}/messages?participant_id=bob",
            account.id
        ),
    )
    .await;
    assert_eq!(bob.len(), 4);
    app.stop().await.unwrap();
}

async fn the_history_is_scoped_and_checks_its_query(test: TestDb) {
    let graph = accepting_graph().await;
    let config = send_config(&test, &graph);
    let mine = seed_account(&test.db, &config, "1001", "token").await;
    let theirs = seed_account(&test.db, &config, "1002", "token").await;
    let app = TestApp::spawn(config).await;
    let scoped = Api::new(&app, &test, vec![mine.id.clone()]).await;
    receive(&test, &theirs, "5", "private", Duration::from_secs(1)).await;

    for path in [
        format!("/api/v1/accounts/{}/messages", theirs.id),
        "/api/v1/accounts/acc_zzzzzzzzzzzz/messages".to_owned(),
        "/api/v1/accounts/nope/messages".to_owned(),
    ] {
        let answer = scoped.get(&path).await;
        assert_eq!(answer.status, 404, "{path}: {}", answer.text);
        assert_eq!(answer.json["error"]["code"], "not_found");
    }
    let mine_path = format!("/api/v1/accounts/{}/messages", mine.id);
    let (entries, _) = page(&scoped, &mine_path).await;
    assert!(entries.is_empty());

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("cursor=garbage", "cursor"),
        ("participant_id=a%20b", "participant_id"),
        ("participant_id=", "participant_id"),
    ] {
        let answer = scoped.get(&format!("{mine_path}?{query}")).await;
        assert_eq!(answer.status, 422, "{query}: {}", answer.text);
        assert_eq!(answer.json["error"]["details"]["field"], field, "{query}");
    }
    let answer = scoped.get(&format!("{mine_path}?limit=many")).await;
    assert_eq!(answer.status, 400);

    let anonymous = app.get(&mine_path).await;
    assert_eq!(anonymous.status(), 401);
    app.stop().await.unwrap();
}

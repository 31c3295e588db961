//! `POST /api/v1/messages/send` and `GET /api/v1/messages/{id}/status` on every backend:
//! validation, the stored row, scoping, idempotency (replay, mismatch, in flight, concurrent
//! requests) and `Prefer: wait`.
//!
//! No send worker runs yet, so messages stay `pending` until a test drives them the way the
//! worker will: `claim_due_outbound`, then `finish_outbound`, on the same database.

use std::time::{Duration, Instant};

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use app_http::api_keys;
use app_http::clock::SystemClock;
use domain::ports::{Clock, IdempotencyStore, MessageStore, OutboundQueue};
use domain::{
    Account, AccountId, AttachmentType, IdempotencyBegin, IdempotencyKey, IdempotencyRecord,
    IdempotencyState, InstagramId, InstagramMessageId, MessageId, OutboundContent, OutboundMessage,
    OutboundStatus, PageRequest, SendResult,
};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::helpers::{TestApp, production_config, seed_account};

backend_tests!(
    invalid_sends_are_422_naming_the_field_and_store_nothing,
    a_send_is_accepted_and_stored_pending,
    the_status_shows_every_field_as_the_send_progresses,
    a_scoped_key_cannot_send_as_or_read_another_account,
    a_repeated_key_replays_the_first_answer,
    a_key_reused_with_another_body_is_422,
    a_key_still_in_flight_is_409,
    concurrent_requests_with_one_key_create_one_message,
    prefer_wait_answers_202_when_nothing_happens,
    prefer_wait_answers_200_once_the_message_is_final,
);

/// An `/api/v1` client with one API key.
pub(crate) struct Api {
    address: String,
    http: reqwest::Client,
    authorization: String,
}

/// An answer: status, the headers the send API sets, and the body as text and JSON.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) replayed: Option<String>,
    pub(crate) preference_applied: Option<String>,
    pub(crate) location: Option<String>,
    pub(crate) text: String,
    pub(crate) json: Value,
}

impl Api {
    /// A client with a new key that sees `scope` (every account when empty).
    pub(crate) async fn new(app: &TestApp, test: &TestDb, scope: Vec<AccountId>) -> Self {
        let key = api_keys::create(&test.db, &test.db, &SystemClock, "crm".into(), scope)
            .await
            .unwrap();
        Self {
            address: app.address.clone(),
            http: reqwest::Client::new(),
            authorization: format!("Bearer {}", key.secret.expose_secret()),
        }
    }

    /// `POST /api/v1/messages/send` with exactly `body` and `headers`.
    pub(crate) async fn send_raw(&self, body: &str, headers: &[(&str, &str)]) -> Answer {
        let mut request = self
            .http
            .post(format!("{}/api/v1/messages/send", self.address))
            .header("authorization", &self.authorization)
            .header("content-type", "application/json")
            .body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        answer(request.send().await.unwrap()).await
    }

    /// `POST /api/v1/messages/send` with `body` as JSON.
    pub(crate) async fn send(&self, body: &Value, headers: &[(&str, &str)]) -> Answer {
        self.send_raw(&body.to_string(), headers).await
    }

    /// Sends `text` from `account` to `recipient`, asserting `202`; the message id.
    pub(crate) async fn send_text(&self, account: &Account, recipient: &str, text: &str) -> String {
        let answer = self
            .send(
                &json!({"account_id": account.id, "recipient_id": recipient, "message": text}),
                &[],
            )
            .await;
        assert_eq!(answer.status, 202, "{}", answer.text);
        answer.json["message_id"].as_str().unwrap().to_owned()
    }

    /// `GET path`.
    pub(crate) async fn get(&self, path: &str) -> Answer {
        let response = self
            .http
            .get(format!("{}{path}", self.address))
            .header("authorization", &self.authorization)
            .send()
            .await
            .unwrap();
        answer(response).await
    }
}

async fn answer(response: reqwest::Response) -> Answer {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|value| value.to_str().unwrap().to_owned())
    };
    let replayed = header("idempotent-replayed");
    let preference_applied = header("preference-applied");
    let location = header("location");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        replayed,
        preference_applied,
        location,
        text,
        json,
    }
}

/// The sends queued for `account`, newest first.
async fn sends(test: &TestDb, account: &Account) -> Vec<OutboundMessage> {
    let page = PageRequest::new(Some(200), None).unwrap();
    test.db
        .conversation(&account.id, None, &page)
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|entry| match entry {
            domain::HistoryEntry::Sent(message) => Some(message),
            domain::HistoryEntry::Event(_) => None,
        })
        .collect()
}

async fn stored(test: &TestDb, id: &str) -> OutboundMessage {
    test.db
        .outbound(&MessageId::parse(id).unwrap())
        .await
        .unwrap()
        .expect("the message is stored")
}

/// Claims every due message the way the send worker does and records `result` for the one with
/// `id` (there is no send worker yet, so nobody else claims).
async fn finish(test: &TestDb, id: &str, result: SendResult) -> OutboundMessage {
    let now = SystemClock.now();
    let claimed = test
        .db
        .claim_due_outbound(now, 100, Duration::from_secs(60), &[])
        .await
        .unwrap();
    let message = claimed
        .into_iter()
        .find(|message| message.id.as_str() == id)
        .expect("the message was due");
    test.db
        .finish_outbound(
            &message.id,
            message.attempts,
            result,
            None,
            SystemClock.now(),
        )
        .await
        .unwrap()
}

/// The service on `test`'s database with one account, and a client whose key sees everything.
async fn start(test: &TestDb) -> (TestApp, Account, Api) {
    let config = production_config(&test.url);
    let account = seed_account(&test.db, &config, "1001", "token").await;
    let app = TestApp::spawn(config).await;
    let api = Api::new(&app, test, Vec::new()).await;
    (app, account, api)
}

fn assert_invalid(answer: &Answer, field: &str, case: &str) {
    assert_eq!(answer.status, 422, "{case}: {}", answer.text);
    assert_eq!(answer.json["error"]["code"], "validation_failed", "{case}");
    assert_eq!(answer.json["error"]["details"]["field"], field, "{case}");
}

async fn invalid_sends_are_422_naming_the_field_and_store_nothing(test: TestDb) {
    let (app, account, api) = start(&test).await;
    let a = account.id.as_str();
    let image = |url: &str| json!({"type": "image", "payload": {"url": url}});

    for (body, field) in [
        (json!({"recipient_id": "5", "message": "hi"}), "account_id"),
        (
            json!({"account_id": null, "recipient_id": "5", "message": "hi"}),
            "account_id",
        ),
        (
            json!({"account_id": "nope", "recipient_id": "5", "message": "hi"}),
            "account_id",
        ),
        (
            json!({"account_id": "acc_zzzzzzzzzzzz", "recipient_id": "5", "message": "hi"}),
            "account_id",
        ),
        (json!({"account_id": a, "message": "hi"}), "recipient_id"),
        (
            json!({"account_id": a, "recipient_id": "", "message": "hi"}),
            "recipient_id",
        ),
        (
            json!({"account_id": a, "recipient_id": 5, "message": "hi"}),
            "recipient_id",
        ),
        (json!({"account_id": a, "recipient_id": "5"}), "message"),
        (
            json!({"account_id": a, "recipient_id": "5", "message": null, "attachment": null}),
            "message",
        ),
        (
            json!({"account_id": a, "recipient_id": "5", "message": ""}),
            "message",
        ),
        (
            // 1002 bytes in 501 characters: the limit counts bytes.
            json!({"account_id": a, "recipient_id": "5", "message": "é".repeat(501)}),
            "message",
        ),
        (
            json!({"account_id": a, "recipient_id": "5", "message": ["hi"]}),
            "message",
        ),
        (
            json!({"account_id": a, "recipient_id": "5", "message": "hi",
                   "attachment": image("https://cdn.example/a.png")}),
            "message",
        ),
        (
            json!({"account_id": a, "recipient_id": "5", "attachment": "https://cdn.example/a.png"}),
            "attachment",
        ),
        (
            json!({"account_id": a, "recipient_id": "5",
                   "attachment": {"type": "gif", "payload": {"url": "https://cdn.example/a.gif"}}}),
            "attachment.type",
        ),
        (
            json!({"account_id": a, "recipient_id": "5",
                   "attachment": {"payload": {"url": "https://cdn.example/a.png"}}}),
            "attachment.type",
        ),
        (
            json!({"account_id": a, "recipient_id": "5", "attachment": {"type": "image"}}),
            "attachment.payload",
        ),
        (
            json!({"account_id": a, "recipient_id": "5",
                   "attachment": {"type": "image", "payload": {}}}),
            "attachment.payload.url",
        ),
        (
            json!({"account_id": a, "recipient_id": "5", "attachment": image("ftp://cdn.example/a.png")}),
            "attachment.payload.url",
        ),
        (
            json!({"account_id": a, "recipient_id": "5", "attachment": image("/a.png")}),
            "attachment.payload.url",
        ),
        (
            json!({"account_id": a, "recipient_id": "5",
                   "attachment": {"type": "image", "payload": {"url": "https://cdn.example/a.png", "is_reusable": true}}}),
            "attachment.payload",
        ),
        (
            json!({"account_id": a, "recipient_id": "5", "message": "hi", "idempotency_key": ""}),
            "idempotency_key",
        ),
        (
            json!({"account_id": a, "recipient_id": "5", "message": "hi", "idempotency_key": 42}),
            "idempotency_key",
        ),
    ] {
        let answer = api.send(&body, &[]).await;
        assert_invalid(&answer, field, &body.to_string());
    }

    let unknown_member = api
        .send(
            &json!({"account_id": a, "recipient_id": "5", "message": "hi", "text": "hi"}),
            &[],
        )
        .await;
    assert_eq!(unknown_member.status, 422, "{}", unknown_member.text);
    assert!(
        unknown_member.json["error"]["details"]["reason"]
            .as_str()
            .unwrap()
            .contains("text")
    );

    let body =
        json!({"account_id": a, "recipient_id": "5", "message": "hi", "idempotency_key": "b"});
    for (headers, field) in [
        (
            vec![("idempotency-key", "\"unterminated")],
            "Idempotency-Key",
        ),
        (vec![("idempotency-key", "ключ")], "Idempotency-Key"),
        (vec![("idempotency-key", "a")], "idempotency_key"),
    ] {
        let answer = api.send(&body, &headers).await;
        assert_invalid(&answer, field, &format!("{headers:?}"));
    }

    assert!(sends(&test, &account).await.is_empty());
    app.stop().await.unwrap();
}

async fn a_send_is_accepted_and_stored_pending(test: TestDb) {
    let (app, account, api) = start(&test).await;
    let text = "é".repeat(500); // 1000 bytes: the most a DM holds

    let answer = api
        .send(
            &json!({"account_id": account.id, "recipient_id": "1234567890", "message": text}),
            &[],
        )
        .await;

    assert_eq!(answer.status, 202, "{}", answer.text);
    let id = answer.json["message_id"].as_str().unwrap();
    assert!(MessageId::parse(id).is_ok(), "{id}");
    let message = stored(&test, id).await;
    assert_eq!(
        answer.json,
        json!({"message_id": id, "status": "pending",
               "created_at": message.created_at.to_rfc3339()})
    );
    assert_eq!(
        answer.location.as_deref(),
        Some(format!("/api/v1/messages/{id}/status").as_str())
    );
    assert_eq!(answer.replayed, None);
    assert_eq!(answer.preference_applied, None);
    assert_eq!(message.account_id, account.id);
    assert_eq!(message.recipient_id.as_str(), "1234567890");
    assert_eq!(message.content, OutboundContent::Text(text));
    assert_eq!(message.status, OutboundStatus::Pending);
    assert_eq!(message.attempts, 0);
    assert_eq!(message.rule_id, None);

    let answer = api
        .send(
            &json!({"account_id": account.id, "recipient_id": "1234567890", "message": null,
                    "attachment": {"type": "video", "payload": {"url": "https://cdn.example/v.mp4?x=1"}}}),
            &[],
        )
        .await;
    assert_eq!(answer.status, 202, "{}", answer.text);
    let message = stored(&test, answer.json["message_id"].as_str().unwrap()).await;
    assert_eq!(
        message.content,
        OutboundContent::Attachment {
            kind: AttachmentType::Video,
            url: "https://cdn.example/v.mp4?x=1".to_owned(),
        }
    );
    assert_eq!(sends(&test, &account).await.len(), 2);
    app.stop().await.unwrap();
}

async fn the_status_shows_every_field_as_the_send_progresses(test: TestDb) {
    let (app, account, api) = start(&test).await;
    let id = api.send_text(&account, "5", "hello").await;
    let path = format!("/api/v1/messages/{id}/status");

    let pending = api.get(&path).await;
    assert_eq!(pending.status, 200, "{}", pending.text);
    let created = stored(&test, &id).await.created_at.to_rfc3339();
    assert_eq!(
        pending.json,
        json!({
            "message_id": id, "account_id": account.id, "recipient_id": "5", "status": "pending",
            "instagram_message_id": null, "error_code": null, "error_message": null,
            "attempts": 0, "created_at": created, "updated_at": created,
        })
    );

    let sent = finish(
        &test,
        &id,
        SendResult::Sent {
            instagram_message_id: InstagramMessageId::parse("mid", "aWdfZAG1faXRlbToxOkl").unwrap(),
        },
    )
    .await;
    let answer = api.get(&path).await;
    assert_eq!(
        answer.json,
        json!({
            "message_id": id, "account_id": account.id, "recipient_id": "5", "status": "sent",
            "instagram_message_id": "aWdfZAG1faXRlbToxOkl", "error_code": null,
            "error_message": null, "attempts": 1, "created_at": created,
            "updated_at": sent.updated_at.to_rfc3339(),
        })
    );

    let id = api.send_text(&account, "6", "are you there?").await;
    finish(
        &test,
        &id,
        SendResult::Failed {
            error_code: Some(551),
            error_message: "This person isn't available right now.".to_owned(),
        },
    )
    .await;
    let failed = api.get(&format!("/api/v1/messages/{id}/status")).await;
    assert_eq!(failed.json["status"], "failed");
    assert_eq!(failed.json["error_code"], 551);
    assert_eq!(
        failed.json["error_message"],
        "This person isn't available right now."
    );
    assert_eq!(failed.json["attempts"], 1);

    for unknown in [
        "msg_zzzzzzzzzzzz",
        "nope",
        "acc_zzzzzzzzzzzz",
        "MSG_ZZZZZZZZZZZZ",
    ] {
        let answer = api.get(&format!("/api/v1/messages/{unknown}/status")).await;
        assert_eq!(answer.status, 404, "{unknown}");
        assert_eq!(answer.json["error"]["code"], "not_found");
    }
    app.stop().await.unwrap();
}

async fn a_scoped_key_cannot_send_as_or_read_another_account(test: TestDb) {
    let config = production_config(&test.url);
    let mine = seed_account(&test.db, &config, "1001", "token-a").await;
    let theirs = seed_account(&test.db, &config, "1002", "token-b").await;
    let app = TestApp::spawn(config).await;
    let scoped = Api::new(&app, &test, vec![mine.id.clone()]).await;
    let everything = Api::new(&app, &test, Vec::new()).await;

    let as_theirs = scoped
        .send(
            &json!({"account_id": theirs.id, "recipient_id": "5", "message": "hi"}),
            &[],
        )
        .await;
    let as_unknown = scoped
        .send(
            &json!({"account_id": "acc_zzzzzzzzzzzz", "recipient_id": "5", "message": "hi"}),
            &[],
        )
        .await;
    assert_invalid(&as_theirs, "account_id", "another tenant's account");
    assert_eq!(
        as_theirs.json, as_unknown.json,
        "indistinguishable from an unknown account"
    );
    assert!(sends(&test, &theirs).await.is_empty());

    let their_message = everything.send_text(&theirs, "5", "hi").await;
    let status = scoped
        .get(&format!("/api/v1/messages/{their_message}/status"))
        .await;
    assert_eq!(status.status, 404, "{}", status.text);
    let history = scoped
        .get(&format!("/api/v1/accounts/{}/messages", theirs.id))
        .await;
    assert_eq!(history.status, 404);

    let my_message = scoped.send_text(&mine, "5", "hi").await;
    let status = scoped
        .get(&format!("/api/v1/messages/{my_message}/status"))
        .await;
    assert_eq!(status.status, 200);
    app.stop().await.unwrap();
}

async fn a_repeated_key_replays_the_first_answer(test: TestDb) {
    let config = production_config(&test.url);
    let account = seed_account(&test.db, &config, "1001", "token").await;
    let other = seed_account(&test.db, &config, "1002", "token").await;
    let app = TestApp::spawn(config).await;
    let api = Api::new(&app, &test, Vec::new()).await;
    let a = account.id.as_str();

    let first = api
        .send_raw(
            &format!(r#"{{"account_id":"{a}","recipient_id":"5","message":"hi ✓"}}"#),
            &[("idempotency-key", "order-42")],
        )
        .await;
    assert_eq!(first.status, 202, "{}", first.text);
    assert_eq!(first.replayed, None);

    // The same request: members reordered, other whitespace and escapes, the key as an
    // sf-string, or in the body.
    for (body, headers) in [
        (
            format!(
                "{{ \"message\" : \"hi \\u2713\",\n \"recipient_id\": \"5\", \"account_id\": \"{a}\" }}"
            ),
            vec![("idempotency-key", "\"order-42\"")],
        ),
        (
            format!(
                r#"{{"account_id":"{a}","recipient_id":"5","message":"hi ✓","idempotency_key":"order-42"}}"#
            ),
            vec![],
        ),
        (
            format!(
                r#"{{"account_id":"{a}","recipient_id":"5","message":"hi ✓","idempotency_key":"order-42"}}"#
            ),
            vec![("idempotency-key", "order-42")],
        ),
    ] {
        let again = api.send_raw(&body, &headers).await;
        assert_eq!(again.status, 202, "{body}: {}", again.text);
        assert_eq!(again.replayed.as_deref(), Some("true"), "{body}");
        assert_eq!(again.text, first.text, "the original answer, byte for byte");
        assert_eq!(again.location, first.location);
    }
    assert_eq!(sends(&test, &account).await.len(), 1);

    // Keys belong to an account: the same key elsewhere is another request.
    let elsewhere = api
        .send(
            &json!({"account_id": other.id, "recipient_id": "5", "message": "hi ✓"}),
            &[("idempotency-key", "order-42")],
        )
        .await;
    assert_eq!(elsewhere.status, 202);
    assert_eq!(elsewhere.replayed, None);
    assert_ne!(elsewhere.json["message_id"], first.json["message_id"]);
    assert_eq!(sends(&test, &other).await.len(), 1);
    app.stop().await.unwrap();
}

async fn a_key_reused_with_another_body_is_422(test: TestDb) {
    let (app, account, api) = start(&test).await;
    let key = [("idempotency-key", "k-1")];
    let first = api
        .send(
            &json!({"account_id": account.id, "recipient_id": "5", "message": "hi"}),
            &key,
        )
        .await;
    assert_eq!(first.status, 202);

    for other in [
        json!({"account_id": account.id, "recipient_id": "5", "message": "bye"}),
        json!({"account_id": account.id, "recipient_id": "6", "message": "hi"}),
        json!({"account_id": account.id, "recipient_id": "5",
               "attachment": {"type": "image", "payload": {"url": "https://cdn.example/hi"}}}),
    ] {
        let answer = api.send(&other, &key).await;
        assert_eq!(answer.status, 422, "{other}: {}", answer.text);
        assert_eq!(answer.json["error"]["code"], "idempotency_key_mismatch");
        assert_eq!(answer.json["error"]["details"]["field"], "idempotency_key");
        assert_eq!(answer.replayed, None);
    }
    assert_eq!(sends(&test, &account).await.len(), 1);
    app.stop().await.unwrap();
}

async fn a_key_still_in_flight_is_409(test: TestDb) {
    let (app, account, api) = start(&test).await;
    let body = json!({"account_id": account.id, "recipient_id": "5", "message": "hi"});
    let fingerprint = app_http::idempotency_fingerprint(
        &account.id,
        &InstagramId::parse("recipient_id", "5").unwrap(),
        &OutboundContent::text("hi").unwrap(),
    );
    let now = SystemClock.now();
    // Another request (another instance, say) holds the key and has not queued its message yet.
    let held = IdempotencyRecord {
        account_id: account.id.clone(),
        key: IdempotencyKey::parse("held").unwrap(),
        fingerprint,
        message_id: None,
        state: IdempotencyState::InProgress,
        created_at: now,
        expires_at: now.plus(Duration::from_secs(3600)),
    };
    assert_eq!(
        test.db.begin_idempotent(&held).await.unwrap(),
        IdempotencyBegin::Started
    );
    let key = [("idempotency-key", "held")];

    let answer = api.send(&body, &key).await;

    assert_eq!(answer.status, 409, "{}", answer.text);
    assert_eq!(answer.json["error"]["code"], "idempotency_key_in_use");
    let other = json!({"account_id": account.id, "recipient_id": "5", "message": "other"});
    assert_eq!(api.send(&other, &key).await.status, 422);
    assert!(sends(&test, &account).await.is_empty());

    // Its message committed but its answer never stored (the database failed in between): a
    // repeat gets the 202 that request would have given.
    let committed = api.send_text(&account, "5", "hi").await;
    let orphan = IdempotencyRecord {
        key: IdempotencyKey::parse("orphan").unwrap(),
        message_id: Some(MessageId::parse(&committed).unwrap()),
        ..held.clone()
    };
    test.db.begin_idempotent(&orphan).await.unwrap();
    let answer = api.send(&body, &[("idempotency-key", "orphan")]).await;
    assert_eq!(answer.status, 202, "{}", answer.text);
    assert_eq!(answer.replayed.as_deref(), Some("true"));
    assert_eq!(answer.json["message_id"], committed.as_str());

    // Released (its request failed before queuing): the key is free again.
    test.db
        .release_idempotent(&account.id, &held.key)
        .await
        .unwrap();
    let answer = api.send(&body, &key).await;
    assert_eq!(answer.status, 202, "{}", answer.text);
    assert_eq!(answer.replayed, None);
    assert_eq!(sends(&test, &account).await.len(), 2);
    app.stop().await.unwrap();
}

async fn concurrent_requests_with_one_key_create_one_message(test: TestDb) {
    let (app, account, api) = start(&test).await;
    let api = std::sync::Arc::new(api);
    let body = json!({"account_id": account.id, "recipient_id": "5", "message": "once"});

    let requests: Vec<_> = (0..12)
        .map(|_| {
            let (api, body) = (api.clone(), body.clone());
            tokio::spawn(async move { api.send(&body, &[("idempotency-key", "race")]).await })
        })
        .collect();
    let mut answers = Vec::new();
    for request in requests {
        answers.push(request.await.unwrap());
    }

    let created: Vec<_> = answers
        .iter()
        .filter(|answer| answer.status == 202 && answer.replayed.is_none())
        .collect();
    assert_eq!(created.len(), 1, "{answers:#?}");
    let id = &created[0].json["message_id"];
    for answer in &answers {
        match answer.status {
            202 => assert_eq!(&answer.json["message_id"], id),
            409 => assert_eq!(answer.json["error"]["code"], "idempotency_key_in_use"),
            other => panic!("unexpected {other}: {}", answer.text),
        }
    }
    let stored = sends(&test, &account).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].id.as_str(), id.as_str().unwrap());
    app.stop().await.unwrap();
}

async fn prefer_wait_answers_202_when_nothing_happens(test: TestDb) {
    let (app, account, api) = start(&test).await;
    let body = json!({"account_id": account.id, "recipient_id": "5", "message": "hi"});

    let started = Instant::now();
    let answer = api.send(&body, &[("prefer", "wait=1")]).await;

    let waited = started.elapsed();
    assert_eq!(answer.status, 202, "{}", answer.text);
    assert_eq!(answer.json["status"], "pending");
    assert_eq!(answer.preference_applied.as_deref(), Some("wait=1"));
    assert!(waited >= Duration::from_secs(1), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");

    // A preference igrouter cannot read is ignored (RFC 7240), not refused.
    let started = Instant::now();
    let answer = api.send(&body, &[("prefer", "wait=soon")]).await;
    assert_eq!(answer.status, 202);
    assert_eq!(answer.preference_applied, None);
    assert!(started.elapsed() < Duration::from_secs(1));
    app.stop().await.unwrap();
}

async fn prefer_wait_answers_200_once_the_message_is_final(test: TestDb) {
    let (app, account, api) = start(&test).await;
    let body = json!({"account_id": account.id, "recipient_id": "5", "message": "hi"});
    let waiting = tokio::spawn(async move {
        let started = Instant::now();
        let answer = api.send(&body, &[("prefer", "wait=3")]).await;
        (answer, started.elapsed())
    });
    // Sent by "another instance": this one's registry hears nothing, so the request sees the
    // outcome in its read at the deadline.
    let id = loop {
        if let Some(message) = sends(&test, &account).await.pop() {
            break message.id;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    finish(
        &test,
        id.as_str(),
        SendResult::Sent {
            instagram_message_id: InstagramMessageId::parse("mid", "m.sent").unwrap(),
        },
    )
    .await;

    let (answer, waited) = waiting.await.unwrap();

    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.preference_applied.as_deref(), Some("wait=3"));
    assert_eq!(answer.json["message_id"], id.as_str());
    assert_eq!(answer.json["status"], "sent");
    assert_eq!(answer.json["instagram_message_id"], "m.sent");
    assert_eq!(answer.json["attempts"], 1);
    assert!(waited < Duration::from_secs(6), "{waited:?}");
    app.stop().await.unwrap();
}

//! `POST /api/v1/messages/send` and `GET /api/v1/messages/{id}/status` on every backend:
//! validation, the stored row, scoping, idempotency (replay, mismatch, in flight, concurrent
//! requests) and `Prefer: wait`.
//!
//! The service's send worker runs as in production, against a fake Graph API (wiremock): the
//! tests assert what the API promises whatever state the worker has reached, and let the worker
//! drive messages to `sent` or `failed` where a test needs a final state.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use app_http::clock::SystemClock;
use app_http::{Config, api_keys};
use domain::ports::{Clock, IdempotencyStore, MessageStore, OutboundQueue};
use domain::{
    Account, AccountId, AttachmentType, IdempotencyBegin, IdempotencyKey, IdempotencyRecord,
    IdempotencyState, InstagramId, MessageId, OutboundContent, OutboundMessage, OutboundStatus,
    PageRequest, RequestId, RetrySchedule,
};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::helpers::{TestApp, production_config, seed_account};

backend_tests!(
    invalid_sends_are_422_naming_the_field_and_store_nothing,
    a_send_is_stored_before_it_is_accepted,
    the_status_shows_every_field_as_the_send_progresses,
    a_scoped_key_cannot_send_as_or_read_another_account,
    a_repeated_key_replays_the_first_answer,
    a_key_reused_with_another_body_is_422,
    a_key_still_in_flight_is_409,
    concurrent_requests_with_one_key_create_one_message,
    prefer_wait_answers_202_when_the_message_is_not_final_in_time,
    prefer_wait_answers_200_as_soon_as_the_worker_finishes,
);

/// Where the Graph client posts sends (`GRAPH_API_VERSION` left at its default).
pub(crate) const GRAPH_SEND_PATH: &str = "/v21.0/me/messages";

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
pub(crate) async fn sends(test: &TestDb, account: &Account) -> Vec<OutboundMessage> {
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

/// A fake Graph API that accepts every send, each with a `message_id` of its own (Meta's ids
/// are unique per account, and so is the column that stores them).
pub(crate) async fn accepting_graph() -> MockServer {
    let graph = MockServer::start().await;
    accept_sends(&graph).await;
    graph
}

/// Makes `graph` accept every send no other mock answers.
pub(crate) async fn accept_sends(graph: &MockServer) {
    Mock::given(method("POST"))
        .and(path(GRAPH_SEND_PATH))
        .respond_with(UniqueMids::default())
        .mount(graph)
        .await;
}

/// Answers a send like Meta does, with `m.1`, `m.2`, ….
#[derive(Default)]
struct UniqueMids(AtomicU64);

impl Respond for UniqueMids {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::Relaxed) + 1;
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        ResponseTemplate::new(200).set_body_json(
            json!({"recipient_id": body["recipient"]["id"], "message_id": format!("m.{n}")}),
        )
    }
}

/// The production configuration on `test`'s database, sending to `graph`.
pub(crate) fn send_config(test: &TestDb, graph: &MockServer) -> Config {
    let mut config = production_config(&test.url);
    config.instagram.graph_api_base_url = graph.uri().parse().unwrap();
    config
}

/// The service on `test`'s database sending to `graph`, with one account, and a client whose
/// key sees everything.
async fn start_with(test: &TestDb, graph: &MockServer) -> (TestApp, Account, Api) {
    let config = send_config(test, graph);
    let account = seed_account(&test.db, &config, "1001", "token").await;
    let app = TestApp::spawn(config).await;
    let api = Api::new(&app, test, Vec::new()).await;
    (app, account, api)
}

/// [`start_with`] a Graph API that accepts everything; the fake goes with the service.
async fn start(test: &TestDb) -> (TestApp, Account, Api, MockServer) {
    let graph = accepting_graph().await;
    let (app, account, api) = start_with(test, &graph).await;
    (app, account, api, graph)
}

fn assert_invalid(answer: &Answer, field: &str, case: &str) {
    assert_eq!(answer.status, 422, "{case}: {}", answer.text);
    assert_eq!(answer.json["error"]["code"], "validation_failed", "{case}");
    assert_eq!(answer.json["error"]["details"]["field"], field, "{case}");
}

async fn invalid_sends_are_422_naming_the_field_and_store_nothing(test: TestDb) {
    let (app, account, api, _graph) = start(&test).await;
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

async fn a_send_is_stored_before_it_is_accepted(test: TestDb) {
    let (app, account, api, _graph) = start(&test).await;
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
    assert_eq!(message.rule_id, None);
    // Stored `pending`; the worker, woken by the commit, may have taken it further already.
    assert!(message.attempts <= 1, "{message:?}");

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
    let graph = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(GRAPH_SEND_PATH))
        .and(body_partial_json(json!({"recipient": {"id": "6"}})))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "This person isn't available right now.", "type": "OAuthException",
            "code": 551, "error_subcode": 1545041, "fbtrace_id": "AbC"
        }})))
        .with_priority(1)
        .mount(&graph)
        .await;
    accept_sends(&graph).await;
    let (app, account, api) = start_with(&test, &graph).await;
    let id = api.send_text(&account, "5", "hello").await;
    let path = format!("/api/v1/messages/{id}/status");

    // Read at once: every field, in whichever state the worker has it by now.
    let early = api.get(&path).await;
    assert_eq!(early.status, 200, "{}", early.text);
    let created = stored(&test, &id).await.created_at.to_rfc3339();
    let fields: Vec<&str> = early
        .json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        vec![
            "account_id",
            "attempts",
            "created_at",
            "error_code",
            "error_message",
            "instagram_message_id",
            "message_id",
            "recipient_id",
            "request_id",
            "status",
            "updated_at"
        ]
    );
    assert_eq!(early.json["message_id"], id.as_str());
    assert_eq!(early.json["account_id"], account.id.as_str());
    assert_eq!(early.json["recipient_id"], "5");
    assert_eq!(early.json["created_at"], created.as_str());
    // No X-Request-Id was sent: the one igrouter made for the send.
    assert!(
        early.json["request_id"]
            .as_str()
            .is_some_and(|request| request.starts_with(RequestId::PREFIX)),
        "{}",
        early.text
    );
    assert!(
        ["pending", "sending", "sent"].contains(&early.json["status"].as_str().unwrap()),
        "{}",
        early.text
    );

    // Sent: waited for, then read again.
    let sent = api
        .send(
            &json!({"account_id": account.id, "recipient_id": "5", "message": "and again"}),
            &[("prefer", "wait=10"), ("x-request-id", "crm-status-1")],
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.text);
    let id = sent.json["message_id"].as_str().unwrap().to_owned();
    let message = stored(&test, &id).await;
    assert_eq!(message.status, OutboundStatus::Sent);
    let expected = json!({
        "message_id": id, "account_id": account.id, "recipient_id": "5", "status": "sent",
        "instagram_message_id": message.instagram_message_id.as_ref().unwrap().as_str(),
        "error_code": null, "error_message": null, "attempts": 1,
        "created_at": message.created_at.to_rfc3339(),
        "updated_at": message.updated_at.to_rfc3339(),
        "request_id": "crm-status-1",
    });
    assert_eq!(sent.json, expected);
    assert_eq!(
        api.get(&format!("/api/v1/messages/{id}/status")).await.json,
        expected
    );

    // Refused by Meta for good.
    let failed = api
        .send(
            &json!({"account_id": account.id, "recipient_id": "6", "message": "are you there?"}),
            &[("prefer", "wait=10")],
        )
        .await;
    assert_eq!(failed.status, 200, "{}", failed.text);
    let id = failed.json["message_id"].as_str().unwrap();
    let failed = api.get(&format!("/api/v1/messages/{id}/status")).await;
    assert_eq!(failed.json["status"], "failed");
    assert_eq!(failed.json["error_code"], 551);
    let message = failed.json["error_message"].as_str().unwrap();
    assert!(
        message.starts_with("This person isn't available right now."),
        "Meta's message: {message}"
    );
    assert_eq!(failed.json["instagram_message_id"], Value::Null);
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
    let graph = accepting_graph().await;
    let config = send_config(&test, &graph);
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
    let graph = accepting_graph().await;
    let config = send_config(&test, &graph);
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
    let (app, account, api, _graph) = start(&test).await;
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
    let (app, account, api, _graph) = start(&test).await;
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
    let (app, account, api, _graph) = start(&test).await;
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

async fn prefer_wait_answers_202_when_the_message_is_not_final_in_time(test: TestDb) {
    // Meta fails every attempt in a way worth retrying, and the retry is an hour away: the
    // worker publishes the failed attempt, which must not end the wait, as it is not final.
    let graph = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(GRAPH_SEND_PATH))
        .respond_with(ResponseTemplate::new(500))
        .mount(&graph)
        .await;
    let mut config = send_config(&test, &graph);
    config.instagram.send_retry_schedule =
        RetrySchedule::parse("SEND_RETRY_SCHEDULE", "1h").unwrap();
    let account = seed_account(&test.db, &config, "1001", "token").await;
    let app = TestApp::spawn(config).await;
    let api = Api::new(&app, &test, Vec::new()).await;
    let body = json!({"account_id": account.id, "recipient_id": "5", "message": "hi"});

    let started = Instant::now();
    let answer = api.send(&body, &[("prefer", "wait=1")]).await;

    let waited = started.elapsed();
    assert_eq!(answer.status, 202, "{}", answer.text);
    assert_eq!(answer.json["status"], "pending");
    assert_eq!(answer.preference_applied.as_deref(), Some("wait=1"));
    assert!(waited >= Duration::from_secs(1), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    let id = answer.json["message_id"].as_str().unwrap();
    assert_eq!(stored(&test, id).await.attempts, 1, "the worker did try");

    // A preference igrouter cannot read is ignored (RFC 7240), not refused.
    let started = Instant::now();
    let answer = api.send(&body, &[("prefer", "wait=soon")]).await;
    assert_eq!(answer.status, 202);
    assert_eq!(answer.preference_applied, None);
    assert!(started.elapsed() < Duration::from_secs(1));
    app.stop().await.unwrap();
}

async fn prefer_wait_answers_200_as_soon_as_the_worker_finishes(test: TestDb) {
    let (app, account, api, graph) = start(&test).await;
    let body = json!({"account_id": account.id, "recipient_id": "5", "message": "hi"});

    let started = Instant::now();
    let answer = api.send(&body, &[("prefer", "wait=20")]).await;

    let waited = started.elapsed();
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.preference_applied.as_deref(), Some("wait=20"));
    assert_eq!(answer.json["status"], "sent");
    assert_eq!(answer.json["attempts"], 1);
    assert!(
        answer.json["instagram_message_id"].is_string(),
        "{}",
        answer.text
    );
    assert!(
        waited < Duration::from_secs(10),
        "woken, not timed out: {waited:?}"
    );
    let id = answer.json["message_id"].as_str().unwrap();
    assert_eq!(
        answer.location.as_deref(),
        Some(format!("/api/v1/messages/{id}/status").as_str())
    );
    assert_eq!(graph.received_requests().await.unwrap().len(), 1);

    // A replay answers the stored 202 at once; it does not wait again.
    let keyed = [("prefer", "wait=20"), ("idempotency-key", "k")];
    let first = api.send(&body, &keyed).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let started = Instant::now();
    let replay = api.send(&body, &keyed).await;
    assert_eq!(replay.status, 202, "{}", replay.text);
    assert_eq!(replay.replayed.as_deref(), Some("true"));
    assert_eq!(replay.preference_applied, None);
    assert_eq!(replay.json["message_id"], first.json["message_id"]);
    assert_eq!(replay.json["status"], "pending");
    assert!(started.elapsed() < Duration::from_secs(2));
    app.stop().await.unwrap();
}

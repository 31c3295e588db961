//! `/api/v1/deliveries` on every backend: listings filtered, paginated and scoped, one delivery
//! with its attempts, retry and recover.
//!
//! Deliveries are seeded through the ports before the service starts and driven to their status
//! the way the delivery worker would (claim, then record an attempt), so the service's own worker
//! never races a seed: every seeded delivery is either final, claimed for an hour, or due in an
//! hour. Accounts forward to a closed port, so a replayed delivery the worker picks up reaches
//! nothing and is only rescheduled (never `failed` again: the default schedule has ten retries);
//! only the test of the worker's wake-up forwards to a fake CRM (wiremock) that accepts.

use std::time::Duration;

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use app_http::api_keys;
use app_http::clock::SystemClock;
use domain::ports::{Clock, DeliveryQueue, MessageStore};
use domain::{
    Account, AccountId, CrmDelivery, CrmEventType, DeliveryAttempt, DeliveryNext, DeliveryStatus,
    Direction, EventDetails, EventId, EventKind, InboundRecord, InstagramId, InstagramMessageId,
    Message, Timestamp,
};
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{TestApp, config, config_with};
use crate::webhook_support::{CRM_URL, seed_account_with_crm};

backend_tests!(
    listings_filter_by_status_and_account,
    listings_are_cursor_paginated,
    a_scoped_key_sees_only_its_accounts_deliveries,
    a_delivery_shows_its_payload_and_attempts,
    only_failed_deliveries_can_be_retried,
    recover_replays_one_accounts_failed_deliveries_in_the_window,
    bad_queries_and_bodies_are_refused_naming_the_field,
    every_call_needs_a_key,
    replays_are_delivered_at_once_without_waiting_for_a_poll,
);

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);
/// How long a seeded `delivering` delivery stays claimed: longer than any test.
const LEASE: Duration = HOUR;

/// A client holding one `Authorization` header (or none).
struct Api<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    authorization: Option<String>,
}

impl<'a> Api<'a> {
    /// A client with a new key that sees `scope` (every account when empty).
    async fn with_key(app: &'a TestApp, test: &TestDb, scope: Vec<AccountId>) -> Self {
        let key = api_keys::create(&test.db, &test.db, &SystemClock, "crm".into(), scope)
            .await
            .unwrap();
        Self::with_header(app, Some(format!("Bearer {}", key.secret.expose_secret())))
    }

    fn with_header(app: &'a TestApp, authorization: Option<String>) -> Self {
        Self {
            app,
            client: reqwest::Client::new(),
            authorization,
        }
    }

    /// `method path`, with `body` as JSON when given; the status and the answer's JSON.
    async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.app.address));
        if let Some(value) = &self.authorization {
            request = request.header("authorization", value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        if status == 401 {
            assert_eq!(response.headers()["www-authenticate"], "Bearer", "{path}");
        }
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: {text}"));
        (status, json)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(Method::GET, path, None).await
    }

    /// `GET path`, asserting `200`; the ids of the page and its `next_cursor`.
    async fn list(&self, path: &str) -> (Vec<String>, Option<String>) {
        let (status, page) = self.get(path).await;
        assert_eq!(status, 200, "{path}: {page}");
        let ids = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|delivery| delivery["id"].as_str().unwrap().to_owned())
            .collect();
        (ids, page["next_cursor"].as_str().map(str::to_owned))
    }

    async fn retry(&self, id: &str) -> (u16, Value) {
        let path = format!("/api/v1/deliveries/{id}/retry");
        self.call(Method::POST, &path, None).await
    }

    async fn recover(&self, body: &Value) -> (u16, Value) {
        self.call(Method::POST, "/api/v1/deliveries/recover", Some(body))
            .await
    }
}

/// What the seeded CRM answered to an attempt.
struct Answer {
    http_status: Option<u16>,
    error: Option<&'static str>,
    excerpt: Option<&'static str>,
}

const ACCEPTED: Answer = Answer {
    http_status: Some(200),
    error: None,
    excerpt: Some("ok"),
};
const UNAVAILABLE: Answer = Answer {
    http_status: Some(503),
    error: Some("crm answered 503"),
    excerpt: Some("maintenance ✗"),
};

fn now() -> Timestamp {
    SystemClock.now()
}

/// The body stored for a delivery: what the CRM would receive.
fn payload(id: &EventId, account: &Account, created_at: Timestamp) -> Value {
    json!({
        "event": "message.received",
        "event_id": id.as_str(),
        "account_id": account.id.as_str(),
        "instagram_account_id": account.instagram_account_id.as_str(),
        "message_id": format!("mid-{id}"),
        "sender_id": "1234567890",
        "recipient_id": account.instagram_account_id.as_str(),
        "message": "Привет! Hello ✓",
        "attachments": [],
        "timestamp": created_at.to_rfc3339(),
    })
}

/// Stores an inbound message of `account` received at `created_at` and its pending delivery,
/// due then; the delivery's id.
pub(crate) async fn queue(test: &TestDb, account: &Account, created_at: Timestamp) -> EventId {
    let id = app_http::random::event_id().unwrap();
    let customer = InstagramId::parse("sender_id", "1234567890").unwrap();
    let mid = format!("mid-{id}");
    let message = Message {
        id: app_http::random::message_id().unwrap(),
        account_id: Some(account.id.clone()),
        instagram_account_id: account.instagram_account_id.clone(),
        event_key: Message::event_key_for(
            EventKind::Message,
            Some(&mid),
            customer.as_str(),
            created_at,
            "",
        ),
        direction: Direction::Inbound,
        kind: EventKind::Message,
        instagram_message_id: Some(InstagramMessageId::parse("mid", &mid).unwrap()),
        participant_id: customer.clone(),
        sender_id: customer,
        recipient_id: account.instagram_account_id.clone(),
        text: Some("Привет! Hello ✓".to_owned()),
        attachments: Vec::new(),
        details: EventDetails::default(),
        outbound_message_id: None,
        occurred_at: created_at,
        received_at: created_at,
    };
    let delivery = CrmDelivery::new_pending(
        id.clone(),
        account.id.clone(),
        CrmEventType::MessageReceived,
        Some(message.id.clone()),
        format!("msg:{mid}"),
        payload(&id, account, created_at).to_string(),
        created_at,
    );
    test.db
        .ingest(vec![InboundRecord {
            message,
            delivery: Some(delivery),
            auto_reply: None,
        }])
        .await
        .unwrap();
    id
}

/// Claims `id` at `at` as the worker would (asserting nothing else is due) and, unless `next` is
/// `None`, records attempt `number` with `answer` and `next`.
async fn attempt(
    test: &TestDb,
    id: &EventId,
    number: u32,
    at: Timestamp,
    answer: &Answer,
    next: Option<DeliveryNext>,
) {
    let claimed = test
        .db
        .claim_due_deliveries(at, 10, LEASE, &[])
        .await
        .unwrap();
    let claimed: Vec<&EventId> = claimed.iter().map(|delivery| &delivery.id).collect();
    assert_eq!(claimed, vec![id], "only the seeded delivery is due");
    let Some(next) = next else { return };
    let attempt = DeliveryAttempt {
        number,
        started_at: at,
        http_status: answer.http_status,
        latency_ms: 120,
        error: answer.error.map(str::to_owned),
        response_excerpt: answer.excerpt.map(str::to_owned),
    };
    test.db
        .record_delivery_attempt(id, &attempt, next, at)
        .await
        .unwrap();
}

/// A delivery of `account` created `age` ago, driven to `status` by one attempt (`pending`: due
/// again in an hour; `delivering`: claimed for [`LEASE`]).
async fn seed(test: &TestDb, account: &Account, age: Duration, status: DeliveryStatus) -> String {
    let id = queue(test, account, now().minus(age)).await;
    let (answer, next) = match status {
        DeliveryStatus::Pending => (&UNAVAILABLE, Some(DeliveryNext::RetryAt(now().plus(HOUR)))),
        DeliveryStatus::Delivering => (&UNAVAILABLE, None),
        DeliveryStatus::Delivered => (&ACCEPTED, Some(DeliveryNext::Delivered)),
        DeliveryStatus::Failed => (&UNAVAILABLE, Some(DeliveryNext::Dead)),
    };
    attempt(test, &id, 1, now(), answer, next).await;
    id.to_string()
}

async fn account(test: &TestDb, instagram_id: &str) -> Account {
    let config = config(&test.url);
    seed_account_with_crm(&test.db, &config, instagram_id, Some(CRM_URL)).await
}

/// The stored status of `id`, read through the port.
async fn stored_status(test: &TestDb, id: &str) -> DeliveryStatus {
    let id = EventId::parse(id).unwrap();
    test.db
        .delivery(&id)
        .await
        .unwrap()
        .unwrap()
        .delivery
        .status
}

fn ids(list: &[&String]) -> Vec<String> {
    list.iter().map(|id| (*id).clone()).collect()
}

async fn listings_filter_by_status_and_account(test: TestDb) {
    let alpha = account(&test, "1001").await;
    let beta = account(&test, "1002").await;
    let pending = seed(&test, &alpha, 5 * HOUR, DeliveryStatus::Pending).await;
    let delivering = seed(&test, &alpha, 4 * HOUR, DeliveryStatus::Delivering).await;
    let delivered = seed(&test, &alpha, 3 * HOUR, DeliveryStatus::Delivered).await;
    let failed = seed(&test, &alpha, 2 * HOUR, DeliveryStatus::Failed).await;
    let other = seed(&test, &beta, HOUR, DeliveryStatus::Failed).await;
    let app = TestApp::spawn(config(&test.url)).await;
    let api = Api::with_key(&app, &test, Vec::new()).await;
    let (a, b) = (alpha.id.as_str(), beta.id.as_str());

    for (query, expected) in [
        (
            String::new(),
            ids(&[&other, &failed, &delivered, &delivering, &pending]),
        ),
        ("status=failed".to_owned(), ids(&[&other, &failed])),
        (format!("status=failed&account_id={a}"), ids(&[&failed])),
        (format!("account_id={b}"), ids(&[&other])),
        (
            format!("account_id={a}"),
            ids(&[&failed, &delivered, &delivering, &pending]),
        ),
        (format!("status=pending&account_id={a}"), ids(&[&pending])),
        ("status=delivering".to_owned(), ids(&[&delivering])),
        ("status=delivered".to_owned(), ids(&[&delivered])),
        (format!("status=pending&account_id={b}"), Vec::new()),
        ("account_id=acc_zzzzzzzzzzzz".to_owned(), Vec::new()),
    ] {
        let (listed, next) = api.list(&format!("/api/v1/deliveries?{query}")).await;
        assert_eq!(listed, expected, "{query}");
        assert_eq!(next, None, "{query}");
    }

    let (_, page) = api.get("/api/v1/deliveries?status=delivering").await;
    let item = &page["data"][0];
    assert_eq!(item["status"], "delivering");
    assert_eq!(item["attempt_count"], 1);
    assert!(
        item["next_attempt_at"].is_string(),
        "the claim's end: {item}"
    );
    assert!(item.get("attempts").is_none(), "listings omit attempts");
    let (_, page) = api.get("/api/v1/deliveries?status=pending").await;
    assert_eq!(page["data"][0]["last_error"], "crm answered 503");
    app.stop().await.unwrap();
}

async fn listings_are_cursor_paginated(test: TestDb) {
    let alpha = account(&test, "2001").await;
    let mut failed = Vec::new();
    for n in 0..5_u32 {
        let age = Duration::from_secs(600 * u64::from(n + 1));
        failed.push(seed(&test, &alpha, age, DeliveryStatus::Failed).await);
        // A delivered one between each pair: the status filter must hold across pages.
        seed(&test, &alpha, age + HOUR, DeliveryStatus::Delivered).await;
    }
    let app = TestApp::spawn(config(&test.url)).await;
    let api = Api::with_key(&app, &test, Vec::new()).await;

    let mut seen = Vec::new();
    let mut path = "/api/v1/deliveries?status=failed&limit=2".to_owned();
    loop {
        let (page, next) = api.list(&path).await;
        assert!(page.len() <= 2, "{path}");
        seen.extend(page);
        match next {
            Some(cursor) => {
                path = format!("/api/v1/deliveries?status=failed&limit=2&cursor={cursor}");
            }
            None => break,
        }
    }
    assert_eq!(seen, failed, "every failed delivery once, newest first");
    let (everything, next) = api.list("/api/v1/deliveries?limit=200").await;
    assert_eq!((everything.len(), next), (10, None));
    app.stop().await.unwrap();
}

async fn a_scoped_key_sees_only_its_accounts_deliveries(test: TestDb) {
    let alpha = account(&test, "3001").await;
    let beta = account(&test, "3002").await;
    let mine = seed(&test, &alpha, 2 * HOUR, DeliveryStatus::Failed).await;
    let theirs = seed(&test, &beta, HOUR, DeliveryStatus::Failed).await;
    let app = TestApp::spawn(config(&test.url)).await;
    let scoped = Api::with_key(&app, &test, vec![alpha.id.clone()]).await;

    let (listed, _) = scoped.list("/api/v1/deliveries").await;
    assert_eq!(listed, vec![mine.clone()]);
    let (listed, _) = scoped
        .list(&format!("/api/v1/deliveries?account_id={}", beta.id))
        .await;
    assert!(
        listed.is_empty(),
        "a filter outside the scope lists nothing"
    );

    let (status, body) = scoped.get(&format!("/api/v1/deliveries/{mine}")).await;
    assert_eq!((status, body["id"].as_str()), (200, Some(mine.as_str())));
    for id in [
        theirs.as_str(),
        "evt_zzzzzzzzzzzz",
        "nope",
        "EVT_AAAAAAAAAAAA",
        alpha.id.as_str(),
    ] {
        let (status, body) = scoped.get(&format!("/api/v1/deliveries/{id}")).await;
        assert_eq!(status, 404, "{id}: {body}");
        assert_eq!(body["error"]["code"], "not_found", "{id}");
        let (status, _) = scoped.retry(id).await;
        assert_eq!(status, 404, "retry {id}");
    }
    let (status, body) = scoped
        .recover(&json!({"account_id": beta.id, "since": now().minus(DAY).to_rfc3339()}))
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        stored_status(&test, &theirs).await,
        DeliveryStatus::Failed,
        "another tenant's delivery was left alone"
    );
    let (status, body) = scoped
        .recover(&json!({"account_id": alpha.id, "since": now().minus(DAY).to_rfc3339()}))
        .await;
    assert_eq!(
        (status, body),
        (202, json!({"count": 1})),
        "its own account"
    );
    app.stop().await.unwrap();
}

async fn a_delivery_shows_its_payload_and_attempts(test: TestDb) {
    let alpha = account(&test, "4001").await;
    let created = now().minus(2 * HOUR);
    let id = queue(&test, &alpha, created).await;
    let first = now().minus(HOUR);
    let second = now().minus(HOUR / 2);
    attempt(
        &test,
        &id,
        1,
        first,
        &UNAVAILABLE,
        Some(DeliveryNext::RetryAt(second)),
    )
    .await;
    let timeout = Answer {
        http_status: None,
        error: Some("timed out after 15s"),
        excerpt: None,
    };
    attempt(&test, &id, 2, second, &timeout, Some(DeliveryNext::Dead)).await;
    let stored = test.db.delivery(&id).await.unwrap().unwrap().delivery;
    let app = TestApp::spawn(config(&test.url)).await;
    let api = Api::with_key(&app, &test, Vec::new()).await;

    let (status, body) = api.get(&format!("/api/v1/deliveries/{id}")).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({
            "id": id.as_str(),
            "account_id": alpha.id.as_str(),
            "event": "message.received",
            "message_id": stored.message_id.as_ref().unwrap().as_str(),
            "status": "failed",
            "attempt_count": 2,
            "next_attempt_at": null,
            "last_error": "timed out after 15s",
            "created_at": created.to_rfc3339(),
            "updated_at": second.to_rfc3339(),
            "delivered_at": null,
            "request_id": null,
            "payload": payload(&id, &alpha, created),
            "attempts": [
                {
                    "number": 1,
                    "started_at": first.to_rfc3339(),
                    "http_status": 503,
                    "latency_ms": 120,
                    "error": "crm answered 503",
                    "response_excerpt": "maintenance ✗",
                },
                {
                    "number": 2,
                    "started_at": second.to_rfc3339(),
                    "http_status": null,
                    "latency_ms": 120,
                    "error": "timed out after 15s",
                    "response_excerpt": null,
                },
            ],
        })
    );
    assert!(
        body["message_id"].as_str().unwrap().starts_with("msg_"),
        "igrouter's message id, not Meta's"
    );
    let (_, page) = api.get("/api/v1/deliveries").await;
    let mut listed = body.clone();
    listed.as_object_mut().unwrap().remove("attempts");
    assert_eq!(
        page["data"][0], listed,
        "the listing shows the same delivery"
    );
    app.stop().await.unwrap();
}

async fn only_failed_deliveries_can_be_retried(test: TestDb) {
    let alpha = account(&test, "5001").await;
    let failed = seed(&test, &alpha, 4 * HOUR, DeliveryStatus::Failed).await;
    let others = [
        (
            seed(&test, &alpha, 3 * HOUR, DeliveryStatus::Pending).await,
            DeliveryStatus::Pending,
        ),
        (
            seed(&test, &alpha, 2 * HOUR, DeliveryStatus::Delivering).await,
            DeliveryStatus::Delivering,
        ),
        (
            seed(&test, &alpha, HOUR, DeliveryStatus::Delivered).await,
            DeliveryStatus::Delivered,
        ),
    ];
    let app = TestApp::spawn(config(&test.url)).await;
    let api = Api::with_key(&app, &test, Vec::new()).await;

    let before = now();
    let (status, body) = api.retry(&failed).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["id"], failed.as_str());
    assert_eq!(body["status"], "pending");
    assert_eq!(body["attempt_count"], 1, "the attempts made stay counted");
    assert!(body.get("attempts").is_none());
    let due = body["next_attempt_at"].as_str().unwrap();
    let due = chrono::DateTime::parse_from_rfc3339(due).unwrap();
    assert!(
        Timestamp::from(due.with_timezone(&chrono::Utc)) >= before.minus(Duration::from_millis(1)),
        "due now: {body}"
    );
    assert!(body["payload"].is_object());
    assert_ne!(
        stored_status(&test, &failed).await,
        DeliveryStatus::Failed,
        "queued again (and maybe already picked up by the worker)"
    );

    let (status, body) = api.retry(&failed).await;
    assert_eq!(
        status, 409,
        "a replayed delivery is no longer failed: {body}"
    );
    for (id, status_before) in others {
        let (status, body) = api.retry(&id).await;
        assert_eq!(status, 409, "{status_before:?}: {body}");
        assert_eq!(body["error"]["code"], "delivery_not_failed");
        assert_eq!(stored_status(&test, &id).await, status_before);
    }
    let (status, body) = api.retry("evt_zzzzzzzzzzzz").await;
    assert_eq!((status, &body["error"]["code"]), (404, &json!("not_found")));
    let (status, _) = api.get(&format!("/api/v1/deliveries/{failed}/retry")).await;
    assert_eq!(status, 405);
    app.stop().await.unwrap();
}

async fn recover_replays_one_accounts_failed_deliveries_in_the_window(test: TestDb) {
    let alpha = account(&test, "6001").await;
    let beta = account(&test, "6002").await;
    let mut in_window = Vec::new();
    for days in [1, 3, 6] {
        in_window.push(seed(&test, &alpha, days * DAY, DeliveryStatus::Failed).await);
    }
    let older = seed(&test, &alpha, 10 * DAY, DeliveryStatus::Failed).await;
    let oldest = seed(&test, &alpha, 20 * DAY, DeliveryStatus::Failed).await;
    let delivered = seed(&test, &alpha, 2 * DAY, DeliveryStatus::Delivered).await;
    let pending = seed(&test, &alpha, 2 * DAY, DeliveryStatus::Pending).await;
    let theirs = seed(&test, &beta, 2 * DAY, DeliveryStatus::Failed).await;
    let app = TestApp::spawn(config(&test.url)).await;
    let api = Api::with_key(&app, &test, Vec::new()).await;
    let week_ago = now().minus(7 * DAY).to_rfc3339();

    let (status, body) = api
        .recover(&json!({"account_id": alpha.id, "since": week_ago}))
        .await;

    assert_eq!((status, body), (202, json!({"count": 3})));
    for id in &in_window {
        assert_ne!(
            stored_status(&test, id).await,
            DeliveryStatus::Failed,
            "{id}"
        );
    }
    let (still_failed, _) = api
        .list(&format!(
            "/api/v1/deliveries?status=failed&account_id={}",
            alpha.id
        ))
        .await;
    assert_eq!(still_failed, vec![older.clone(), oldest.clone()]);
    assert_eq!(
        stored_status(&test, &theirs).await,
        DeliveryStatus::Failed,
        "only the named account's"
    );
    assert_eq!(
        stored_status(&test, &delivered).await,
        DeliveryStatus::Delivered
    );
    assert_eq!(
        stored_status(&test, &pending).await,
        DeliveryStatus::Pending
    );

    let earlier = json!({
        "account_id": alpha.id,
        "since": now().minus(21 * DAY).to_rfc3339(),
        "until": now().minus(9 * DAY).to_rfc3339(),
    });
    let (status, body) = api.recover(&earlier).await;
    assert_eq!((status, body), (202, json!({"count": 2})));
    let (status, body) = api.recover(&earlier).await;
    assert_eq!(
        (status, body),
        (202, json!({"count": 0})),
        "nothing failed is left there"
    );

    let (status, body) = api
        .recover(&json!({"account_id": "acc_zzzzzzzzzzzz", "since": week_ago}))
        .await;
    assert_eq!(status, 404, "an unknown account: {body}");
    app.stop().await.unwrap();
}

async fn bad_queries_and_bodies_are_refused_naming_the_field(test: TestDb) {
    let alpha = account(&test, "7001").await;
    let failed = seed(&test, &alpha, DAY, DeliveryStatus::Failed).await;
    let app = TestApp::spawn(config(&test.url)).await;
    let api = Api::with_key(&app, &test, Vec::new()).await;

    for (query, field) in [
        ("status=dead", "status"),
        ("status=", "status"),
        ("status=FAILED", "status"),
        ("account_id=nope", "account_id"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("cursor=garbage", "cursor"),
    ] {
        let (status, body) = api.get(&format!("/api/v1/deliveries?{query}")).await;
        assert_eq!(status, 422, "{query}: {body}");
        assert_eq!(body["error"]["code"], "validation_failed", "{query}");
        assert_eq!(body["error"]["details"]["field"], field, "{query}");
    }
    let (status, body) = api.get("/api/v1/deliveries?limit=many").await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &json!("bad_request"))
    );

    let a = alpha.id.as_str();
    let at = |age: Duration| now().minus(age).to_rfc3339();
    for (body, field) in [
        (json!({"since": at(DAY)}), "account_id"),
        (
            json!({"account_id": "nope", "since": at(DAY)}),
            "account_id",
        ),
        (json!({"account_id": a}), "since"),
        (json!({"account_id": a, "since": "yesterday"}), "since"),
        (json!({"account_id": a, "since": at(15 * DAY)}), "since"),
        (
            json!({"account_id": a, "since": at(20 * DAY), "until": at(5 * DAY)}),
            "since",
        ),
        (
            json!({"account_id": a, "since": at(DAY), "until": at(2 * DAY)}),
            "until",
        ),
        (
            json!({"account_id": a, "since": at(DAY), "until": 5}),
            "until",
        ),
    ] {
        let (status, answer) = api.recover(&body).await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert_eq!(
            answer["error"]["details"]["field"], field,
            "{body}: {answer}"
        );
    }
    let (status, answer) = api
        .recover(&json!({"account_id": a, "since": at(DAY), "window": "all"}))
        .await;
    assert_eq!(status, 422, "an unknown member: {answer}");
    assert_eq!(
        stored_status(&test, &failed).await,
        DeliveryStatus::Failed,
        "no refused recover replayed anything"
    );
    app.stop().await.unwrap();
}

async fn every_call_needs_a_key(test: TestDb) {
    let alpha = account(&test, "8001").await;
    let failed = seed(&test, &alpha, DAY, DeliveryStatus::Failed).await;
    let app = TestApp::spawn(config(&test.url)).await;
    // A key exists, so development's any-token rule is off.
    Api::with_key(&app, &test, Vec::new()).await;
    let recover = json!({"account_id": alpha.id, "since": "garbage"});

    for api in [
        Api::with_header(&app, None),
        Api::with_header(&app, Some("Bearer igr_unknown".to_owned())),
    ] {
        for (method, path, body) in [
            (Method::GET, "/api/v1/deliveries".to_owned(), None),
            (
                Method::GET,
                "/api/v1/deliveries?status=dead".to_owned(),
                None,
            ),
            (Method::GET, format!("/api/v1/deliveries/{failed}"), None),
            (
                Method::POST,
                format!("/api/v1/deliveries/{failed}/retry"),
                None,
            ),
            (
                Method::POST,
                "/api/v1/deliveries/recover".to_owned(),
                Some(&recover),
            ),
        ] {
            let (status, body) = api.call(method, &path, body).await;
            assert_eq!(status, 401, "{path}: {body}");
            assert_eq!(body["error"]["code"], "unauthorized");
        }
    }
    assert_eq!(stored_status(&test, &failed).await, DeliveryStatus::Failed);
    app.stop().await.unwrap();
}

/// Retry and recover ring this instance's worker: with polling an hour apart, a replay reaches
/// the CRM at once only because of the ring.
async fn replays_are_delivered_at_once_without_waiting_for_a_poll(test: TestDb) {
    let crm = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/crm"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&crm)
        .await;
    let settings = config(&test.url);
    let url = format!("{}/crm", crm.uri());
    let alpha = seed_account_with_crm(&test.db, &settings, "9001", Some(&url)).await;
    let retried = seed(&test, &alpha, DAY, DeliveryStatus::Failed).await;
    let recovered = seed(&test, &alpha, 2 * DAY, DeliveryStatus::Failed).await;
    let app = TestApp::spawn(config_with(&test.url, &[("CRM_POLL_INTERVAL", "1h")])).await;
    let api = Api::with_key(&app, &test, Vec::new()).await;

    let (status, _) = api.retry(&retried).await;
    assert_eq!(status, 202);
    delivered_soon(&test, &retried).await;
    let (status, body) = api
        .recover(&json!({"account_id": alpha.id, "since": now().minus(3 * DAY).to_rfc3339()}))
        .await;
    assert_eq!((status, body), (202, json!({"count": 1})));
    delivered_soon(&test, &recovered).await;

    let received = crm.received_requests().await.unwrap();
    let ids: Vec<Value> = received
        .iter()
        .map(|request| serde_json::from_slice::<Value>(&request.body).unwrap()["event_id"].clone())
        .collect();
    assert_eq!(
        ids,
        vec![json!(retried), json!(recovered)],
        "each once, as stored"
    );
    app.stop().await.unwrap();
}

/// Waits up to 10 s (far below the hour between polls) for `id` to be delivered.
async fn delivered_soon(test: &TestDb, id: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while stored_status(test, id).await != DeliveryStatus::Delivered {
        assert!(
            std::time::Instant::now() < deadline,
            "{id} was not delivered after the ring"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

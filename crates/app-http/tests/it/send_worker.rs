//! The send worker against a real fake Graph API (wiremock) on every backend: what Meta
//! receives, the outcome recorded and reported to the CRM, `Prefer: wait` woken by the worker,
//! retries, permanent errors, a rejected token, an unknown outcome never resent, throttling
//! holding back only its account, and the per-account pace.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use app_http::Config;
use domain::ports::{AccountStore, OutboundQueue};
use domain::{Account, AccountChanges, CrmEventType, DeliveryStatus, MessageId, OutboundStatus};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::helpers::{TestApp, config_with, counted};
use crate::send_api::Api;
use crate::webhook_support::{deliveries, payload, seed_account_with_crm};

backend_tests!(
    a_send_reaches_meta_and_its_outcome_reaches_the_crm,
    retryable_errors_are_retried_until_sent,
    a_permanent_error_fails_at_once_with_its_code,
    a_rejected_token_marks_the_account_and_stops_its_sends,
    an_unknown_outcome_is_never_resent,
    throttling_holds_back_only_its_account,
    an_accounts_sends_keep_to_its_pace,
);

const MESSAGES_PATH: &str = "/v21.0/me/messages";

fn graph_config(url: &str, graph: &MockServer, extra: &[(&str, &str)]) -> Config {
    let mut pairs = vec![
        ("GRAPH_API_BASE_URL", graph.uri()),
        ("SEND_RETRY_SCHEDULE", "100ms,100ms".to_owned()),
        ("CRM_POLL_INTERVAL", "100ms".to_owned()),
    ];
    pairs.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    config_with(url, &pairs)
}

fn sent(mid: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"recipient_id": "5", "message_id": mid}))
}

/// Answers every send with a new `mid` (`m.<prefix>.<n>`), as Meta does.
fn sent_each(prefix: &'static str) -> impl Fn(&Request) -> ResponseTemplate + Send + Sync {
    let count = AtomicUsize::new(0);
    move |_: &Request| {
        sent(&format!(
            "m.{prefix}.{}",
            count.fetch_add(1, Ordering::Relaxed)
        ))
    }
}

fn graph_error(status: u16, code: i64, subcode: Option<i64>, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"error": {
        "message": message, "type": "OAuthException", "code": code,
        "error_subcode": subcode, "fbtrace_id": "AbC"
    }}))
}

/// Polls the status endpoint until the message is final; its JSON.
async fn final_status(api: &Api, id: &str) -> Value {
    let path = format!("/api/v1/messages/{id}/status");
    let start = Instant::now();
    loop {
        let answer = api.get(&path).await;
        let status = answer.json["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if status == "sent" || status == "failed" {
            return answer.json;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "still {status}: {}\n{}",
            answer.json,
            crate::helpers::captured_logs()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn graph_requests(graph: &MockServer) -> Vec<Request> {
    graph
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == MESSAGES_PATH)
        .collect()
}

async fn a_send_reaches_meta_and_its_outcome_reaches_the_crm(test: TestDb) {
    let graph = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .and(header("authorization", "Bearer token"))
        .and(body_partial_json(
            json!({"recipient": {"id": "5"}, "message": {"text": "héllo"}}),
        ))
        .respond_with(sent("m.sent.1").set_delay(Duration::from_millis(200)))
        .mount(&graph)
        .await;
    let crm = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&crm)
        .await;
    let config = graph_config(&test.url, &graph, &[]);
    let crm_url = format!("{}/crm", crm.uri());
    let account = seed_account_with_crm(&test.db, &config, "1001", Some(&crm_url)).await;
    let app = TestApp::spawn(config).await;
    let api = Api::new(&app, &test, Vec::new()).await;

    // `Prefer: wait` is answered as soon as the worker finishes, not at the deadline.
    let started = Instant::now();
    let answer = api
        .send(
            &json!({"account_id": account.id, "recipient_id": "5", "message": "héllo"}),
            &[("prefer", "wait=10")],
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(answer.json["status"], "sent");
    assert_eq!(answer.json["instagram_message_id"], "m.sent.1");
    assert_eq!(answer.json["attempts"], 1);
    assert_eq!(graph_requests(&graph).await.len(), 1);

    let id = answer.json["message_id"].as_str().unwrap().to_owned();
    let start = Instant::now();
    let delivery = loop {
        let found = deliveries(&test)
            .await
            .into_iter()
            .find(|d| d.event_type == CrmEventType::OutboundSent);
        if let Some(delivery) = found.filter(|d| d.status == DeliveryStatus::Delivered) {
            break delivery;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no outbound.sent delivered"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(
        delivery.message_id.as_ref().map(MessageId::as_str),
        Some(id.as_str())
    );
    let body = payload(&delivery);
    assert_eq!(body["event"], "outbound.sent");
    assert_eq!(body["message_id"], id.as_str());
    assert_eq!(body["instagram_message_id"], "m.sent.1");
    assert_eq!(body["message"], "héllo");
    let received = crm.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].body, delivery.payload.as_bytes());
    assert!(counted(|| app.send_metrics.snapshot().sent == 1).await);
}

async fn retryable_errors_are_retried_until_sent(test: TestDb) {
    let graph = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(graph_error(500, 2, None, "Service temporarily unavailable"))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&graph)
        .await;
    Mock::given(method("POST"))
        .respond_with(sent("m.retried"))
        .with_priority(2)
        .mount(&graph)
        .await;
    let config = graph_config(&test.url, &graph, &[]);
    let account = seed_account_with_crm(&test.db, &config, "1001", None).await;
    let app = TestApp::spawn(config).await;
    let api = Api::new(&app, &test, Vec::new()).await;

    let id = api.send_text(&account, "5", "again?").await;
    let status = final_status(&api, &id).await;

    assert_eq!(status["status"], "sent");
    assert_eq!(status["attempts"], 3);
    assert_eq!(status["instagram_message_id"], "m.retried");
    assert_eq!(graph_requests(&graph).await.len(), 3);
    assert!(
        counted(|| {
            let metrics = app.send_metrics.snapshot();
            (metrics.retried, metrics.sent) == (2, 1) && metrics.error_codes.get(&2) == Some(&2)
        })
        .await
    );
}

async fn a_permanent_error_fails_at_once_with_its_code(test: TestDb) {
    let graph = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(graph_error(
            400,
            10,
            Some(2_018_278),
            "This message is sent outside of allowed window.",
        ))
        .mount(&graph)
        .await;
    let crm = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&crm)
        .await;
    let config = graph_config(&test.url, &graph, &[]);
    let crm_url = format!("{}/crm", crm.uri());
    let account = seed_account_with_crm(&test.db, &config, "1001", Some(&crm_url)).await;
    let app = TestApp::spawn(config).await;
    let api = Api::new(&app, &test, Vec::new()).await;

    let id = api.send_text(&account, "5", "too late").await;
    let status = final_status(&api, &id).await;

    assert_eq!(status["status"], "failed");
    assert_eq!(status["error_code"], 10);
    assert_eq!(status["attempts"], 1);
    assert!(status["error_message"].as_str().unwrap().contains("window"));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(graph_requests(&graph).await.len(), 1, "not retried");
    let start = Instant::now();
    while crm.received_requests().await.unwrap().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no outbound.failed"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let received = crm.received_requests().await.unwrap();
    let body: Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!(body["event"], "outbound.failed");
    assert_eq!(body["error_code"], 10);
}

async fn a_rejected_token_marks_the_account_and_stops_its_sends(test: TestDb) {
    let graph = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(graph_error(
            401,
            190,
            Some(463),
            "Error validating access token",
        ))
        .mount(&graph)
        .await;
    let config = graph_config(&test.url, &graph, &[]);
    let account = seed_account_with_crm(&test.db, &config, "1001", None).await;
    let app = TestApp::spawn(config).await;
    let api = Api::new(&app, &test, Vec::new()).await;

    let first = api.send_text(&account, "5", "one").await;
    let status = final_status(&api, &first).await;
    assert_eq!(
        (status["status"].as_str(), status["error_code"].as_i64()),
        (Some("failed"), Some(190))
    );
    let shown = api.get(&format!("/api/v1/accounts/{}", account.id)).await;
    assert_eq!(shown.json["token_invalid"], true, "{}", shown.text);

    // Later sends fail at once, without bothering Meta, until the token is replaced.
    let second = api.send_text(&account, "5", "two").await;
    let status = final_status(&api, &second).await;
    assert_eq!(status["error_code"], 190);
    assert!(status["error_message"].as_str().unwrap().contains("PATCH"));
    assert_eq!(graph_requests(&graph).await.len(), 1);
    let stored = test.db.account(&account.id).await.unwrap().unwrap();
    assert!(stored.token_invalid_since.is_some());
}

async fn an_unknown_outcome_is_never_resent(test: TestDb) {
    let graph = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(sent("m.late").set_delay(Duration::from_secs(3)))
        .mount(&graph)
        .await;
    let config = graph_config(&test.url, &graph, &[("HTTP_TIMEOUT", "500ms")]);
    let account = seed_account_with_crm(&test.db, &config, "1001", None).await;
    let app = TestApp::spawn(config).await;
    let api = Api::new(&app, &test, Vec::new()).await;

    let id = api.send_text(&account, "5", "did it arrive?").await;
    let status = final_status(&api, &id).await;

    assert_eq!(status["status"], "failed");
    assert_eq!(status["error_code"], Value::Null);
    assert!(
        status["error_message"]
            .as_str()
            .unwrap()
            .starts_with("outcome unknown"),
        "{status}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(graph_requests(&graph).await.len(), 1, "never sent twice");
    assert!(counted(|| app.send_metrics.snapshot().outcome_unknown == 1).await);
}

async fn throttling_holds_back_only_its_account(test: TestDb) {
    let graph = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("authorization", "Bearer token-busy"))
        .respond_with(
            graph_error(
                400,
                613,
                None,
                "Calls to this api have exceeded the rate limit.",
            )
            .insert_header("retry-after", "1"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&graph)
        .await;
    Mock::given(method("POST"))
        .respond_with(sent_each("ok"))
        .with_priority(2)
        .mount(&graph)
        .await;
    let config = graph_config(&test.url, &graph, &[("SEND_RETRY_SCHEDULE", "100ms")]);
    let busy = crate::helpers::seed_account(&test.db, &config, "1001", "token-busy").await;
    let calm = crate::helpers::seed_account(&test.db, &config, "1002", "token-calm").await;
    let app = TestApp::spawn(config).await;
    let api = Api::new(&app, &test, Vec::new()).await;

    let throttled = api.send_text(&busy, "5", "first").await;
    // Wait until Meta throttled the busy account.
    let start = Instant::now();
    while graph_requests(&graph).await.is_empty() {
        assert!(start.elapsed() < Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let held_at = Instant::now();
    let calm_id = api.send_text(&calm, "5", "unaffected").await;
    let busy_next = api.send_text(&busy, "6", "second").await;

    let calm_status = final_status(&api, &calm_id).await;
    let calm_done = held_at.elapsed();
    assert_eq!(calm_status["status"], "sent");
    assert!(
        calm_done < Duration::from_millis(900),
        "the other account waited {calm_done:?}"
    );
    for id in [&throttled, &busy_next] {
        let status = final_status(&api, id).await;
        assert_eq!(status["status"], "sent", "{status}");
    }
    // The busy account's sends waited for Meta's back-off (Retry-After: 1), not just the
    // 100 ms schedule.
    assert!(
        held_at.elapsed() >= Duration::from_millis(800),
        "{:?}",
        held_at.elapsed()
    );
    let stored = test
        .db
        .outbound(&MessageId::parse(&throttled).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, OutboundStatus::Sent);
    assert_eq!(stored.attempts, 2);
}

async fn an_accounts_sends_keep_to_its_pace(test: TestDb) {
    let graph = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(sent_each("paced"))
        .mount(&graph)
        .await;
    let config = graph_config(&test.url, &graph, &[]);
    let account: Account = seed_account_with_crm(&test.db, &config, "1001", None).await;
    let changes = AccountChanges {
        send_rate_per_second: Some(5),
        ..AccountChanges::default()
    };
    test.db
        .update_account(&account.id, changes, account.updated_at)
        .await
        .unwrap();
    let app = TestApp::spawn(config).await;
    let api = Api::new(&app, &test, Vec::new()).await;

    let mut ids = Vec::new();
    for n in 0..8 {
        ids.push(api.send_text(&account, "5", &format!("paced {n}")).await);
    }
    for id in &ids {
        assert_eq!(final_status(&api, id).await["status"], "sent");
    }
    // Meta saw the calls no faster than 5 per second: 8 calls span at least 7 × 200 ms.
    let requests = graph_requests(&graph).await;
    assert_eq!(requests.len(), 8);
    let sent_at: Vec<i64> = test_times(&test, &ids).await;
    let span = sent_at.iter().max().unwrap() - sent_at.iter().min().unwrap();
    assert!(span >= 1_300, "8 sends at 5/s took only {span} ms");
}

/// When each message was last updated (its send finished), ms.
async fn test_times(test: &TestDb, ids: &[String]) -> Vec<i64> {
    let mut times = Vec::new();
    for id in ids {
        let stored = test
            .db
            .outbound(&MessageId::parse(id).unwrap())
            .await
            .unwrap()
            .unwrap();
        times.push(stored.updated_at.as_millis());
    }
    times
}

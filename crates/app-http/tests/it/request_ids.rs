//! Request ids (`X-Request-Id`) on every backend: every answer carries one (the caller's when it
//! is sane, a new one otherwise), the CRM receives the webhook's id with the delivery it caused
//! (on every attempt), the fake Graph API receives the send request's id, an auto-reply (and
//! the profile read that fills its `{username}`) carries the id of the webhook that triggered
//! it, and the deliveries and status answers show the id they were queued with.

use std::time::Duration;

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use app_http::Config;
use domain::{Account, CrmEventType, OutboundContent, RequestId};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::helpers::{TestApp, captured_logs, config_with, eventually};
use crate::rules_api::RulesApi;
use crate::send_api::{Api, GRAPH_SEND_PATH, accept_sends, sends};
use crate::webhook_support::{
    FACEBOOK_SECRET, INSTAGRAM_SECRET, VERIFY_TOKEN, deliveries, seed_account_with_crm, sign,
};

backend_tests!(
    the_crm_receives_the_webhooks_request_id_on_every_attempt,
    the_crm_receives_the_generated_id_when_none_was_sent,
    an_insane_request_id_is_replaced,
    the_graph_api_receives_the_send_requests_id,
    an_auto_reply_carries_the_webhooks_id,
);

const BUSINESS: &str = "1001";
/// The Graph profile of customer `5`, read to fill `{username}`.
const CUSTOMER_PROFILE_PATH: &str = "/v21.0/5";

fn test_config(test: &TestDb, graph: &MockServer) -> Config {
    config_with(
        &test.url,
        &[
            ("GRAPH_API_BASE_URL", &graph.uri()),
            ("FACEBOOK_VERIFY_TOKEN", VERIFY_TOKEN),
            ("INSTAGRAM_APP_SECRET", INSTAGRAM_SECRET),
            ("FACEBOOK_APP_SECRET", FACEBOOK_SECRET),
            ("CRM_POLL_INTERVAL", "100ms"),
            ("CRM_RETRY_SCHEDULE", "100ms,100ms"),
        ],
    )
}

/// A fake CRM that accepts every delivery.
async fn accepting_crm() -> MockServer {
    let crm = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&crm)
        .await;
    crm
}

/// The service sending to `graph`, with one account forwarding to `crm`'s `/crm`.
async fn start(test: &TestDb, graph: &MockServer, crm: &MockServer) -> (TestApp, Account) {
    let config = test_config(test, graph);
    let crm_url = format!("{}/crm", crm.uri());
    let account = seed_account_with_crm(&test.db, &config, BUSINESS, Some(&crm_url)).await;
    (TestApp::spawn(config).await, account)
}

/// A signed text message from customer `5`, posted with `request_id` when given; the answer's
/// `X-Request-Id`.
async fn post_text(app: &TestApp, mid: &str, text: &str, request_id: Option<&str>) -> String {
    let body =
        json!({"object": "instagram", "entry": [{"id": BUSINESS, "time": 1_763_202_600_000_i64,
        "messaging": [{"sender": {"id": "5"}, "recipient": {"id": BUSINESS},
                       "timestamp": 1_763_202_600_000_i64,
                       "message": {"mid": mid, "text": text}}]}]})
        .to_string()
        .into_bytes();
    let mut request = reqwest::Client::new()
        .post(format!("{}/webhooks/instagram", app.address))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", sign(&body))
        .body(body);
    if let Some(id) = request_id {
        request = request.header("x-request-id", id);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// The `X-Request-Id` of each request `server` received on `route`, in order.
async fn received_ids(server: &MockServer, route: &str) -> Vec<Option<String>> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|request: &Request| request.url.path() == route)
        .map(|request| {
            request
                .headers
                .get("x-request-id")
                .map(|value| value.to_str().unwrap().to_owned())
        })
        .collect()
}

/// Waits until `server` received `count` requests on `route`; their ids.
async fn wait_for(server: &MockServer, route: &str, count: usize) -> Vec<Option<String>> {
    let arrived = eventually(Duration::from_secs(15), || async {
        received_ids(server, route).await.len() >= count
    })
    .await;
    assert!(arrived, "{}", captured_logs());
    received_ids(server, route).await
}

async fn the_crm_receives_the_webhooks_request_id_on_every_attempt(test: TestDb) {
    let graph = MockServer::start().await;
    let crm = MockServer::start().await;
    // The first attempt fails, so the retry must carry the same id.
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&crm)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&crm)
        .await;
    let (app, _) = start(&test, &graph, &crm).await;

    let answered = post_text(&app, "m.rid.1", "hello", Some("meta-trace-42")).await;

    assert_eq!(answered, "meta-trace-42");
    let ids = wait_for(&crm, "/crm", 2).await;
    assert_eq!(
        ids,
        vec![
            Some("meta-trace-42".to_owned()),
            Some("meta-trace-42".to_owned())
        ]
    );
    let stored = deliveries(&test).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].request_id,
        Some(RequestId::parse("meta-trace-42").unwrap())
    );
    // An operator finds the webhook's request from the delivery, read or listed.
    let api = Api::new(&app, &test, Vec::new()).await;
    let read = api
        .get(&format!("/api/v1/deliveries/{}", stored[0].id))
        .await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.json["request_id"], "meta-trace-42");
    let listed = api.get("/api/v1/deliveries").await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.json["data"][0]["id"], stored[0].id.as_str());
    assert_eq!(listed.json["data"][0]["request_id"], "meta-trace-42");
    let logs = captured_logs();
    assert!(
        logs.lines()
            .any(|line| line.contains("will retry") && line.contains("meta-trace-42")),
        "the attempts' log lines carry the id: {logs}"
    );
}

async fn the_crm_receives_the_generated_id_when_none_was_sent(test: TestDb) {
    let graph = MockServer::start().await;
    let crm = accepting_crm().await;
    let (app, _) = start(&test, &graph, &crm).await;

    let generated = post_text(&app, "m.rid.2", "hello", None).await;

    assert!(generated.starts_with(RequestId::PREFIX), "{generated}");
    assert_eq!(wait_for(&crm, "/crm", 1).await, vec![Some(generated)]);
}

async fn an_insane_request_id_is_replaced(test: TestDb) {
    let graph = MockServer::start().await;
    let crm = accepting_crm().await;
    let (app, _) = start(&test, &graph, &crm).await;

    let too_long = "x".repeat(200);
    let replaced = post_text(&app, "m.rid.3", "hello", Some(&too_long)).await;
    assert!(replaced.starts_with(RequestId::PREFIX), "{replaced}");
    assert_eq!(wait_for(&crm, "/crm", 1).await, vec![Some(replaced)]);

    // Every answer has one, also one no route takes; a space is not sane either.
    for sent in [Some("has space"), Some("caf\u{e9}"), None] {
        let mut request = reqwest::Client::new().get(format!("{}/no/such/page", app.address));
        if let Some(id) = sent {
            request = request.header("x-request-id", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 404);
        let answered = response.headers()["x-request-id"].to_str().unwrap();
        assert!(
            answered.starts_with(RequestId::PREFIX),
            "{sent:?}: {answered}"
        );
    }
    let health = reqwest::Client::new()
        .get(format!("{}/health", app.address))
        .header("x-request-id", "probe-1")
        .send()
        .await
        .unwrap();
    assert_eq!(health.headers()["x-request-id"], "probe-1");
}

async fn the_graph_api_receives_the_send_requests_id(test: TestDb) {
    let graph = MockServer::start().await;
    accept_sends(&graph).await;
    let crm = accepting_crm().await;
    let (app, account) = start(&test, &graph, &crm).await;
    let api = Api::new(&app, &test, Vec::new()).await;

    let answer = api
        .send(
            &json!({"account_id": account.id, "recipient_id": "5", "message": "hi"}),
            &[("x-request-id", "crm-send-7"), ("prefer", "wait=10")],
        )
        .await;

    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["request_id"], "crm-send-7");
    assert_eq!(
        received_ids(&graph, GRAPH_SEND_PATH).await,
        vec![Some("crm-send-7".to_owned())]
    );
    let message_id = answer.json["message_id"].as_str().unwrap();
    let status = api
        .get(&format!("/api/v1/messages/{message_id}/status"))
        .await;
    assert_eq!(status.status, 200, "{}", status.text);
    assert_eq!(status.json["request_id"], "crm-send-7");
    let stored = sends(&test, &account).await;
    assert_eq!(
        stored[0].request_id,
        Some(RequestId::parse("crm-send-7").unwrap())
    );
    // The CRM hears of the send (`outbound.sent`) under the same id.
    assert_eq!(
        wait_for(&crm, "/crm", 1).await,
        vec![Some("crm-send-7".to_owned())]
    );
    let listed = api.get("/api/v1/deliveries").await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.json["data"][0]["event"], "outbound.sent");
    assert_eq!(listed.json["data"][0]["request_id"], "crm-send-7");
}

async fn an_auto_reply_carries_the_webhooks_id(test: TestDb) {
    let graph = MockServer::start().await;
    accept_sends(&graph).await;
    let config = test_config(&test, &graph);
    let account = seed_account_with_crm(&test.db, &config, BUSINESS, None).await;
    let app = TestApp::spawn(config).await;
    let rules = RulesApi::new(&app, &test, Vec::new()).await;
    Mock::given(method("GET"))
        .and(path(CUSTOMER_PROFILE_PATH))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "5", "username": "anna.k"})),
        )
        .mount(&graph)
        .await;
    rules
        .create(
            &account.id,
            json!({"match": "contains", "pattern": "price", "reply": "Hi {username}, it is 10 EUR"}),
        )
        .await;

    post_text(&app, "m.rid.4", "what is the price?", Some("meta-trace-99")).await;

    assert_eq!(
        wait_for(&graph, GRAPH_SEND_PATH, 1).await,
        vec![Some("meta-trace-99".to_owned())]
    );
    // The profile read that filled `{username}` carried the same id.
    assert_eq!(
        received_ids(&graph, CUSTOMER_PROFILE_PATH).await,
        vec![Some("meta-trace-99".to_owned())]
    );
    let stored = sends(&test, &account).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].request_id,
        Some(RequestId::parse("meta-trace-99").unwrap())
    );
    assert_eq!(
        stored[0].content,
        OutboundContent::Text("Hi anna.k, it is 10 EUR".to_owned())
    );
    let status = Api::new(&app, &test, Vec::new())
        .await
        .get(&format!("/api/v1/messages/{}/status", stored[0].id))
        .await;
    assert_eq!(status.status, 200, "{}", status.text);
    assert_eq!(status.json["request_id"], "meta-trace-99");
    assert!(
        deliveries(&test)
            .await
            .iter()
            .all(|d| d.event_type != CrmEventType::MessageReceived),
        "no crm url, no delivery"
    );
}

//! Auto-replies end to end on every backend: rules written through the API, signed webhooks
//! posted, replies sent by the real send worker to a fake Graph API (wiremock) that also serves
//! profiles, the CRM's deliveries read back. Each match kind with non-ASCII text, priority
//! order, disabled rules, the cooldown (the same body twice, concurrent posts from one sender),
//! the echo of the service's own reply (no trigger, not forwarded), other event kinds, and
//! `{username}` from the profile or its fallback.

use std::time::{Duration, Instant};

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use app_http::Config;
use domain::{Account, CrmEventType};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::helpers::{TestApp, captured_logs, config_with};
use crate::rules_api::RulesApi;
use crate::send_api::{GRAPH_SEND_PATH, accept_sends};
use crate::webhook_support::{
    FACEBOOK_SECRET, INSTAGRAM_SECRET, VERIFY_TOKEN, deliveries, history, post_signed,
    seed_account_with_crm,
};

backend_tests!(
    each_match_kind_answers_non_ascii_text,
    the_highest_priority_enabled_rule_answers,
    one_reply_per_cooldown_for_repeats_and_concurrent_posts,
    the_services_own_reply_echoed_back_triggers_nothing,
    other_event_kinds_and_the_accounts_own_messages_trigger_nothing,
    username_comes_from_the_profile_or_falls_back,
);

const BUSINESS: &str = "1001";

/// The fake Graph API: sends accepted with `m.1`, `m.2`, …; profiles as each test mounts them.
async fn graph() -> MockServer {
    let graph = MockServer::start().await;
    accept_sends(&graph).await;
    graph
}

fn graph_config(test: &TestDb, graph: &MockServer) -> Config {
    config_with(
        &test.url,
        &[
            ("GRAPH_API_BASE_URL", &graph.uri()),
            ("FACEBOOK_VERIFY_TOKEN", VERIFY_TOKEN),
            ("INSTAGRAM_APP_SECRET", INSTAGRAM_SECRET),
            ("FACEBOOK_APP_SECRET", FACEBOOK_SECRET),
            ("CRM_POLL_INTERVAL", "100ms"),
        ],
    )
}

/// Serves `username` as the profile of `user`.
async fn profile(graph: &MockServer, user: &str, username: &str) {
    Mock::given(method("GET"))
        .and(path(format!("/v21.0/{user}")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": user, "username": username, "name": "Anna K"})),
        )
        .mount(graph)
        .await;
}

/// The service with one account (forwarding to `crm` when given) and an API client.
async fn start(
    test: &TestDb,
    graph: &MockServer,
    crm: Option<&MockServer>,
) -> (TestApp, Account, RulesApi) {
    let config = graph_config(test, graph);
    let crm_url = crm.map(|crm| format!("{}/crm", crm.uri()));
    let account = seed_account_with_crm(&test.db, &config, BUSINESS, crm_url.as_deref()).await;
    let app = TestApp::spawn(config).await;
    let api = RulesApi::new(&app, test, Vec::new()).await;
    (app, account, api)
}

fn rule(kind: &str, pattern: &str, reply: &str) -> Value {
    json!({"match": kind, "pattern": pattern, "reply": reply})
}

/// A webhook body of one messaging item.
fn body(item: &Value) -> Vec<u8> {
    json!({"object": "instagram", "entry": [{"id": BUSINESS, "time": 1_763_202_600_000_i64,
           "messaging": [item]}]})
    .to_string()
    .into_bytes()
}

/// A customer's text message.
fn text(sender: &str, mid: &str, text: &str) -> Vec<u8> {
    body(
        &json!({"sender": {"id": sender}, "recipient": {"id": BUSINESS},
                 "timestamp": 1_763_202_600_000_i64, "message": {"mid": mid, "text": text}}),
    )
}

/// The echo of a message the business sent to `customer`.
fn echo(customer: &str, mid: &str, text: &str) -> Vec<u8> {
    body(
        &json!({"sender": {"id": BUSINESS}, "recipient": {"id": customer},
                 "timestamp": 1_763_202_600_500_i64,
                 "message": {"mid": mid, "text": text, "is_echo": true}}),
    )
}

/// The sends Meta received so far: (recipient, text).
async fn sends(graph: &MockServer) -> Vec<(String, String)> {
    graph
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == GRAPH_SEND_PATH)
        .map(|r: Request| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            (
                body["recipient"]["id"].as_str().unwrap().to_owned(),
                body["message"]["text"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

/// Waits until Meta has received `count` sends, then a moment more for any extra one; the sends
/// sorted.
async fn sends_settled(graph: &MockServer, count: usize) -> Vec<(String, String)> {
    let start = Instant::now();
    while sends(graph).await.len() < count {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{:?}\n{}",
            sends(graph).await,
            captured_logs()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // The worker is rung at commit and sends within milliseconds: an extra reply would be here.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let mut all = sends(graph).await;
    all.sort();
    all
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = expected
        .iter()
        .map(|(to, text)| ((*to).to_owned(), (*text).to_owned()))
        .collect();
    pairs.sort();
    pairs
}

async fn each_match_kind_answers_non_ascii_text(test: TestDb) {
    let graph = graph().await;
    let (app, account, api) = start(&test, &graph, None).await;
    api.create(&account.id, rule("exact", "Привет", "exact ✓"))
        .await;
    api.create(&account.id, rule("contains", "размер", "contains ✓"))
        .await;
    api.create(&account.id, rule("keyword", "café", "keyword ✓"))
        .await;
    api.create(&account.id, rule("regex", r"^заказ\s*№?\d+$", "regex ✓"))
        .await;

    post_signed(&app, &text("11", "m-1", "  ПРИВЕТ\n")).await;
    post_signed(&app, &text("12", "m-2", "Какие РАЗМЕРЫ есть? 👗")).await;
    post_signed(&app, &text("13", "m-3", "Un CAFE\u{301}, por favor")).await;
    post_signed(&app, &text("14", "m-4", "заказ №4521")).await;
    // Near misses: not the whole text, not a whole word, not the regex's case.
    post_signed(&app, &text("15", "m-5", "Привет, как дела?")).await;
    post_signed(&app, &text("16", "m-6", "cafetería")).await;
    post_signed(&app, &text("17", "m-7", "Заказ 4521")).await;

    let sent = sends_settled(&graph, 4).await;
    assert_eq!(
        sent,
        pairs(&[
            ("11", "exact ✓"),
            ("12", "contains ✓"),
            ("13", "keyword ✓"),
            ("14", "regex ✓")
        ])
    );
}

async fn the_highest_priority_enabled_rule_answers(test: TestDb) {
    let graph = graph().await;
    let (app, account, api) = start(&test, &graph, None).await;
    api.create(
        &account.id,
        json!({"match": "contains", "pattern": "price", "reply": "low", "priority": 1}),
    )
    .await;
    api.create(
        &account.id,
        json!({"match": "keyword", "pattern": "price", "reply": "disabled", "priority": 9,
               "enabled": false}),
    )
    .await;
    let winner = api
        .create(
            &account.id,
            json!({"match": "regex", "pattern": "(?i)price", "reply": "high", "priority": 5}),
        )
        .await;
    post_signed(&app, &text("21", "m-1", "What's the PRICE?")).await;
    assert_eq!(sends_settled(&graph, 1).await, pairs(&[("21", "high")]));

    // Disabling the winner hands the next message to the next rule, at once.
    let one = format!(
        "/api/v1/accounts/{}/rules/{}",
        account.id,
        winner["id"].as_str().unwrap()
    );
    let off = api
        .call(
            reqwest::Method::PATCH,
            &one,
            Some(&json!({"enabled": false})),
        )
        .await;
    assert_eq!(off.status, 200);
    post_signed(&app, &text("22", "m-2", "price")).await;
    assert_eq!(
        sends_settled(&graph, 2).await,
        pairs(&[("21", "high"), ("22", "low")])
    );
}

async fn one_reply_per_cooldown_for_repeats_and_concurrent_posts(test: TestDb) {
    let graph = graph().await;
    let (app, account, api) = start(&test, &graph, None).await;
    api.create(
        &account.id,
        json!({"match": "keyword", "pattern": "hola", "reply": "¡Hola!", "cooldown_seconds": 3600}),
    )
    .await;
    // Meta redelivers the same body: one event, one reply.
    let first = text("31", "m-1", "hola");
    post_signed(&app, &first).await;
    post_signed(&app, &first).await;
    // Two new messages from the same sender at once, and from another sender at once.
    let posts = [
        text("32", "m-2", "Hola hola"),
        text("32", "m-3", "hola?"),
        text("33", "m-4", "HOLA"),
    ];
    futures::future::join_all(posts.iter().map(|body| post_signed(&app, body))).await;
    // Later messages within the cooldown: no reply either.
    post_signed(&app, &text("31", "m-5", "hola otra vez")).await;

    assert_eq!(
        sends_settled(&graph, 3).await,
        pairs(&[("31", "¡Hola!"), ("32", "¡Hola!"), ("33", "¡Hola!")])
    );
    assert_eq!(
        history(&test, &account.id).await.len(),
        5,
        "every message is stored"
    );
}

async fn the_services_own_reply_echoed_back_triggers_nothing(test: TestDb) {
    let graph = graph().await;
    let crm = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&crm)
        .await;
    let (app, account, api) = start(&test, &graph, Some(&crm)).await;
    // The reply would match its own rule, were its echo ever taken for a customer's message.
    api.create(&account.id, rule("contains", "hi", "hi hi!"))
        .await;

    post_signed(&app, &text("41", "m-in", "hi there")).await;
    assert_eq!(sends_settled(&graph, 1).await, pairs(&[("41", "hi hi!")]));
    // Wait until the send is recorded with Meta's id (`m.1`), then Meta echoes it.
    let start = Instant::now();
    while !deliveries(&test)
        .await
        .iter()
        .any(|d| d.event_type == CrmEventType::OutboundSent)
    {
        assert!(start.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    post_signed(&app, &echo("41", "m.1", "hi hi!")).await;
    // An echo of a message sent from the Instagram app is forwarded, and answers nothing either.
    post_signed(&app, &echo("41", "m.app", "hi from the app")).await;

    assert_eq!(
        sends_settled(&graph, 1).await.len(),
        1,
        "nothing answered an echo"
    );
    let mut events: Vec<&str> = Vec::new();
    let all = deliveries(&test).await;
    for delivery in &all {
        events.push(delivery.event_type.as_str());
    }
    events.sort_unstable();
    assert_eq!(
        events,
        vec!["message.echo", "message.received", "outbound.sent"],
        "the own echo is not forwarded"
    );
    let forwarded_echo = all
        .iter()
        .find(|d| d.event_type == CrmEventType::MessageEcho)
        .unwrap();
    assert_eq!(
        crate::webhook_support::payload(forwarded_echo)["message_id"],
        "m.app"
    );
    // The own echo is stored, linked to the send: the history lists the send once.
    let stored = history(&test, &account.id).await;
    let own = stored
        .iter()
        .find(|m| m.instagram_message_id.as_ref().map(|mid| mid.as_str()) == Some("m.1"))
        .expect("the echo is stored");
    assert!(own.outbound_message_id.is_some(), "{own:?}");
}

async fn other_event_kinds_and_the_accounts_own_messages_trigger_nothing(test: TestDb) {
    let graph = graph().await;
    let (app, account, api) = start(&test, &graph, None).await;
    api.create(&account.id, rule("regex", "(?s).*", "anything"))
        .await;
    let at = 1_763_202_600_000_i64;
    let items = [
        json!({"sender": {"id": "51"}, "recipient": {"id": BUSINESS}, "timestamp": at,
               "reaction": {"mid": "m-1", "action": "react", "reaction": "love", "emoji": "❤"}}),
        json!({"sender": {"id": "51"}, "recipient": {"id": BUSINESS}, "timestamp": at,
               "read": {"mid": "m-1"}}),
        json!({"sender": {"id": "51"}, "recipient": {"id": BUSINESS}, "timestamp": at,
               "message_edit": {"mid": "m-1", "text": "edited text", "num_edit": 1}}),
        json!({"sender": {"id": "51"}, "recipient": {"id": BUSINESS}, "timestamp": at,
               "message": {"mid": "m-1", "is_deleted": true}}),
        json!({"sender": {"id": "51"}, "recipient": {"id": BUSINESS}, "timestamp": at,
               "postback": {"mid": "m-2", "title": "Start", "payload": "GET_STARTED"}}),
        json!({"sender": {"id": "51"}, "recipient": {"id": BUSINESS}, "timestamp": at,
               "referral": {"ref": "ad-1", "source": "ADS", "type": "OPEN_THREAD"}}),
        // The account writing to a customer without `is_echo`: still its own message.
        json!({"sender": {"id": BUSINESS}, "recipient": {"id": "51"}, "timestamp": at,
               "message": {"mid": "m-3", "text": "from the business"}}),
    ];
    for item in &items {
        post_signed(&app, &body(item)).await;
    }
    // A customer's text is answered, which shows the rule is live.
    post_signed(&app, &text("52", "m-4", "anything?")).await;
    assert_eq!(sends_settled(&graph, 1).await, pairs(&[("52", "anything")]));
    assert!(
        history(&test, &account.id).await.len() >= 7,
        "the events are stored"
    );
}

async fn username_comes_from_the_profile_or_falls_back(test: TestDb) {
    let graph = graph().await;
    profile(&graph, "61", "anna.k").await;
    Mock::given(method("GET"))
        .and(path("/v21.0/62"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"error": {
            "message": "An unknown error occurred", "type": "OAuthException", "code": 1,
            "fbtrace_id": "AbC"}})))
        .mount(&graph)
        .await;
    let (app, account, api) = start(&test, &graph, None).await;
    api.create(
        &account.id,
        json!({"match": "keyword", "pattern": "hello", "reply": "Hi {username}, thanks!"}),
    )
    .await;

    post_signed(&app, &text("61", "m-1", "hello")).await;
    post_signed(&app, &text("62", "m-2", "hello")).await;
    assert_eq!(
        sends_settled(&graph, 2).await,
        pairs(&[("61", "Hi anna.k, thanks!"), ("62", "Hi, thanks!")])
    );
    // A second reply to the customer whose profile failed asks Meta no more.
    post_signed(&app, &text("62", "m-3", "hello again")).await;
    assert_eq!(sends_settled(&graph, 3).await.len(), 3);
    // The stored reply is the text the customer got, as the status and history show it.
    let sends = crate::send_api::sends(&test, &account).await;
    let mut texts: Vec<String> = sends
        .iter()
        .map(|send| match &send.content {
            domain::OutboundContent::Text(text) => text.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    texts.sort();
    assert_eq!(
        texts,
        vec!["Hi anna.k, thanks!", "Hi, thanks!", "Hi, thanks!"]
    );
    assert!(sends.iter().all(|send| send.rule_id.is_some()));
    // The failed lookup is logged, and remembered: one profile call per customer.
    assert!(captured_logs().contains("could not read the customer's profile"));
    let requests = graph.received_requests().await.unwrap();
    for user in ["/v21.0/61", "/v21.0/62"] {
        let calls = requests.iter().filter(|r| r.url.path() == user).count();
        assert_eq!(calls, 1, "{user}");
    }
}

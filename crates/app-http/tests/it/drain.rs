//! SIGTERM drains (contract §4), tested by signalling the real binary on every backend: a CRM
//! delivery, a Graph API send and a request waiting on that send (`Prefer: wait`) are all under
//! way when the signal arrives; new connections are refused at once, the three finish, each fake
//! saw its call exactly once, the process exits 0 well within 30 s, and the database says
//! `delivered` and `sent`. A request waiting on a send that no worker started is answered `202`
//! as soon as the stop signal fires, even while another send is still under way (whose waiter
//! still gets its outcome), instead of holding the shutdown up until its deadline.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use domain::ports::OutboundQueue;
use domain::{CrmEventType, DeliveryStatus, MessageId, OutboundStatus};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::cli::{igrouter, stderr_lines, wait_for_listening};
use crate::helpers::{
    TempDir, TestApp, captured_logs, config, config_with, eventually, install_crypto_provider,
    seed_account,
};
use crate::send_api::{Api, GRAPH_SEND_PATH};
use crate::webhook_support::{deliveries, payload, seed_account_with_crm};

backend_tests!(
    sigterm_finishes_the_requests_deliveries_and_sends_under_way,
    a_wait_for_a_send_no_worker_started_ends_at_shutdown,
    at_the_stop_signal_only_the_waits_for_sends_under_way_go_on,
);

const BUSINESS: &str = "1001";

/// How long each fake takes to answer: long enough to signal while all three are in flight.
const SLOW: Duration = Duration::from_secs(3);

async fn sigterm_finishes_the_requests_deliveries_and_sends_under_way(test: TestDb) {
    install_crypto_provider();
    let graph = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(GRAPH_SEND_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"recipient_id": "5", "message_id": "m.drain.1"}))
                .set_delay(SLOW),
        )
        .mount(&graph)
        .await;
    let crm = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/crm"))
        .respond_with(ResponseTemplate::new(200).set_delay(SLOW))
        .mount(&crm)
        .await;
    // The development key and defaults of the binary below: no app secret (unsigned webhooks are
    // accepted) and no API key (any bearer token is).
    let seeded = config(&test.url);
    let crm_url = format!("{}/crm", crm.uri());
    let account = seed_account_with_crm(&test.db, &seeded, BUSINESS, Some(&crm_url)).await;
    let dir = TempDir::new();
    let mut child = igrouter(&dir)
        .env("DATABASE_URL", &test.url)
        .env("BIND_ADDRESS", "127.0.0.1:0")
        .env("LOG_FORMAT", "json")
        .env("GRAPH_API_BASE_URL", graph.uri())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = stderr_lines(&mut child);
    let address = tokio::task::block_in_place(|| wait_for_listening(&lines, &mut child));
    let base = format!("http://{address}");
    let http = reqwest::Client::new();

    let webhook = http
        .post(format!("{base}/webhooks/instagram"))
        .header("content-type", "application/json")
        .body(text_body("m.drain.in"))
        .send()
        .await
        .unwrap();
    assert_eq!(webhook.status(), 200);
    let waiting = tokio::spawn({
        let request = http
            .post(format!("{base}/api/v1/messages/send"))
            .header("authorization", "Bearer any-token-in-development")
            .header("prefer", "wait=10")
            .json(&json!({"account_id": account.id, "recipient_id": "5", "message": "bye"}));
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    });
    // Both calls have reached the fakes, which hold them for `SLOW`.
    let under_way = eventually(Duration::from_secs(10), || async {
        !calls(&crm, "/crm").await.is_empty() && !calls(&graph, GRAPH_SEND_PATH).await.is_empty()
    })
    .await;
    assert!(under_way, "{:#?}", log_so_far(&lines));

    signal(&child, "-TERM");
    let signalled = Instant::now();

    // The listener closes at once, while the work is still under way.
    let refused = eventually(Duration::from_secs(1), || async {
        TcpStream::connect(&address).is_err()
    })
    .await;
    assert!(refused, "a connection was accepted after SIGTERM");
    assert!(
        signalled.elapsed() < SLOW,
        "refused only after the work was done"
    );

    let (status, answer) = waiting.await.unwrap();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "sent");
    assert_eq!(answer["instagram_message_id"], "m.drain.1");
    let code = exit_code(&mut child, Duration::from_secs(30)).await;
    let took = signalled.elapsed();
    let log = log_so_far(&lines);
    assert_eq!(code, Some(0), "{log:#?}");
    assert!(took < Duration::from_secs(30), "{took:?}");
    assert!(
        took >= SLOW.saturating_sub(Duration::from_secs(1)),
        "it waited for the work under way: {took:?}"
    );
    eprintln!("drained and exited {took:?} after SIGTERM");

    let received: Vec<Value> = calls(&crm, "/crm")
        .await
        .iter()
        .map(|request| serde_json::from_slice(&request.body).unwrap())
        .filter(|body: &Value| body["event"] == CrmEventType::MessageReceived.as_str())
        .collect();
    assert_eq!(received.len(), 1, "the crm got the delivery exactly once");
    assert_eq!(calls(&graph, GRAPH_SEND_PATH).await.len(), 1);
    let delivery = deliveries(&test)
        .await
        .into_iter()
        .find(|d| d.event_type == CrmEventType::MessageReceived)
        .unwrap();
    assert_eq!(delivery.status, DeliveryStatus::Delivered);
    assert_eq!(delivery.attempts, 1);
    assert_eq!(payload(&delivery)["event"], "message.received");
    let sent = test
        .db
        .outbound(&MessageId::parse(answer["message_id"].as_str().unwrap()).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sent.status, OutboundStatus::Sent);
    assert_eq!(sent.attempts, 1);
}

async fn a_wait_for_a_send_no_worker_started_ends_at_shutdown(test: TestDb) {
    // Meta throttles the account's first send and asks for a minute: its next send is handed
    // back untried, and nothing will happen to it before the shutdown.
    let graph = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(GRAPH_SEND_PATH))
        .respond_with(throttled())
        .mount(&graph)
        .await;
    let config = config_with(&test.url, &[("GRAPH_API_BASE_URL", &graph.uri())]);
    let account = seed_account_with_crm(&test.db, &config, BUSINESS, None).await;
    let app = TestApp::spawn(config).await;
    hold(&app, &test, &account).await;
    let waiting = tokio::spawn({
        let api = Api::new(&app, &test, Vec::new()).await;
        let body = json!({"account_id": account.id, "recipient_id": "5", "message": "second"});
        async move { api.send(&body, &[("prefer", "wait=20")]).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    let stopping = Instant::now();
    app.stop().await.unwrap();

    let answer = waiting.await.unwrap();
    assert_eq!(answer.status, 202, "{}", answer.text);
    assert_eq!(answer.json["status"], "pending");
    assert!(
        stopping.elapsed() < Duration::from_secs(5),
        "the wait held the shutdown up: {:?}",
        stopping.elapsed()
    );
    assert_eq!(calls(&graph, GRAPH_SEND_PATH).await.len(), 1);
}

async fn at_the_stop_signal_only_the_waits_for_sends_under_way_go_on(test: TestDb) {
    // Account `slow`'s sends take `SLOW` at Meta; account `held`'s first send is throttled for
    // a minute, so its next one stays pending, untried, until the shutdown.
    let graph = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(GRAPH_SEND_PATH))
        .and(header("authorization", "Bearer slow"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"recipient_id": "5", "message_id": "m.slow.1"}))
                .set_delay(SLOW),
        )
        .mount(&graph)
        .await;
    Mock::given(method("POST"))
        .and(path(GRAPH_SEND_PATH))
        .and(header("authorization", "Bearer held"))
        .respond_with(throttled())
        .mount(&graph)
        .await;
    let config = config_with(&test.url, &[("GRAPH_API_BASE_URL", &graph.uri())]);
    let slow = seed_account(&test.db, &config, "1001", "slow").await;
    let held = seed_account(&test.db, &config, "1002", "held").await;
    let app = TestApp::spawn(config).await;
    hold(&app, &test, &held).await;
    let wait = |api: Api, account: &domain::Account, text: &str| {
        let body = json!({"account_id": account.id, "recipient_id": "5", "message": text});
        async move {
            let answer = api.send(&body, &[("prefer", "wait=20")]).await;
            (answer, Instant::now())
        }
    };
    let under_way = tokio::spawn(wait(
        Api::new(&app, &test, Vec::new()).await,
        &slow,
        "under way",
    ));
    let reached = eventually(Duration::from_secs(10), || async {
        calls(&graph, GRAPH_SEND_PATH).await.len() == 2
    })
    .await;
    assert!(reached, "{}", captured_logs());
    let untried = tokio::spawn(wait(
        Api::new(&app, &test, Vec::new()).await,
        &held,
        "untried",
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;

    let stopping = Instant::now();
    let stopped = tokio::spawn(app.stop());

    let (answer, answered) = untried.await.unwrap();
    assert_eq!(answer.status, 202, "{}", answer.text);
    assert_eq!(answer.json["status"], "pending");
    let waited = answered.duration_since(stopping);
    assert!(
        waited < SLOW.saturating_sub(Duration::from_secs(1)),
        "answered only when the send under way was done: {waited:?}"
    );
    let (answer, answered) = under_way.await.unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["status"], "sent");
    assert_eq!(answer.json["instagram_message_id"], "m.slow.1");
    assert!(answered.duration_since(stopping) < Duration::from_secs(10));
    stopped.await.unwrap().unwrap();
    assert_eq!(calls(&graph, GRAPH_SEND_PATH).await.len(), 2);
}

/// Meta's answer to a throttled send: code 613, and a minute before the next try.
fn throttled() -> ResponseTemplate {
    ResponseTemplate::new(400)
        .set_body_json(json!({"error": {"message": "Calls to this api have exceeded the rate limit.",
                                        "type": "OAuthException", "code": 613, "fbtrace_id": "AbC"}}))
        .insert_header("retry-after", "60")
}

/// Sends one message from `account` and waits until Meta has throttled it ([`throttled`]):
/// the account's next send is handed back untried until the shutdown.
async fn hold(app: &TestApp, test: &TestDb, account: &domain::Account) {
    let api = Api::new(app, test, Vec::new()).await;
    let first = MessageId::parse(&api.send_text(account, "5", "first").await).unwrap();
    let held = eventually(Duration::from_secs(10), || async {
        let message = test.db.outbound(&first).await.unwrap().unwrap();
        message.status == OutboundStatus::Pending && message.attempts == 1
    })
    .await;
    assert!(held, "{}", captured_logs());
}

/// An unsigned text message from customer `5` to the business.
fn text_body(mid: &str) -> String {
    json!({"object": "instagram", "entry": [{"id": BUSINESS, "time": 1_763_202_600_000_i64,
        "messaging": [{"sender": {"id": "5"}, "recipient": {"id": BUSINESS},
                       "timestamp": 1_763_202_600_000_i64,
                       "message": {"mid": mid, "text": "hello"}}]}]})
    .to_string()
}

/// What `server` received on `route`.
async fn calls(server: &MockServer, route: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|request| request.url.path() == route)
        .collect()
}

/// Sends `signal` (`-TERM`, `-INT`) to `child`.
pub(crate) fn signal(child: &Child, signal: &str) {
    let sent = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// The exit code, or `None` (after killing it) when it runs past `limit`.
async fn exit_code(child: &mut Child, limit: Duration) -> Option<i32> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = child.kill();
    None
}

fn log_so_far(lines: &mpsc::Receiver<String>) -> Vec<String> {
    lines.try_iter().collect()
}

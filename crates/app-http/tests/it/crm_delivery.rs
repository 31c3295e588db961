//! The delivery worker against a real fake CRM (wiremock) on every backend: what the CRM
//! receives (body and both signatures, checked with a Standard Webhooks library we did not
//! write), retries on the schedule, dead deliveries, one slow CRM not holding up another, and
//! two instances on one database never sending one event twice.

use std::collections::HashMap;
use std::time::Duration;

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use app_http::Config;
use app_http::credentials::AesGcmCipher;
use base64::Engine as _;
use domain::ports::{CredentialCipher, DeliveryQueue};
use domain::{Account, DeliveryStatus, EventId};
use ring::hmac;
use secrecy::ExposeSecret;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::helpers::{TestApp, config_with, counted, eventually};
use crate::webhook_support::{
    FACEBOOK_SECRET, INSTAGRAM_SECRET, VERIFY_TOKEN, deliveries, post_signed, seed_account_with_crm,
};

backend_tests!(
    the_crm_receives_the_signed_body_and_the_delivery_is_recorded,
    failed_attempts_are_retried_on_the_schedule_until_delivered,
    a_delivery_is_dead_after_the_last_attempt,
    a_slow_crm_does_not_hold_up_another_accounts_deliveries,
    a_busy_accounts_new_events_are_claimed_when_it_has_room_not_at_the_poll,
    two_instances_on_one_database_deliver_each_event_once,
);

/// A webhook configuration with a fast retry schedule; `extra` wins over these defaults.
fn delivery_config(url: &str, schedule: &str, extra: &[(&str, &str)]) -> Config {
    let mut pairs = extra.to_vec();
    pairs.extend_from_slice(&[
        ("FACEBOOK_VERIFY_TOKEN", VERIFY_TOKEN),
        ("INSTAGRAM_APP_SECRET", INSTAGRAM_SECRET),
        ("FACEBOOK_APP_SECRET", FACEBOOK_SECRET),
        ("CRM_RETRY_SCHEDULE", schedule),
        ("CRM_POLL_INTERVAL", "100ms"),
    ]);
    config_with(url, &pairs)
}

/// One text message from `sender` to `business`, with Meta's id `mid`.
fn text_body(business: &str, mid: &str) -> Vec<u8> {
    format!(
        r#"{{"object":"instagram","entry":[{{"id":"{business}","time":1700000000001,"messaging":[{{"sender":{{"id":"555"}},"recipient":{{"id":"{business}"}},"timestamp":1700000000000,"message":{{"mid":"{mid}","text":"hi {mid}"}}}}]}}]}}"#
    )
    .into_bytes()
}

/// The account's webhook secret in clear, as the CRM would have it.
fn webhook_secret(config: &Config, account: &Account) -> String {
    let cipher = AesGcmCipher::new(&config.credentials).unwrap();
    cipher
        .open(&account.id, &account.webhook_secret)
        .unwrap()
        .expose_secret()
        .to_owned()
}

/// Waits until every delivery stored has `status`, and returns them.
async fn all_become(test: &TestDb, count: usize, status: DeliveryStatus, limit: Duration) {
    let reached = eventually(limit, || async {
        let all = deliveries(test).await;
        all.len() == count && all.iter().all(|d| d.status == status)
    })
    .await;
    assert!(
        reached,
        "deliveries did not all become {status:?}: {:?}",
        deliveries(test)
            .await
            .iter()
            .map(|d| (d.status, d.attempts, d.last_error.clone()))
            .collect::<Vec<_>>()
    );
}

async fn crm(status: u16) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/crm"))
        .respond_with(ResponseTemplate::new(status).set_body_string("thanks"))
        .mount(&server)
        .await;
    server
}

async fn the_crm_receives_the_signed_body_and_the_delivery_is_recorded(test: TestDb) {
    let server = crm(200).await;
    let config = delivery_config(&test.url, "1s", &[]);
    let crm_url = format!("{}/crm", server.uri());
    let account = seed_account_with_crm(&test.db, &config, "1234567890", Some(&crm_url)).await;
    let secret = webhook_secret(&config, &account);
    let app = TestApp::spawn(config).await;

    post_signed(&app, &text_body("1234567890", "m.signed")).await;
    all_become(&test, 1, DeliveryStatus::Delivered, Duration::from_secs(10)).await;

    let delivery = deliveries(&test).await.remove(0);
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
    let request = &received[0];
    assert_eq!(
        request.body,
        delivery.payload.as_bytes(),
        "the stored body, byte for byte"
    );
    assert_eq!(header(request, "content-type"), "application/json");
    assert_eq!(header(request, "webhook-id"), delivery.id.as_str());

    // Standard Webhooks, as a library we did not write verifies it.
    let verifier = standardwebhooks::Webhook::new(&format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(secret.as_bytes())
    ))
    .unwrap();
    let mut headers = http::HeaderMap::new();
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        headers.insert(name, header(request, name).parse().unwrap());
    }
    verifier
        .verify(&request.body, &headers)
        .expect("the standard webhooks signature verifies");

    // X-Hub-Signature-256, computed independently.
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let expected = hmac::sign(&key, &request.body)
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect::<String>();
    assert_eq!(
        header(request, "x-hub-signature-256"),
        format!("sha256={expected}")
    );

    let recorded = test.db.delivery(&delivery.id).await.unwrap().unwrap();
    assert_eq!(recorded.delivery.attempts, 1);
    assert!(recorded.delivery.delivered_at.is_some());
    assert_eq!(recorded.attempts.len(), 1);
    assert_eq!(recorded.attempts[0].http_status, Some(200));
    assert_eq!(recorded.attempts[0].error, None);
    assert_eq!(
        recorded.attempts[0].response_excerpt.as_deref(),
        Some("thanks")
    );
    // Counted just after the result is written.
    assert!(counted(|| app.delivery_metrics.snapshot().delivered == 1).await);
}

fn header(request: &Request, name: &str) -> String {
    request
        .headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
        .to_owned()
}

async fn failed_attempts_are_retried_on_the_schedule_until_delivered(test: TestDb) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).set_body_string("down for maintenance"))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .with_priority(2)
        .mount(&server)
        .await;
    let config = delivery_config(&test.url, "100ms,100ms,100ms", &[]);
    let crm_url = format!("{}/crm", server.uri());
    seed_account_with_crm(&test.db, &config, "1234567890", Some(&crm_url)).await;
    let app = TestApp::spawn(config).await;

    post_signed(&app, &text_body("1234567890", "m.retried")).await;
    all_become(&test, 1, DeliveryStatus::Delivered, Duration::from_secs(10)).await;

    let delivery = deliveries(&test).await.remove(0);
    let recorded = test.db.delivery(&delivery.id).await.unwrap().unwrap();
    let statuses: Vec<Option<u16>> = recorded.attempts.iter().map(|a| a.http_status).collect();
    assert_eq!(statuses, [Some(503), Some(503), Some(204)]);
    assert_eq!(
        recorded.attempts[0].response_excerpt.as_deref(),
        Some("down for maintenance")
    );
    assert!(
        recorded.attempts[0]
            .error
            .as_deref()
            .unwrap()
            .contains("503")
    );
    // The second attempt came no sooner than the schedule's 100 ms after the first.
    let gap =
        recorded.attempts[1].started_at.as_millis() - recorded.attempts[0].started_at.as_millis();
    assert!(gap >= 100, "retried after {gap} ms");
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 3);
    let ids: Vec<String> = received.iter().map(|r| header(r, "webhook-id")).collect();
    assert!(
        ids.iter().all(|id| id == delivery.id.as_str()),
        "one webhook-id on every retry"
    );
    assert!(
        received.iter().all(|r| r.body == received[0].body),
        "the same bytes every time"
    );
    assert!(
        counted(|| {
            let metrics = app.delivery_metrics.snapshot();
            (metrics.retried, metrics.delivered) == (2, 1)
        })
        .await
    );
}

async fn a_delivery_is_dead_after_the_last_attempt(test: TestDb) {
    let server = crm(500).await;
    let config = delivery_config(&test.url, "50ms", &[]);
    let crm_url = format!("{}/crm", server.uri());
    seed_account_with_crm(&test.db, &config, "1234567890", Some(&crm_url)).await;
    let app = TestApp::spawn(config).await;

    post_signed(&app, &text_body("1234567890", "m.dead")).await;
    all_become(&test, 1, DeliveryStatus::Failed, Duration::from_secs(10)).await;

    let delivery = deliveries(&test).await.remove(0);
    assert_eq!(delivery.attempts, 2, "the first attempt and one retry");
    assert_eq!(delivery.due_at, None, "a dead delivery is not due");
    assert!(delivery.last_error.as_deref().unwrap().contains("500"));
    // Nothing more is attempted.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    assert!(counted(|| app.delivery_metrics.snapshot().dead == 1).await);
}

async fn a_slow_crm_does_not_hold_up_another_accounts_deliveries(test: TestDb) {
    let (app, slow, fast) = slow_and_fast_accounts(
        &test,
        Duration::from_millis(700),
        &[
            ("CRM_DELIVERY_CONCURRENCY_PER_ACCOUNT", "2"),
            ("CRM_DELIVERY_CONCURRENCY", "8"),
        ],
    )
    .await;

    for n in 0..8 {
        post_signed(&app, &text_body("111", &format!("slow.{n}"))).await;
    }
    post_signed(&app, &text_body("222", "fast.0")).await;

    // Eight slow attempts, two at a time, take about 2.8 s; the other account's one is not
    // queued behind them.
    let fast_done = eventually(Duration::from_secs(10), || async {
        !fast.received_requests().await.unwrap().is_empty()
    })
    .await;
    assert!(fast_done);
    let slow_done = slow.received_requests().await.unwrap().len();
    assert!(
        slow_done < 8,
        "the fast CRM waited for {slow_done} slow attempts"
    );
    all_become(&test, 9, DeliveryStatus::Delivered, Duration::from_secs(15)).await;
}

async fn a_busy_accounts_new_events_are_claimed_when_it_has_room_not_at_the_poll(test: TestDb) {
    // No poll within the test: only rings and tasks ending start claims.
    // Slow enough that the second part's slow attempts are still under way, on a loaded
    // machine, when the other account's event has been delivered.
    let (app, slow, fast) = slow_and_fast_accounts(
        &test,
        Duration::from_millis(1500),
        &[
            ("CRM_POLL_INTERVAL", "1h"),
            ("CRM_DELIVERY_CONCURRENCY_PER_ACCOUNT", "2"),
            ("CRM_DELIVERY_CONCURRENCY", "4"),
        ],
    )
    .await;

    // Two events under way put the slow account at its bound; a third arrives then. Its ring
    // starts no claim; the first of the two ending does.
    post_signed(&app, &text_body("111", "slow.0")).await;
    attempts_reach(&slow, 1).await;
    post_signed(&app, &text_body("111", "slow.1")).await;
    attempts_reach(&slow, 2).await;
    post_signed(&app, &text_body("111", "slow.2")).await;
    all_become(&test, 3, DeliveryStatus::Delivered, Duration::from_secs(10)).await;

    // While it is at its bound again, another account's event is claimed at once.
    post_signed(&app, &text_body("111", "slow.3")).await;
    post_signed(&app, &text_body("111", "slow.4")).await;
    attempts_reach(&slow, 5).await;
    post_signed(&app, &text_body("222", "fast.0")).await;
    attempts_reach(&fast, 1).await;
    assert!(
        deliveries(&test)
            .await
            .iter()
            .any(|d| d.status != DeliveryStatus::Delivered),
        "the slow account's attempts were over before the other account's event was claimed"
    );
    all_become(&test, 6, DeliveryStatus::Delivered, Duration::from_secs(10)).await;
}

/// The service with `extra` settings and two accounts: Instagram `111` forwarding to a CRM that
/// answers after `delay`, and `222` to one that answers at once. Returns the service and both
/// CRMs, slow first.
async fn slow_and_fast_accounts(
    test: &TestDb,
    delay: Duration,
    extra: &[(&str, &str)],
) -> (TestApp, MockServer, MockServer) {
    let slow = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(delay))
        .mount(&slow)
        .await;
    let fast = crm(200).await;
    let config = delivery_config(&test.url, "1s", extra);
    let slow_url = format!("{}/crm", slow.uri());
    let fast_url = format!("{}/crm", fast.uri());
    seed_account_with_crm(&test.db, &config, "111", Some(&slow_url)).await;
    seed_account_with_crm(&test.db, &config, "222", Some(&fast_url)).await;
    (TestApp::spawn(config).await, slow, fast)
}

/// Waits until `server` has received `count` requests, at most 5 s.
async fn attempts_reach(server: &MockServer, count: usize) {
    let reached = eventually(Duration::from_secs(5), || async {
        server.received_requests().await.unwrap().len() >= count
    })
    .await;
    assert!(reached, "{count} attempts never reached the CRM");
}

async fn two_instances_on_one_database_deliver_each_event_once(test: TestDb) {
    let server = crm(200).await;
    let config = delivery_config(&test.url, "1s", &[]);
    let crm_url = format!("{}/crm", server.uri());
    seed_account_with_crm(&test.db, &config, "1234567890", Some(&crm_url)).await;
    let first = TestApp::spawn(config).await;
    let second = TestApp::spawn(delivery_config(&test.url, "1s", &[])).await;

    let events = 40;
    let posts = (0..events).map(|n| {
        let app = if n % 2 == 0 { &first } else { &second };
        async move { post_signed(app, &text_body("1234567890", &format!("two.{n}"))).await }
    });
    futures::future::join_all(posts).await;
    all_become(
        &test,
        events,
        DeliveryStatus::Delivered,
        Duration::from_secs(20),
    )
    .await;

    let mut sent: HashMap<String, usize> = HashMap::new();
    for request in server.received_requests().await.unwrap() {
        *sent.entry(header(&request, "webhook-id")).or_default() += 1;
    }
    let stored: Vec<EventId> = deliveries(&test).await.into_iter().map(|d| d.id).collect();
    assert_eq!(sent.len(), events, "every event reached the CRM");
    for id in &stored {
        assert_eq!(
            sent.get(id.as_str()),
            Some(&1),
            "{id} was sent more than once"
        );
    }
    assert!(
        counted(|| {
            first.delivery_metrics.snapshot().delivered
                + second.delivery_metrics.snapshot().delivered
                == 40
        })
        .await
    );
}

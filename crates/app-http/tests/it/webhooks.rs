//! `GET`/`POST /webhooks/instagram` at the door: the verification handshake, and posts refused
//! before anything is stored (signature, size, not JSON) or because the database is down.

use adapters_db::testing::TestDb;
use adapters_db::{Backend, backend_tests};

use crate::helpers::{TestApp, captured_logs, config};
use crate::webhook_support::{
    FACEBOOK_SECRET, VERIFY_TOKEN, deliveries, fixture, history, post_signed, post_webhook,
    seed_account_with_crm, sign, webhook_config,
};

backend_tests!(
    unsigned_and_wrongly_signed_posts_are_401_and_store_nothing,
    either_app_secret_signs,
    bodies_over_one_mib_are_413_and_store_nothing,
    signed_bodies_that_are_not_json_are_400,
);

async fn sqlite() -> TestDb {
    TestDb::new(Backend::Sqlite)
        .await
        .expect("sqlite is always available")
}

fn handshake(mode: &str, token: &str, challenge: &str) -> String {
    format!(
        "/webhooks/instagram?hub.mode={mode}&hub.verify_token={token}&hub.challenge={challenge}"
    )
}

#[tokio::test]
async fn the_handshake_echoes_the_challenge_for_our_token() {
    let test = sqlite().await;
    let app = TestApp::spawn(webhook_config(&test.url)).await;

    let response = app
        .get(&handshake("subscribe", VERIFY_TOKEN, "1158201444"))
        .await;

    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(response.text().await.unwrap(), "1158201444");
    assert!(
        !captured_logs().contains(VERIFY_TOKEN),
        "the verify token is never logged"
    );
}

#[tokio::test]
async fn the_handshake_refuses_wrong_tokens_and_modes_and_wants_every_parameter() {
    let test = sqlite().await;
    let app = TestApp::spawn(webhook_config(&test.url)).await;

    for (path, status) in [
        (handshake("subscribe", "wrong-token", "42"), 403),
        (handshake("subscribe", "", "42"), 403),
        (handshake("unsubscribe", VERIFY_TOKEN, "42"), 403),
        (
            format!("/webhooks/instagram?hub.verify_token={VERIFY_TOKEN}&hub.challenge=42"),
            400,
        ),
        (
            "/webhooks/instagram?hub.mode=subscribe&hub.challenge=42".to_owned(),
            400,
        ),
        (
            format!("/webhooks/instagram?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}"),
            400,
        ),
        ("/webhooks/instagram".to_owned(), 400),
    ] {
        let response = app.get(&path).await;
        assert_eq!(response.status(), status, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["error"]["code"].is_string(), "{path}: {body}");
    }
}

#[tokio::test]
async fn without_a_configured_token_every_handshake_is_403() {
    let test = sqlite().await;
    let app = TestApp::spawn(config(&test.url)).await;

    let response = app.get(&handshake("subscribe", "anything", "42")).await;

    assert_eq!(response.status(), 403);
}

async fn unsigned_and_wrongly_signed_posts_are_401_and_store_nothing(test: TestDb) {
    let config = webhook_config(&test.url);
    let account = seed_account_with_crm(
        &test.db,
        &config,
        "1234567890",
        Some(crate::webhook_support::CRM_URL),
    )
    .await;
    let app = TestApp::spawn(config).await;
    let body = fixture("001-text-hello.json");
    let other_body = fixture("002-image-attachment.json");

    for signature in [
        None,
        Some(String::new()),
        Some("sha256=zz".to_owned()),
        Some(sign(&other_body)),
        Some(adapters_instagram::signature_header_value(
            b"not-our-secret",
            &body,
        )),
    ] {
        let response = post_webhook(&app, body.clone(), signature.clone()).await;
        assert_eq!(response.status(), 401, "{signature:?}");
        let answer: serde_json::Value = response.json().await.unwrap();
        assert_eq!(answer["error"]["code"], "invalid_signature");
    }

    assert!(history(&test, &account.id).await.is_empty());
    assert!(deliveries(&test).await.is_empty());
    assert_eq!(app.webhook_counters.snapshot().signature_rejected, 5);
}

async fn either_app_secret_signs(test: TestDb) {
    let config = webhook_config(&test.url);
    let account = seed_account_with_crm(&test.db, &config, "1234567890", None).await;
    let app = TestApp::spawn(config).await;
    let body = fixture("001-text-hello.json");

    let signature = adapters_instagram::signature_header_value(FACEBOOK_SECRET.as_bytes(), &body);
    let response = post_webhook(&app, body, Some(signature)).await;

    assert_eq!(response.status(), 200);
    assert_eq!(history(&test, &account.id).await.len(), 1);
}

async fn bodies_over_one_mib_are_413_and_store_nothing(test: TestDb) {
    let config = webhook_config(&test.url);
    let account = seed_account_with_crm(&test.db, &config, "1234567890", None).await;
    let app = TestApp::spawn(config).await;
    // A valid, signed body that holds a real message, padded just past the limit.
    let text = fixture("001-text-hello.json");
    let hello = String::from_utf8(text).unwrap();
    let padded = hello.replacen(
        "\"object\"",
        &format!("\"padding\": \"{}\", \"object\"", "x".repeat(1024 * 1024)),
        1,
    );
    let body = padded.into_bytes();
    assert!(body.len() > 1024 * 1024);

    let response = post_webhook(&app, body.clone(), Some(sign(&body))).await;

    assert_eq!(response.status(), 413);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["error"]["code"], "payload_too_large");
    assert!(history(&test, &account.id).await.is_empty());

    // Exactly at the limit is accepted.
    let hello = String::from_utf8(fixture("001-text-hello.json")).unwrap();
    let room = 1024 * 1024 - hello.len() - "\"padding\": \"\", ".len();
    let body = hello
        .replacen(
            "\"object\"",
            &format!("\"padding\": \"{}\", \"object\"", "x".repeat(room)),
            1,
        )
        .into_bytes();
    assert_eq!(body.len(), 1024 * 1024);
    post_signed(&app, &body).await;
    assert_eq!(history(&test, &account.id).await.len(), 1);
}

async fn signed_bodies_that_are_not_json_are_400(test: TestDb) {
    let config = webhook_config(&test.url);
    let account = seed_account_with_crm(&test.db, &config, "1234567890", None).await;
    let app = TestApp::spawn(config).await;

    for body in [&b"not json"[..], b"[1,2]", b"\xff\xfe", b""] {
        let response = post_webhook(&app, body.to_vec(), Some(sign(body))).await;
        assert_eq!(response.status(), 400, "{body:?}");
        let answer: serde_json::Value = response.json().await.unwrap();
        assert_eq!(answer["error"]["code"], "bad_request");
    }
    assert!(history(&test, &account.id).await.is_empty());
}

/// Unsigned posts are accepted only in development with no app secret configured.
#[tokio::test]
async fn development_without_secrets_accepts_unsigned_posts() {
    let test = sqlite().await;
    let config = config(&test.url);
    let account = seed_account_with_crm(&test.db, &config, "1234567890", None).await;
    let app = TestApp::spawn(config).await;

    let response = post_webhook(&app, fixture("001-text-hello.json"), None).await;

    assert_eq!(response.status(), 200);
    assert_eq!(history(&test, &account.id).await.len(), 1);
    assert!(captured_logs().contains("unsigned webhook accepted"));
}

/// As in `health.rs`: no migrations, a port where nothing listens; the pool connects lazily, so
/// the service comes up and the post finds the database down.
#[tokio::test]
async fn a_post_is_503_when_the_database_is_unreachable() {
    let mut config = webhook_config("postgres://postgres@127.0.0.1:1/test");
    config.database.migrate_at_startup = false;
    let app = TestApp::spawn(config).await;
    let body = fixture("001-text-hello.json");

    let response = post_webhook(&app, body.clone(), Some(sign(&body))).await;

    assert_eq!(response.status(), 503);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["error"]["code"], "service_unavailable");
}

/// A database that accepts connections and never answers: the post is `503` once the pool gives
/// up waiting, so Meta retries, instead of hanging until Meta times out.
#[tokio::test]
async fn a_post_is_503_when_the_database_does_not_answer() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming() {
            held.push(stream);
        }
    });
    let mut config = webhook_config(&format!("postgres://postgres@127.0.0.1:{port}/test"));
    config.database.migrate_at_startup = false;
    config.database.pool.acquire_timeout = std::time::Duration::from_secs(1);
    let app = TestApp::spawn(config).await;
    let body = fixture("001-text-hello.json");

    let started = std::time::Instant::now();
    let response = post_webhook(&app, body.clone(), Some(sign(&body))).await;

    assert_eq!(response.status(), 503);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "answered after {:?}",
        started.elapsed()
    );
}

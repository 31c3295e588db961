//! Bearer authentication of `/api/v1` on the real service, every backend: who gets `401`, the
//! development any-token rule, and `503` when the database is down.

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use app_http::api_keys;
use app_http::clock::SystemClock;
use domain::ports::ApiKeyStore;
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::helpers::{TestApp, config, production_config};

backend_tests!(
    missing_malformed_unknown_and_revoked_keys_are_401,
    development_accepts_any_token_only_until_a_key_exists,
    production_with_no_keys_accepts_no_token,
    a_key_records_when_it_was_last_used,
);

/// A `401` in the contract's shape, with `WWW-Authenticate: Bearer`.
async fn assert_unauthorized(response: reqwest::Response, case: &str) {
    assert_eq!(response.status(), 401, "{case}");
    assert_eq!(response.headers()["www-authenticate"], "Bearer", "{case}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized", "{case}: {body}");
    assert!(body["error"]["message"].is_string(), "{case}: {body}");
}

async fn create_key(test: &TestDb) -> api_keys::NewApiKey {
    api_keys::create(&test.db, &test.db, &SystemClock, "crm".into(), Vec::new())
        .await
        .unwrap()
}

async fn missing_malformed_unknown_and_revoked_keys_are_401(test: TestDb) {
    let app = TestApp::spawn(production_config(&test.url)).await;
    let key = create_key(&test).await;
    let good = format!("Bearer {}", key.secret.expose_secret());

    assert_eq!(
        app.get_as("/api/v1/accounts", Some(&good)).await.status(),
        200
    );
    let lowercase = format!("bearer {}", key.secret.expose_secret());
    assert_eq!(
        app.get_as("/api/v1/accounts", Some(&lowercase))
            .await
            .status(),
        200
    );
    let unknown = format!("Bearer {}x", key.secret.expose_secret());
    for (case, header) in [
        ("missing", None),
        ("empty", Some("")),
        ("no token", Some("Bearer")),
        ("blank token", Some("Bearer   ")),
        ("basic scheme", Some("Basic dXNlcjpwYXNz")),
        ("bare key", Some(key.secret.expose_secret())),
        ("unknown", Some(unknown.as_str())),
        (
            "unknown random",
            Some("Bearer igr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        ),
    ] {
        assert_unauthorized(app.get_as("/api/v1/accounts", header).await, case).await;
    }

    api_keys::revoke(&test.db, &SystemClock, &key.record.id)
        .await
        .unwrap();
    assert_unauthorized(
        app.get_as("/api/v1/accounts", Some(&good)).await,
        "revoked: refused on the very next request",
    )
    .await;
    app.stop().await.unwrap();
}

async fn development_accepts_any_token_only_until_a_key_exists(test: TestDb) {
    let app = TestApp::spawn(config(&test.url)).await;

    let response = app
        .get_as("/api/v1/accounts", Some("Bearer anything-at-all"))
        .await;
    assert_eq!(response.status(), 200);
    assert_unauthorized(app.get_as("/api/v1/accounts", None).await, "missing").await;
    assert_unauthorized(
        app.get_as("/api/v1/accounts", Some("Bearer ")).await,
        "empty token",
    )
    .await;

    let key = create_key(&test).await;
    assert_unauthorized(
        app.get_as("/api/v1/accounts", Some("Bearer anything-at-all"))
            .await,
        "any token, once a key exists",
    )
    .await;
    let good = format!("Bearer {}", key.secret.expose_secret());
    assert_eq!(
        app.get_as("/api/v1/accounts", Some(&good)).await.status(),
        200
    );

    // Revoking the only key does not reopen the any-token door.
    api_keys::revoke(&test.db, &SystemClock, &key.record.id)
        .await
        .unwrap();
    let restarted = TestApp::spawn(config(&test.url)).await;
    assert_unauthorized(
        restarted
            .get_as("/api/v1/accounts", Some("Bearer anything-at-all"))
            .await,
        "any token, after the only key was revoked",
    )
    .await;
    app.stop().await.unwrap();
    restarted.stop().await.unwrap();
}

async fn production_with_no_keys_accepts_no_token(test: TestDb) {
    let app = TestApp::spawn(production_config(&test.url)).await;

    for token in ["Bearer anything-at-all", "Bearer igr_x"] {
        assert_unauthorized(app.get_as("/api/v1/accounts", Some(token)).await, token).await;
    }
    app.stop().await.unwrap();
}

async fn a_key_records_when_it_was_last_used(test: TestDb) {
    let app = TestApp::spawn(production_config(&test.url)).await;
    let key = create_key(&test).await;
    let good = format!("Bearer {}", key.secret.expose_secret());

    for _ in 0..3 {
        assert_eq!(
            app.get_as("/api/v1/accounts", Some(&good)).await.status(),
            200
        );
    }

    let keys = test.db.list_api_keys().await.unwrap();
    assert_eq!(keys.len(), 1);
    assert!(keys[0].last_used_at.is_some(), "{:?}", keys[0]);
    app.stop().await.unwrap();
}

/// The service comes up on a database that is down (migrations off); a request that needs the
/// key store answers `503`, not `401`, so the client retries instead of discarding its key.
#[tokio::test]
async fn an_unreachable_database_is_503() {
    let mut config = config("postgres://postgres@127.0.0.1:1/test");
    config.database.migrate_at_startup = false;
    let app = TestApp::spawn(config).await;

    let response = app
        .get_as("/api/v1/accounts", Some("Bearer igr_whatever"))
        .await;

    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "service_unavailable");
}

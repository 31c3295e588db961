//! `GET /health` on every backend, and with the database down.

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use serde_json::{Value, json};

use crate::helpers::{TestApp, config};

backend_tests!(health_is_ok_when_the_database_answers);

async fn health_is_ok_when_the_database_answers(test: TestDb) {
    let app = TestApp::spawn(config(&test.url)).await;

    let response = app.get("/health").await;

    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "health answers JSON"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"status": "ok", "database": "ok", "version": env!("CARGO_PKG_VERSION")})
    );
    app.stop().await.unwrap();
}

/// Migrations need the database, so this starts the service with them turned off, on a port
/// where nothing listens; the pool connects lazily, so the service comes up and `/health`
/// reports the outage.
#[tokio::test]
async fn health_is_503_when_the_database_is_unreachable() {
    let mut config = config("postgres://postgres@127.0.0.1:1/test");
    config.database.migrate_at_startup = false;
    let app = TestApp::spawn(config).await;

    let response = app.get("/health").await;

    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"status": "degraded", "database": "unavailable", "version": env!("CARGO_PKG_VERSION")})
    );
}

//! Errors actix produces on its own (unknown route, wrong method) come in the contract's shape.

use adapters_db::Backend;
use adapters_db::testing::TestDb;
use serde_json::{Value, json};

use crate::helpers::{TestApp, config};

#[tokio::test]
async fn unknown_routes_are_404_in_the_error_shape() {
    let test = TestDb::new(Backend::Sqlite).await.unwrap();
    let app = TestApp::spawn(config(&test.url)).await;

    let response = app.get("/no/such/route?x=1").await;

    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": {"code": "not_found", "message": "not found", "details": null}})
    );
}

#[tokio::test]
async fn a_wrong_method_is_405_in_the_error_shape() {
    let test = TestDb::new(Backend::Sqlite).await.unwrap();
    let app = TestApp::spawn(config(&test.url)).await;

    let response = app.request(reqwest::Method::DELETE, "/health").await;

    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "method_not_allowed");
}

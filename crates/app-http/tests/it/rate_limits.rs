//! The `/api/v1` rate limit (`API_RATE_LIMIT`) on the real service: a key over its burst gets
//! `429` with `Retry-After`, every `/api/v1` answer carries `RateLimit-Policy` and `RateLimit`,
//! another key keeps its own allowance, and webhooks, `/health` and `/metrics` are never limited.

use std::time::Duration;

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use app_http::api_keys;
use app_http::clock::SystemClock;
use reqwest::Response;
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::helpers::{TestApp, config_with};
use crate::webhook_support::{FACEBOOK_SECRET, INSTAGRAM_SECRET, VERIFY_TOKEN, post_signed};

backend_tests!(a_key_over_its_burst_is_429_and_other_keys_are_not,);

/// 3 at once, then 2 a second: the bucket refills in 1.5 s, announced as 2.
const LIMIT: &str = "2/s,burst=3";
const POLICY: &str = "\"default\";q=3;w=2";

/// A bearer header for a new key that sees every account.
async fn new_key(test: &TestDb) -> String {
    let key = api_keys::create(&test.db, &test.db, &SystemClock, "crm".into(), Vec::new())
        .await
        .unwrap();
    format!("Bearer {}", key.secret.expose_secret())
}

/// The answer's `RateLimit` header; its `RateLimit-Policy` must be [`POLICY`].
fn rate_limit(response: &Response) -> String {
    let headers = response.headers();
    assert_eq!(
        headers.get("ratelimit-policy").map(|v| v.to_str().unwrap()),
        Some(POLICY),
        "{} {}",
        response.url(),
        response.status()
    );
    headers["ratelimit"].to_str().unwrap().to_owned()
}

async fn a_key_over_its_burst_is_429_and_other_keys_are_not(test: TestDb) {
    let config = config_with(
        &test.url,
        &[
            ("API_RATE_LIMIT", LIMIT),
            ("FACEBOOK_VERIFY_TOKEN", VERIFY_TOKEN),
            ("INSTAGRAM_APP_SECRET", INSTAGRAM_SECRET),
            ("FACEBOOK_APP_SECRET", FACEBOOK_SECRET),
        ],
    );
    let app = TestApp::spawn(config).await;
    let alpha = new_key(&test).await;
    let beta = new_key(&test).await;

    // The burst: three answers, each saying what is left.
    let mut left = Vec::new();
    for _ in 0..3 {
        let response = app.get_as("/api/v1/accounts", Some(&alpha)).await;
        assert_eq!(response.status(), 200);
        left.push(rate_limit(&response));
    }
    assert_eq!(
        left,
        [
            "\"default\";r=2;t=1",
            "\"default\";r=1;t=1",
            "\"default\";r=0;t=2"
        ]
    );

    // The fourth, at once: refused before the handler runs, whatever the path.
    let refused = app
        .get_as("/api/v1/accounts/acc_aaaaaaaaaaaa", Some(&alpha))
        .await;
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "1");
    assert_eq!(rate_limit(&refused), "\"default\";r=0;t=1");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    assert_eq!(body["error"]["details"]["retry_after_seconds"], 1, "{body}");

    // Another key has its own bucket, and its errors carry the headers too.
    let missing = app
        .get_as("/api/v1/accounts/acc_aaaaaaaaaaaa", Some(&beta))
        .await;
    assert_eq!(missing.status(), 404);
    assert_eq!(rate_limit(&missing), "\"default\";r=2;t=1");
    // Answers that charged no key show the whole quota: no key (401), no route (404, 405).
    for (method, path, authorization, status) in [
        (reqwest::Method::GET, "/api/v1/accounts", None, 401),
        (
            reqwest::Method::GET,
            "/api/v1/no-such-thing",
            Some(&beta),
            404,
        ),
        (reqwest::Method::PUT, "/api/v1/accounts", Some(&beta), 405),
    ] {
        let mut request = reqwest::Client::new().request(method, format!("{}{path}", app.address));
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{path}");
        assert_eq!(rate_limit(&response), "\"default\";r=3;t=0", "{path}");
    }

    // Webhooks, health and metrics are never limited, and carry no rate-limit headers.
    let body = br#"{"object":"instagram","entry":[]}"#;
    for _ in 0..6 {
        post_signed(&app, body).await;
        let verify = app
            .get(&format!(
                "/webhooks/instagram?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=42"
            ))
            .await;
        assert_eq!(verify.status(), 200);
        assert!(verify.headers().get("ratelimit").is_none());
        for path in ["/health", "/metrics"] {
            let response = app.get(path).await;
            assert_eq!(response.status(), 200, "{path}");
            assert!(response.headers().get("ratelimit").is_none(), "{path}");
            assert!(
                response.headers().get("ratelimit-policy").is_none(),
                "{path}"
            );
        }
    }

    // Retry-After is honest: after it, the key is let through again.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let again = app.get_as("/api/v1/accounts", Some(&alpha)).await;
    assert_eq!(again.status(), 200);
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("\nigrouter_api_rate_limited_requests_total 1\n"),
        "{metrics}"
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn development_tokens_each_get_a_bucket_while_no_key_exists() {
    let test = TestDb::new(adapters_db::Backend::Sqlite).await.unwrap();
    let app = TestApp::spawn(config_with(&test.url, &[("API_RATE_LIMIT", "1/m")])).await;

    let first = app.get_as("/api/v1/accounts", Some("Bearer dev-one")).await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["ratelimit"], "\"default\";r=0;t=60");
    assert_eq!(first.headers()["ratelimit-policy"], "\"default\";q=1;w=60");
    let second = app.get_as("/api/v1/accounts", Some("Bearer dev-one")).await;
    assert_eq!(second.status(), 429);
    let wait: u64 = second.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((59..=60).contains(&wait), "{wait}");
    let other = app.get_as("/api/v1/accounts", Some("Bearer dev-two")).await;
    assert_eq!(other.status(), 200);
}

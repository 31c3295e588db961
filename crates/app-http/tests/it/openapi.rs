//! `GET /openapi.json` and `GET /docs`: the document is snapshot-tested (any change to the API
//! shows up in review), names every route the service registers and nothing else, and the page
//! and every file it loads come from the service itself.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::{TempDir, TestApp, config_with};

/// The routes file, whose registrations the document must match.
const ROUTES: &str = include_str!("../../src/routes/mod.rs");

/// Served beside the API but not part of it: the document itself and the page that shows it.
const UNDOCUMENTED: [&str; 3] = ["/openapi.json", "/docs", "/docs/{file:.*}"];

async fn spawn(dir: &TempDir) -> TestApp {
    let url = format!("sqlite://{}", dir.path().join("igrouter.db").display());
    // A tiny quota: the document and the page must not be limited by it.
    TestApp::spawn(config_with(&url, &[("API_RATE_LIMIT", "1/s,burst=1")])).await
}

async fn document(app: &TestApp) -> Value {
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(
        response.headers().get("ratelimit").is_none(),
        "the document is not rate limited"
    );
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_document_is_the_snapshot() {
    let dir = TempDir::new();
    let app = spawn(&dir).await;

    let document = document(&app).await;

    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"));
    insta::assert_json_snapshot!("openapi", document);
    app.stop().await.unwrap();
}

#[tokio::test]
async fn every_registered_route_is_documented_and_nothing_else() {
    let dir = TempDir::new();
    let app = spawn(&dir).await;

    let document = document(&app).await;

    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let registered = registered_routes();
    assert!(
        registered.len() > 20,
        "the scan of routes/mod.rs found too few routes: {registered:?}"
    );
    let missing: Vec<_> = registered.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&registered).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "registered but not documented (add #[utoipa::path] and list it in RouteDocs): \
         {missing:?}; documented but not registered: {extra:?}"
    );
    app.stop().await.unwrap();
}

/// Every `(METHOD, path)` `routes::configure` registers: each `web::resource("…")` with the
/// `.get(`, `.post(`, … calls that follow it up to the next resource.
fn registered_routes() -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for chunk in ROUTES.split("web::resource(\"").skip(1) {
        let Some((path, calls)) = chunk.split_once('"') else {
            continue;
        };
        if UNDOCUMENTED.contains(&path) {
            continue;
        }
        for method in ["get", "post", "put", "patch", "delete"] {
            if calls.contains(&format!(".{method}(")) {
                routes.insert((method.to_uppercase(), path.to_owned()));
            }
        }
    }
    routes
}

#[tokio::test]
async fn every_api_operation_declares_the_shared_errors_and_headers() {
    let dir = TempDir::new();
    let app = spawn(&dir).await;

    let document = document(&app).await;

    for (path, item) in document["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1/") {
            continue;
        }
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            for status in ["401", "429", "503"] {
                assert!(responses.contains_key(status), "{method} {path}: {status}");
            }
            for (status, response) in responses {
                let headers = response["headers"].as_object().unwrap();
                assert!(
                    headers.contains_key("RateLimit") && headers.contains_key("RateLimit-Policy"),
                    "{method} {path} {status}"
                );
            }
            assert_eq!(
                operation["security"][0]["bearer"],
                serde_json::json!([]),
                "{method} {path}"
            );
        }
    }
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                assert!(
                    response["headers"]["X-Request-Id"].is_object(),
                    "{method} {path} {status}"
                );
            }
        }
    }
    let webhook = &document["webhooks"]["crmDelivery"]["post"];
    let headers: BTreeSet<&str> = webhook["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|parameter| parameter["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        headers,
        BTreeSet::from([
            "X-Hub-Signature-256",
            "X-Request-Id",
            "webhook-id",
            "webhook-signature",
            "webhook-timestamp"
        ])
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn the_docs_page_and_everything_it_loads_come_from_the_service() {
    let dir = TempDir::new();
    let app = spawn(&dir).await;

    for page in ["/docs", "/docs/"] {
        let response = app.get(page).await;
        assert_eq!(response.status(), 200, "{page}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{page}"
        );
        assert!(response.headers().get("ratelimit").is_none());
        assert_security_headers(&response, page);
        let html = response.text().await.unwrap();
        assert!(!html.contains("<base"), "the policy forbids a base: {html}");
        let assets = referenced(&html);
        assert!(
            assets.len() >= 4,
            "the page loads Swagger UI's scripts and styles: {assets:?}"
        );
        for asset in assets {
            assert!(
                !asset.contains("//"),
                "{asset} would be loaded from another host"
            );
            // Absolute, so they resolve under /docs/ from `/docs` as from `/docs/`.
            assert!(asset.starts_with("/docs/"), "{asset}");
            let path = asset;
            let response = app.get(&path).await;
            assert_eq!(response.status(), 200, "{path}");
            assert_security_headers(&response, &path);
            let body = response.text().await.unwrap();
            assert!(!body.is_empty(), "{path}");
            if path.ends_with("swagger-initializer.js") {
                assert!(body.contains("\"/openapi.json\""), "{body}");
                // The key stays in the page's memory, never in localStorage.
                assert!(body.contains("\"persistAuthorization\": false"), "{body}");
            }
        }
    }
    let missing = app.get("/docs/no-such-file.js").await;
    assert_eq!(missing.status(), 404);
    assert_security_headers(&missing, "a missing file");
    app.stop().await.unwrap();
}

/// The policy Swagger UI runs under (its initializer is a file, so no inline script), and the
/// headers that keep the page out of frames and its type and address to itself.
fn assert_security_headers(response: &reqwest::Response, what: &str) {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|value| value.to_str().unwrap().to_owned())
    };
    assert_eq!(
        header("content-security-policy").as_deref(),
        Some(
            "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
             form-action 'none'"
        ),
        "{what}"
    );
    assert_eq!(
        header("x-content-type-options").as_deref(),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(header("x-frame-options").as_deref(), Some("DENY"), "{what}");
    assert_eq!(
        header("referrer-policy").as_deref(),
        Some("no-referrer"),
        "{what}"
    );
}

/// Every `src="…"` and `href="…"` of `html`.
fn referenced(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for chunk in html.split(attribute).skip(1) {
            if let Some((value, _)) = chunk.split_once('"') {
                found.push(value.to_owned());
            }
        }
    }
    found
}

//! `GET /api/v1/accounts[/{id}]` on every backend: tenancy (a scoped key sees only its accounts,
//! others are `404`), pagination, and credentials kept out of answers and logs.

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use app_http::api_keys;
use app_http::clock::SystemClock;
use app_http::credentials::AesGcmCipher;
use domain::ports::CredentialCipher;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::helpers::{TestApp, captured_logs, production_config, seed_account};

backend_tests!(
    a_scoped_key_sees_only_its_accounts,
    accounts_never_show_credentials,
    listings_are_cursor_paginated,
);

async fn bearer(test: &TestDb, accounts: Vec<domain::AccountId>) -> String {
    let key = api_keys::create(&test.db, &test.db, &SystemClock, "crm".into(), accounts)
        .await
        .unwrap();
    format!("Bearer {}", key.secret.expose_secret())
}

fn ids(page: &Value) -> Vec<&str> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|account| account["id"].as_str().unwrap())
        .collect()
}

async fn a_scoped_key_sees_only_its_accounts(test: TestDb) {
    let config = production_config(&test.url);
    let alpha = seed_account(&test.db, &config, "1001", "token-alpha").await;
    let beta = seed_account(&test.db, &config, "1002", "token-beta").await;
    let app = TestApp::spawn(config).await;
    let alpha_only = bearer(&test, vec![alpha.id.clone()]).await;
    let everything = bearer(&test, Vec::new()).await;

    let own = app
        .get_as(&format!("/api/v1/accounts/{}", alpha.id), Some(&alpha_only))
        .await;
    assert_eq!(own.status(), 200);
    let other = app
        .get_as(&format!("/api/v1/accounts/{}", beta.id), Some(&alpha_only))
        .await;
    assert_eq!(other.status(), 404, "another tenant's account is not found");
    let body: Value = other.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    let missing = app
        .get_as("/api/v1/accounts/acc_zzzzzzzzzzzz", Some(&alpha_only))
        .await;
    assert_eq!(
        missing.status(),
        404,
        "the same answer as a missing account"
    );

    let listed: Value = app
        .get_as("/api/v1/accounts", Some(&alpha_only))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&listed), vec![alpha.id.as_str()]);

    let listed: Value = app
        .get_as("/api/v1/accounts", Some(&everything))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&listed), vec![beta.id.as_str(), alpha.id.as_str()]);
    let read = app
        .get_as(&format!("/api/v1/accounts/{}", beta.id), Some(&everything))
        .await;
    assert_eq!(read.status(), 200);

    for bad in ["nope", "acc_", "ACC_AAAAAAAAAAAA", "msg_aaaaaaaaaaaa"] {
        let response = app
            .get_as(&format!("/api/v1/accounts/{bad}"), Some(&everything))
            .await;
        assert_eq!(response.status(), 404, "{bad}");
    }
    app.stop().await.unwrap();
}

async fn accounts_never_show_credentials(test: TestDb) {
    let config = production_config(&test.url);
    let token = "IGQVJ-secret-access-token-7f3a9c";
    let account = seed_account(&test.db, &config, "2001", token).await;
    let cipher = AesGcmCipher::new(&config.credentials).unwrap();
    let webhook_secret = cipher
        .open(&account.id, &account.webhook_secret)
        .unwrap()
        .expose_secret()
        .to_owned();
    let app = TestApp::spawn(config).await;
    let auth = bearer(&test, Vec::new()).await;

    let one = app
        .get_as(&format!("/api/v1/accounts/{}", account.id), Some(&auth))
        .await;
    assert_eq!(one.status(), 200);
    assert_eq!(one.headers()["content-type"], "application/json");
    let one = one.text().await.unwrap();
    let list = app
        .get_as("/api/v1/accounts", Some(&auth))
        .await
        .text()
        .await
        .unwrap();

    let body: Value = serde_json::from_str(&one).unwrap();
    assert_eq!(
        body,
        json!({
            "id": account.id.as_str(),
            "instagram_account_id": "2001",
            "username": "shop_2001",
            "crm_webhook_url": null,
            "token_invalid": false,
            "send_rate_per_second": 100,
            "created_at": account.created_at.to_rfc3339(),
            "updated_at": account.updated_at.to_rfc3339(),
        })
    );
    for body in [&one, &list] {
        assert!(
            !body.contains("access_token") && !body.contains("webhook_secret"),
            "{body}"
        );
    }
    let logs = captured_logs();
    assert!(
        logs.contains(account.id.as_str()),
        "the capture works: {logs}"
    );
    for text in [&one, &list, &logs] {
        assert!(!text.contains(token), "the token leaked: {text}");
        assert!(!text.contains(&webhook_secret), "the secret leaked: {text}");
        assert!(
            !text.contains(&auth["Bearer ".len()..]),
            "the api key leaked"
        );
    }
    app.stop().await.unwrap();
}

async fn listings_are_cursor_paginated(test: TestDb) {
    let config = production_config(&test.url);
    let mut created = Vec::new();
    for n in 0..5 {
        let account = seed_account(&test.db, &config, &format!("300{n}"), "t").await;
        created.push(account.id.to_string());
        // Distinct creation times make the expected order obvious.
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    created.reverse();
    let app = TestApp::spawn(config).await;
    let auth = bearer(&test, Vec::new()).await;

    let mut seen = Vec::new();
    let mut path = "/api/v1/accounts?limit=2".to_owned();
    loop {
        let response = app.get_as(&path, Some(&auth)).await;
        assert_eq!(response.status(), 200, "{path}");
        let page: Value = response.json().await.unwrap();
        assert!(page["data"].as_array().unwrap().len() <= 2);
        seen.extend(ids(&page).into_iter().map(str::to_owned));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/accounts?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, created);

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("cursor=garbage", "cursor"),
    ] {
        let response = app
            .get_as(&format!("/api/v1/accounts?{query}"), Some(&auth))
            .await;
        assert_eq!(response.status(), 422, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["details"]["field"], field, "{query}");
    }
    app.stop().await.unwrap();
}

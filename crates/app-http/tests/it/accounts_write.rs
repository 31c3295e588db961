//! `POST /api/v1/accounts`, `PATCH` and `DELETE /api/v1/accounts/{id}` on every backend: the
//! statuses, tenancy across keys and accounts, secrets shown once and encrypted at rest, and the
//! private CRM URL rule. No request leaves the machine: refused URLs are literal addresses or
//! `localhost`, and nothing is ever delivered to an accepted one.

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use app_http::Config;
use app_http::api_keys;
use app_http::clock::SystemClock;
use app_http::credentials::AesGcmCipher;
use domain::ports::{AccountStore, CredentialCipher};
use domain::{AccountChanges, AccountId, Timestamp};
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::helpers::{KEY_A, TestApp, captured_logs, config_with, production_config, seed_account};

backend_tests!(
    a_created_account_shows_its_generated_secret_once,
    a_chosen_secret_is_never_echoed_and_credentials_are_sealed,
    the_same_instagram_account_twice_is_409,
    bad_fields_are_422_naming_the_field,
    bad_bodies_are_400_415_or_422,
    updates_change_what_they_name_and_show_no_secret,
    deletes_are_204_then_404,
    keys_reach_only_their_accounts_when_writing,
    writes_without_a_key_are_401,
    production_refuses_private_crm_urls,
    private_crm_urls_are_fine_in_development_or_when_allowed,
    a_bad_query_answers_after_authentication,
);

/// A client for one key.
struct Api<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    authorization: Option<String>,
}

impl<'a> Api<'a> {
    async fn new(app: &'a TestApp, test: &TestDb, scope: Vec<AccountId>) -> Self {
        let key = api_keys::create(&test.db, &test.db, &SystemClock, "crm".into(), scope)
            .await
            .unwrap();
        Self {
            app,
            client: reqwest::Client::new(),
            authorization: Some(format!("Bearer {}", key.secret.expose_secret())),
        }
    }

    fn anonymous(app: &'a TestApp) -> Self {
        Self {
            app,
            client: reqwest::Client::new(),
            authorization: None,
        }
    }

    /// `method path` with `body` as raw text and `content_type` when given.
    async fn raw(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: &str,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.app.address))
            .body(body.to_owned());
        if let Some(value) = &self.authorization {
            request = request.header("authorization", value);
        }
        if let Some(value) = content_type {
            request = request.header("content-type", value);
        }
        request.send().await.unwrap()
    }

    async fn json(&self, method: Method, path: &str, body: &Value) -> reqwest::Response {
        self.raw(method, path, Some("application/json"), &body.to_string())
            .await
    }

    async fn send(&self, method: Method, path: &str) -> reqwest::Response {
        self.raw(method, path, None, "").await
    }

    async fn create(&self, body: &Value) -> reqwest::Response {
        self.json(Method::POST, "/api/v1/accounts", body).await
    }

    async fn patch(&self, id: &str, body: &Value) -> reqwest::Response {
        self.json(Method::PATCH, &format!("/api/v1/accounts/{id}"), body)
            .await
    }
}

/// A valid create body; `instagram_id` keeps tests' accounts apart.
fn new_account(instagram_id: &str) -> Value {
    json!({
        "instagram_account_id": instagram_id,
        "username": "shop.official",
        "access_token": format!("IGQVJ-token-{instagram_id}"),
        "crm_webhook_url": "https://93.184.215.14/hooks/instagram",
    })
}

/// Reads the answer's JSON after checking its status.
async fn expect(response: reqwest::Response, status: u16, case: &str) -> Value {
    let got = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(got, status, "{case}: {text}");
    if text.is_empty() {
        return Value::Null;
    }
    serde_json::from_str(&text).unwrap()
}

/// A `422` naming `field`.
async fn expect_invalid(response: reqwest::Response, field: &str, case: &str) {
    let body = expect(response, 422, case).await;
    assert_eq!(body["error"]["code"], "validation_failed", "{case}: {body}");
    assert_eq!(body["error"]["details"]["field"], field, "{case}: {body}");
}

fn account_id(body: &Value) -> AccountId {
    AccountId::parse(body["id"].as_str().unwrap()).unwrap()
}

async fn a_created_account_shows_its_generated_secret_once(test: TestDb) {
    let config = production_config(&test.url);
    let cipher = AesGcmCipher::new(&config.credentials).unwrap();
    let app = TestApp::spawn(config).await;
    let api = Api::new(&app, &test, Vec::new()).await;

    let response = api.create(&new_account("4001")).await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created = expect(response, 201, "create").await;
    let id = account_id(&created);
    assert_eq!(id.as_str().len(), "acc_".len() + 12);
    assert_eq!(location, format!("/api/v1/accounts/{id}"));
    let secret = created["webhook_secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 64);
    assert!(secret.bytes().all(|b| b.is_ascii_hexdigit()), "{secret}");
    let mut without_secret = created.clone();
    without_secret
        .as_object_mut()
        .unwrap()
        .remove("webhook_secret");
    assert_eq!(
        without_secret,
        json!({
            "id": id.as_str(),
            "instagram_account_id": "4001",
            "username": "shop.official",
            "crm_webhook_url": "https://93.184.215.14/hooks/instagram",
            "token_invalid": false,
            "send_rate_per_second": 100,
            "created_at": created["created_at"],
            "updated_at": created["created_at"],
        })
    );

    // The generated secret is the one stored, sealed for this account.
    let stored = test.db.account(&id).await.unwrap().unwrap();
    let opened = cipher.open(&id, &stored.webhook_secret).unwrap();
    assert_eq!(opened.expose_secret(), secret);

    // Never shown again: not by GET, the listing, or a PATCH answer.
    let path = format!("/api/v1/accounts/{id}");
    let read = expect(api.send(Method::GET, &path).await, 200, "get").await;
    assert_eq!(read, without_secret);
    let list = expect(api.send(Method::GET, "/api/v1/accounts").await, 200, "list").await;
    let patched = expect(
        api.patch(id.as_str(), &json!({"username": "renamed"}))
            .await,
        200,
        "patch",
    )
    .await;
    for body in [&read, &list, &patched] {
        let text = body.to_string();
        assert!(!text.contains(&secret), "the secret came back: {text}");
        assert!(!text.contains("webhook_secret"), "{text}");
        assert!(
            !text.contains("IGQVJ-token-4001"),
            "the token came back: {text}"
        );
        assert!(!text.contains("access_token"), "{text}");
    }
    let logs = captured_logs();
    assert!(logs.contains(id.as_str()), "the capture works");
    assert!(!logs.contains(&secret), "the secret was logged");
    assert!(!logs.contains("IGQVJ-token-4001"), "the token was logged");
    app.stop().await.unwrap();
}

async fn a_chosen_secret_is_never_echoed_and_credentials_are_sealed(test: TestDb) {
    let config = production_config(&test.url);
    let cipher = AesGcmCipher::new(&config.credentials).unwrap();
    let app = TestApp::spawn(config).await;
    let api = Api::new(&app, &test, Vec::new()).await;
    let token = "IGQVJ-chosen-token-5f1e2d3c4b5a";
    let secret = "whsec-chosen-by-the-crm-0123456789";
    let mut body = new_account("4101");
    body["access_token"] = json!(token);
    body["webhook_secret"] = json!(secret);

    let text = api.create(&body).await.text().await.unwrap();
    let created: Value = serde_json::from_str(&text).unwrap();
    assert!(created.get("webhook_secret").is_none(), "{created}");
    assert!(!text.contains(secret) && !text.contains(token), "{text}");

    let id = account_id(&created);
    let stored = test.db.account(&id).await.unwrap().unwrap();
    for (sealed, plain) in [
        (&stored.access_token, token),
        (&stored.webhook_secret, secret),
    ] {
        let bytes = sealed.as_bytes();
        assert!(
            !bytes
                .windows(plain.len())
                .any(|window| window == plain.as_bytes()),
            "stored in clear"
        );
        assert_eq!(cipher.open(&id, sealed).unwrap().expose_secret(), plain);
    }
    // Bound to the account: another id does not open it.
    let other = AccountId::parse("acc_zzzzzzzzzzzz").unwrap();
    assert!(cipher.open(&other, &stored.access_token).is_err());
    let logs = captured_logs();
    assert!(
        !logs.contains(token) && !logs.contains(secret),
        "a credential was logged"
    );
    app.stop().await.unwrap();
}

async fn the_same_instagram_account_twice_is_409(test: TestDb) {
    let app = TestApp::spawn(production_config(&test.url)).await;
    let api = Api::new(&app, &test, Vec::new()).await;

    expect(api.create(&new_account("4201")).await, 201, "first").await;
    let mut again = new_account("4201");
    again["username"] = json!("someone_else");
    let body = expect(api.create(&again).await, 409, "second").await;
    assert_eq!(body["error"]["code"], "account_exists", "{body}");
    let list = expect(api.send(Method::GET, "/api/v1/accounts").await, 200, "list").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    app.stop().await.unwrap();
}

async fn bad_fields_are_422_naming_the_field(test: TestDb) {
    let app = TestApp::spawn(production_config(&test.url)).await;
    let api = Api::new(&app, &test, Vec::new()).await;
    let cases: Vec<(&str, &str, Value)> = vec![
        ("instagram_account_id", "missing", Value::Null),
        ("instagram_account_id", "empty", json!("")),
        ("instagram_account_id", "with a space", json!("1784 1400")),
        ("instagram_account_id", "too long", json!("1".repeat(65))),
        ("instagram_account_id", "a number", json!(17841400)),
        ("username", "missing", Value::Null),
        ("username", "over 30 characters", json!("a".repeat(31))),
        ("username", "a space", json!("shop official")),
        ("username", "empty", json!("")),
        ("access_token", "missing", Value::Null),
        ("access_token", "empty", json!("")),
        ("access_token", "over 4096 bytes", json!("t".repeat(4097))),
        ("access_token", "with a newline", json!("abc\ndef")),
        ("access_token", "not a string", json!({"token": "x"})),
        ("crm_webhook_url", "missing", Value::Null),
        (
            "crm_webhook_url",
            "not http",
            json!("ftp://93.184.215.14/x"),
        ),
        (
            "crm_webhook_url",
            "not a url",
            json!("crm.example.com/hooks"),
        ),
        (
            "crm_webhook_url",
            "with credentials",
            json!("https://u:p@93.184.215.14/"),
        ),
        ("crm_webhook_url", "a number", json!(5)),
        ("webhook_secret", "15 bytes", json!("s".repeat(15))),
        ("webhook_secret", "257 bytes", json!("s".repeat(257))),
        ("webhook_secret", "not a string", json!(["x"])),
    ];
    for (field, case, value) in cases {
        let mut body = new_account("4301");
        if value.is_null() {
            body.as_object_mut().unwrap().remove(field);
        } else {
            body[field] = value;
        }
        expect_invalid(api.create(&body).await, field, &format!("{field} {case}")).await;
    }
    let list = expect(api.send(Method::GET, "/api/v1/accounts").await, 200, "list").await;
    assert_eq!(list["data"], json!([]), "nothing was stored");

    // `null` for the URL is a decision, not an omission: store, do not forward.
    let mut no_url = new_account("4302");
    no_url["crm_webhook_url"] = Value::Null;
    no_url["webhook_secret"] = Value::Null;
    let created = expect(api.create(&no_url).await, 201, "null url").await;
    assert_eq!(created["crm_webhook_url"], Value::Null);
    assert!(
        created["webhook_secret"].is_string(),
        "null secret: generated"
    );

    let id = created["id"].as_str().unwrap();
    for (field, value) in [
        ("username", json!("a".repeat(31))),
        ("username", Value::Null),
        ("access_token", json!("")),
        ("access_token", Value::Null),
        ("crm_webhook_url", json!("gopher://93.184.215.14/")),
        ("webhook_secret", json!("short")),
        ("webhook_secret", Value::Null),
    ] {
        let case = format!("patch {field} = {value}");
        expect_invalid(api.patch(id, &json!({ field: value })).await, field, &case).await;
    }
    app.stop().await.unwrap();
}

async fn bad_bodies_are_400_415_or_422(test: TestDb) {
    let config = production_config(&test.url);
    let account = seed_account(&test.db, &config, "4401", "token-4401").await;
    let app = TestApp::spawn(config).await;
    let api = Api::new(&app, &test, Vec::new()).await;
    let json = Some("application/json");
    let valid = new_account("4402").to_string();
    let one = format!("/api/v1/accounts/{}", account.id);
    for (method, path) in [
        (Method::POST, "/api/v1/accounts"),
        (Method::PATCH, one.as_str()),
    ] {
        for (content_type, body, status, code) in [
            (json, r#"{"username": "#, 400, "bad_request"),
            (json, "", 400, "bad_request"),
            (json, "not json", 400, "bad_request"),
            (
                Some("text/plain"),
                valid.as_str(),
                415,
                "unsupported_media_type",
            ),
            (None, valid.as_str(), 415, "unsupported_media_type"),
            (
                json,
                r#"{"username":"x","admin":true}"#,
                422,
                "validation_failed",
            ),
            (json, "[]", 422, "validation_failed"),
        ] {
            let case = format!("{method} {path} {content_type:?} {body:?}");
            let answer = expect(
                api.raw(method.clone(), path, content_type, body).await,
                status,
                &case,
            )
            .await;
            assert_eq!(answer["error"]["code"], code, "{case}: {answer}");
        }
    }
    let unknown = expect(
        api.raw(Method::POST, "/api/v1/accounts", json, r#"{"admin":true}"#)
            .await,
        422,
        "unknown field",
    )
    .await;
    let reason = unknown["error"]["details"]["reason"].as_str().unwrap();
    assert!(reason.contains("admin"), "the reason names it: {reason}");
    app.stop().await.unwrap();
}

async fn updates_change_what_they_name_and_show_no_secret(test: TestDb) {
    let config = production_config(&test.url);
    let cipher = AesGcmCipher::new(&config.credentials).unwrap();
    let account = seed_account(&test.db, &config, "4501", "old-token").await;
    let app = TestApp::spawn(config).await;
    let api = Api::new(&app, &test, Vec::new()).await;
    let id = account.id.as_str();

    let unchanged = expect(api.patch(id, &json!({})).await, 200, "empty patch").await;
    assert_eq!(unchanged["updated_at"], account.updated_at.to_rfc3339());
    assert_eq!(unchanged["username"], "shop_4501");

    let body = expect(
        api.patch(
            id,
            &json!({"username": "new.name", "crm_webhook_url": "https://93.184.215.14/v2"}),
        )
        .await,
        200,
        "username and url",
    )
    .await;
    assert_eq!(body["username"], "new.name");
    assert_eq!(body["crm_webhook_url"], "https://93.184.215.14/v2");
    assert_eq!(body["instagram_account_id"], "4501");
    assert_ne!(body["updated_at"], unchanged["updated_at"]);

    let body = expect(
        api.patch(id, &json!({"crm_webhook_url": null})).await,
        200,
        "null url",
    )
    .await;
    assert_eq!(body["crm_webhook_url"], Value::Null);
    assert_eq!(body["username"], "new.name", "absent fields stay");

    // Meta rejected the token; a new one clears the mark.
    test.db
        .update_account(
            &account.id,
            AccountChanges {
                token_invalid_since: Some(Some(Timestamp::from_millis(1_700_000_000_000))),
                ..AccountChanges::default()
            },
            Timestamp::from_millis(1_700_000_000_000),
        )
        .await
        .unwrap();
    let read = expect(
        api.send(Method::GET, &format!("/api/v1/accounts/{id}"))
            .await,
        200,
        "get",
    )
    .await;
    assert_eq!(read["token_invalid"], true);
    let new_secret = "a-new-secret-for-the-crm-4501";
    let text = api
        .patch(
            id,
            &json!({"access_token": "new-token-4501", "webhook_secret": new_secret}),
        )
        .await
        .text()
        .await
        .unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["token_invalid"], false, "{body}");
    assert!(
        !text.contains("new-token-4501") && !text.contains(new_secret),
        "{text}"
    );
    let stored = test.db.account(&account.id).await.unwrap().unwrap();
    assert_eq!(
        cipher
            .open(&account.id, &stored.access_token)
            .unwrap()
            .expose_secret(),
        "new-token-4501"
    );
    assert_eq!(
        cipher
            .open(&account.id, &stored.webhook_secret)
            .unwrap()
            .expose_secret(),
        new_secret
    );
    let logs = captured_logs();
    assert!(!logs.contains("new-token-4501") && !logs.contains(new_secret));

    let missing = api
        .patch("acc_zzzzzzzzzzzz", &json!({"username": "x"}))
        .await;
    expect(missing, 404, "unknown account").await;
    app.stop().await.unwrap();
}

async fn deletes_are_204_then_404(test: TestDb) {
    let config = production_config(&test.url);
    let account = seed_account(&test.db, &config, "4601", "t").await;
    let app = TestApp::spawn(config).await;
    let api = Api::new(&app, &test, Vec::new()).await;
    let path = format!("/api/v1/accounts/{}", account.id);

    let response = api.send(Method::DELETE, &path).await;
    assert_eq!(response.status(), 204);
    assert!(response.text().await.unwrap().is_empty());
    expect(api.send(Method::GET, &path).await, 404, "get after delete").await;
    expect(api.send(Method::DELETE, &path).await, 404, "delete again").await;
    expect(
        api.patch(account.id.as_str(), &json!({"username": "x"}))
            .await,
        404,
        "patch",
    )
    .await;
    assert!(test.db.account(&account.id).await.unwrap().is_none());
    expect(
        api.send(Method::DELETE, "/api/v1/accounts/nope").await,
        404,
        "bad id",
    )
    .await;
    app.stop().await.unwrap();
}

async fn keys_reach_only_their_accounts_when_writing(test: TestDb) {
    let config = production_config(&test.url);
    let alpha = seed_account(&test.db, &config, "4701", "t-alpha").await;
    let beta = seed_account(&test.db, &config, "4702", "t-beta").await;
    let app = TestApp::spawn(config).await;
    let alpha_key = Api::new(&app, &test, vec![alpha.id.clone()]).await;
    let beta_key = Api::new(&app, &test, vec![beta.id.clone()]).await;
    let admin = Api::new(&app, &test, Vec::new()).await;

    for (key, own, other) in [(&alpha_key, &alpha, &beta), (&beta_key, &beta, &alpha)] {
        let other_path = format!("/api/v1/accounts/{}", other.id);
        let body = expect(
            key.patch(other.id.as_str(), &json!({"username": "hijacked"}))
                .await,
            404,
            "patch another tenant",
        )
        .await;
        assert_eq!(body["error"]["code"], "not_found");
        expect(
            key.send(Method::DELETE, &other_path).await,
            404,
            "delete another tenant",
        )
        .await;
        let untouched = test.db.account(&other.id).await.unwrap().unwrap();
        assert_ne!(untouched.username.as_str(), "hijacked");

        let body = expect(
            key.patch(own.id.as_str(), &json!({"username": "mine"}))
                .await,
            200,
            "patch own",
        )
        .await;
        assert_eq!(body["id"], own.id.as_str());

        let body = expect(key.create(&new_account("4703")).await, 403, "scoped create").await;
        assert_eq!(body["error"]["code"], "forbidden");
        let refused = key
            .raw(Method::POST, "/api/v1/accounts", Some("text/plain"), "x")
            .await;
        expect(refused, 403, "scoped create, the body is not even read").await;
    }

    let own_path = format!("/api/v1/accounts/{}", alpha.id);
    expect(
        alpha_key.send(Method::DELETE, &own_path).await,
        204,
        "delete own",
    )
    .await;
    expect(
        admin.send(Method::GET, &own_path).await,
        404,
        "gone for everyone",
    )
    .await;
    // A key left without accounts sees none; it does not fall back to seeing every account.
    let left = expect(
        alpha_key.send(Method::GET, "/api/v1/accounts").await,
        200,
        "list",
    )
    .await;
    assert_eq!(left["data"], json!([]));
    let beta_path = format!("/api/v1/accounts/{}", beta.id);
    expect(
        alpha_key.send(Method::GET, &beta_path).await,
        404,
        "still scoped",
    )
    .await;
    expect(
        admin.send(Method::GET, &beta_path).await,
        200,
        "the other stays",
    )
    .await;
    expect(
        admin.create(&new_account("4703")).await,
        201,
        "unscoped create",
    )
    .await;
    app.stop().await.unwrap();
}

async fn writes_without_a_key_are_401(test: TestDb) {
    let config = production_config(&test.url);
    let account = seed_account(&test.db, &config, "4801", "t").await;
    let app = TestApp::spawn(config).await;
    let anonymous = Api::anonymous(&app);
    let path = format!("/api/v1/accounts/{}", account.id);

    for response in [
        anonymous.create(&new_account("4802")).await,
        // Authentication answers before the body is judged.
        anonymous
            .raw(Method::POST, "/api/v1/accounts", Some("text/plain"), "{")
            .await,
        anonymous
            .raw(Method::PATCH, &path, Some("application/json"), "{")
            .await,
        anonymous
            .patch(account.id.as_str(), &json!({"username": "x"}))
            .await,
        anonymous.send(Method::DELETE, &path).await,
    ] {
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let body = expect(response, 401, "no key").await;
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    assert!(test.db.account(&account.id).await.unwrap().is_some());
    app.stop().await.unwrap();
}

/// URLs that point inside: by name (resolved from /etc/hosts) or as literal addresses.
const PRIVATE_URLS: [&str; 7] = [
    "http://localhost:9000/hook",
    "http://127.0.0.1:9000/hook",
    "http://10.0.0.1/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://[::1]:9000/hook",
    "http://[::ffff:192.168.1.1]/hook",
    "http://100.64.0.1/hook",
];

async fn production_refuses_private_crm_urls(test: TestDb) {
    let config = production_config(&test.url);
    let account = seed_account(&test.db, &config, "4901", "t").await;
    let app = TestApp::spawn(config).await;
    let api = Api::new(&app, &test, Vec::new()).await;

    for (n, url) in PRIVATE_URLS.iter().enumerate() {
        let mut body = new_account(&format!("49{n}9"));
        body["crm_webhook_url"] = json!(url);
        let answer = expect(api.create(&body).await, 422, url).await;
        assert_eq!(
            answer["error"]["details"]["field"], "crm_webhook_url",
            "{answer}"
        );
        let reason = answer["error"]["details"]["reason"].as_str().unwrap();
        assert!(reason.contains("private"), "{reason}");
        expect_invalid(
            api.patch(account.id.as_str(), &json!({ "crm_webhook_url": url }))
                .await,
            "crm_webhook_url",
            url,
        )
        .await;
    }
    let stored = test.db.account(&account.id).await.unwrap().unwrap();
    assert_eq!(stored.crm_webhook_url, None, "no refused URL was stored");
    let list = expect(api.send(Method::GET, "/api/v1/accounts").await, 200, "list").await;
    assert_eq!(
        list["data"].as_array().unwrap().len(),
        1,
        "no refused account was stored"
    );

    // A public address is fine.
    let body = expect(
        api.patch(
            account.id.as_str(),
            &json!({"crm_webhook_url": "https://[2606:4700:4700::1111]/h"}),
        )
        .await,
        200,
        "public IPv6",
    )
    .await;
    assert_eq!(body["crm_webhook_url"], "https://[2606:4700:4700::1111]/h");
    app.stop().await.unwrap();
}

async fn private_crm_urls_are_fine_in_development_or_when_allowed(test: TestDb) {
    let allowed = config_with(
        &test.url,
        &[
            ("ENVIRONMENT", "production"),
            ("FACEBOOK_VERIFY_TOKEN", "verify-token"),
            ("INSTAGRAM_APP_SECRET", "app-secret"),
            ("CREDENTIALS_KEY", KEY_A),
            ("ALLOW_PRIVATE_WEBHOOK_URLS", "true"),
        ],
    );
    // Both on KEY_A: the second service checks the credentials the first one stored.
    let development = config_with(&test.url, &[("CREDENTIALS_KEY", KEY_A)]);
    let configs: [(&str, Config); 2] = [("development", development), ("allowed", allowed)];
    for (round, (name, config)) in configs.into_iter().enumerate() {
        let app = TestApp::spawn(config).await;
        let api = Api::new(&app, &test, Vec::new()).await;
        for (n, url) in PRIVATE_URLS.iter().enumerate() {
            let mut body = new_account(&format!("5{round}{n}"));
            body["crm_webhook_url"] = json!(url);
            let created = expect(api.create(&body).await, 201, &format!("{name} {url}")).await;
            assert_eq!(created["crm_webhook_url"], *url);
            let id = created["id"].as_str().unwrap();
            let patched = expect(
                api.patch(id, &json!({"crm_webhook_url": url})).await,
                200,
                &format!("{name} patch {url}"),
            )
            .await;
            assert_eq!(patched["crm_webhook_url"], *url);
        }
        app.stop().await.unwrap();
    }
}

/// A query that does not parse, like a body, is judged after the caller: `401` without a valid
/// key, `400` with one, and never a dropped connection (a cancelled key lookup used to panic the
/// SQLite driver).
async fn a_bad_query_answers_after_authentication(test: TestDb) {
    let app = TestApp::spawn(production_config(&test.url)).await;
    let api = Api::new(&app, &test, Vec::new()).await;
    let path = "/api/v1/accounts?limit=many";

    expect(
        Api::anonymous(&app).send(Method::GET, path).await,
        401,
        "no key",
    )
    .await;
    let unknown = Api {
        app: &app,
        client: reqwest::Client::new(),
        authorization: Some("Bearer igr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into()),
    };
    expect(unknown.send(Method::GET, path).await, 401, "unknown key").await;
    let body = expect(api.send(Method::GET, path).await, 400, "bad query").await;
    assert_eq!(body["error"]["code"], "bad_request");
    app.stop().await.unwrap();
}

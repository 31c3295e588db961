//! Helpers for the `/webhooks/instagram` tests: a configuration with Meta's secrets, accounts
//! with or without a CRM URL, signed posts of exact bytes, and reads of what was stored.

use std::path::PathBuf;

use adapters_db::testing::TestDb;
use adapters_instagram::signature_header_value;
use app_http::Config;
use app_http::bootstrap::generate_webhook_secret;
use app_http::clock::SystemClock;
use app_http::credentials::AesGcmCipher;
use domain::ports::{AccountStore, Clock, CredentialCipher, DeliveryQueue, MessageStore};
use domain::{
    Account, AccountId, CrmDelivery, DeliveryFilter, InstagramId, Message, PageRequest, Username,
    WebhookUrl,
};
use secrecy::SecretString;
use serde_json::Value;

use crate::helpers::{TestApp, config_with};

/// `FACEBOOK_VERIFY_TOKEN` of [`webhook_config`].
pub(crate) const VERIFY_TOKEN: &str = "verify-token-5f1c";
/// `INSTAGRAM_APP_SECRET` of [`webhook_config`].
pub(crate) const INSTAGRAM_SECRET: &str = "instagram-app-secret";
/// `FACEBOOK_APP_SECRET` of [`webhook_config`].
pub(crate) const FACEBOOK_SECRET: &str = "facebook-app-secret";
/// Where the accounts of these tests forward (nothing listens: deliveries only queue).
pub(crate) const CRM_URL: &str = "http://127.0.0.1:9/crm";

/// A development configuration on `url` with the verify token and both app secrets set.
pub(crate) fn webhook_config(url: &str) -> Config {
    config_with(
        url,
        &[
            ("FACEBOOK_VERIFY_TOKEN", VERIFY_TOKEN),
            ("INSTAGRAM_APP_SECRET", INSTAGRAM_SECRET),
            ("FACEBOOK_APP_SECRET", FACEBOOK_SECRET),
        ],
    )
}

/// Stores an account for `instagram_id`, forwarding to `crm_url` when given.
pub(crate) async fn seed_account_with_crm(
    store: &dyn AccountStore,
    config: &Config,
    instagram_id: &str,
    crm_url: Option<&str>,
) -> Account {
    let cipher = AesGcmCipher::new(&config.credentials).unwrap();
    let id = app_http::random::account_id().unwrap();
    let now = SystemClock.now();
    let account = Account {
        instagram_account_id: InstagramId::parse("instagram_account_id", instagram_id).unwrap(),
        username: Username::parse("shop").unwrap(),
        access_token: cipher
            .seal(&id, &SecretString::from("token".to_owned()))
            .unwrap(),
        webhook_secret: cipher
            .seal(&id, &generate_webhook_secret().unwrap())
            .unwrap(),
        crm_webhook_url: crm_url.map(|url| WebhookUrl::parse("crm_webhook_url", url).unwrap()),
        token_invalid_since: None,
        send_rate_per_second: 100,
        created_at: now,
        updated_at: now,
        id,
    };
    store.create_account(&account).await.unwrap();
    account
}

/// `X-Hub-Signature-256` for `body` under the Instagram app secret.
pub(crate) fn sign(body: &[u8]) -> String {
    signature_header_value(INSTAGRAM_SECRET.as_bytes(), body)
}

/// `POST /webhooks/instagram` with exactly `body` and, when given, `signature`.
pub(crate) async fn post_webhook(
    app: &TestApp,
    body: Vec<u8>,
    signature: Option<String>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(format!("{}/webhooks/instagram", app.address))
        .header("content-type", "application/json")
        .body(body);
    if let Some(signature) = signature {
        request = request.header("x-hub-signature-256", signature);
    }
    request.send().await.expect("the service answers")
}

/// `POST` of `body` signed with the Instagram app secret; asserts `200`.
pub(crate) async fn post_signed(app: &TestApp, body: &[u8]) {
    let response = post_webhook(app, body.to_vec(), Some(sign(body))).await;
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    assert_eq!(text, "EVENT_RECEIVED");
}

/// The shared fixture `name`, byte for byte.
pub(crate) fn fixture(name: &str) -> Vec<u8> {
    let path = fixtures_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("reading {}: {error}", path.display()))
}

/// `../shared/fixtures/instagram/` next to the workspace.
pub(crate) fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/instagram")
}

/// `account`'s stored history, newest first (first page of 200).
pub(crate) async fn history(test: &TestDb, account: &AccountId) -> Vec<Message> {
    let page = PageRequest::new(Some(200), None).unwrap();
    test.db.history(account, None, &page).await.unwrap().items
}

/// Every queued delivery, newest first (first page of 200).
pub(crate) async fn deliveries(test: &TestDb) -> Vec<CrmDelivery> {
    let page = PageRequest::new(Some(200), None).unwrap();
    test.db
        .list_deliveries(&DeliveryFilter::default(), &page)
        .await
        .unwrap()
        .items
}

/// A delivery's body as JSON.
pub(crate) fn payload(delivery: &CrmDelivery) -> Value {
    serde_json::from_str(&delivery.payload).unwrap()
}

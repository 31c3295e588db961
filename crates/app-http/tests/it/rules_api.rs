//! `/api/v1/accounts/{id}/rules[/{rule_id}]` on every backend: create, list, read, update and
//! delete; each field's validation (`422` naming it, an invalid or catastrophic regex
//! included); scoping like the account itself; the limit of rules per account.

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use app_http::api_keys;
use app_http::clock::SystemClock;
use domain::AccountId;
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::helpers::{TestApp, config, seed_account};

backend_tests!(
    rules_are_created_listed_read_updated_and_deleted,
    every_field_is_validated_naming_it,
    invalid_and_catastrophic_regexes_are_refused,
    rules_are_scoped_like_their_account,
    an_account_has_at_most_a_thousand_rules,
);

/// An `/api/v1` client with its own key.
pub(crate) struct RulesApi {
    address: String,
    http: reqwest::Client,
    authorization: String,
}

/// An answer: status and JSON body (`null` when there is none).
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) json: Value,
}

impl RulesApi {
    /// A client with a new key that sees `scope` (every account when empty).
    pub(crate) async fn new(app: &TestApp, test: &TestDb, scope: Vec<AccountId>) -> Self {
        let key = api_keys::create(&test.db, &test.db, &SystemClock, "crm".into(), scope)
            .await
            .unwrap();
        Self {
            address: app.address.clone(),
            http: reqwest::Client::new(),
            authorization: format!("Bearer {}", key.secret.expose_secret()),
        }
    }

    /// `method path` with `body` as JSON when given.
    pub(crate) async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.address))
            .header("authorization", &self.authorization);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        Reply {
            status,
            json: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    /// Creates a rule for `account`, asserting `201`; its JSON.
    pub(crate) async fn create(&self, account: &AccountId, body: Value) -> Value {
        let reply = self
            .call(
                Method::POST,
                &format!("/api/v1/accounts/{account}/rules"),
                Some(&body),
            )
            .await;
        assert_eq!(reply.status, 201, "{body} → {:?}", reply.json);
        reply.json
    }
}

/// `reply` is a `422` naming `field`.
fn assert_names(reply: &Reply, field: &str) {
    assert_eq!(reply.status, 422, "{field}: {:?}", reply.json);
    assert_eq!(reply.json["error"]["code"], "validation_failed");
    assert_eq!(
        reply.json["error"]["details"]["field"], field,
        "{:?}",
        reply.json
    );
}

async fn start(test: &TestDb) -> (TestApp, AccountId, RulesApi) {
    let config = config(&test.url);
    let account = seed_account(&test.db, &config, "1001", "token").await;
    let app = TestApp::spawn(config).await;
    let api = RulesApi::new(&app, test, Vec::new()).await;
    (app, account.id, api)
}

async fn rules_are_created_listed_read_updated_and_deleted(test: TestDb) {
    let (_app, account, api) = start(&test).await;
    let rules = format!("/api/v1/accounts/{account}/rules");

    let minimal = api
        .create(
            &account,
            json!({"match": "keyword", "pattern": "Цена", "reply": "Здравствуйте, {username}!"}),
        )
        .await;
    assert!(minimal["id"].as_str().unwrap().starts_with("rul_"));
    assert_eq!(minimal["account_id"], account.as_str());
    assert_eq!(minimal["match"], "keyword");
    assert_eq!(minimal["pattern"], "Цена");
    assert_eq!(minimal["reply"], "Здравствуйте, {username}!");
    assert_eq!(
        (
            &minimal["priority"],
            &minimal["enabled"],
            &minimal["cooldown_seconds"]
        ),
        (&json!(0), &json!(true), &json!(0)),
        "defaults"
    );
    assert_eq!(minimal["created_at"], minimal["updated_at"]);
    let full = api
        .create(
            &account,
            json!({"match": "regex", "pattern": r"(?i)^price\b", "reply": "See the site",
                   "priority": 10, "enabled": false, "cooldown_seconds": 3600}),
        )
        .await;

    // Listed in the order they are tried: highest priority first.
    let listed = api.call(Method::GET, &rules, None).await;
    assert_eq!(listed.status, 200);
    let ids: Vec<&Value> = listed.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["id"])
        .collect();
    assert_eq!(ids, vec![&full["id"], &minimal["id"]]);

    let one = format!("{rules}/{}", minimal["id"].as_str().unwrap());
    let read = api.call(Method::GET, &one, None).await;
    assert_eq!((read.status, &read.json), (200, &minimal));

    let unchanged = api.call(Method::PATCH, &one, Some(&json!({}))).await;
    assert_eq!((unchanged.status, &unchanged.json), (200, &minimal));
    let changed = api
        .call(
            Method::PATCH,
            &one,
            Some(&json!({"match": "contains", "priority": -3, "cooldown_seconds": 60})),
        )
        .await;
    assert_eq!(changed.status, 200, "{:?}", changed.json);
    assert_eq!(changed.json["match"], "contains");
    assert_eq!(changed.json["priority"], -3);
    assert_eq!(changed.json["cooldown_seconds"], 60);
    assert_eq!(changed.json["pattern"], "Цена", "untouched members stay");
    assert_eq!(
        api.call(Method::GET, &one, None).await.json,
        changed.json,
        "stored as answered"
    );

    assert_eq!(api.call(Method::DELETE, &one, None).await.status, 204);
    assert_eq!(api.call(Method::GET, &one, None).await.status, 404);
    assert_eq!(api.call(Method::DELETE, &one, None).await.status, 404);
    assert_eq!(
        api.call(Method::PATCH, &one, Some(&json!({}))).await.status,
        404
    );
}

async fn every_field_is_validated_naming_it(test: TestDb) {
    let (_app, account, api) = start(&test).await;
    let rules = format!("/api/v1/accounts/{account}/rules");
    let base = json!({"match": "contains", "pattern": "hi", "reply": "hello"});
    let with = |member: &str, value: Value| {
        let mut body = base.clone();
        body[member] = value;
        body
    };
    let without = |member: &str| {
        let mut body = base.clone();
        body.as_object_mut().unwrap().remove(member);
        body
    };
    let cases = [
        (without("match"), "match"),
        (with("match", json!("glob")), "match"),
        (with("match", json!(1)), "match"),
        (without("pattern"), "pattern"),
        (with("pattern", json!("")), "pattern"),
        (with("pattern", json!(" \u{301} ")), "pattern"),
        (with("pattern", json!("é".repeat(501))), "pattern"),
        (with("pattern", json!("a\u{0}b")), "pattern"),
        (without("reply"), "reply"),
        (with("reply", json!(null)), "reply"),
        (with("reply", json!("ж".repeat(501))), "reply"),
        (with("reply", json!("{username}")), "reply"),
        (with("priority", json!(1.5)), "priority"),
        (with("priority", json!("1")), "priority"),
        (with("priority", json!(2_147_483_648_i64)), "priority"),
        (with("enabled", json!("yes")), "enabled"),
        (with("cooldown_seconds", json!(-1)), "cooldown_seconds"),
        (
            with("cooldown_seconds", json!(31_536_001)),
            "cooldown_seconds",
        ),
        (
            with("cooldown_seconds", json!(u64::MAX)),
            "cooldown_seconds",
        ),
    ];
    for (body, field) in cases {
        let reply = api.call(Method::POST, &rules, Some(&body)).await;
        assert_names(&reply, field);
    }
    let unknown = api
        .call(Method::POST, &rules, Some(&with("regex", json!(true))))
        .await;
    assert_eq!(unknown.status, 422, "{:?}", unknown.json);
    // The limits themselves are fine.
    api.create(
        &account,
        json!({"match": "exact", "pattern": "é".repeat(500), "reply": "ж".repeat(500),
               "priority": i32::MIN, "cooldown_seconds": 31_536_000}),
    )
    .await;
    let listed = api.call(Method::GET, &rules, None).await;
    assert_eq!(
        listed.json["data"].as_array().unwrap().len(),
        1,
        "nothing else stored"
    );

    // PATCH validates the rule it would make, and refuses null.
    let id = listed.json["data"][0]["id"].as_str().unwrap().to_owned();
    let one = format!("{rules}/{id}");
    for (body, field) in [
        (json!({"match": "regex", "pattern": "("}), "pattern"),
        (json!({"pattern": null}), "pattern"),
        (json!({"enabled": null}), "enabled"),
        (json!({"priority": null}), "priority"),
        (json!({"reply": ""}), "reply"),
    ] {
        let reply = api.call(Method::PATCH, &one, Some(&body)).await;
        assert_names(&reply, field);
    }
}

async fn invalid_and_catastrophic_regexes_are_refused(test: TestDb) {
    let (_app, account, api) = start(&test).await;
    let rules = format!("/api/v1/accounts/{account}/rules");
    for pattern in [
        "(unclosed",
        r"\p{NotAClass}",
        // Compiles to far more than the size limit: refused rather than slow or huge.
        r"(\w{100}){100}",
        r"((((((((((a{50}){50}){50}){50}))))))))",
        &"(".repeat(200),
    ] {
        let reply = api
            .call(
                Method::POST,
                &rules,
                Some(&json!({"match": "regex", "pattern": pattern, "reply": "x"})),
            )
            .await;
        assert_names(&reply, "pattern");
        assert!(
            reply.json["error"]["details"]["reason"].as_str().is_some(),
            "{:?}",
            reply.json
        );
    }
    // Patterns that backtracking engines choke on are linear here, and accepted.
    api.create(
        &account,
        json!({"match": "regex", "pattern": "(a+)+$", "reply": "x"}),
    )
    .await;
}

async fn rules_are_scoped_like_their_account(test: TestDb) {
    let config = config(&test.url);
    let mine = seed_account(&test.db, &config, "1001", "token").await.id;
    let theirs = seed_account(&test.db, &config, "1002", "token").await.id;
    let app = TestApp::spawn(config).await;
    let admin = RulesApi::new(&app, &test, Vec::new()).await;
    let scoped = RulesApi::new(&app, &test, vec![mine.clone()]).await;
    let their_rule = admin
        .create(
            &theirs,
            json!({"match": "contains", "pattern": "x", "reply": "y"}),
        )
        .await;
    let their_id = their_rule["id"].as_str().unwrap();

    let body = json!({"match": "contains", "pattern": "x", "reply": "y"});
    let their_rules = format!("/api/v1/accounts/{theirs}/rules");
    assert_eq!(
        scoped.call(Method::GET, &their_rules, None).await.status,
        404
    );
    assert_eq!(
        scoped
            .call(Method::POST, &their_rules, Some(&body))
            .await
            .status,
        404
    );
    let theirs_one = format!("{their_rules}/{their_id}");
    assert_eq!(
        scoped.call(Method::GET, &theirs_one, None).await.status,
        404
    );
    assert_eq!(
        scoped.call(Method::DELETE, &theirs_one, None).await.status,
        404
    );
    // Another account's rule under one's own account is no rule of it.
    let under_mine = format!("/api/v1/accounts/{mine}/rules/{their_id}");
    for method in [Method::GET, Method::DELETE] {
        assert_eq!(scoped.call(method, &under_mine, None).await.status, 404);
    }
    assert_eq!(
        scoped
            .call(Method::PATCH, &under_mine, Some(&json!({"reply": "z"})))
            .await
            .status,
        404
    );
    assert_eq!(
        admin.call(Method::GET, &theirs_one, None).await.json["reply"],
        "y",
        "untouched"
    );
    // Unknown accounts and ids that are not ids.
    for path in [
        "/api/v1/accounts/acc_000000000000/rules".to_owned(),
        "/api/v1/accounts/nope/rules".to_owned(),
        format!("/api/v1/accounts/{mine}/rules/rul_000000000000"),
        format!("/api/v1/accounts/{mine}/rules/nope"),
    ] {
        assert_eq!(
            admin.call(Method::GET, &path, None).await.status,
            404,
            "{path}"
        );
    }
    assert_eq!(
        scoped
            .call(Method::GET, &format!("/api/v1/accounts/{mine}/rules"), None)
            .await
            .status,
        200
    );
}

async fn an_account_has_at_most_a_thousand_rules(test: TestDb) {
    use domain::ports::ReplyRuleStore;
    use domain::{MatchKind, ReplyRule, RuleId, Timestamp};

    let (_app, account, api) = start(&test).await;
    // 999 rules straight into the store (1,000 creates would meet the API's rate limit).
    for n in 0..999_u32 {
        // Five bits per id character.
        let entropy: [u8; 12] = std::array::from_fn(|i| {
            u8::try_from((n >> (5 * (i % 3))) & 31).unwrap() | u8::from(i >= 3)
        });
        let rule = ReplyRule {
            id: RuleId::from_entropy(entropy),
            account_id: account.clone(),
            match_kind: MatchKind::Keyword,
            pattern: format!("word{n}"),
            reply: "hi".to_owned(),
            priority: 0,
            enabled: n % 2 == 0,
            cooldown_seconds: 0,
            created_at: Timestamp::from_millis(i64::from(n)),
            updated_at: Timestamp::from_millis(i64::from(n)),
        };
        test.db.create_rule(&rule).await.unwrap();
    }
    let body = json!({"match": "contains", "pattern": "price", "reply": "Prices: …"});
    let last = api.create(&account, body.clone()).await;
    let rules = format!("/api/v1/accounts/{account}/rules");
    let refused = api.call(Method::POST, &rules, Some(&body)).await;
    assert_eq!(refused.status, 409, "{:?}", refused.json);
    assert_eq!(refused.json["error"]["code"], "rule_limit_reached");
    let listed = api.call(Method::GET, &rules, None).await;
    assert_eq!(listed.json["data"].as_array().unwrap().len(), 1_000);

    let deleted = api
        .call(
            Method::DELETE,
            &format!("{rules}/{}", last["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(deleted.status, 204);
    api.create(&account, body).await;
}

//! `POST /api/v1/accounts/{id}/rules/test` on every backend: the rule the matcher picks and its
//! reply (with `{username}` kept or filled), nothing stored or sent, the body's validation, and
//! scoping like the account's other rule routes. The rules are those stored at the moment, also
//! when another instance wrote them (the ingest's cache of this instance notwithstanding).

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use domain::ports::ReplyRuleStore;
use domain::{AccountId, MatchKind, ReplyRule, RuleId, Timestamp};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, config, seed_account};
use crate::rules_api::{Reply, RulesApi};
use crate::webhook_support::history;

backend_tests!(
    the_best_ranked_matching_rule_answers_and_nothing_is_sent,
    the_body_is_validated_naming_the_field,
    testing_is_scoped_like_the_rules,
    a_rule_another_instance_wrote_is_tested_at_once,
);

fn test_path(account: &AccountId) -> String {
    format!("/api/v1/accounts/{account}/rules/test")
}

/// `(status, error code, details.field)` of an answer.
fn refusal(reply: &Reply) -> (u16, &str, &str) {
    let error = &reply.json["error"];
    (
        reply.status,
        error["code"].as_str().unwrap_or_default(),
        error["details"]["field"].as_str().unwrap_or_default(),
    )
}

async fn the_best_ranked_matching_rule_answers_and_nothing_is_sent(test: TestDb) {
    let config = config(&test.url);
    let account = seed_account(&test.db, &config, "1001", "token").await.id;
    let app = TestApp::spawn(config).await;
    let api = RulesApi::new(&app, &test, Vec::new()).await;
    let keyword = api
        .create(
            &account,
            json!({"match": "keyword", "pattern": "price", "reply": "Hi {username}, see the list",
                   "priority": 5}),
        )
        .await;
    let contains = api
        .create(
            &account,
            json!({"match": "contains", "pattern": "pric", "reply": "Prices soon"}),
        )
        .await;
    // Would outrank both, but a disabled rule never matches.
    api.create(
        &account,
        json!({"match": "contains", "pattern": "price", "reply": "off", "priority": 99,
               "enabled": false}),
    )
    .await;
    api.create(
        &account,
        json!({"match": "regex", "pattern": r"^\d{6}$", "reply": "Tracking {username}"}),
    )
    .await;
    let path = test_path(&account);

    let folded = api
        .call(
            Method::POST,
            &path,
            Some(&json!({"text": "What's the PRÍCE?"})),
        )
        .await;
    assert_eq!(folded.status, 200, "{:?}", folded.json);
    assert_eq!(
        folded.json,
        json!({"matched": keyword, "reply": "Hi {username}, see the list"}),
        "the rule as GET shows it; the placeholder kept without a sample username"
    );

    let named = api
        .call(
            Method::POST,
            &path,
            Some(&json!({"text": "price", "username": "anna.k"})),
        )
        .await;
    assert_eq!(named.json["reply"], "Hi anna.k, see the list");
    let null_name = api
        .call(
            Method::POST,
            &path,
            Some(&json!({"text": "price", "username": null})),
        )
        .await;
    assert_eq!(null_name.json["reply"], "Hi {username}, see the list");

    let substring = api
        .call(Method::POST, &path, Some(&json!({"text": "prices?"})))
        .await;
    assert_eq!(substring.json["matched"]["id"], contains["id"]);
    let regex = api
        .call(
            Method::POST,
            &path,
            Some(&json!({"text": "123456", "username": "bo"})),
        )
        .await;
    assert_eq!(regex.json["reply"], "Tracking bo");

    let none = api
        .call(Method::POST, &path, Some(&json!({"text": "hello"})))
        .await;
    assert_eq!(
        (none.status, &none.json),
        (200, &json!({"matched": null, "reply": null}))
    );

    // A rule changed a moment ago is tested as it is now.
    let keyword_id = keyword["id"].as_str().unwrap();
    let patched = api
        .call(
            Method::PATCH,
            &format!("/api/v1/accounts/{account}/rules/{keyword_id}"),
            Some(&json!({"pattern": "hello"})),
        )
        .await;
    assert_eq!(patched.status, 200);
    let now = api
        .call(Method::POST, &path, Some(&json!({"text": "hello"})))
        .await;
    assert_eq!(now.json["matched"]["id"], keyword["id"]);

    assert!(
        history(&test, &account).await.is_empty(),
        "a test stores no message and queues no reply"
    );
}

async fn the_body_is_validated_naming_the_field(test: TestDb) {
    let config = config(&test.url);
    let account = seed_account(&test.db, &config, "1001", "token").await.id;
    let app = TestApp::spawn(config).await;
    let api = RulesApi::new(&app, &test, Vec::new()).await;
    let path = test_path(&account);
    let cases: [(Value, &str); 9] = [
        (json!({}), "text"),
        (json!({"text": null}), "text"),
        (json!({"text": ""}), "text"),
        (json!({"text": 5}), "text"),
        (json!({"text": "é".repeat(1001)}), "text"),
        (json!({"text": "a".repeat(1001)}), "text"),
        (json!({"text": "a\u{0}b"}), "text"),
        (
            json!({"text": "hi", "username": "no spaces allowed"}),
            "username",
        ),
        (json!({"text": "hi", "username": 7}), "username"),
    ];
    for (body, field) in cases {
        let reply = api.call(Method::POST, &path, Some(&body)).await;
        assert_eq!(
            refusal(&reply),
            (422, "validation_failed", field),
            "{body} → {:?}",
            reply.json
        );
    }
    // Instagram delivers up to 1,000 characters, whatever their size in bytes.
    for longest in ["é".repeat(1000), "😀".repeat(1000)] {
        let reply = api
            .call(Method::POST, &path, Some(&json!({ "text": longest })))
            .await;
        assert_eq!(
            reply.status,
            200,
            "{} bytes: {:?}",
            longest.len(),
            reply.json
        );
    }
    let unicode_name = api
        .call(
            Method::POST,
            &path,
            Some(&json!({"text": "hi", "username": "Ünal_名前.9"})),
        )
        .await;
    assert_eq!(unicode_name.status, 200, "{:?}", unicode_name.json);
    let unknown = api
        .call(
            Method::POST,
            &path,
            Some(&json!({"text": "hi", "send": true})),
        )
        .await;
    assert_eq!(unknown.status, 422);
    assert!(
        unknown.json["error"]["details"]["reason"]
            .as_str()
            .unwrap()
            .contains("send"),
        "{:?}",
        unknown.json
    );
    // Only POST: registered before `{rule_id}`, so `test` is never read as a rule id.
    assert_eq!(api.call(Method::GET, &path, None).await.status, 405);
}

async fn testing_is_scoped_like_the_rules(test: TestDb) {
    let config = config(&test.url);
    let mine = seed_account(&test.db, &config, "1001", "token").await.id;
    let theirs = seed_account(&test.db, &config, "1002", "token").await.id;
    let app = TestApp::spawn(config).await;
    let admin = RulesApi::new(&app, &test, Vec::new()).await;
    let scoped = RulesApi::new(&app, &test, vec![mine.clone()]).await;
    admin
        .create(
            &theirs,
            json!({"match": "contains", "pattern": "x", "reply": "y"}),
        )
        .await;
    let body = json!({"text": "x"});

    let other = scoped
        .call(Method::POST, &test_path(&theirs), Some(&body))
        .await;
    assert_eq!(refusal(&other), (404, "not_found", ""));
    let unknown = admin
        .call(
            Method::POST,
            "/api/v1/accounts/acc_000000000000/rules/test",
            Some(&body),
        )
        .await;
    assert_eq!(unknown.status, 404);
    let not_an_id = admin
        .call(
            Method::POST,
            "/api/v1/accounts/nope/rules/test",
            Some(&body),
        )
        .await;
    assert_eq!(not_an_id.status, 404);
    let own = scoped
        .call(Method::POST, &test_path(&mine), Some(&body))
        .await;
    assert_eq!(
        (own.status, &own.json),
        (200, &json!({"matched": null, "reply": null})),
        "another account's rules never answer for this one"
    );
    let anonymous = reqwest::Client::new()
        .post(format!("{}{}", app.address, test_path(&mine)))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

async fn a_rule_another_instance_wrote_is_tested_at_once(test: TestDb) {
    let config = config(&test.url);
    let account = seed_account(&test.db, &config, "1001", "token").await.id;
    let app = TestApp::spawn(config).await;
    let api = RulesApi::new(&app, &test, Vec::new()).await;
    let path = test_path(&account);
    let first = api
        .call(Method::POST, &path, Some(&json!({"text": "price"})))
        .await;
    assert_eq!(first.json, json!({"matched": null, "reply": null}));

    // Written straight into the store, as another instance's API would: nothing here forgets
    // this instance's compiled rules.
    let now = Timestamp::from_millis(1_763_202_600_000);
    let rule = ReplyRule {
        id: RuleId::from_entropy([3; 12]),
        account_id: account.clone(),
        match_kind: MatchKind::Contains,
        pattern: "price".to_owned(),
        reply: "Prices: soon".to_owned(),
        priority: 0,
        enabled: true,
        cooldown_seconds: 0,
        created_at: now,
        updated_at: now,
    };
    test.db.create_rule(&rule).await.unwrap();

    let second = api
        .call(Method::POST, &path, Some(&json!({"text": "price"})))
        .await;
    assert_eq!(second.status, 200, "{:?}", second.json);
    assert_eq!(second.json["matched"]["id"], rule.id.as_str());
    assert_eq!(second.json["reply"], "Prices: soon");
}

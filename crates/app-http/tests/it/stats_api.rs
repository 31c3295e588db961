//! `GET /api/v1/accounts/{id}/stats` on every backend: the JSON shape with every day of the
//! range (zeros included), the default range, `422`s naming `from` or `to`, and scoping.
//!
//! Events are stored through `MessageStore::ingest`, as the webhook does. The counting rules
//! themselves are adapters-db's conformance suite's (`tests/it/stats.rs`).

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use app_http::clock::SystemClock;
use chrono::{Days, NaiveDate};
use domain::ports::{Clock, MessageStore};
use domain::stats::midnight;
use domain::{
    Account, Direction, EventDetails, EventKind, InboundRecord, InstagramId, InstagramMessageId,
    Message, Timestamp,
};
use serde_json::{Value, json};

use crate::helpers::{TestApp, production_config, seed_account};
use crate::send_api::Api;

backend_tests!(
    the_stats_list_every_day_of_the_range,
    the_range_defaults_to_the_30_days_up_to_today,
    the_stats_are_scoped_and_check_their_query,
);

/// Stores a message between `account` and `customer` at `at`: from the customer, or, with
/// `from_business`, the echo of one the business sent from the Instagram app.
async fn store(
    test: &TestDb,
    account: &Account,
    customer: &str,
    at: Timestamp,
    from_business: bool,
) {
    let customer = InstagramId::parse("sender_id", customer).unwrap();
    let mid = format!("mid-{}", app_http::random::message_id().unwrap());
    let (kind, direction, sender, recipient) = if from_business {
        (
            EventKind::Echo,
            Direction::Outbound,
            account.instagram_account_id.clone(),
            customer.clone(),
        )
    } else {
        (
            EventKind::Message,
            Direction::Inbound,
            customer.clone(),
            account.instagram_account_id.clone(),
        )
    };
    let message = Message {
        id: app_http::random::message_id().unwrap(),
        account_id: Some(account.id.clone()),
        instagram_account_id: account.instagram_account_id.clone(),
        event_key: Message::event_key_for(kind, Some(&mid), sender.as_str(), at, ""),
        direction,
        kind,
        instagram_message_id: Some(InstagramMessageId::parse("mid", &mid).unwrap()),
        participant_id: customer,
        sender_id: sender,
        recipient_id: recipient,
        text: Some("hello".to_owned()),
        attachments: Vec::new(),
        details: EventDetails::default(),
        outbound_message_id: None,
        occurred_at: at,
        received_at: at,
    };
    test.db
        .ingest(vec![InboundRecord {
            message,
            delivery: None,
            auto_reply: None,
        }])
        .await
        .unwrap();
}

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn at(date: &str, millis: i64) -> Timestamp {
    Timestamp::from_millis(midnight(day(date)).as_millis() + millis)
}

fn zero_day(date: &str) -> Value {
    json!({"date": date, "messages_in": 0, "messages_out": 0, "auto_replies": 0,
           "deliveries_ok": 0, "deliveries_failed": 0})
}

async fn the_stats_list_every_day_of_the_range(test: TestDb) {
    let config = production_config(&test.url);
    let account = seed_account(&test.db, &config, "1001", "token").await;
    let app = TestApp::spawn(config).await;
    let api = Api::new(&app, &test, Vec::new()).await;
    // 2 Nov, noon: a customer writes, the business answers 90 s later from the Instagram app;
    // 3 Nov, the last millisecond: another customer writes, unanswered.
    store(
        &test,
        &account,
        "5",
        at("2026-11-02", 12 * 3_600_000),
        false,
    )
    .await;
    store(
        &test,
        &account,
        "5",
        at("2026-11-02", 12 * 3_600_000 + 90_000),
        true,
    )
    .await;
    store(&test, &account, "6", at("2026-11-04", -1), false).await;

    let path = format!(
        "/api/v1/accounts/{}/stats?from=2026-11-01&to=2026-11-04",
        account.id
    );
    let answer = api.get(&path).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        answer.json,
        json!({
            "account_id": account.id.as_str(),
            "from": "2026-11-01",
            "to": "2026-11-04",
            "days": [
                zero_day("2026-11-01"),
                {"date": "2026-11-02", "messages_in": 1, "messages_out": 1, "auto_replies": 0,
                 "deliveries_ok": 0, "deliveries_failed": 0},
                {"date": "2026-11-03", "messages_in": 1, "messages_out": 0, "auto_replies": 0,
                 "deliveries_ok": 0, "deliveries_failed": 0},
                zero_day("2026-11-04"),
            ],
            "totals": {"messages_in": 2, "messages_out": 1, "auto_replies": 0,
                       "deliveries_ok": 0, "deliveries_failed": 0,
                       "delivery_success_rate": null},
            "first_response": {"conversations": 2, "answered": 1,
                               "p50_seconds": 90.0, "p90_seconds": 90.0},
        })
    );

    // A day without anything: zeros and nulls, never missing members.
    let answer = api
        .get(&format!(
            "/api/v1/accounts/{}/stats?from=2026-10-01&to=2026-10-01",
            account.id
        ))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["days"], json!([zero_day("2026-10-01")]));
    assert_eq!(
        answer.json["first_response"],
        json!({"conversations": 0, "answered": 0, "p50_seconds": null, "p90_seconds": null})
    );
    app.stop().await.unwrap();
}

async fn the_range_defaults_to_the_30_days_up_to_today(test: TestDb) {
    let config = production_config(&test.url);
    let account = seed_account(&test.db, &config, "1001", "token").await;
    let app = TestApp::spawn(config).await;
    let api = Api::new(&app, &test, Vec::new()).await;
    let now = SystemClock.now();
    store(&test, &account, "5", now, false).await;
    let today = now.to_datetime().unwrap().date_naive();

    let answer = api
        .get(&format!("/api/v1/accounts/{}/stats", account.id))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let to = day(answer.json["to"].as_str().unwrap());
    // The request may cross midnight after `now` was read.
    assert!(to == today || to == today + Days::new(1), "{to}");
    let from = to - Days::new(29);
    assert_eq!(answer.json["from"], from.to_string());
    let days = answer.json["days"].as_array().unwrap();
    assert_eq!(days.len(), 30);
    assert_eq!(days[0]["date"], from.to_string());
    assert_eq!(days[29]["date"], to.to_string());
    assert_eq!(answer.json["totals"]["messages_in"], 1);
    let today_entry = days
        .iter()
        .find(|entry| entry["date"] == today.to_string())
        .unwrap();
    assert_eq!(today_entry["messages_in"], 1);

    // `to` alone: the 30 days up to it; `from` alone: up to today.
    let answer = api
        .get(&format!(
            "/api/v1/accounts/{}/stats?to=2026-03-01",
            account.id
        ))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["from"], "2026-01-31");
    let from = (today - Days::new(2)).to_string();
    let answer = api
        .get(&format!(
            "/api/v1/accounts/{}/stats?from={from}",
            account.id
        ))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(answer.json["days"].as_array().unwrap().len() >= 3);
    app.stop().await.unwrap();
}

async fn the_stats_are_scoped_and_check_their_query(test: TestDb) {
    let config = production_config(&test.url);
    let mine = seed_account(&test.db, &config, "1001", "token").await;
    let theirs = seed_account(&test.db, &config, "1002", "token").await;
    let app = TestApp::spawn(config).await;
    let scoped = Api::new(&app, &test, vec![mine.id.clone()]).await;

    for path in [
        format!("/api/v1/accounts/{}/stats", theirs.id),
        "/api/v1/accounts/acc_zzzzzzzzzzzz/stats".to_owned(),
        "/api/v1/accounts/nope/stats".to_owned(),
    ] {
        let answer = scoped.get(&path).await;
        assert_eq!(answer.status, 404, "{path}: {}", answer.text);
        assert_eq!(answer.json["error"]["code"], "not_found");
        // The account is checked before the query: a bad query tells nothing about it either.
        let answer = scoped.get(&format!("{path}?from=2026-13-01")).await;
        assert_eq!(answer.status, 404, "{path}: {}", answer.text);
    }
    let unscoped = Api::new(&app, &test, Vec::new()).await;
    let unknown = unscoped
        .get("/api/v1/accounts/acc_zzzzzzzzzzzz/stats?from=2026-13-01")
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);

    let mine_path = format!("/api/v1/accounts/{}/stats", mine.id);
    for (query, field) in [
        ("from=2026-13-01", "from"),
        ("from=", "from"),
        ("from=2026-11-1", "from"),
        ("to=yesterday", "to"),
        ("from=2026-11-01&to=2026-11-31", "to"),
        ("from=2026-11-05&to=2026-11-04", "from"),
        ("from=2025-11-01&to=2026-11-02", "from"),
    ] {
        let answer = scoped.get(&format!("{mine_path}?{query}")).await;
        assert_eq!(answer.status, 422, "{query}: {}", answer.text);
        assert_eq!(answer.json["error"]["code"], "validation_failed", "{query}");
        assert_eq!(answer.json["error"]["details"]["field"], field, "{query}");
    }
    // 366 days, a leap year, is the most one range may cover.
    let answer = scoped
        .get(&format!("{mine_path}?from=2028-01-01&to=2028-12-31"))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["days"].as_array().unwrap().len(), 366);

    let anonymous = app.get(&mine_path).await;
    assert_eq!(anonymous.status(), 401);
    app.stop().await.unwrap();
}

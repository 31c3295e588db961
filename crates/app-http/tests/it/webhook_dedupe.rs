//! Meta delivers the same item more than once (again later, twice in one body, or in two posts
//! at the same moment): one stored row and one CRM delivery, on every backend. And routing:
//! an unknown business is stored and not forwarded, an account without a CRM URL is not
//! forwarded.

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;

use crate::helpers::{TestApp, captured_logs};
use crate::webhook_support::{
    CRM_URL, deliveries, fixture, history, post_signed, post_webhook, seed_account_with_crm, sign,
    webhook_config,
};

backend_tests!(
    a_redelivered_body_stores_and_queues_nothing_new,
    the_same_mid_twice_in_one_body_is_stored_once,
    two_concurrent_posts_of_one_body_store_it_once,
    an_unknown_business_is_stored_and_not_forwarded,
    an_account_without_a_crm_url_is_not_forwarded,
);

/// A one-message body for `business` with `mids`, one messaging item each.
fn body(business: &str, mids: &[&str]) -> Vec<u8> {
    let items: Vec<String> = mids
        .iter()
        .map(|mid| {
            format!(
                r#"{{"sender":{{"id":"555"}},"recipient":{{"id":"{business}"}},"timestamp":1700000000000,"message":{{"mid":"{mid}","text":"hi {mid}"}}}}"#
            )
        })
        .collect();
    format!(
        r#"{{"object":"instagram","entry":[{{"id":"{business}","time":1700000000001,"messaging":[{}]}}]}}"#,
        items.join(",")
    )
    .into_bytes()
}

async fn a_redelivered_body_stores_and_queues_nothing_new(test: TestDb) {
    let config = webhook_config(&test.url);
    let account = seed_account_with_crm(&test.db, &config, "1234567890", Some(CRM_URL)).await;
    let app = TestApp::spawn(config).await;
    let hello = fixture("001-text-hello.json");

    post_signed(&app, &hello).await;
    post_signed(&app, &hello).await;

    assert_eq!(history(&test, &account.id).await.len(), 1);
    assert_eq!(deliveries(&test).await.len(), 1);
    let counters = app.webhook_counters.snapshot();
    assert_eq!((counters.stored, counters.duplicates), (1, 1));
    assert_eq!(counters.deliveries_queued, 1);
}

async fn the_same_mid_twice_in_one_body_is_stored_once(test: TestDb) {
    let config = webhook_config(&test.url);
    let account = seed_account_with_crm(&test.db, &config, "1234567890", Some(CRM_URL)).await;
    let app = TestApp::spawn(config).await;

    post_signed(&app, &body("1234567890", &["m.1", "m.2", "m.1"])).await;

    let stored = history(&test, &account.id).await;
    let mut mids: Vec<&str> = stored
        .iter()
        .map(|m| m.instagram_message_id.as_ref().unwrap().as_str())
        .collect();
    mids.sort_unstable();
    assert_eq!(mids, ["m.1", "m.2"]);
    assert_eq!(deliveries(&test).await.len(), 2);
}

async fn two_concurrent_posts_of_one_body_store_it_once(test: TestDb) {
    let config = webhook_config(&test.url);
    let account = seed_account_with_crm(&test.db, &config, "1234567890", Some(CRM_URL)).await;
    let app = TestApp::spawn(config).await;

    for round in 0..5 {
        let mids = [format!("race.{round}.a"), format!("race.{round}.b")];
        let body = body("1234567890", &[&mids[0], &mids[1]]);
        let (first, second) = tokio::join!(
            post_webhook(&app, body.clone(), Some(sign(&body))),
            post_webhook(&app, body.clone(), Some(sign(&body))),
        );
        assert_eq!(first.status(), 200, "round {round}");
        assert_eq!(second.status(), 200, "round {round}");
    }

    let stored = history(&test, &account.id).await;
    assert_eq!(stored.len(), 10, "{stored:?}");
    let queued = deliveries(&test).await;
    assert_eq!(queued.len(), 10, "{queued:?}");
    let mut keys: Vec<&str> = queued.iter().map(|d| d.dedupe_key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), 10);
    let counters = app.webhook_counters.snapshot();
    assert_eq!((counters.stored, counters.duplicates), (10, 10));
}

async fn an_unknown_business_is_stored_and_not_forwarded(test: TestDb) {
    let config = webhook_config(&test.url);
    let known = seed_account_with_crm(&test.db, &config, "1234567890", Some(CRM_URL)).await;
    let app = TestApp::spawn(config).await;
    // Two entries: one for a business nobody configured, one for the known account.
    // Unique per backend: the three run at once and share the captured log.
    let stranger = format!("99887766-{}", test.db.backend().name());
    let unknown = String::from_utf8(body(&stranger, &["u.1", "u.2"])).unwrap();
    let mixed = unknown.replacen(
        "]}]}",
        &format!(
            "]}},{}]}}",
            String::from_utf8(body("1234567890", &["k.1"]))
                .unwrap()
                .split_once("\"entry\":[")
                .unwrap()
                .1
                .strip_suffix("]}")
                .unwrap()
        ),
        1,
    );

    post_signed(&app, mixed.as_bytes()).await;

    let counters = app.webhook_counters.snapshot();
    assert_eq!(counters.stored, 3);
    assert_eq!(counters.unknown_account, 2);
    assert_eq!(history(&test, &known.id).await.len(), 1);
    let queued = deliveries(&test).await;
    assert_eq!(
        queued.len(),
        1,
        "only the known account's event is forwarded"
    );
    assert_eq!(queued[0].account_id, known.id);
    let warnings = captured_logs();
    assert_eq!(
        warnings
            .lines()
            .filter(|line| line.contains("unknown business account") && line.contains(&stranger))
            .count(),
        1,
        "one warning per body and business"
    );

    // The unknown business's events were stored: Meta's redelivery is a duplicate.
    post_signed(&app, mixed.as_bytes()).await;
    let counters = app.webhook_counters.snapshot();
    assert_eq!((counters.stored, counters.duplicates), (3, 3));
    assert_eq!(deliveries(&test).await.len(), 1);
}

async fn an_account_without_a_crm_url_is_not_forwarded(test: TestDb) {
    let config = webhook_config(&test.url);
    let account = seed_account_with_crm(&test.db, &config, "1234567890", None).await;
    let app = TestApp::spawn(config).await;

    post_signed(&app, &fixture("001-text-hello.json")).await;

    assert_eq!(history(&test, &account.id).await.len(), 1);
    assert!(deliveries(&test).await.is_empty());
}

//! `CachedAccounts` over the real database on every backend: writes through it are seen at once,
//! writes elsewhere (another instance) within the TTL, unknown ids are never cached.

use std::sync::Arc;
use std::time::Duration;

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use app_http::accounts::CachedAccounts;
use app_http::clock::SystemClock;
use domain::ports::{AccountStore, Clock};
use domain::{AccountChanges, InstagramId, Username};

use crate::helpers::{config, seed_account};

backend_tests!(
    writes_through_the_cache_are_seen_at_once,
    writes_elsewhere_are_seen_within_the_ttl,
    unknown_accounts_are_never_cached,
);

const TTL: Duration = Duration::from_millis(300);

fn username(name: &str) -> AccountChanges {
    AccountChanges {
        username: Some(Username::parse(name).unwrap()),
        ..AccountChanges::default()
    }
}

async fn writes_through_the_cache_are_seen_at_once(test: TestDb) {
    let account = seed_account(&test.db, &config(&test.url), "1001", "t").await;
    let cached = CachedAccounts::new(Arc::new(test.db.clone()), Duration::from_secs(3600));
    let id = &account.instagram_account_id;
    assert_eq!(
        cached
            .account_by_instagram_id(id)
            .await
            .unwrap()
            .unwrap()
            .username,
        account.username
    );

    cached
        .update_account(&account.id, username("renamed"), SystemClock.now())
        .await
        .unwrap();
    let seen = cached.account_by_instagram_id(id).await.unwrap().unwrap();
    assert_eq!(seen.username.as_str(), "renamed");

    assert!(cached.delete_account(&account.id).await.unwrap());
    assert!(cached.account_by_instagram_id(id).await.unwrap().is_none());
}

async fn writes_elsewhere_are_seen_within_the_ttl(test: TestDb) {
    let account = seed_account(&test.db, &config(&test.url), "1001", "t").await;
    let cached = CachedAccounts::new(Arc::new(test.db.clone()), TTL);
    let id = &account.instagram_account_id;
    cached.account_by_instagram_id(id).await.unwrap();

    // Another instance renames it, straight in the database.
    test.db
        .update_account(&account.id, username("elsewhere"), SystemClock.now())
        .await
        .unwrap();
    let within = cached.account_by_instagram_id(id).await.unwrap().unwrap();
    assert_eq!(within.username, account.username, "served from memory");
    tokio::time::sleep(TTL + Duration::from_millis(50)).await;
    let after = cached.account_by_instagram_id(id).await.unwrap().unwrap();
    assert_eq!(after.username.as_str(), "elsewhere");
}

async fn unknown_accounts_are_never_cached(test: TestDb) {
    let cached = CachedAccounts::new(Arc::new(test.db.clone()), Duration::from_secs(3600));
    let id = InstagramId::parse("instagram_account_id", "1001").unwrap();
    assert!(cached.account_by_instagram_id(&id).await.unwrap().is_none());

    // Created by another instance: routed to at once.
    seed_account(&test.db, &config(&test.url), "1001", "t").await;
    assert!(cached.account_by_instagram_id(&id).await.unwrap().is_some());
}

//! `AccountStore` conformance.

use adapters_db::testing::TestDb;
use adapters_db::{Database, DatabaseUrl, PoolOptions, backend_tests};
use domain::ports::{AccountStore, AccountStoreError, StoreError};
use domain::{AccountChanges, PageRequest, SealedSecret, Username};

use crate::fixtures::{self, at};

backend_tests!(
    accounts_round_trip,
    duplicate_instagram_account_is_refused,
    concurrent_creates_of_one_instagram_account_let_one_win,
    missing_accounts_are_none_not_errors,
    unreachable_backend_is_unavailable,
    updates_apply_and_report_missing,
    delete_removes_the_account,
    listing_pages_newest_first_without_gaps,
);

async fn accounts_round_trip(test: TestDb) {
    let account = fixtures::account("17841400000000000");
    test.db.create_account(&account).await.unwrap();
    assert_eq!(
        test.db.account(&account.id).await.unwrap(),
        Some(account.clone())
    );
    assert_eq!(
        test.db
            .account_by_instagram_id(&account.instagram_account_id)
            .await
            .unwrap(),
        Some(account)
    );
}

async fn duplicate_instagram_account_is_refused(test: TestDb) {
    test.db
        .create_account(&fixtures::account("42"))
        .await
        .unwrap();
    let error = test
        .db
        .create_account(&fixtures::account("42"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, AccountStoreError::InstagramAccountTaken),
        "{error:?}"
    );
    // Ids that differ only in case or trailing space are other accounts on every backend.
    test.db
        .create_account(&fixtures::account("42 ".trim_end()))
        .await
        .unwrap_err();
    test.db
        .create_account(&fixtures::account("A42"))
        .await
        .unwrap();
    test.db
        .create_account(&fixtures::account("a42"))
        .await
        .unwrap();
}

async fn concurrent_creates_of_one_instagram_account_let_one_win(test: TestDb) {
    let attempts = (0..8).map(|_| {
        let db = test.db.clone();
        tokio::spawn(async move { db.create_account(&fixtures::account("777")).await })
    });
    let results = futures_join(attempts).await;
    let won = results.iter().filter(|result| result.is_ok()).count();
    let taken = results
        .iter()
        .filter(|result| matches!(result, Err(AccountStoreError::InstagramAccountTaken)))
        .count();
    assert_eq!((won, taken), (1, 7), "{results:?}");
}

async fn missing_accounts_are_none_not_errors(test: TestDb) {
    let ghost = fixtures::account("1");
    assert_eq!(test.db.account(&ghost.id).await.unwrap(), None);
    assert_eq!(
        test.db
            .account_by_instagram_id(&ghost.instagram_account_id)
            .await
            .unwrap(),
        None
    );
}

async fn unreachable_backend_is_unavailable(test: TestDb) {
    let url = match test.db.backend() {
        adapters_db::Backend::Sqlite => "sqlite:///nonexistent-directory/igrouter.db".to_owned(),
        adapters_db::Backend::Postgres => "postgres://postgres@127.0.0.1:1/test".to_owned(),
        adapters_db::Backend::Mysql => "mysql://root@127.0.0.1:1/test".to_owned(),
    };
    let down =
        Database::connect(&DatabaseUrl::parse(&url).unwrap(), PoolOptions::default()).unwrap();
    let error = down.account(&fixtures::account("1").id).await.unwrap_err();
    assert!(
        matches!(error, AccountStoreError::Store(StoreError::Unavailable(_))),
        "{error:?}"
    );
    let error = domain::ports::HealthCheck::ping(&down).await.unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    domain::ports::HealthCheck::ping(&test.db).await.unwrap();
}

async fn updates_apply_and_report_missing(test: TestDb) {
    let mut account = fixtures::account("55");
    account.token_invalid_since = Some(at(5));
    test.db.create_account(&account).await.unwrap();
    let changes = AccountChanges {
        username: Some(Username::parse("новый_магазин").unwrap()),
        access_token: Some(SealedSecret::from_bytes(vec![9; 60])),
        crm_webhook_url: Some(None),
        send_rate_per_second: Some(7),
        ..AccountChanges::default()
    };
    let updated = test
        .db
        .update_account(&account.id, changes, at(2_000_000_000_000))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.username.as_str(), "новый_магазин");
    assert_eq!(updated.access_token.as_bytes(), &[9; 60]);
    assert_eq!(
        updated.token_invalid_since, None,
        "a new token clears the invalid mark"
    );
    assert_eq!(updated.crm_webhook_url, None);
    assert_eq!(updated.send_rate_per_second, 7);
    assert_eq!(updated.updated_at, at(2_000_000_000_000));
    assert_eq!(test.db.account(&account.id).await.unwrap(), Some(updated));

    let ghost = fixtures::account("56");
    assert_eq!(
        test.db
            .update_account(&ghost.id, AccountChanges::default(), at(1))
            .await
            .unwrap(),
        None
    );
}

async fn delete_removes_the_account(test: TestDb) {
    let account = fixtures::account("66");
    test.db.create_account(&account).await.unwrap();
    assert!(test.db.delete_account(&account.id).await.unwrap());
    assert!(!test.db.delete_account(&account.id).await.unwrap());
    assert_eq!(test.db.account(&account.id).await.unwrap(), None);
    test.db
        .create_account(&fixtures::account("66"))
        .await
        .unwrap();
}

async fn listing_pages_newest_first_without_gaps(test: TestDb) {
    let mut created = Vec::new();
    for n in 0..7_i64 {
        let mut account = fixtures::account(&format!("9{n}"));
        // Two accounts per instant: ties are broken by id.
        account.created_at = at(1_000 + n / 2);
        test.db.create_account(&account).await.unwrap();
        created.push(account);
    }
    created.sort_by(|a, b| (b.created_at, b.id.as_str()).cmp(&(a.created_at, a.id.as_str())));

    let mut seen = Vec::new();
    let mut page = PageRequest::new(Some(3), None).unwrap();
    loop {
        let result = test.db.list_accounts(None, &page).await.unwrap();
        assert!(result.items.len() <= 3);
        seen.extend(result.items);
        match result.next {
            Some(cursor) => page = PageRequest::new(Some(3), Some(cursor)).unwrap(),
            None => break,
        }
    }
    assert_eq!(seen, created);

    let only = [created[1].id.clone(), created[4].id.clone()];
    let scoped = test
        .db
        .list_accounts(Some(&only), &PageRequest::first())
        .await
        .unwrap();
    assert_eq!(scoped.items, vec![created[1].clone(), created[4].clone()]);
    assert_eq!(scoped.next, None);
}

async fn futures_join<T: Send + 'static>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut results = Vec::new();
    for handle in handles {
        results.push(handle.await.unwrap());
    }
    results
}

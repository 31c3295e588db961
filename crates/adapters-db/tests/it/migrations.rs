//! Migrations apply, revert and apply again on every backend.

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use domain::ports::AccountStore;

use crate::fixtures;

backend_tests!(migrations_go_up_down_and_up_again);

async fn migrations_go_up_down_and_up_again(test: TestDb) {
    let db = &test.db;
    assert!(
        db.run_migrations().await.unwrap().is_empty(),
        "a fresh test database is already migrated"
    );
    db.create_account(&fixtures::account("1784140000"))
        .await
        .unwrap();

    let reverted = db.revert_all_migrations().await.unwrap();
    assert!(!reverted.is_empty());
    assert!(
        db.account_by_instagram_id(&fixtures::account("1784140000").instagram_account_id)
            .await
            .is_err(),
        "tables are gone after down"
    );

    let applied = db.run_migrations().await.unwrap();
    assert_eq!(applied, reverted.into_iter().rev().collect::<Vec<_>>());
    let account = fixtures::account("1784140000");
    db.create_account(&account).await.unwrap();
    assert_eq!(
        db.account_by_instagram_id(&account.instagram_account_id)
            .await
            .unwrap(),
        Some(account)
    );
}

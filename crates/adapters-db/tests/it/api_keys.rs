//! `ApiKeyStore` conformance.

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use domain::ports::{AccountStore, ApiKeyStore, StoreError};
use domain::{AccountId, ApiKeyId, ApiKeyScope};

use crate::fixtures::{self, at};

backend_tests!(
    api_keys_round_trip_every_field_and_scope,
    duplicate_id_or_hash_is_a_backend_error,
    a_failed_create_stores_nothing,
    unknown_and_revoked_keys_are_not_found_by_hash,
    revoking_reports_unknown_and_already_revoked_keys,
    touch_records_the_last_use,
    any_api_key_exists_once_one_was_created,
    deleting_an_account_removes_it_from_key_scopes,
    unreachable_backend_is_unavailable,
);

async fn accounts(test: &TestDb, instagram_ids: &[&str]) -> Vec<AccountId> {
    let mut ids = Vec::new();
    for instagram_id in instagram_ids {
        let account = fixtures::account(instagram_id);
        test.db.create_account(&account).await.unwrap();
        ids.push(account.id);
    }
    ids.sort();
    ids
}

async fn api_keys_round_trip_every_field_and_scope(test: TestDb) {
    let ids = accounts(&test, &["1", "2", "3"]).await;
    let mut everything = fixtures::api_key("Clé CRM — продакшн 🔑", ApiKeyScope::All);
    everything.created_at = at(2_000);
    everything.last_used_at = Some(at(2_500));
    // Given in reverse id order and with a repeat: the scope is a set, read back sorted by id.
    let mut scoped = fixtures::api_key(
        "Ünïcode scope",
        ApiKeyScope::Accounts(vec![ids[2].clone(), ids[0].clone(), ids[2].clone()]),
    );
    scoped.created_at = at(1_000);
    scoped.prefix = "igr_zz99".to_owned();
    let mut empty = fixtures::api_key("no accounts yet", ApiKeyScope::Accounts(Vec::new()));
    empty.created_at = at(3_000);
    for key in [&everything, &scoped, &empty] {
        test.db.create_api_key(key).await.unwrap();
    }

    let expected_scoped = domain::ApiKey {
        scope: ApiKeyScope::Accounts(vec![ids[0].clone(), ids[2].clone()]),
        ..scoped.clone()
    };
    assert_eq!(
        test.db
            .active_api_key_by_hash(&everything.hash)
            .await
            .unwrap(),
        Some(everything.clone())
    );
    assert_eq!(
        test.db.active_api_key_by_hash(&scoped.hash).await.unwrap(),
        Some(expected_scoped.clone())
    );
    assert_eq!(
        test.db.active_api_key_by_hash(&empty.hash).await.unwrap(),
        Some(empty.clone()),
        "an empty account list stays a scope, never widens to all accounts"
    );
    assert_eq!(
        test.db.list_api_keys().await.unwrap(),
        vec![expected_scoped, everything, empty],
        "oldest first, whatever the creation order"
    );
}

async fn duplicate_id_or_hash_is_a_backend_error(test: TestDb) {
    let key = fixtures::api_key("first", ApiKeyScope::All);
    test.db.create_api_key(&key).await.unwrap();

    let same_id = domain::ApiKey {
        hash: fixtures::api_key_hash(),
        ..key.clone()
    };
    let error = test.db.create_api_key(&same_id).await.unwrap_err();
    assert!(matches!(error, StoreError::Backend(_)), "{error:?}");

    let same_hash = domain::ApiKey {
        id: ApiKeyId::from_entropy(fixtures::entropy()),
        ..key.clone()
    };
    let error = test.db.create_api_key(&same_hash).await.unwrap_err();
    assert!(matches!(error, StoreError::Backend(_)), "{error:?}");
    assert_eq!(test.db.list_api_keys().await.unwrap(), vec![key]);
}

async fn a_failed_create_stores_nothing(test: TestDb) {
    let known = accounts(&test, &["10"]).await;
    let ghost = fixtures::account("11").id;
    // The key row goes in first; the scope row naming a missing account then fails, and the
    // whole create must roll back.
    let key = fixtures::api_key(
        "half-written",
        ApiKeyScope::Accounts(vec![known[0].clone(), ghost]),
    );
    let error = test.db.create_api_key(&key).await.unwrap_err();
    assert!(matches!(error, StoreError::Backend(_)), "{error:?}");
    assert_eq!(
        test.db.active_api_key_by_hash(&key.hash).await.unwrap(),
        None
    );
    assert!(!test.db.any_api_key_exists().await.unwrap());

    // Nothing of it is left over to collide with: the same key with a valid scope goes in.
    let key = domain::ApiKey {
        scope: ApiKeyScope::Accounts(known.clone()),
        ..key
    };
    test.db.create_api_key(&key).await.unwrap();
    assert_eq!(
        test.db.active_api_key_by_hash(&key.hash).await.unwrap(),
        Some(key)
    );
}

async fn unknown_and_revoked_keys_are_not_found_by_hash(test: TestDb) {
    let unknown = fixtures::api_key_hash();
    assert_eq!(
        test.db.active_api_key_by_hash(&unknown).await.unwrap(),
        None
    );

    let ids = accounts(&test, &["20"]).await;
    let key = fixtures::api_key("soon revoked", ApiKeyScope::Accounts(ids));
    let other = fixtures::api_key("stays", ApiKeyScope::All);
    test.db.create_api_key(&key).await.unwrap();
    test.db.create_api_key(&other).await.unwrap();
    assert!(
        test.db
            .active_api_key_by_hash(&key.hash)
            .await
            .unwrap()
            .is_some()
    );

    assert!(test.db.revoke_api_key(&key.id, at(9_000)).await.unwrap());
    assert_eq!(
        test.db.active_api_key_by_hash(&key.hash).await.unwrap(),
        None
    );
    assert!(
        test.db
            .active_api_key_by_hash(&other.hash)
            .await
            .unwrap()
            .is_some(),
        "revoking one key leaves the others"
    );

    // A key stored already revoked is never found by hash either.
    let mut born_revoked = fixtures::api_key("imported", ApiKeyScope::All);
    born_revoked.revoked_at = Some(at(1));
    test.db.create_api_key(&born_revoked).await.unwrap();
    assert_eq!(
        test.db
            .active_api_key_by_hash(&born_revoked.hash)
            .await
            .unwrap(),
        None
    );
}

async fn revoking_reports_unknown_and_already_revoked_keys(test: TestDb) {
    let key = fixtures::api_key("to revoke", ApiKeyScope::All);
    test.db.create_api_key(&key).await.unwrap();
    let ghost = ApiKeyId::from_entropy(fixtures::entropy());
    assert!(!test.db.revoke_api_key(&ghost, at(5_000)).await.unwrap());

    assert!(test.db.revoke_api_key(&key.id, at(5_000)).await.unwrap());
    assert!(
        !test.db.revoke_api_key(&key.id, at(6_000)).await.unwrap(),
        "a revoked key cannot be revoked again"
    );
    let listed = test.db.list_api_keys().await.unwrap();
    assert_eq!(
        listed,
        vec![domain::ApiKey {
            revoked_at: Some(at(5_000)),
            ..key
        }],
        "revoked keys are still listed, with the first revocation time"
    );
}

async fn touch_records_the_last_use(test: TestDb) {
    let key = fixtures::api_key("busy", ApiKeyScope::All);
    test.db.create_api_key(&key).await.unwrap();
    test.db.touch_api_key(&key.id, at(7_000)).await.unwrap();
    test.db.touch_api_key(&key.id, at(8_000)).await.unwrap();
    let found = test
        .db
        .active_api_key_by_hash(&key.hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.last_used_at, Some(at(8_000)));
    assert_eq!(found.created_at, key.created_at);

    let ghost = ApiKeyId::from_entropy(fixtures::entropy());
    test.db.touch_api_key(&ghost, at(8_000)).await.unwrap();
    assert_eq!(test.db.list_api_keys().await.unwrap().len(), 1);
}

async fn any_api_key_exists_once_one_was_created(test: TestDb) {
    assert!(!test.db.any_api_key_exists().await.unwrap());
    let key = fixtures::api_key("first", ApiKeyScope::All);
    test.db.create_api_key(&key).await.unwrap();
    assert!(test.db.any_api_key_exists().await.unwrap());
    test.db.revoke_api_key(&key.id, at(1)).await.unwrap();
    assert!(
        test.db.any_api_key_exists().await.unwrap(),
        "a revoked key still counts: development mode must not come back"
    );
}

async fn deleting_an_account_removes_it_from_key_scopes(test: TestDb) {
    let ids = accounts(&test, &["30", "31"]).await;
    let key = fixtures::api_key("two shops", ApiKeyScope::Accounts(ids.clone()));
    test.db.create_api_key(&key).await.unwrap();

    assert!(test.db.delete_account(&ids[0]).await.unwrap());
    let found = test
        .db
        .active_api_key_by_hash(&key.hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.scope, ApiKeyScope::Accounts(vec![ids[1].clone()]));

    assert!(test.db.delete_account(&ids[1]).await.unwrap());
    let listed = test.db.list_api_keys().await.unwrap();
    assert_eq!(
        listed.iter().map(|key| &key.scope).collect::<Vec<_>>(),
        vec![&ApiKeyScope::Accounts(Vec::new())],
        "a key whose accounts are all gone sees nothing, never everything"
    );
}

async fn unreachable_backend_is_unavailable(test: TestDb) {
    let down = fixtures::unreachable(&test);
    let key = fixtures::api_key("down", ApiKeyScope::All);
    let errors = [
        down.create_api_key(&key).await.unwrap_err(),
        down.active_api_key_by_hash(&key.hash).await.unwrap_err(),
        down.list_api_keys().await.unwrap_err(),
        down.revoke_api_key(&key.id, at(1)).await.unwrap_err(),
        down.touch_api_key(&key.id, at(1)).await.unwrap_err(),
        down.any_api_key_exists().await.unwrap_err(),
    ];
    for error in &errors {
        assert!(fixtures::is_unavailable(error), "{error:?}");
    }
}

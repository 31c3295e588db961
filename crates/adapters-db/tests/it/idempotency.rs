//! `IdempotencyStore` conformance.

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use domain::ports::{AccountStore, IdempotencyStore};
use domain::{
    AccountId, IdempotencyBegin, IdempotencyKey, IdempotencyRecord, IdempotencyState, MessageId,
};

use crate::fixtures::{self, at};

backend_tests!(
    begin_takes_a_free_key_and_round_trips_the_record,
    keys_are_exact_and_per_account,
    concurrent_begins_with_one_key_start_exactly_one,
    concurrent_begins_on_an_expired_key_replace_it_once,
    an_expired_record_is_replaced,
    a_completed_record_is_replayed,
    completing_an_unknown_key_is_not_an_error,
    release_frees_only_in_progress_keys,
    purge_forgets_expired_records_and_counts_them,
    unreachable_backend_is_unavailable,
);

const DAY_MS: i64 = 86_400_000;

async fn account(test: &TestDb, instagram_id: &str) -> AccountId {
    let account = fixtures::account(instagram_id);
    test.db.create_account(&account).await.unwrap();
    account.id
}

fn key(value: &str) -> IdempotencyKey {
    IdempotencyKey::parse(value).unwrap()
}

fn existing(begin: IdempotencyBegin) -> IdempotencyRecord {
    match begin {
        IdempotencyBegin::Existing(record) => record,
        IdempotencyBegin::Started => panic!("expected an existing record, the key was free"),
    }
}

async fn begin_takes_a_free_key_and_round_trips_the_record(test: TestDb) {
    let account = account(&test, "1").await;
    // The longest key, with spaces and punctuation.
    let long_key = format!("order 42/retry#1 {}", "~".repeat(238));
    assert_eq!(long_key.len(), IdempotencyKey::MAX_LEN);
    let record = IdempotencyRecord {
        fingerprint: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".to_owned(),
        message_id: Some(MessageId::from_entropy(fixtures::entropy())),
        ..fixtures::idempotency_record(&account, &long_key, 1_763_202_600_123)
    };
    assert_eq!(
        test.db.begin_idempotent(&record).await.unwrap(),
        IdempotencyBegin::Started
    );

    let retry = IdempotencyRecord {
        fingerprint: "another body".to_owned(),
        message_id: None,
        ..fixtures::idempotency_record(&account, &long_key, 1_763_202_601_000)
    };
    assert_eq!(
        existing(test.db.begin_idempotent(&retry).await.unwrap()),
        record,
        "the stored record comes back unchanged, in progress"
    );
}

async fn keys_are_exact_and_per_account(test: TestDb) {
    let first = account(&test, "2").await;
    let second = account(&test, "3").await;
    for value in ["order-1", "ORDER-1", "order-1 ", " order-1"] {
        assert_eq!(
            test.db
                .begin_idempotent(&fixtures::idempotency_record(&first, value, 1_000))
                .await
                .unwrap(),
            IdempotencyBegin::Started,
            "{value:?} differs from every other key in case or spaces"
        );
    }
    assert_eq!(
        test.db
            .begin_idempotent(&fixtures::idempotency_record(&second, "order-1", 1_000))
            .await
            .unwrap(),
        IdempotencyBegin::Started,
        "keys are scoped per account"
    );
    assert_eq!(
        existing(
            test.db
                .begin_idempotent(&fixtures::idempotency_record(&first, "ORDER-1", 2_000))
                .await
                .unwrap()
        )
        .key,
        key("ORDER-1")
    );
}

/// Begins `key` from 8 tasks at once, each with its own fingerprint, all at `created_at`. Asserts
/// one started and the others got its record; returns the winner's fingerprint.
async fn race(test: &TestDb, account: &AccountId, value: &str, created_at: i64) -> String {
    let attempts: Vec<_> = (0..8)
        .map(|n| {
            let db = test.db.clone();
            let record = IdempotencyRecord {
                fingerprint: format!("caller {n}"),
                ..fixtures::idempotency_record(account, value, created_at)
            };
            tokio::spawn(async move {
                let outcome = db.begin_idempotent(&record).await;
                (record, outcome)
            })
        })
        .collect();
    let mut started = Vec::new();
    let mut seen = Vec::new();
    for attempt in attempts {
        let (record, outcome) = attempt.await.unwrap();
        match outcome.unwrap() {
            IdempotencyBegin::Started => started.push(record),
            IdempotencyBegin::Existing(found) => seen.push(found),
        }
    }
    assert_eq!(started.len(), 1, "exactly one caller takes the key");
    assert_eq!(seen.len(), 7);
    for found in seen {
        assert_eq!(found, started[0], "every loser sees the winner's record");
    }
    started.remove(0).fingerprint
}

async fn concurrent_begins_with_one_key_start_exactly_one(test: TestDb) {
    let account = account(&test, "4").await;
    for round in 0..3 {
        race(&test, &account, &format!("race-{round}"), 1_000).await;
    }
}

async fn concurrent_begins_on_an_expired_key_replace_it_once(test: TestDb) {
    let account = account(&test, "5").await;
    for round in 0..3 {
        let value = format!("expired-race-{round}");
        let old = fixtures::idempotency_record(&account, &value, 1_000);
        test.db.begin_idempotent(&old).await.unwrap();
        if round == 1 {
            test.db
                .complete_idempotent(&account, &old.key, None, 201, "{}")
                .await
                .unwrap();
        }
        let winner = race(&test, &account, &value, 1_000 + DAY_MS).await;
        assert_ne!(winner, old.fingerprint);
    }
}

async fn an_expired_record_is_replaced(test: TestDb) {
    let account = account(&test, "6").await;
    let old = IdempotencyRecord {
        fingerprint: "old body".to_owned(),
        ..fixtures::idempotency_record(&account, "k", 10_000)
    };
    test.db.begin_idempotent(&old).await.unwrap();
    let message = MessageId::from_entropy(fixtures::entropy());
    test.db
        .complete_idempotent(&account, &old.key, Some(&message), 202, "{\"old\":true}")
        .await
        .unwrap();

    // One millisecond before expiry the old record still holds the key.
    let early = fixtures::idempotency_record(&account, "k", old.expires_at.as_millis() - 1);
    assert_eq!(
        existing(test.db.begin_idempotent(&early).await.unwrap()).fingerprint,
        "old body"
    );

    // At its expiry it is replaced, completion and message included.
    let new = IdempotencyRecord {
        fingerprint: "new body".to_owned(),
        ..fixtures::idempotency_record(&account, "k", old.expires_at.as_millis())
    };
    assert_eq!(
        test.db.begin_idempotent(&new).await.unwrap(),
        IdempotencyBegin::Started
    );
    let retry = fixtures::idempotency_record(&account, "k", new.created_at.as_millis() + 5);
    assert_eq!(
        existing(test.db.begin_idempotent(&retry).await.unwrap()),
        new,
        "the new record, in progress, with the new times and no message"
    );
}

async fn a_completed_record_is_replayed(test: TestDb) {
    let account = account(&test, "7").await;
    let record = fixtures::idempotency_record(&account, "send-1", 1_000);
    test.db.begin_idempotent(&record).await.unwrap();
    let message = MessageId::from_entropy(fixtures::entropy());
    let body = r#"{"id":"msg","text":"Спасибо! Merci 🙏 ça va"}"#;
    test.db
        .complete_idempotent(&account, &record.key, Some(&message), 201, body)
        .await
        .unwrap();

    let repeat = fixtures::idempotency_record(&account, "send-1", 2_000);
    assert_eq!(
        existing(test.db.begin_idempotent(&repeat).await.unwrap()),
        IdempotencyRecord {
            message_id: Some(message),
            state: IdempotencyState::Completed {
                status: 201,
                body: body.to_owned(),
            },
            ..record.clone()
        }
    );

    // An error response with an empty body and no message is replayed as such too.
    let failed = fixtures::idempotency_record(&account, "send-2", 1_000);
    test.db.begin_idempotent(&failed).await.unwrap();
    test.db
        .complete_idempotent(&account, &failed.key, None, 422, "")
        .await
        .unwrap();
    assert_eq!(
        existing(test.db.begin_idempotent(&failed).await.unwrap()).state,
        IdempotencyState::Completed {
            status: 422,
            body: String::new(),
        }
    );
}

async fn completing_an_unknown_key_is_not_an_error(test: TestDb) {
    let account = account(&test, "8").await;
    test.db
        .complete_idempotent(&account, &key("never-begun"), None, 200, "{}")
        .await
        .unwrap();
    assert_eq!(
        test.db
            .begin_idempotent(&fixtures::idempotency_record(
                &account,
                "never-begun",
                1_000
            ))
            .await
            .unwrap(),
        IdempotencyBegin::Started,
        "completing an unknown key must not create it"
    );
}

async fn release_frees_only_in_progress_keys(test: TestDb) {
    let account = account(&test, "9").await;
    let held = fixtures::idempotency_record(&account, "held", 1_000);
    test.db.begin_idempotent(&held).await.unwrap();
    test.db
        .release_idempotent(&account, &held.key)
        .await
        .unwrap();
    assert_eq!(
        test.db.begin_idempotent(&held).await.unwrap(),
        IdempotencyBegin::Started,
        "a released key can be taken again at once"
    );

    let done = fixtures::idempotency_record(&account, "done", 1_000);
    test.db.begin_idempotent(&done).await.unwrap();
    test.db
        .complete_idempotent(&account, &done.key, None, 200, "ok")
        .await
        .unwrap();
    test.db
        .release_idempotent(&account, &done.key)
        .await
        .unwrap();
    assert!(
        matches!(
            existing(test.db.begin_idempotent(&done).await.unwrap()).state,
            IdempotencyState::Completed { status: 200, .. }
        ),
        "a completed response is kept for replay"
    );

    test.db
        .release_idempotent(&account, &key("unknown"))
        .await
        .unwrap();
}

async fn purge_forgets_expired_records_and_counts_them(test: TestDb) {
    let account = account(&test, "10").await;
    let other = self::account(&test, "11").await;
    let records = [
        fixtures::idempotency_record(&account, "a", 1_000),
        fixtures::idempotency_record(&account, "b", 2_000),
        fixtures::idempotency_record(&other, "c", 3_000),
        fixtures::idempotency_record(&account, "d", 4_000),
    ];
    for record in &records {
        test.db.begin_idempotent(record).await.unwrap();
    }
    test.db
        .complete_idempotent(&account, &records[0].key, None, 200, "{}")
        .await
        .unwrap();

    let now = records[2].expires_at;
    assert_eq!(test.db.purge_expired_idempotency(now).await.unwrap(), 3);
    assert_eq!(test.db.purge_expired_idempotency(now).await.unwrap(), 0);
    // Purged keys are free again (even when taken before they would expire); the rest are held.
    for record in &records[..3] {
        assert_eq!(
            test.db.begin_idempotent(record).await.unwrap(),
            IdempotencyBegin::Started
        );
    }
    assert_eq!(
        existing(test.db.begin_idempotent(&records[3]).await.unwrap()),
        records[3]
    );
}

async fn unreachable_backend_is_unavailable(test: TestDb) {
    let down = fixtures::unreachable(&test);
    let record = fixtures::idempotency_record(&fixtures::account("12").id, "k", 1_000);
    let errors = [
        down.begin_idempotent(&record).await.unwrap_err(),
        down.complete_idempotent(&record.account_id, &record.key, None, 200, "{}")
            .await
            .unwrap_err(),
        down.release_idempotent(&record.account_id, &record.key)
            .await
            .unwrap_err(),
        down.purge_expired_idempotency(at(1)).await.unwrap_err(),
    ];
    for error in &errors {
        assert!(fixtures::is_unavailable(error), "{error:?}");
    }
}

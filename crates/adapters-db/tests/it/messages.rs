//! `MessageStore` conformance: the ingest transaction and the history.

use adapters_db::testing::TestDb;
use adapters_db::{Database, DatabaseUrl, PoolOptions, backend_tests};
use domain::ports::{DeliveryQueue, MessageStore, OutboundQueue, StoreError};
use domain::{
    Attachment, DeliveryFilter, Direction, EventDetails, EventKind, InboundRecord, IngestResult,
    InstagramId, Message, MessageId, PageRequest,
};

use crate::events::{self, inbound, record, stored_account};
use crate::fixtures::entropy;

backend_tests!(
    every_event_kind_round_trips,
    redelivery_stores_and_forwards_nothing_twice,
    repeats_inside_one_batch_are_duplicates,
    concurrent_ingests_of_one_event_store_it_once,
    a_failing_batch_stores_nothing,
    a_failing_batch_does_not_fail_concurrent_ones,
    events_of_unknown_accounts_are_stored_without_account,
    keys_differing_in_case_are_different_events,
    history_pages_newest_first_and_filters_by_participant,
    missing_message_is_none_and_down_database_is_unavailable,
    large_batches_are_stored_in_one_call,
);

async fn every_event_kind_round_trips(test: TestDb) {
    let account = stored_account(&test.db, "17841400000000000").await;
    let mut records = Vec::new();
    for (n, kind) in EventKind::ALL.into_iter().enumerate() {
        let mut message = inbound(
            &account,
            "5678",
            &format!("mid-{n}"),
            1_700_000_000_000 + i64::try_from(n).unwrap(),
        );
        message.kind = kind;
        message.direction = if kind == EventKind::Echo {
            Direction::Outbound
        } else {
            Direction::Inbound
        };
        message.event_key = Message::event_key_for(
            kind,
            Some(&format!("mid-{n}")),
            "5678",
            message.occurred_at,
            "1",
        );
        message.text = Some("é".repeat(500)); // 1000 bytes, the most a DM holds
        message.details = EventDetails {
            reaction: Some("love".to_owned()),
            emoji: Some("❤️".to_owned()),
            postback_payload: Some("ПОДПИСКА".to_owned()),
            edit_count: Some(2),
            unsupported: n % 2 == 0,
            ..EventDetails::default()
        };
        message.attachments = vec![
            Attachment {
                kind: "story_mention".to_owned(),
                url: Some("https://x.example/s?a=1&b=ü".to_owned()),
            },
            Attachment {
                kind: "like_heart".to_owned(),
                url: None,
            },
        ];
        records.push(InboundRecord {
            message,
            delivery: None,
            auto_reply: None,
        });
    }
    let results = test.db.ingest(records.clone()).await.unwrap();
    assert_eq!(results, vec![IngestResult::Stored; EventKind::ALL.len()]);
    for record in records {
        assert_eq!(
            test.db.message(&record.message.id).await.unwrap(),
            Some(record.message)
        );
    }
    // No text, no attachments, no details: stored as NULLs and read back as empty.
    let mut bare = inbound(&account, "5678", "bare", 1);
    bare.text = None;
    bare.attachments = Vec::new();
    bare.details = EventDetails::default();
    test.db
        .ingest(vec![InboundRecord {
            message: bare.clone(),
            delivery: None,
            auto_reply: None,
        }])
        .await
        .unwrap();
    assert_eq!(test.db.message(&bare.id).await.unwrap(), Some(bare));
}

async fn redelivery_stores_and_forwards_nothing_twice(test: TestDb) {
    let account = stored_account(&test.db, "1234567890").await;
    let first = record(
        &account,
        inbound(&account, "5678", "external_id", 1_459_991_487_970),
    );
    assert_eq!(
        test.db.ingest(vec![first.clone()]).await.unwrap(),
        vec![IngestResult::Stored]
    );

    // Meta redelivers: the parser makes new ids, the event key is the same.
    let again = record(
        &account,
        inbound(&account, "5678", "external_id", 1_459_991_487_970),
    );
    assert_eq!(
        test.db.ingest(vec![again.clone()]).await.unwrap(),
        vec![IngestResult::Duplicate]
    );

    assert_eq!(test.db.message(&again.message.id).await.unwrap(), None);
    let deliveries = test
        .db
        .list_deliveries(&DeliveryFilter::default(), &PageRequest::first())
        .await
        .unwrap();
    assert_eq!(deliveries.items.len(), 1);
    assert_eq!(
        Some(deliveries.items[0].id.clone()),
        first.delivery.map(|d| d.id)
    );
}

async fn repeats_inside_one_batch_are_duplicates(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let a = record(&account, inbound(&account, "5", "a", 10));
    let a_again = record(&account, inbound(&account, "5", "a", 10));
    let b = record(&account, inbound(&account, "5", "b", 11));
    let results = test.db.ingest(vec![a, a_again, b]).await.unwrap();
    assert_eq!(
        results,
        vec![
            IngestResult::Stored,
            IngestResult::Duplicate,
            IngestResult::Stored
        ]
    );
    let history = test
        .db
        .history(&account.id, None, &PageRequest::first())
        .await
        .unwrap();
    assert_eq!(history.items.len(), 2);
}

async fn concurrent_ingests_of_one_event_store_it_once(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let tasks: Vec<_> = (0..8)
        .map(|n| {
            let db = test.db.clone();
            // Each POST carries the same event plus one of its own.
            let batch = vec![
                record(&account, inbound(&account, "5", "same-mid", 10)),
                record(&account, inbound(&account, "5", &format!("own-{n}"), 11)),
            ];
            tokio::spawn(async move { db.ingest(batch).await })
        })
        .collect();
    let mut stored_same = 0;
    for task in tasks {
        let results = task.await.unwrap().unwrap();
        assert_eq!(results[1], IngestResult::Stored);
        if results[0] == IngestResult::Stored {
            stored_same += 1;
        }
    }
    assert_eq!(stored_same, 1);
    let history = test
        .db
        .history(&account.id, None, &PageRequest::first())
        .await
        .unwrap();
    assert_eq!(history.items.len(), 9);
    let deliveries = test
        .db
        .list_deliveries(&DeliveryFilter::default(), &PageRequest::first())
        .await
        .unwrap();
    assert_eq!(deliveries.items.len(), 9);
}

async fn a_failing_batch_stores_nothing(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let good = record(&account, inbound(&account, "5", "good", 10));
    let mut orphan_reply = record(&account, inbound(&account, "5", "bad", 11));
    // An auto-reply for an account that does not exist violates a foreign key mid-transaction.
    let ghost = crate::fixtures::account("999");
    orphan_reply.auto_reply = Some(events::outbound(&ghost, "5", 11));
    test.db
        .ingest(vec![good.clone(), orphan_reply])
        .await
        .unwrap_err();

    assert_eq!(
        test.db.message(&good.message.id).await.unwrap(),
        None,
        "the whole batch rolled back"
    );
    let deliveries = test
        .db
        .list_deliveries(&DeliveryFilter::default(), &PageRequest::first())
        .await
        .unwrap();
    assert!(deliveries.items.is_empty());
    // And it can be stored afterwards.
    assert_eq!(
        test.db.ingest(vec![good]).await.unwrap(),
        vec![IngestResult::Stored]
    );
}

async fn a_failing_batch_does_not_fail_concurrent_ones(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let ghost = crate::fixtures::account("999");
    // SQLite commits concurrent ingests together: the bad one must not take the others down.
    let tasks: Vec<_> = (0..8)
        .map(|n| {
            let db = test.db.clone();
            let mut batch = record(&account, inbound(&account, "5", &format!("m-{n}"), n));
            if n == 3 {
                batch.auto_reply = Some(events::outbound(&ghost, "5", n));
            }
            tokio::spawn(async move { (n, db.ingest(vec![batch]).await) })
        })
        .collect();
    for task in tasks {
        let (n, result) = task.await.unwrap();
        if n == 3 {
            assert!(result.is_err(), "the orphan reply fails its own batch");
        } else {
            assert_eq!(result.unwrap(), vec![IngestResult::Stored], "batch {n}");
        }
    }
    let history = test
        .db
        .history(&account.id, None, &PageRequest::first())
        .await
        .unwrap();
    assert_eq!(history.items.len(), 7);
}

async fn events_of_unknown_accounts_are_stored_without_account(test: TestDb) {
    let ghost = crate::fixtures::account("31337");
    let mut message = inbound(&ghost, "5", "m", 10);
    message.account_id = None;
    let results = test
        .db
        .ingest(vec![InboundRecord {
            message: message.clone(),
            delivery: None,
            auto_reply: None,
        }])
        .await
        .unwrap();
    assert_eq!(results, vec![IngestResult::Stored]);
    assert_eq!(test.db.message(&message.id).await.unwrap(), Some(message));
}

async fn keys_differing_in_case_are_different_events(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let batch = vec![
        record(&account, inbound(&account, "5", "abc", 10)),
        record(&account, inbound(&account, "5", "ABC", 10)),
    ];
    assert_eq!(
        test.db.ingest(batch).await.unwrap(),
        vec![IngestResult::Stored, IngestResult::Stored]
    );
    // The same mid under another business account is another event too.
    let other = stored_account(&test.db, "2").await;
    let batch = vec![record(&other, inbound(&other, "5", "abc", 10))];
    assert_eq!(
        test.db.ingest(batch).await.unwrap(),
        vec![IngestResult::Stored]
    );
}

async fn history_pages_newest_first_and_filters_by_participant(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let mut records = Vec::new();
    for n in 0..9_i64 {
        let customer = if n % 3 == 0 { "alice" } else { "bob" };
        // Pairs share a timestamp so the id breaks ties.
        records.push(record(
            &account,
            inbound(&account, customer, &format!("m{n}"), 1_000 + n / 2),
        ));
    }
    test.db.ingest(records.clone()).await.unwrap();
    let mut expected: Vec<Message> = records.into_iter().map(|record| record.message).collect();
    expected.sort_by(|a, b| (b.occurred_at, b.id.as_str()).cmp(&(a.occurred_at, a.id.as_str())));

    let mut seen = Vec::new();
    let mut page = PageRequest::new(Some(4), None).unwrap();
    loop {
        let result = test.db.history(&account.id, None, &page).await.unwrap();
        seen.extend(result.items);
        match result.next {
            Some(cursor) => page = PageRequest::new(Some(4), Some(cursor)).unwrap(),
            None => break,
        }
    }
    assert_eq!(seen, expected);

    let alice = InstagramId::parse("participant_id", "alice").unwrap();
    let only_alice = test
        .db
        .history(&account.id, Some(&alice), &PageRequest::first())
        .await
        .unwrap();
    let expected_alice: Vec<Message> = expected
        .into_iter()
        .filter(|m| m.participant_id == alice)
        .collect();
    assert_eq!(only_alice.items, expected_alice);
    assert_eq!(only_alice.items.len(), 3);

    let other = stored_account(&test.db, "2").await;
    assert!(
        test.db
            .history(&other.id, None, &PageRequest::first())
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

async fn missing_message_is_none_and_down_database_is_unavailable(test: TestDb) {
    assert_eq!(
        test.db
            .message(&MessageId::from_entropy(entropy()))
            .await
            .unwrap(),
        None
    );
    let url = match test.db.backend() {
        adapters_db::Backend::Sqlite => "sqlite:///nonexistent-directory/x.db",
        adapters_db::Backend::Postgres => "postgres://postgres@127.0.0.1:1/test",
        adapters_db::Backend::Mysql => "mysql://root@127.0.0.1:1/test",
    };
    let down =
        Database::connect(&DatabaseUrl::parse(url).unwrap(), PoolOptions::default()).unwrap();
    let account = crate::fixtures::account("1");
    let error = down
        .ingest(vec![record(&account, inbound(&account, "5", "m", 1))])
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    let error = down
        .message(&MessageId::from_entropy(entropy()))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
}

async fn large_batches_are_stored_in_one_call(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    // Meta batches up to 1,000 items; more than one insert chunk.
    let batch: Vec<InboundRecord> = (0..1_200)
        .map(|n| {
            let mut record = record(&account, inbound(&account, "5", &format!("bulk-{n}"), n));
            record.auto_reply = (n % 100 == 0).then(|| events::outbound(&account, "5", n));
            record
        })
        .collect();
    let replies: Vec<_> = batch.iter().filter_map(|r| r.auto_reply.clone()).collect();
    let results = test.db.ingest(batch).await.unwrap();
    assert!(results.iter().all(|r| *r == IngestResult::Stored));
    assert_eq!(results.len(), 1_200);
    for reply in replies {
        assert_eq!(test.db.outbound(&reply.id).await.unwrap(), Some(reply));
    }
    let page = PageRequest::new(Some(200), None).unwrap();
    assert_eq!(
        test.db
            .history(&account.id, None, &page)
            .await
            .unwrap()
            .items
            .len(),
        200
    );
}

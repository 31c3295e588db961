//! Auto-reply cooldowns in `MessageStore::ingest`: at most one reply per (rule, sender) per
//! `cooldown_seconds`, across batches, within one batch, under concurrent ingests and
//! redeliveries, and never for a rule deleted or disabled since it was read.

use std::time::Duration;

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use domain::ports::{MessageStore, OutboundQueue, ReplyRuleStore};
use domain::{Account, InboundRecord, IngestResult, OutboundMessage, ReplyRule, Timestamp};

use crate::events::{inbound, outbound, record, stored_account};
use crate::fixtures;

backend_tests!(
    a_reply_waits_for_its_cooldown,
    cooldowns_are_per_rule_and_per_sender,
    a_zero_cooldown_replies_every_time,
    one_batch_replies_once,
    concurrent_webhooks_from_one_sender_reply_once,
    a_redelivered_event_replies_once_and_keeps_the_cooldown,
    a_rule_disabled_or_deleted_since_it_was_read_does_not_reply,
);

/// A stored rule of `account` with `cooldown_seconds`.
async fn stored_rule(test: &TestDb, account: &Account, cooldown_seconds: u32) -> ReplyRule {
    let rule = ReplyRule {
        cooldown_seconds,
        ..fixtures::rule(&account.id)
    };
    test.db.create_rule(&rule).await.unwrap();
    rule
}

/// An inbound message `mid` from `sender` at `at` ms, answered by `rule`.
fn answered(
    account: &Account,
    rule: &ReplyRule,
    sender: &str,
    mid: &str,
    at: i64,
) -> InboundRecord {
    let mut record = record(account, inbound(account, sender, mid, at));
    record.auto_reply = Some(OutboundMessage {
        rule_id: Some(rule.id.clone()),
        ..outbound(account, sender, at)
    });
    record
}

/// Every queued send, claimed.
async fn queued(test: &TestDb) -> Vec<OutboundMessage> {
    test.db
        .claim_due_outbound(
            Timestamp::from_millis(i64::MAX / 2),
            1_000,
            Duration::from_secs(60),
            &[],
        )
        .await
        .unwrap()
}

async fn ingest_one(test: &TestDb, record: InboundRecord) {
    assert_eq!(
        test.db.ingest(vec![record]).await.unwrap(),
        vec![IngestResult::Stored],
        "the message is stored, whether it is answered or not"
    );
}

async fn a_reply_waits_for_its_cooldown(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let rule = stored_rule(&test, &account, 60).await;
    ingest_one(&test, answered(&account, &rule, "5", "m-1", 1_000_000)).await;
    ingest_one(&test, answered(&account, &rule, "5", "m-2", 1_059_999)).await;
    ingest_one(&test, answered(&account, &rule, "5", "m-3", 1_060_000)).await;
    // The cooldown runs from the last reply sent, not from the last message.
    ingest_one(&test, answered(&account, &rule, "5", "m-4", 1_100_000)).await;
    ingest_one(&test, answered(&account, &rule, "5", "m-5", 1_120_000)).await;

    let mut times: Vec<i64> = queued(&test)
        .await
        .iter()
        .map(|send| send.created_at.as_millis())
        .collect();
    times.sort_unstable();
    assert_eq!(times, vec![1_000_000, 1_060_000, 1_120_000]);
}

async fn cooldowns_are_per_rule_and_per_sender(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let first = stored_rule(&test, &account, 3_600).await;
    let second = stored_rule(&test, &account, 3_600).await;
    ingest_one(&test, answered(&account, &first, "5", "m-1", 1_000)).await;
    ingest_one(&test, answered(&account, &first, "6", "m-2", 1_001)).await;
    ingest_one(&test, answered(&account, &second, "5", "m-3", 1_002)).await;
    ingest_one(&test, answered(&account, &first, "5", "m-4", 1_003)).await;
    assert_eq!(queued(&test).await.len(), 3);
}

async fn a_zero_cooldown_replies_every_time(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let rule = stored_rule(&test, &account, 0).await;
    let batch = vec![
        answered(&account, &rule, "5", "m-1", 1_000),
        answered(&account, &rule, "5", "m-2", 1_000),
    ];
    test.db.ingest(batch).await.unwrap();
    ingest_one(&test, answered(&account, &rule, "5", "m-3", 1_000)).await;
    assert_eq!(queued(&test).await.len(), 3);
}

async fn one_batch_replies_once(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let rule = stored_rule(&test, &account, 3_600).await;
    let batch: Vec<_> = (0..5)
        .map(|n| answered(&account, &rule, "5", &format!("m-{n}"), 1_000 + n))
        .collect();
    assert_eq!(
        test.db.ingest(batch).await.unwrap(),
        vec![IngestResult::Stored; 5]
    );
    assert_eq!(queued(&test).await.len(), 1);
}

async fn concurrent_webhooks_from_one_sender_reply_once(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let rule = stored_rule(&test, &account, 3_600).await;
    let tasks: Vec<_> = (0..8)
        .map(|n| {
            let db = test.db.clone();
            let record = answered(&account, &rule, "5", &format!("m-{n}"), 1_000 + n);
            tokio::spawn(async move { db.ingest(vec![record]).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), vec![IngestResult::Stored]);
    }
    assert_eq!(queued(&test).await.len(), 1);
}

async fn a_redelivered_event_replies_once_and_keeps_the_cooldown(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let rule = stored_rule(&test, &account, 60).await;
    let first = answered(&account, &rule, "5", "m-1", 1_000_000);
    ingest_one(&test, first.clone()).await;
    // Meta delivers it again a minute later, past the cooldown: still the same event.
    let mut again = answered(&account, &rule, "5", "m-1", 1_000_000);
    again.auto_reply.as_mut().unwrap().created_at = Timestamp::from_millis(1_070_000);
    assert_eq!(
        test.db.ingest(vec![again]).await.unwrap(),
        vec![IngestResult::Duplicate]
    );
    // A new message just after the redelivery is answered: the duplicate did not restart the
    // cooldown.
    ingest_one(&test, answered(&account, &rule, "5", "m-2", 1_070_001)).await;
    assert_eq!(queued(&test).await.len(), 2);
}

async fn a_rule_disabled_or_deleted_since_it_was_read_does_not_reply(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let disabled = stored_rule(&test, &account, 0).await;
    test.db
        .update_rule(&ReplyRule {
            enabled: false,
            ..disabled.clone()
        })
        .await
        .unwrap();
    let deleted = stored_rule(&test, &account, 0).await;
    test.db.delete_rule(&deleted.id).await.unwrap();
    let other_account = stored_account(&test.db, "2").await;
    let foreign = stored_rule(&test, &other_account, 0).await;

    ingest_one(&test, answered(&account, &disabled, "5", "m-1", 1_000)).await;
    ingest_one(&test, answered(&account, &deleted, "5", "m-2", 1_001)).await;
    // A rule of another account never answers this one's customers.
    ingest_one(&test, answered(&account, &foreign, "5", "m-3", 1_002)).await;
    assert!(queued(&test).await.is_empty());
}

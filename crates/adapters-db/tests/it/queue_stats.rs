//! `QueueStats` conformance: what counts as queued, what as due, and the oldest due time.

use std::time::Duration;

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use domain::ports::{DeliveryQueue, MessageStore, OutboundQueue, QueueDepth, QueueStats};
use domain::{DeliveryAttempt, DeliveryNext, InboundRecord, SendResult, Timestamp};

use crate::events::{delivery, inbound, outbound, stored_account};
use crate::fixtures::{entropy, is_unavailable, unreachable};

const LEASE: Duration = Duration::from_secs(30);

backend_tests!(
    empty_queues_are_zero,
    unfinished_rows_count_and_due_ones_age,
    finished_rows_leave_their_queue,
    an_unreachable_database_is_unavailable,
);

fn ms(millis: i64) -> Timestamp {
    Timestamp::from_millis(millis)
}

/// Stores `count` events, each with a pending delivery due at `at`.
async fn queue_deliveries(test: &TestDb, account: &domain::Account, count: usize, at: i64) {
    let records = (0..count)
        .map(|n| {
            let message = inbound(account, "5", &format!("m-{at}-{n}-{}", entropy()[0]), at);
            InboundRecord {
                delivery: Some(delivery(account, Some(&message), at)),
                message,
                auto_reply: None,
            }
        })
        .collect();
    test.db.ingest(records).await.unwrap();
}

async fn empty_queues_are_zero(test: TestDb) {
    let depths = test.db.queue_depths(ms(1_000)).await.unwrap();
    assert_eq!(depths.deliveries, QueueDepth::default());
    assert_eq!(depths.sends, QueueDepth::default());
}

async fn unfinished_rows_count_and_due_ones_age(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    queue_deliveries(&test, &account, 3, 1_000).await;
    queue_deliveries(&test, &account, 1, 5_000).await;
    for at in [2_000, 2_500, 9_000] {
        test.db
            .enqueue_outbound(&outbound(&account, "5", at))
            .await
            .unwrap();
    }

    let depths = test.db.queue_depths(ms(3_000)).await.unwrap();
    assert_eq!(
        depths.deliveries,
        QueueDepth {
            unfinished: 4,
            due: 3,
            oldest_due_at: Some(ms(1_000)),
        }
    );
    assert_eq!(
        depths.sends,
        QueueDepth {
            unfinished: 3,
            due: 2,
            oldest_due_at: Some(ms(2_000)),
        }
    );

    // A claimed row is under way until its lease ends: still queued, no longer due.
    let claimed = test
        .db
        .claim_due_deliveries(ms(3_000), 1, LEASE, &[])
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    test.db
        .claim_due_outbound(ms(3_000), 2, LEASE, &[])
        .await
        .unwrap();
    let depths = test.db.queue_depths(ms(3_000)).await.unwrap();
    assert_eq!(
        (depths.deliveries.unfinished, depths.deliveries.due),
        (4, 2)
    );
    assert_eq!(depths.deliveries.oldest_due_at, Some(ms(1_000)));
    assert_eq!(
        depths.sends,
        QueueDepth {
            unfinished: 3,
            due: 0,
            oldest_due_at: None,
        }
    );

    // Once the lease has run out, the claimed rows are due again, since their lease's end.
    let later = ms(3_000).plus(LEASE).plus(Duration::from_secs(1));
    let depths = test.db.queue_depths(later).await.unwrap();
    assert_eq!(depths.deliveries.due, 4);
    assert_eq!(depths.sends.due, 3);
    assert_eq!(depths.sends.oldest_due_at, Some(ms(9_000)));
}

async fn finished_rows_leave_their_queue(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    queue_deliveries(&test, &account, 2, 1_000).await;
    test.db
        .enqueue_outbound(&outbound(&account, "5", 1_000))
        .await
        .unwrap();
    let deliveries = test
        .db
        .claim_due_deliveries(ms(2_000), 1, LEASE, &[])
        .await
        .unwrap();
    let sends = test
        .db
        .claim_due_outbound(ms(2_000), 1, LEASE, &[])
        .await
        .unwrap();

    let attempt = DeliveryAttempt {
        number: 1,
        started_at: ms(2_000),
        http_status: Some(200),
        latency_ms: 5,
        error: None,
        response_excerpt: None,
    };
    test.db
        .record_delivery_attempt(
            &deliveries[0].id,
            &attempt,
            DeliveryNext::Delivered,
            ms(2_100),
        )
        .await
        .unwrap();
    test.db
        .finish_outbound(
            &sends[0].id,
            1,
            SendResult::Failed {
                error_code: Some(100),
                error_message: "invalid parameter".to_owned(),
            },
            None,
            ms(2_100),
        )
        .await
        .unwrap();

    let depths = test.db.queue_depths(ms(3_000)).await.unwrap();
    assert_eq!(
        depths.deliveries,
        QueueDepth {
            unfinished: 1,
            due: 1,
            oldest_due_at: Some(ms(1_000)),
        }
    );
    assert_eq!(depths.sends, QueueDepth::default());
}

async fn an_unreachable_database_is_unavailable(test: TestDb) {
    let error = unreachable(&test)
        .queue_depths(ms(1_000))
        .await
        .unwrap_err();
    assert!(is_unavailable(&error), "{error:?}");
}

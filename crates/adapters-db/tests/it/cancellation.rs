//! Store calls whose futures are dropped mid-flight (a cancelled request, a timeout) leave the
//! pool usable: no panic, no connection handed out inside a half-done transaction.

use std::time::Duration;

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use domain::ports::{DeliveryQueue, HealthCheck, MessageStore};
use domain::{IngestResult, Timestamp};

use crate::events::{inbound, record, stored_account};

backend_tests!(cancelled_calls_leave_the_pool_usable);

async fn cancelled_calls_leave_the_pool_usable(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let batch = (0..600)
        .map(|n| record(&account, inbound(&account, "5", &format!("m-{n}"), n)))
        .collect();
    let results = test.db.ingest(batch).await.unwrap();
    assert!(results.iter().all(|result| *result == IngestResult::Stored));

    let lease = Duration::from_secs(60);
    let mut claimed = 0;
    // Drop claims at every point of their life: before, during and after the transaction.
    for step in 0..60_u64 {
        let now = Timestamp::from_millis(1_000_000);
        let cancelled = tokio::time::timeout(
            Duration::from_micros(step * 40),
            test.db.claim_due_deliveries(now, 10, lease, &[]),
        )
        .await;
        if let Ok(done) = cancelled {
            claimed += done.unwrap().len();
        }
        // The next calls get a healthy connection, outside any transaction.
        test.db.ping().await.unwrap();
        claimed += test
            .db
            .claim_due_deliveries(now, 1, lease, &[])
            .await
            .unwrap()
            .len();
    }
    assert!(claimed > 0);
    // A claim cancelled after its commit still counts as claimed; none is handed out twice.
    let left = test
        .db
        .claim_due_deliveries(Timestamp::from_millis(1_000_000), 1_000, lease, &[])
        .await
        .unwrap();
    assert!(left.len() + claimed <= 600, "a delivery was claimed twice");
}

//! `DeliveryQueue` conformance: claims, attempts, replay.

use std::collections::HashSet;
use std::time::Duration;

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use domain::ports::{AttemptRecord, DeliveryQueue, DeliveryQueueError, MessageStore};
use domain::{
    CrmDelivery, DeliveryAttempt, DeliveryFilter, DeliveryNext, DeliveryStatus, EventId,
    InboundRecord, PageRequest, Timestamp,
};

use crate::events::{claim_concurrently, delivery, inbound, stored_account};
use crate::fixtures::entropy;

const LEASE: Duration = Duration::from_secs(30);

backend_tests!(
    claims_take_due_deliveries_only,
    concurrent_claims_never_share_a_delivery,
    claims_leave_skipped_accounts_alone,
    a_batch_of_results_is_written_each_under_its_guard,
    an_expired_claim_is_taken_over_and_the_old_result_discarded,
    attempts_move_deliveries_through_their_states,
    failed_deliveries_can_be_replayed_one_by_one,
    failed_deliveries_can_be_recovered_by_window,
    listings_filter_and_page,
);

fn ms(millis: i64) -> Timestamp {
    Timestamp::from_millis(millis)
}

/// Stores `count` deliveries (each with its message) created at `created_at`.
async fn queue(
    test: &TestDb,
    account: &domain::Account,
    count: i64,
    created_at: i64,
) -> Vec<CrmDelivery> {
    let mut records = Vec::new();
    let mut deliveries = Vec::new();
    for n in 0..count {
        let message = inbound(
            account,
            "5",
            &format!("m-{created_at}-{n}-{}", entropy()[0]),
            created_at,
        );
        let delivery = delivery(account, Some(&message), created_at);
        deliveries.push(delivery.clone());
        records.push(InboundRecord {
            message,
            delivery: Some(delivery),
            auto_reply: None,
        });
    }
    test.db.ingest(records).await.unwrap();
    deliveries
}

fn attempt(number: u32, at: i64, status: Option<u16>, error: Option<&str>) -> DeliveryAttempt {
    DeliveryAttempt {
        number,
        started_at: ms(at),
        http_status: status,
        latency_ms: 42,
        error: error.map(str::to_owned),
        response_excerpt: Some("ошибка: сервис недоступен ✗".to_owned()),
    }
}

async fn claims_take_due_deliveries_only(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let due = queue(&test, &account, 2, 1_000).await;
    let later = queue(&test, &account, 1, 5_000).await;

    let claimed = test
        .db
        .claim_due_deliveries(ms(2_000), 10, LEASE, &[])
        .await
        .unwrap();
    let ids: HashSet<EventId> = claimed.iter().map(|d| d.id.clone()).collect();
    assert_eq!(ids, due.iter().map(|d| d.id.clone()).collect());
    for delivery in &claimed {
        assert_eq!(delivery.status, DeliveryStatus::Delivering);
        assert_eq!(delivery.attempts, 1);
        assert_eq!(delivery.due_at, Some(ms(2_000).plus(LEASE)));
        assert!(delivery.payload.contains("héllo ✓"));
    }
    assert!(
        test.db
            .claim_due_deliveries(ms(2_000), 10, LEASE, &[])
            .await
            .unwrap()
            .is_empty(),
        "claimed rows are not due"
    );
    let claimed = test
        .db
        .claim_due_deliveries(ms(5_000), 10, LEASE, &[])
        .await
        .unwrap();
    assert_eq!(
        claimed.iter().map(|d| d.id.clone()).collect::<Vec<_>>(),
        vec![later[0].id.clone()]
    );
}

async fn claims_leave_skipped_accounts_alone(test: TestDb) {
    let busy = stored_account(&test.db, "1").await;
    let idle = stored_account(&test.db, "2").await;
    let other = stored_account(&test.db, "3").await;
    let busy_work = queue(&test, &busy, 3, 1_000).await;
    let idle_work = queue(&test, &idle, 2, 1_500).await;
    let other_work = queue(&test, &other, 1, 1_200).await;

    let claimed = test
        .db
        .claim_due_deliveries(ms(2_000), 10, LEASE, &[busy.id.clone(), other.id.clone()])
        .await
        .unwrap();
    let ids: HashSet<EventId> = claimed.iter().map(|d| d.id.clone()).collect();
    assert_eq!(ids, idle_work.iter().map(|d| d.id.clone()).collect());

    let rest = test
        .db
        .claim_due_deliveries(ms(2_000), 10, LEASE, &[])
        .await
        .unwrap();
    let ids: HashSet<EventId> = rest.iter().map(|d| d.id.clone()).collect();
    let expected: HashSet<EventId> = busy_work
        .iter()
        .chain(&other_work)
        .map(|d| d.id.clone())
        .collect();
    assert_eq!(ids, expected, "skipped accounts' work stays due");
}

async fn a_batch_of_results_is_written_each_under_its_guard(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let queued = queue(&test, &account, 3, 1_000).await;
    let claimed = test
        .db
        .claim_due_deliveries(ms(2_000), 10, LEASE, &[])
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3);
    let unknown = EventId::from_entropy([3; domain::id::ID_SUFFIX_LEN]);
    let record = |id: &EventId, number: u32, next: DeliveryNext| AttemptRecord {
        id: id.clone(),
        attempt: attempt(number, 2_000, Some(200), None),
        next,
    };
    let records = [
        record(&queued[0].id, 1, DeliveryNext::Delivered),
        record(&queued[1].id, 7, DeliveryNext::Delivered),
        record(&unknown, 1, DeliveryNext::Delivered),
        record(&queued[2].id, 1, DeliveryNext::RetryAt(ms(9_000))),
    ];

    let outcomes = test
        .db
        .record_delivery_attempts(&records, ms(2_100))
        .await
        .unwrap();

    assert!(outcomes[0].is_ok());
    assert!(matches!(outcomes[1], Err(DeliveryQueueError::ClaimLost)));
    assert!(matches!(outcomes[2], Err(DeliveryQueueError::NotFound)));
    assert!(outcomes[3].is_ok());
    let first = test.db.delivery(&queued[0].id).await.unwrap().unwrap();
    assert_eq!(first.delivery.status, DeliveryStatus::Delivered);
    assert_eq!(first.attempts.len(), 1);
    let second = test.db.delivery(&queued[1].id).await.unwrap().unwrap();
    assert_eq!(
        second.delivery.status,
        DeliveryStatus::Delivering,
        "a lost claim writes nothing"
    );
    assert!(second.attempts.is_empty());
    let third = test.db.delivery(&queued[2].id).await.unwrap().unwrap();
    assert_eq!(third.delivery.status, DeliveryStatus::Pending);
    assert_eq!(third.delivery.due_at, Some(ms(9_000)));
}

async fn concurrent_claims_never_share_a_delivery(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let queued = queue(&test, &account, 120, 1_000).await;
    let db = test.db.clone();
    let all = claim_concurrently(6, move || {
        let db = db.clone();
        async move {
            let batch = db
                .claim_due_deliveries(ms(2_000), 5, LEASE, &[])
                .await
                .unwrap();
            batch.into_iter().map(|d| d.id).collect()
        }
    })
    .await;
    let unique: HashSet<EventId> = all.iter().cloned().collect();
    assert_eq!(all.len(), unique.len(), "a delivery was claimed twice");
    assert_eq!(unique, queued.into_iter().map(|d| d.id).collect());
}

async fn an_expired_claim_is_taken_over_and_the_old_result_discarded(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let queued = queue(&test, &account, 1, 1_000).await;
    let first = test
        .db
        .claim_due_deliveries(ms(1_000), 1, LEASE, &[])
        .await
        .unwrap();
    assert_eq!(first[0].attempts, 1);
    // The first worker died; once the lease runs out another takes over.
    let after_lease = ms(1_000).plus(LEASE).as_millis();
    let second = test
        .db
        .claim_due_deliveries(ms(after_lease), 1, LEASE, &[])
        .await
        .unwrap();
    assert_eq!(
        (second[0].id.clone(), second[0].attempts),
        (queued[0].id.clone(), 2)
    );

    let late = test
        .db
        .record_delivery_attempt(
            &queued[0].id,
            &attempt(1, 1_000, Some(200), None),
            DeliveryNext::Delivered,
            ms(after_lease),
        )
        .await;
    assert!(
        matches!(late, Err(DeliveryQueueError::ClaimLost)),
        "{late:?}"
    );
    test.db
        .record_delivery_attempt(
            &queued[0].id,
            &attempt(2, after_lease, Some(200), None),
            DeliveryNext::Delivered,
            ms(after_lease + 1),
        )
        .await
        .unwrap();
    let stored = test.db.delivery(&queued[0].id).await.unwrap().unwrap();
    assert_eq!(
        stored.attempts.len(),
        1,
        "the discarded result was not recorded"
    );
    assert_eq!(stored.delivery.status, DeliveryStatus::Delivered);
}

async fn attempts_move_deliveries_through_their_states(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let queued = queue(&test, &account, 1, 1_000).await;
    let id = queued[0].id.clone();

    test.db
        .claim_due_deliveries(ms(1_000), 1, LEASE, &[])
        .await
        .unwrap();
    let failed_once = attempt(1, 1_000, Some(503), Some("crm answered 503"));
    test.db
        .record_delivery_attempt(
            &id,
            &failed_once,
            DeliveryNext::RetryAt(ms(6_000)),
            ms(1_050),
        )
        .await
        .unwrap();
    let stored = test.db.delivery(&id).await.unwrap().unwrap();
    assert_eq!(stored.delivery.status, DeliveryStatus::Pending);
    assert_eq!(stored.delivery.due_at, Some(ms(6_000)));
    assert_eq!(
        stored.delivery.last_error.as_deref(),
        Some("crm answered 503")
    );
    assert_eq!(stored.attempts, vec![failed_once.clone()]);
    assert!(
        test.db
            .claim_due_deliveries(ms(5_999), 1, LEASE, &[])
            .await
            .unwrap()
            .is_empty(),
        "not due before its retry time"
    );

    test.db
        .claim_due_deliveries(ms(6_000), 1, LEASE, &[])
        .await
        .unwrap();
    let timeout = attempt(2, 6_000, None, Some("timed out"));
    test.db
        .record_delivery_attempt(&id, &timeout, DeliveryNext::Dead, ms(21_000))
        .await
        .unwrap();
    let stored = test.db.delivery(&id).await.unwrap().unwrap();
    assert_eq!(
        (
            stored.delivery.status,
            stored.delivery.due_at,
            stored.delivery.attempts
        ),
        (DeliveryStatus::Failed, None, 2)
    );
    assert_eq!(stored.attempts, vec![failed_once, timeout]);
    assert!(
        test.db
            .claim_due_deliveries(ms(i64::MAX / 2), 10, LEASE, &[])
            .await
            .unwrap()
            .is_empty(),
        "dead deliveries are never due"
    );

    let unknown = EventId::from_entropy(entropy());
    let error = test
        .db
        .record_delivery_attempt(
            &unknown,
            &attempt(1, 1, None, None),
            DeliveryNext::Dead,
            ms(1),
        )
        .await;
    assert!(
        matches!(error, Err(DeliveryQueueError::NotFound)),
        "{error:?}"
    );
    assert_eq!(test.db.delivery(&unknown).await.unwrap(), None);

    let delivered = queue(&test, &account, 1, 30_000).await;
    test.db
        .claim_due_deliveries(ms(30_000), 1, LEASE, &[])
        .await
        .unwrap();
    test.db
        .record_delivery_attempt(
            &delivered[0].id,
            &attempt(1, 30_000, Some(204), None),
            DeliveryNext::Delivered,
            ms(30_010),
        )
        .await
        .unwrap();
    let stored = test.db.delivery(&delivered[0].id).await.unwrap().unwrap();
    assert_eq!(
        (
            stored.delivery.status,
            stored.delivery.delivered_at,
            stored.delivery.due_at
        ),
        (DeliveryStatus::Delivered, Some(ms(30_010)), None)
    );
}

/// Drives `doomed` to `failed`; every other due delivery goes back to pending, due at `at`.
async fn kill(test: &TestDb, doomed: &[&CrmDelivery], at: i64) {
    let claimed = test
        .db
        .claim_due_deliveries(ms(at), 1_000, LEASE, &[])
        .await
        .unwrap();
    for doomed in doomed {
        assert!(
            claimed.iter().any(|d| d.id == doomed.id),
            "{} was due",
            doomed.id
        );
    }
    for claim in claimed {
        let next = if doomed.iter().any(|d| d.id == claim.id) {
            DeliveryNext::Dead
        } else {
            DeliveryNext::RetryAt(ms(at))
        };
        let result = attempt(claim.attempts, at, Some(500), Some("boom"));
        test.db
            .record_delivery_attempt(&claim.id, &result, next, ms(at))
            .await
            .unwrap();
    }
}

async fn failed_deliveries_can_be_replayed_one_by_one(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let queued = queue(&test, &account, 1, 1_000).await;
    let id = queued[0].id.clone();
    let error = test.db.retry_delivery(&id, ms(2_000)).await;
    assert!(
        matches!(error, Err(DeliveryQueueError::NotFailed)),
        "{error:?}"
    );
    let error = test
        .db
        .retry_delivery(&EventId::from_entropy(entropy()), ms(2_000))
        .await;
    assert!(
        matches!(error, Err(DeliveryQueueError::NotFound)),
        "{error:?}"
    );

    kill(&test, &[&queued[0]], 1_000).await;
    let replayed = test.db.retry_delivery(&id, ms(9_000)).await.unwrap();
    assert_eq!(
        (replayed.status, replayed.due_at),
        (DeliveryStatus::Pending, Some(ms(9_000)))
    );
    let claimed = test
        .db
        .claim_due_deliveries(ms(9_000), 10, LEASE, &[])
        .await
        .unwrap();
    assert_eq!((claimed[0].id.clone(), claimed[0].attempts), (id, 2));
}

async fn failed_deliveries_can_be_recovered_by_window(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let other = stored_account(&test.db, "2").await;
    let early = queue(&test, &account, 2, 1_000).await;
    let inside = queue(&test, &account, 3, 5_000).await;
    let elsewhere = queue(&test, &other, 1, 5_000).await;
    let pending = queue(&test, &account, 1, 6_000).await;
    let doomed: Vec<&CrmDelivery> = early.iter().chain(&inside).chain(&elsewhere).collect();
    kill(&test, &doomed, 7_000).await;
    let count = test
        .db
        .recover_deliveries(&account.id, ms(2_000), ms(7_000), ms(8_000))
        .await
        .unwrap();
    assert_eq!(count, 3);
    let claimed: HashSet<EventId> = test
        .db
        .claim_due_deliveries(ms(8_000), 100, LEASE, &[])
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    let expected: HashSet<EventId> = inside
        .iter()
        .chain(&pending)
        .map(|d| d.id.clone())
        .collect();
    assert_eq!(claimed, expected);
}

async fn listings_filter_and_page(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let other = stored_account(&test.db, "2").await;
    let mine = queue(&test, &account, 5, 1_000).await;
    let theirs = queue(&test, &other, 2, 2_000).await;
    kill(&test, &[&mine[0]], 3_000).await;

    let failed = DeliveryFilter {
        status: Some(DeliveryStatus::Failed),
        account_ids: None,
    };
    let page = test
        .db
        .list_deliveries(&failed, &PageRequest::first())
        .await
        .unwrap();
    assert_eq!(
        page.items.iter().map(|d| d.id.clone()).collect::<Vec<_>>(),
        vec![mine[0].id.clone()]
    );

    let scoped = DeliveryFilter {
        status: None,
        account_ids: Some(vec![other.id.clone()]),
    };
    let page = test
        .db
        .list_deliveries(&scoped, &PageRequest::first())
        .await
        .unwrap();
    let ids: HashSet<EventId> = page.items.iter().map(|d| d.id.clone()).collect();
    assert_eq!(ids, theirs.iter().map(|d| d.id.clone()).collect());

    let mut seen = Vec::new();
    let mut request = PageRequest::new(Some(3), None).unwrap();
    loop {
        let page = test
            .db
            .list_deliveries(&DeliveryFilter::default(), &request)
            .await
            .unwrap();
        seen.extend(page.items);
        match page.next {
            Some(cursor) => request = PageRequest::new(Some(3), Some(cursor)).unwrap(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7);
    assert!(
        seen.windows(2)
            .all(|w| (w[0].created_at, w[0].id.as_str()) > (w[1].created_at, w[1].id.as_str())),
        "newest first, no repeats"
    );
}

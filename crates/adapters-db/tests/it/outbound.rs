//! `OutboundQueue` conformance.

use std::collections::HashSet;
use std::time::Duration;

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use domain::ports::{DeliveryQueue, OutboundQueue, OutboundQueueError};
use domain::{
    AttachmentType, CrmEventType, InstagramMessageId, MessageId, OutboundContent, OutboundStatus,
    RuleId, SendResult, Timestamp,
};

use crate::events::{claim_concurrently, delivery, outbound, stored_account};
use crate::fixtures::{self, entropy};

const LEASE: Duration = Duration::from_secs(60);

backend_tests!(
    outbound_messages_round_trip,
    unknown_account_is_refused,
    a_sent_message_records_its_id_and_queues_its_delivery_atomically,
    retries_and_failures_are_recorded,
    stale_results_and_unknown_ids_are_refused,
    concurrent_claims_never_share_a_message,
    a_postponed_message_is_pending_again_without_the_attempt,
);

fn ms(millis: i64) -> Timestamp {
    Timestamp::from_millis(millis)
}

async fn outbound_messages_round_trip(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let text = outbound(&account, "5678", 1_000);
    let mut media = outbound(&account, "5678", 1_001);
    media.content = OutboundContent::Attachment {
        kind: AttachmentType::Video,
        url: "https://cdn.example/clip-ü.mp4".to_owned(),
    };
    media.rule_id = Some(RuleId::from_entropy(entropy()));
    for message in [&text, &media] {
        test.db.enqueue_outbound(message).await.unwrap();
        assert_eq!(
            test.db.outbound(&message.id).await.unwrap().as_ref(),
            Some(message)
        );
    }
    assert_eq!(
        test.db
            .outbound(&MessageId::from_entropy(entropy()))
            .await
            .unwrap(),
        None
    );
}

async fn unknown_account_is_refused(test: TestDb) {
    let ghost = fixtures::account("404");
    let error = test.db.enqueue_outbound(&outbound(&ghost, "5", 1)).await;
    assert!(
        matches!(error, Err(OutboundQueueError::UnknownAccount)),
        "{error:?}"
    );
}

async fn a_sent_message_records_its_id_and_queues_its_delivery_atomically(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let message = outbound(&account, "5", 1_000);
    test.db.enqueue_outbound(&message).await.unwrap();
    let claimed = test
        .db
        .claim_due_outbound(ms(1_000), 10, LEASE, &[])
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        (claimed[0].status, claimed[0].attempts, claimed[0].due_at),
        (OutboundStatus::Sending, 1, Some(ms(1_000).plus(LEASE)))
    );

    let mut sent_event = delivery(&account, None, 1_100);
    sent_event.event_type = CrmEventType::OutboundSent;
    sent_event.message_id = Some(message.id.clone());
    let mid =
        InstagramMessageId::parse("message_id", "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlE").unwrap();
    let sent = test
        .db
        .finish_outbound(
            &message.id,
            1,
            SendResult::Sent {
                instagram_message_id: mid.clone(),
            },
            Some(sent_event.clone()),
            ms(1_100),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            sent.status,
            sent.instagram_message_id.clone(),
            sent.due_at,
            sent.updated_at
        ),
        (OutboundStatus::Sent, Some(mid), None, ms(1_100))
    );
    assert_eq!(test.db.outbound(&message.id).await.unwrap(), Some(sent));
    let stored_event = test.db.delivery(&sent_event.id).await.unwrap().unwrap();
    assert_eq!(stored_event.delivery, sent_event);
    assert!(
        test.db
            .claim_due_outbound(ms(i64::MAX / 2), 10, LEASE, &[])
            .await
            .unwrap()
            .is_empty(),
        "sent messages are never due"
    );
}

async fn retries_and_failures_are_recorded(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let message = outbound(&account, "5", 1_000);
    test.db.enqueue_outbound(&message).await.unwrap();
    test.db
        .claim_due_outbound(ms(1_000), 1, LEASE, &[])
        .await
        .unwrap();
    let retry = SendResult::Retry {
        retry_at: ms(2_000),
        error_code: Some(613),
        error_message: "Calls to this api have exceeded the rate limit".to_owned(),
    };
    let pending = test
        .db
        .finish_outbound(&message.id, 1, retry, None, ms(1_010))
        .await
        .unwrap();
    assert_eq!(
        (pending.status, pending.due_at, pending.error_code),
        (OutboundStatus::Pending, Some(ms(2_000)), Some(613))
    );
    assert!(
        test.db
            .claim_due_outbound(ms(1_999), 1, LEASE, &[])
            .await
            .unwrap()
            .is_empty()
    );

    let claimed = test
        .db
        .claim_due_outbound(ms(2_000), 1, LEASE, &[])
        .await
        .unwrap();
    assert_eq!(claimed[0].attempts, 2);
    let failed = SendResult::Failed {
        error_code: Some(10),
        error_message: "Сообщение вне окна 24 ч".to_owned(),
    };
    let failed = test
        .db
        .finish_outbound(&message.id, 2, failed, None, ms(2_010))
        .await
        .unwrap();
    assert_eq!(
        (failed.status, failed.due_at, failed.error_code),
        (OutboundStatus::Failed, None, Some(10))
    );
    assert_eq!(
        failed.error_message.as_deref(),
        Some("Сообщение вне окна 24 ч")
    );
}

async fn stale_results_and_unknown_ids_are_refused(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let message = outbound(&account, "5", 1_000);
    test.db.enqueue_outbound(&message).await.unwrap();
    let sent = || SendResult::Sent {
        instagram_message_id: InstagramMessageId::parse("mid", "m1").unwrap(),
    };

    let error = test
        .db
        .finish_outbound(&message.id, 1, sent(), None, ms(1))
        .await;
    assert!(
        matches!(error, Err(OutboundQueueError::ClaimLost)),
        "not claimed yet: {error:?}"
    );
    test.db
        .claim_due_outbound(ms(1_000), 1, LEASE, &[])
        .await
        .unwrap();
    let retaken = test
        .db
        .claim_due_outbound(ms(1_000).plus(LEASE), 1, LEASE, &[])
        .await
        .unwrap();
    assert_eq!(retaken[0].attempts, 2);
    let mut event = delivery(&account, None, 1);
    event.event_type = CrmEventType::OutboundSent;
    let error = test
        .db
        .finish_outbound(&message.id, 1, sent(), Some(event.clone()), ms(1))
        .await;
    assert!(
        matches!(error, Err(OutboundQueueError::ClaimLost)),
        "{error:?}"
    );
    assert_eq!(
        test.db.delivery(&event.id).await.unwrap(),
        None,
        "a stale result queues nothing"
    );
    let error = test
        .db
        .finish_outbound(&MessageId::from_entropy(entropy()), 1, sent(), None, ms(1))
        .await;
    assert!(
        matches!(error, Err(OutboundQueueError::NotFound)),
        "{error:?}"
    );
}

async fn concurrent_claims_never_share_a_message(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let mut queued = HashSet::new();
    for n in 0..60 {
        let message = outbound(&account, "5", n);
        test.db.enqueue_outbound(&message).await.unwrap();
        queued.insert(message.id);
    }
    let db = test.db.clone();
    let all = claim_concurrently(6, move || {
        let db = db.clone();
        async move {
            let batch = db
                .claim_due_outbound(ms(1_000), 4, LEASE, &[])
                .await
                .unwrap();
            batch.into_iter().map(|m| m.id).collect()
        }
    })
    .await;
    let unique: HashSet<MessageId> = all.iter().cloned().collect();
    assert_eq!(all.len(), unique.len(), "a message was claimed twice");
    assert_eq!(unique, queued);
}

async fn a_postponed_message_is_pending_again_without_the_attempt(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let message = outbound(&account, "5", 1_000);
    test.db.enqueue_outbound(&message).await.unwrap();
    let claimed = test
        .db
        .claim_due_outbound(ms(1_000), 1, LEASE, &[])
        .await
        .unwrap();
    assert_eq!(claimed[0].attempts, 1);

    test.db
        .postpone_outbound(&message.id, 1, ms(9_000), ms(1_100))
        .await
        .unwrap();
    let stored = test.db.outbound(&message.id).await.unwrap().unwrap();
    assert_eq!(stored.status, OutboundStatus::Pending);
    assert_eq!(stored.attempts, 0, "the postponed attempt does not count");
    assert_eq!(stored.due_at, Some(ms(9_000)));
    assert!(
        test.db
            .claim_due_outbound(ms(8_999), 1, LEASE, &[])
            .await
            .unwrap()
            .is_empty(),
        "not due before the time given"
    );
    let error = test
        .db
        .postpone_outbound(&message.id, 1, ms(9_000), ms(1_200))
        .await;
    assert!(
        matches!(error, Err(OutboundQueueError::ClaimLost)),
        "{error:?}"
    );
    let unknown = MessageId::from_entropy([9; domain::id::ID_SUFFIX_LEN]);
    let error = test
        .db
        .postpone_outbound(&unknown, 1, ms(9_000), ms(1_200))
        .await;
    assert!(
        matches!(error, Err(OutboundQueueError::NotFound)),
        "{error:?}"
    );
}

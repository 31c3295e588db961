//! What the outbound queue offers for auto-replies and echoes: filling a claimed message's text,
//! finding sends by Meta's id, and linking an echo that was stored before its send was recorded.

use std::time::Duration;

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use domain::ports::{DeliveryQueue, MessageStore, OutboundQueue, OutboundQueueError};
use domain::{
    Account, CrmDelivery, CrmEventType, DeliveryFilter, Direction, EventId, EventKind,
    InboundRecord, InstagramMessageId, Message, MessageId, OutboundContent, OutboundMessage,
    PageRequest, SendResult, Timestamp,
};

use crate::events::{inbound, outbound, stored_account};
use crate::fixtures::entropy;

const LEASE: Duration = Duration::from_secs(60);

backend_tests!(
    a_claimed_text_can_be_filled_in_by_its_claim_only,
    sends_are_found_by_their_instagram_ids,
    an_echo_stored_first_is_linked_when_its_send_is_recorded,
);

fn mid(text: &str) -> InstagramMessageId {
    InstagramMessageId::parse("mid", text).unwrap()
}

/// Queues `message` and claims it; its attempt number.
async fn claimed(test: &TestDb, message: &OutboundMessage) -> u32 {
    test.db.enqueue_outbound(message).await.unwrap();
    let claimed = test
        .db
        .claim_due_outbound(message.created_at, 10, LEASE, &[])
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    claimed[0].attempts
}

async fn sent(test: &TestDb, message: &OutboundMessage, as_mid: &str) {
    let attempt = claimed(test, message).await;
    test.db
        .finish_outbound(
            &message.id,
            attempt,
            SendResult::Sent {
                instagram_message_id: mid(as_mid),
            },
            None,
            message.created_at,
        )
        .await
        .unwrap();
}

async fn a_claimed_text_can_be_filled_in_by_its_claim_only(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let message = outbound(&account, "5", 1_000);
    let attempt = claimed(&test, &message).await;

    let stale = test
        .db
        .fill_outbound_text(
            &message.id,
            attempt + 1,
            "Hi x",
            Timestamp::from_millis(1_001),
        )
        .await;
    assert!(
        matches!(stale, Err(OutboundQueueError::ClaimLost)),
        "{stale:?}"
    );
    let ghost = MessageId::from_entropy(entropy());
    let unknown = test
        .db
        .fill_outbound_text(&ghost, 1, "Hi x", Timestamp::from_millis(1_001))
        .await;
    assert!(
        matches!(unknown, Err(OutboundQueueError::NotFound)),
        "{unknown:?}"
    );

    test.db
        .fill_outbound_text(
            &message.id,
            attempt,
            "Привет, anna.k!",
            Timestamp::from_millis(1_002),
        )
        .await
        .unwrap();
    let stored = test.db.outbound(&message.id).await.unwrap().unwrap();
    assert_eq!(
        stored.content,
        OutboundContent::Text("Привет, anna.k!".to_owned())
    );
    assert_eq!(stored.updated_at, Timestamp::from_millis(1_002));
}

async fn sends_are_found_by_their_instagram_ids(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let other = stored_account(&test.db, "2").await;
    let mine = outbound(&account, "5", 1_000);
    let theirs = outbound(&other, "5", 1_000);
    sent(&test, &mine, "m-mine").await;
    sent(&test, &theirs, "m-theirs").await;
    let pending = outbound(&account, "5", 2_000);
    test.db.enqueue_outbound(&pending).await.unwrap();

    let found = test
        .db
        .sends_by_instagram_ids(
            &account.id,
            &[mid("m-mine"), mid("m-theirs"), mid("m-unknown")],
        )
        .await
        .unwrap();
    assert_eq!(found, vec![(mid("m-mine"), mine.id.clone())]);
    assert!(
        test.db
            .sends_by_instagram_ids(&account.id, &[])
            .await
            .unwrap()
            .is_empty()
    );
}

/// The echo of `mid` from `account` to customer 5, with its pending `message.echo` delivery.
fn echo(account: &Account, mid: &str) -> InboundRecord {
    let mut message = inbound(account, "5", mid, 1_500);
    message.kind = EventKind::Echo;
    message.direction = Direction::Outbound;
    message.sender_id = account.instagram_account_id.clone();
    message.recipient_id = message.participant_id.clone();
    message.event_key = Message::event_key_for(
        EventKind::Echo,
        Some(mid),
        account.instagram_account_id.as_str(),
        message.occurred_at,
        "",
    );
    let delivery = CrmDelivery::new_pending(
        EventId::from_entropy(entropy()),
        account.id.clone(),
        CrmEventType::MessageEcho,
        Some(message.id.clone()),
        message.event_key.clone(),
        r#"{"event":"message.echo"}"#.to_owned(),
        Timestamp::from_millis(1_500),
    );
    InboundRecord {
        message,
        delivery: Some(delivery),
        auto_reply: None,
    }
}

async fn an_echo_stored_first_is_linked_when_its_send_is_recorded(test: TestDb) {
    let account = stored_account(&test.db, "1").await;
    let early = echo(&account, "m-early");
    let unrelated = echo(&account, "m-elsewhere");
    test.db
        .ingest(vec![early.clone(), unrelated.clone()])
        .await
        .unwrap();

    let send = outbound(&account, "5", 1_000);
    sent(&test, &send, "m-early").await;

    let linked = test.db.message(&early.message.id).await.unwrap().unwrap();
    assert_eq!(linked.outbound_message_id.as_ref(), Some(&send.id));
    let untouched = test
        .db
        .message(&unrelated.message.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(untouched.outbound_message_id, None);
    // The early echo's delivery is withdrawn; the other echo's stays.
    let deliveries = test
        .db
        .list_deliveries(&DeliveryFilter::default(), &PageRequest::first())
        .await
        .unwrap()
        .items;
    let messages: Vec<_> = deliveries.iter().map(|d| d.message_id.clone()).collect();
    assert_eq!(messages, vec![Some(unrelated.message.id.clone())]);
    // One history entry for the message: the send.
    let conversation = test
        .db
        .conversation(&account.id, None, &PageRequest::first())
        .await
        .unwrap();
    assert_eq!(
        conversation.items.len(),
        2,
        "the send and the unrelated echo"
    );
}

//! Builders for messages, deliveries and outbound messages, and an account to hang them on.

use adapters_db::Database;
use domain::ports::AccountStore;
use domain::{
    Account, Attachment, CrmDelivery, CrmEventType, Direction, EventDetails, EventId, EventKind,
    InboundRecord, InstagramId, InstagramMessageId, Message, MessageId, OutboundContent,
    OutboundMessage, Timestamp,
};

use crate::fixtures::{self, entropy};

/// A stored account for `instagram_id`.
pub(crate) async fn stored_account(db: &Database, instagram_id: &str) -> Account {
    let account = fixtures::account(instagram_id);
    db.create_account(&account).await.unwrap();
    account
}

/// An inbound text message from `customer` to `account`, with Meta id `mid`.
pub(crate) fn inbound(account: &Account, customer: &str, mid: &str, occurred_at: i64) -> Message {
    let customer = InstagramId::parse("sender_id", customer).unwrap();
    Message {
        id: MessageId::from_entropy(entropy()),
        account_id: Some(account.id.clone()),
        instagram_account_id: account.instagram_account_id.clone(),
        event_key: Message::event_key_for(
            EventKind::Message,
            Some(mid),
            customer.as_str(),
            Timestamp::from_millis(occurred_at),
            "",
        ),
        direction: Direction::Inbound,
        kind: EventKind::Message,
        instagram_message_id: Some(InstagramMessageId::parse("mid", mid).unwrap()),
        participant_id: customer.clone(),
        sender_id: customer,
        recipient_id: account.instagram_account_id.clone(),
        text: Some("Привет! Есть ли размер M? 👗".to_owned()),
        attachments: vec![Attachment {
            kind: "image".to_owned(),
            url: Some("https://cdn.example/ü.png".to_owned()),
        }],
        details: EventDetails {
            reply_to_message_id: Some("m-0".to_owned()),
            ..EventDetails::default()
        },
        outbound_message_id: None,
        occurred_at: Timestamp::from_millis(occurred_at),
        received_at: Timestamp::from_millis(occurred_at + 5),
    }
}

/// A pending delivery of `event_type` for `account`, created at `now`.
pub(crate) fn delivery(account: &Account, message: Option<&Message>, now: i64) -> CrmDelivery {
    let id = EventId::from_entropy(entropy());
    CrmDelivery::new_pending(
        id.clone(),
        account.id.clone(),
        CrmEventType::MessageReceived,
        message.map(|message| message.id.clone()),
        format!("dedupe:{id}"),
        format!(r#"{{"event":"message.received","event_id":"{id}","message":"héllo ✓"}}"#),
        Timestamp::from_millis(now),
    )
}

/// A record storing `message` and causing a delivery.
pub(crate) fn record(account: &Account, message: Message) -> InboundRecord {
    let delivery = delivery(account, Some(&message), message.received_at.as_millis());
    InboundRecord {
        message,
        delivery: Some(delivery),
        auto_reply: None,
    }
}

/// A pending text send from `account` to `recipient`, queued at `now`.
pub(crate) fn outbound(account: &Account, recipient: &str, now: i64) -> OutboundMessage {
    OutboundMessage::new_pending(
        MessageId::from_entropy(entropy()),
        account.id.clone(),
        InstagramId::parse("recipient_id", recipient).unwrap(),
        OutboundContent::text(&"ж".repeat(500)).unwrap(),
        None,
        Timestamp::from_millis(now),
    )
}

/// Runs `claimers` tasks that each call `claim` until it returns nothing; returns everything
/// claimed, by every task, in no particular order.
pub(crate) async fn claim_concurrently<T, F, Fut>(claimers: usize, claim: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Vec<T>> + Send,
{
    let tasks: Vec<_> = (0..claimers)
        .map(|_| {
            let claim = claim.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let batch = claim().await;
                    if batch.is_empty() {
                        return mine;
                    }
                    mine.extend(batch);
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all
}

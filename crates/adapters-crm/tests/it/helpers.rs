//! Builders for the domain values the payloads are made from, with fixed ids and times, and
//! the checks a CRM makes of a signature.

use adapters_crm::message_payload;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use domain::{
    Account, AccountId, Direction, EventDetails, EventId, EventKind, InstagramId,
    InstagramMessageId, Message, MessageId, OutboundContent, OutboundMessage, SealedSecret,
    Timestamp, Username,
};
use standardwebhooks::Webhook;

/// The business account's Instagram id in every test.
pub(crate) const BUSINESS: &str = "17841400000000000";
/// The customer's Instagram id in every test.
pub(crate) const CUSTOMER: &str = "1234567890";
/// The contract's example time, 2025-11-15T10:30:00Z.
pub(crate) const AT_MILLIS: i64 = 1_763_202_600_000;

/// The contract's example account.
pub(crate) fn account() -> Account {
    Account {
        id: AccountId::parse("acc_3k9x2m7q1z8w").unwrap(),
        instagram_account_id: ig(BUSINESS),
        username: Username::parse("shop").unwrap(),
        access_token: SealedSecret::from_bytes(vec![1]),
        webhook_secret: SealedSecret::from_bytes(vec![2]),
        crm_webhook_url: None,
        token_invalid_since: None,
        send_rate_per_second: 100,
        created_at: Timestamp::from_millis(0),
        updated_at: Timestamp::from_millis(0),
    }
}

/// The contract's example event id.
pub(crate) fn event_id() -> EventId {
    EventId::parse("evt_9f2c4e1a7b3d").unwrap()
}

pub(crate) fn ig(id: &str) -> InstagramId {
    InstagramId::parse("id", id).unwrap()
}

pub(crate) fn mid(id: &str) -> InstagramMessageId {
    InstagramMessageId::parse("mid", id).unwrap()
}

/// A stored event of `kind` from the customer to the business (the other way round for an
/// echo), with no text, attachments or details.
pub(crate) fn message(kind: EventKind, instagram_mid: Option<&str>) -> Message {
    let (direction, sender, recipient) = if kind == EventKind::Echo {
        (Direction::Outbound, BUSINESS, CUSTOMER)
    } else {
        (Direction::Inbound, CUSTOMER, BUSINESS)
    };
    Message {
        id: MessageId::parse("msg_00000000000a").unwrap(),
        account_id: Some(account().id),
        instagram_account_id: ig(BUSINESS),
        event_key: "key".to_owned(),
        direction,
        kind,
        instagram_message_id: instagram_mid.map(mid),
        participant_id: ig(CUSTOMER),
        sender_id: ig(sender),
        recipient_id: ig(recipient),
        text: None,
        attachments: Vec::new(),
        details: EventDetails::default(),
        outbound_message_id: None,
        occurred_at: Timestamp::from_millis(AT_MILLIS),
        received_at: Timestamp::from_millis(AT_MILLIS + 5),
    }
}

/// A pending outbound text message of the example account, queued at `AT_MILLIS`.
pub(crate) fn outbound(content: OutboundContent) -> OutboundMessage {
    OutboundMessage::new_pending(
        MessageId::parse("msg_7h2k9m4p1q3r").unwrap(),
        account().id,
        ig(CUSTOMER),
        content,
        None,
        Timestamp::from_millis(AT_MILLIS),
    )
}

/// Parses a body, which must be JSON.
pub(crate) fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap()
}

/// A real delivery body, with non-ASCII text and slashes.
pub(crate) fn body() -> String {
    let mut received = message(
        EventKind::Message,
        Some("aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlE"),
    );
    received.text = Some("Привет 👋 https://shop.example/a/b".to_owned());
    message_payload(&account(), &event_id(), &received)
        .unwrap()
        .body
}

/// A Standard Webhooks verifier for `secret`, configured as a CRM would: `whsec_` + base64.
pub(crate) fn standard_webhook(secret: &[u8]) -> Webhook {
    Webhook::new(&format!("whsec_{}", STANDARD.encode(secret))).unwrap()
}

/// The bytes of lowercase or uppercase hex.
pub(crate) fn decode_hex(hex: &str) -> Vec<u8> {
    assert_eq!(hex.len() % 2, 0, "{hex}");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

//! Bodies of `outbound.sent` and `outbound.failed`: the messages the CRM (or an auto-reply) sent.

use adapters_crm::{PayloadError, outbound_payload};
use domain::{
    AccountId, AttachmentType, CrmEventType, OutboundContent, OutboundMessage, OutboundStatus,
    RuleId, Timestamp,
};
use serde_json::json;

use crate::helpers::{AT_MILLIS, account, event_id, json, mid, outbound};

fn sent(content: OutboundContent) -> OutboundMessage {
    let mut message = outbound(content);
    message.status = OutboundStatus::Sent;
    message.attempts = 1;
    message.instagram_message_id = Some(mid("aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlE"));
    message.due_at = None;
    message.updated_at = Timestamp::from_millis(AT_MILLIS + 1_250);
    message
}

fn failed(error_code: Option<i64>, error_message: &str) -> OutboundMessage {
    let mut message = outbound(OutboundContent::Text("Hi!".to_owned()));
    message.status = OutboundStatus::Failed;
    message.attempts = 3;
    message.error_code = error_code;
    message.error_message = Some(error_message.to_owned());
    message.due_at = None;
    message.updated_at = Timestamp::from_millis(AT_MILLIS + 60_000);
    message
}

#[test]
fn a_sent_text() {
    let payload = outbound_payload(
        &account(),
        &event_id(),
        &sent(OutboundContent::Text("Hi! 👋".to_owned())),
    )
    .unwrap();

    assert_eq!(payload.event_type, CrmEventType::OutboundSent);
    assert_eq!(
        json(&payload.body),
        json!({
            "event": "outbound.sent",
            "event_id": "evt_9f2c4e1a7b3d",
            "account_id": "acc_3k9x2m7q1z8w",
            "instagram_account_id": "17841400000000000",
            "message_id": "msg_7h2k9m4p1q3r",
            "sender_id": "17841400000000000",
            "recipient_id": "1234567890",
            "message": "Hi! 👋",
            "attachments": [],
            "timestamp": "2025-11-15T10:30:01.250Z",
            "instagram_message_id": "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlE",
            "status": "sent",
            "rule_id": null
        })
    );
}

#[test]
fn a_sent_attachment_from_an_auto_reply() {
    let mut message = sent(OutboundContent::Attachment {
        kind: AttachmentType::Image,
        url: "https://cdn.example/menu/card.png".to_owned(),
    });
    message.rule_id = Some(RuleId::parse("rul_5n8b2c6d4f1g").unwrap());

    let payload = outbound_payload(&account(), &event_id(), &message).unwrap();

    assert!(payload.body.contains("https://cdn.example/menu/card.png"));
    assert_eq!(
        json(&payload.body),
        json!({
            "event": "outbound.sent",
            "event_id": "evt_9f2c4e1a7b3d",
            "account_id": "acc_3k9x2m7q1z8w",
            "instagram_account_id": "17841400000000000",
            "message_id": "msg_7h2k9m4p1q3r",
            "sender_id": "17841400000000000",
            "recipient_id": "1234567890",
            "message": null,
            "attachments": [{"type": "image", "url": "https://cdn.example/menu/card.png"}],
            "timestamp": "2025-11-15T10:30:01.250Z",
            "instagram_message_id": "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlE",
            "status": "sent",
            "rule_id": "rul_5n8b2c6d4f1g"
        })
    );
}

#[test]
fn a_failure_with_metas_code() {
    let message = failed(Some(10), "This message is sent outside of allowed window.");

    let payload = outbound_payload(&account(), &event_id(), &message).unwrap();

    assert_eq!(payload.event_type, CrmEventType::OutboundFailed);
    assert_eq!(
        json(&payload.body),
        json!({
            "event": "outbound.failed",
            "event_id": "evt_9f2c4e1a7b3d",
            "account_id": "acc_3k9x2m7q1z8w",
            "instagram_account_id": "17841400000000000",
            "message_id": "msg_7h2k9m4p1q3r",
            "sender_id": "17841400000000000",
            "recipient_id": "1234567890",
            "message": "Hi!",
            "attachments": [],
            "timestamp": "2025-11-15T10:31:00Z",
            "instagram_message_id": null,
            "status": "failed",
            "rule_id": null,
            "error_code": 10,
            "error_message": "This message is sent outside of allowed window."
        })
    );
}

#[test]
fn a_failure_without_a_code_still_has_the_key() {
    let body = outbound_payload(&account(), &event_id(), &failed(None, "timed out"))
        .unwrap()
        .body;
    let body = json(&body);
    assert_eq!(body["error_code"], json!(null));
    assert!(body.as_object().unwrap().contains_key("error_code"));
    assert_eq!(body["error_message"], json!("timed out"));
}

#[test]
fn a_sent_message_has_no_error_keys_even_after_a_retried_error() {
    let mut message = sent(OutboundContent::Text("Hi!".to_owned()));
    message.error_code = Some(2);
    message.error_message = Some("temporary".to_owned());
    let body = json(
        &outbound_payload(&account(), &event_id(), &message)
            .unwrap()
            .body,
    );
    let keys = body.as_object().unwrap();
    assert!(!keys.contains_key("error_code") && !keys.contains_key("error_message"));
}

#[test]
fn a_message_still_in_flight_has_no_outbound_event() {
    for status in [OutboundStatus::Pending, OutboundStatus::Sending] {
        let mut message = outbound(OutboundContent::Text("Hi!".to_owned()));
        message.status = status;
        let error = outbound_payload(&account(), &event_id(), &message).unwrap_err();
        assert!(
            matches!(error, PayloadError::NotFinal { status: got, .. } if got == status),
            "{error:?}"
        );
    }
    let error = outbound_payload(
        &account(),
        &event_id(),
        &outbound(OutboundContent::Text("Hi!".to_owned())),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "outbound message msg_7h2k9m4p1q3r is pending, not sent or failed"
    );
}

#[test]
fn another_accounts_message_is_refused() {
    let mut message = sent(OutboundContent::Text("Hi!".to_owned()));
    message.account_id = AccountId::parse("acc_000000000000").unwrap();
    let error = outbound_payload(&account(), &event_id(), &message).unwrap_err();
    assert!(
        matches!(error, PayloadError::WrongAccount { .. }),
        "{error:?}"
    );
}

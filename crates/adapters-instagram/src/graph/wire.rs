//! Meta's JSON for the two calls we make: the send body, the send and profile answers, and the
//! error envelope `{"error":{"message","type","code","error_subcode","fbtrace_id"}}`.

use domain::{InstagramId, OutboundContent};
use serde::{Deserialize, Serialize};

/// `POST /{version}/me/messages` body.
#[derive(Debug, Serialize)]
pub(crate) struct SendRequest<'a> {
    recipient: Recipient<'a>,
    message: MessageBody<'a>,
}

#[derive(Debug, Serialize)]
struct Recipient<'a> {
    id: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
enum MessageBody<'a> {
    Text(&'a str),
    Attachment(Attachment<'a>),
}

#[derive(Debug, Serialize)]
struct Attachment<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    payload: AttachmentPayload<'a>,
}

#[derive(Debug, Serialize)]
struct AttachmentPayload<'a> {
    url: &'a str,
}

impl<'a> SendRequest<'a> {
    /// The body that sends `content` to `recipient`.
    pub(crate) fn new(recipient: &'a InstagramId, content: &'a OutboundContent) -> Self {
        let message = match content {
            OutboundContent::Text(text) => MessageBody::Text(text),
            OutboundContent::Attachment { kind, url } => MessageBody::Attachment(Attachment {
                kind: kind.as_str(),
                payload: AttachmentPayload { url },
            }),
        };
        Self {
            recipient: Recipient {
                id: recipient.as_str(),
            },
            message,
        }
    }
}

/// A send's success body: `{"recipient_id":"...","message_id":"..."}`. Only `message_id`
/// matters; it is optional here so that its absence is an "outcome unknown", not a parse error.
#[derive(Debug, Deserialize)]
pub(crate) struct SendResponse {
    pub(crate) message_id: Option<String>,
}

/// A profile read's success body: `{"username":"...","name":"...","id":"..."}`; Meta leaves out
/// what the user does not share.
#[derive(Debug, Deserialize)]
pub(crate) struct ProfileResponse {
    pub(crate) username: Option<String>,
    pub(crate) name: Option<String>,
}

/// The `error` object of a failed Graph call. Every field is optional: proxies and Meta's edge
/// sometimes answer with part of it, and classification must still work.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct GraphError {
    pub(crate) message: Option<String>,
    pub(crate) code: Option<i64>,
    pub(crate) error_subcode: Option<i64>,
    pub(crate) fbtrace_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ErrorEnvelope {
    error: GraphError,
}

impl GraphError {
    /// The `error` object of `body`, when `body` is JSON with one.
    pub(crate) fn from_body(body: &[u8]) -> Option<Self> {
        serde_json::from_slice::<ErrorEnvelope>(body)
            .ok()
            .map(|envelope| envelope.error)
    }
}

#[cfg(test)]
mod tests {
    use domain::AttachmentType;
    use serde_json::json;

    use super::*;

    fn body(content: &OutboundContent) -> serde_json::Value {
        let recipient = InstagramId::parse("recipient", "123").unwrap();
        serde_json::to_value(SendRequest::new(&recipient, content)).unwrap()
    }

    #[test]
    fn text_and_attachment_bodies_match_the_contract() {
        assert_eq!(
            body(&OutboundContent::Text("hi".into())),
            json!({"recipient":{"id":"123"},"message":{"text":"hi"}})
        );
        assert_eq!(
            body(&OutboundContent::Attachment {
                kind: AttachmentType::Audio,
                url: "https://x/a.mp3".into()
            }),
            json!({"recipient":{"id":"123"},"message":{"attachment":{"type":"audio","payload":{"url":"https://x/a.mp3"}}}})
        );
    }

    #[test]
    fn error_envelope_tolerates_missing_fields() {
        let error = GraphError::from_body(br#"{"error":{"message":"m"}}"#).unwrap();
        assert_eq!(error.code, None);
        assert_eq!(error.message.as_deref(), Some("m"));
        assert!(GraphError::from_body(b"<html>").is_none());
        assert!(GraphError::from_body(br#"{"message_id":"m"}"#).is_none());
    }
}

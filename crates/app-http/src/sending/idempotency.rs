//! Idempotency keys of the send API (IETF Idempotency-Key draft, contract §3).
//!
//! A key belongs to one account and is kept [`IDEMPOTENCY_TTL`]. It is taken, in progress,
//! before the message is queued: of two concurrent requests with one key the store lets exactly
//! one take it. A repeat compares the fingerprint of its request with the stored one: another
//! request is `422` (`KeyMismatch`); the same request gets the stored answer once there is one,
//! and `409` (`KeyInFlight`) while the first request has not committed its message yet. A key
//! whose message is committed but whose answer could not be stored (the database failed in
//! between) is answered with the `202` rebuilt from the message, so the key is never stuck.

use std::time::Duration;

use domain::{
    AccountId, IdempotencyBegin, IdempotencyKey, IdempotencyRecord, IdempotencyState, InstagramId,
    MessageId, OutboundContent, OutboundMessage, Timestamp,
};
use ring::digest;
use serde_json::json;

use super::{SendError, SendRequest, Sender, accepted_body};
use crate::telemetry::error_chain;

/// How long a key is remembered: the contract's 24 hours.
pub(crate) const IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// [`idempotency_fingerprint`] of a request.
pub(super) fn fingerprint(request: &SendRequest) -> String {
    idempotency_fingerprint(&request.account_id, &request.recipient_id, &request.content)
}

/// What taking a key found.
#[derive(Debug)]
pub(super) enum KeyClaim {
    /// The key was free and is now held by this request.
    Taken,
    /// The key belongs to an earlier, identical request: answer what it answered.
    Replay {
        /// Its HTTP status.
        status: u16,
        /// Its body.
        body: String,
        /// The message it created.
        message_id: Option<MessageId>,
    },
}

/// The fingerprint stored with an idempotency key: SHA-256 (hex) over a canonical form of what
/// the send asks for, so members in another order, other whitespace or other JSON escapes are
/// the same request, and any difference in what would be sent is another one. The key itself is
/// not part of it, nor is `Prefer`.
pub fn idempotency_fingerprint(
    account: &AccountId,
    recipient: &InstagramId,
    content: &OutboundContent,
) -> String {
    // A JSON array: its order is fixed and its strings are escaped, so no two requests share a
    // form. `v1` changes if the form ever does.
    let canonical = match content {
        OutboundContent::Text(text) => {
            json!(["v1", account.as_str(), recipient.as_str(), "text", text])
        }
        OutboundContent::Attachment { kind, url } => json!([
            "v1",
            account.as_str(),
            recipient.as_str(),
            "attachment",
            kind.as_str(),
            url
        ]),
    };
    let digest = digest::digest(&digest::SHA256, canonical.to_string().as_bytes());
    digest
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

impl Sender<'_> {
    /// Takes `key` for `message`, or finds the answer an earlier identical request gets.
    pub(super) async fn claim_key(
        &self,
        key: &IdempotencyKey,
        fingerprint: String,
        message: &OutboundMessage,
        now: Timestamp,
    ) -> Result<KeyClaim, SendError> {
        let record = IdempotencyRecord {
            account_id: message.account_id.clone(),
            key: key.clone(),
            fingerprint,
            // Known before the message is queued, so a repeat can tell whether it was.
            message_id: Some(message.id.clone()),
            state: IdempotencyState::InProgress,
            created_at: now,
            expires_at: now.plus(IDEMPOTENCY_TTL),
        };
        let existing = match self.idempotency.begin_idempotent(&record).await? {
            IdempotencyBegin::Started => return Ok(KeyClaim::Taken),
            IdempotencyBegin::Existing(existing) => existing,
        };
        if existing.fingerprint != record.fingerprint {
            return Err(SendError::KeyMismatch);
        }
        match existing.state {
            IdempotencyState::Completed { status, body } => Ok(KeyClaim::Replay {
                status,
                body,
                message_id: existing.message_id,
            }),
            IdempotencyState::InProgress => self.in_progress(existing.message_id).await,
        }
    }

    /// A key held in progress: `409` until its message is committed; afterwards the `202` that
    /// request answers (or answered without managing to store it).
    async fn in_progress(&self, message_id: Option<MessageId>) -> Result<KeyClaim, SendError> {
        let Some(id) = message_id else {
            return Err(SendError::KeyInFlight);
        };
        match self.outbound.outbound(&id).await? {
            Some(message) => Ok(KeyClaim::Replay {
                status: 202,
                body: accepted_body(&message.id, message.created_at),
                message_id: Some(id),
            }),
            None => Err(SendError::KeyInFlight),
        }
    }

    /// Frees the key of a request that queued nothing, so the client may try again. A failure
    /// leaves the key in progress until it expires; it is logged, and the request's own error
    /// is what the client hears.
    pub(super) async fn release_key(&self, account: &AccountId, key: &IdempotencyKey) {
        if let Err(error) = self.idempotency.release_idempotent(account, key).await {
            tracing::warn!(account.id = %account, error = %error_chain(&error), "could not release an idempotency key after a failed send");
        }
    }

    /// Stores the `202` for replays. The message is queued whatever happens here; a failure is
    /// logged, and repeats then rebuild the same answer from the message (see `in_progress`).
    pub(super) async fn complete_key(
        &self,
        message: &OutboundMessage,
        key: &IdempotencyKey,
        body: &str,
    ) {
        if let Err(error) = self
            .idempotency
            .complete_idempotent(&message.account_id, key, Some(&message.id), 202, body)
            .await
        {
            tracing::warn!(message.id = %message.id, error = %error_chain(&error), "could not store the answer of an idempotency key");
        }
    }
}

#[cfg(test)]
mod tests {
    use domain::AttachmentType;

    use super::*;

    fn request(content: OutboundContent, recipient: &str) -> SendRequest {
        SendRequest {
            account_id: AccountId::parse("acc_aaaaaaaaaaaa").unwrap(),
            recipient_id: InstagramId::parse("recipient_id", recipient).unwrap(),
            content,
            idempotency_key: None,
            wait: None,
        }
    }

    #[test]
    fn fingerprints_tell_requests_apart_but_not_keys_or_waits() {
        let text = |t: &str| OutboundContent::text(t).unwrap();
        let base = fingerprint(&request(text("hello"), "5"));
        assert_eq!(base.len(), 64);
        let mut same = request(text("hello"), "5");
        same.idempotency_key = Some(IdempotencyKey::parse("k").unwrap());
        same.wait = Some(Duration::from_secs(3));
        assert_eq!(fingerprint(&same), base);

        let attachment = |url: &str| OutboundContent::Attachment {
            kind: AttachmentType::Image,
            url: url.to_owned(),
        };
        for other in [
            request(text("hello!"), "5"),
            request(text("hello"), "6"),
            request(attachment("hello"), "5"),
            request(attachment("https://x.example/a.png"), "5"),
        ] {
            assert_ne!(fingerprint(&other), base, "{other:?}");
        }
    }
}

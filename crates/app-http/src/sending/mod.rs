//! The send use case behind `POST /api/v1/messages/send`: a validated request goes in, the
//! message is queued durably (`OutboundQueue`), this instance's send worker is woken, and the
//! answer comes back: accepted, finished within the client's `Prefer: wait`, or replayed for a
//! repeated idempotency key.
//!
//! Idempotency follows the IETF Idempotency-Key draft (details in `idempotency.rs`): the key is
//! taken before anything is queued, so of two concurrent requests with one key exactly one
//! creates the message; the `202` answer is stored with the key as soon as the message is
//! committed, and repeats get that answer back byte for byte.

mod idempotency;
mod purge;
mod wait;

use std::time::Duration;

use domain::ports::{AccountStore, AccountStoreError, Clock, IdempotencyStore, OutboundQueue};
use domain::ports::{OutboundQueueError, StoreError};
use domain::{
    AccountId, IdempotencyKey, InstagramId, MessageId, OutboundContent, OutboundMessage, Timestamp,
};
use serde_json::json;

use self::idempotency::{KeyClaim, fingerprint};
use crate::random::{self, RandomUnavailable};
use crate::telemetry::error_chain;
use crate::telemetry::request_id;
use crate::workers::{SendOutcomes, Wake};

pub use idempotency::idempotency_fingerprint;
pub(crate) use purge::purge_expired_keys;

/// The longest `Prefer: wait` honoured; longer waits are shortened to it (contract §3).
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(30);

/// A send request, validated.
#[derive(Debug)]
pub(crate) struct SendRequest {
    /// The sending account (the caller may see it: checked by the handler).
    pub(crate) account_id: AccountId,
    /// The customer.
    pub(crate) recipient_id: InstagramId,
    /// Text or one attachment.
    pub(crate) content: OutboundContent,
    /// The idempotency key, from the header or the body.
    pub(crate) idempotency_key: Option<IdempotencyKey>,
    /// How long to wait for `sent` or `failed` (`Prefer: wait`, at most [`MAX_WAIT`]).
    pub(crate) wait: Option<Duration>,
}

/// How a send request ended.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "one answer per request, moved once into the response; a box would buy nothing"
)]
pub(crate) enum SendAnswer {
    /// Queued: `202` with `body`. With a wait, still not final when it ran out.
    Accepted {
        /// The new message.
        message_id: MessageId,
        /// The `202` body, as stored for replays.
        body: String,
    },
    /// Queued and `sent` or `failed` within the wait: `200` with its status.
    Finished(OutboundMessage),
    /// A repeat of an earlier request with the same key and body: that request's answer.
    Replayed {
        /// Its HTTP status.
        status: u16,
        /// Its body.
        body: String,
        /// The message it created.
        message_id: Option<MessageId>,
    },
}

/// Why a send request was refused or failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SendError {
    /// No such account (or, from the handler, one the caller may not see).
    #[error("account_id names no account")]
    UnknownAccount,
    /// The idempotency key was used for another request (another body).
    #[error("the idempotency key was used with another request")]
    KeyMismatch,
    /// The request that took the idempotency key is still being processed.
    #[error("a request with this idempotency key is still being processed")]
    KeyInFlight,
    /// No randomness for the message id.
    #[error(transparent)]
    Random(#[from] RandomUnavailable),
    /// Reading the account failed.
    #[error(transparent)]
    Accounts(#[from] AccountStoreError),
    /// The idempotency store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The queue failed.
    #[error(transparent)]
    Queue(OutboundQueueError),
}

impl From<OutboundQueueError> for SendError {
    fn from(error: OutboundQueueError) -> Self {
        match error {
            // The account was deleted after it was looked up.
            OutboundQueueError::UnknownAccount => Self::UnknownAccount,
            other => Self::Queue(other),
        }
    }
}

/// What sending needs; borrowed from the application state for one request.
pub(crate) struct Sender<'a> {
    /// To check that the account exists.
    pub(crate) accounts: &'a dyn AccountStore,
    /// Where the message is queued.
    pub(crate) outbound: &'a dyn OutboundQueue,
    /// The idempotency keys.
    pub(crate) idempotency: &'a dyn IdempotencyStore,
    /// `created_at` and key expiry.
    pub(crate) clock: &'a dyn Clock,
    /// This instance's send worker's doorbell.
    pub(crate) wake: &'a Wake,
    /// Where the send worker announces outcomes.
    pub(crate) outcomes: &'a SendOutcomes,
}

impl Sender<'_> {
    /// Queues the message (once per idempotency key) and answers as [`SendAnswer`] says.
    ///
    /// # Errors
    /// [`SendError::UnknownAccount`] when the account does not exist; `KeyMismatch` and
    /// `KeyInFlight` for a key in use by another request; the others when a dependency fails,
    /// and then nothing was queued and the key, if any, is free again.
    pub(crate) async fn send(&self, request: SendRequest) -> Result<SendAnswer, SendError> {
        if self.accounts.account(&request.account_id).await?.is_none() {
            return Err(SendError::UnknownAccount);
        }
        let now = self.clock.now();
        let message = OutboundMessage::new_pending(
            random::message_id()?,
            request.account_id.clone(),
            request.recipient_id.clone(),
            request.content.clone(),
            None,
            now,
        )
        .with_request_id(request_id::current());
        let key = match &request.idempotency_key {
            None => None,
            Some(key) => {
                let print = fingerprint(&request);
                match self.claim_key(key, print, &message, now).await? {
                    KeyClaim::Taken => Some(key),
                    KeyClaim::Replay {
                        status,
                        body,
                        message_id,
                    } => {
                        return Ok(SendAnswer::Replayed {
                            status,
                            body,
                            message_id,
                        });
                    }
                }
            }
        };
        // Subscribed before the message exists, so its outcome cannot slip in between.
        let waiter = request
            .wait
            .map(|wait| (wait, self.outcomes.subscribe(&message.id)));
        if let Err(error) = self.outbound.enqueue_outbound(&message).await {
            if let Some(key) = key {
                self.release_key(&message.account_id, key).await;
            }
            return Err(error.into());
        }
        self.wake.ring_for([&message.account_id]);
        tracing::info!(
            message.id = %message.id,
            account.id = %message.account_id,
            idempotency_key = key.is_some(),
            "message queued for sending"
        );
        let body = accepted_body(&message.id, message.created_at);
        if let Some(key) = key {
            self.complete_key(&message, key, &body).await;
        }
        if let Some((wait, mut waiter)) = waiter
            && let Some(done) = self.final_within(&message.id, &mut waiter, wait).await
        {
            return Ok(SendAnswer::Finished(done));
        }
        Ok(SendAnswer::Accepted {
            message_id: message.id,
            body,
        })
    }

    /// The message once `sent` or `failed`, if that happens within `wait`. A failing read only
    /// shortens the wait: the message is queued, and the client can ask for its status.
    async fn final_within(
        &self,
        id: &MessageId,
        waiter: &mut crate::workers::OutcomeWaiter,
        wait: Duration,
    ) -> Option<OutboundMessage> {
        match wait::final_state(waiter, wait, || self.outbound.outbound(id)).await {
            Ok(done) => done,
            Err(error) => {
                tracing::warn!(message.id = %id, error = %error_chain(&error), "could not read the message's outcome; answering 202");
                None
            }
        }
    }
}

/// The `202` body: also the answer stored with an idempotency key and replayed to repeats, so it
/// is built once, here.
pub(crate) fn accepted_body(id: &MessageId, created_at: Timestamp) -> String {
    json!({
        "message_id": id,
        "status": "pending",
        "created_at": created_at.to_rfc3339(),
    })
    .to_string()
}

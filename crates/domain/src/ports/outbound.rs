//! The outbound send queue.

use std::time::Duration;

use async_trait::async_trait;

use super::StoreError;
use crate::{
    AccountId, CrmDelivery, InstagramMessageId, MessageId, OutboundMessage, SendResult, Timestamp,
};

/// Why an outbound-queue operation failed.
#[derive(Debug, thiserror::Error)]
pub enum OutboundQueueError {
    /// The message's account does not exist.
    #[error("account not found")]
    UnknownAccount,
    /// No outbound message has this id.
    #[error("outbound message not found")]
    NotFound,
    /// The claim expired and another worker took the message over; this result is discarded.
    #[error("outbound claim was lost")]
    ClaimLost,
    /// The backend failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Work queue of DMs to send, safe with several service instances on one database.
#[async_trait]
pub trait OutboundQueue: Send + Sync {
    /// Queues a message (normally `pending`, due now).
    ///
    /// # Errors
    /// MUST return `UnknownAccount` when its account does not exist; `Store` otherwise.
    async fn enqueue_outbound(&self, message: &OutboundMessage) -> Result<(), OutboundQueueError>;

    /// Claims up to `limit` messages due at `now` (pending ones whose time has come, and sending
    /// ones whose claim expired), oldest first. Each becomes `sending`, `attempts` grows by one,
    /// and it stays claimed until `now + lease`. Messages of the accounts in `skip_accounts` are
    /// left alone (accounts this worker must not send for now, e.g. out of rate budget).
    ///
    /// # Errors
    /// MUST never return a message that another concurrent claim also returned.
    async fn claim_due_outbound(
        &self,
        now: Timestamp,
        limit: u32,
        lease: Duration,
        skip_accounts: &[AccountId],
    ) -> Result<Vec<OutboundMessage>, OutboundQueueError>;

    /// Records the outcome of the attempt numbered `attempt` and, in the same transaction, queues
    /// the CRM delivery it causes (`outbound.sent` / `outbound.failed`). Returns the message as
    /// stored afterwards.
    ///
    /// A message recorded `sent` is linked to its echo when Meta's echo was stored first (the
    /// echo's `outbound_message_id` is set), and the echo's `message.echo` delivery is deleted
    /// while it is `pending` with no attempt made.
    ///
    /// # Errors
    /// MUST return `NotFound` when the message does not exist, and `ClaimLost` when it is no
    /// longer `sending` with `attempts == attempt` (nothing is written then).
    async fn finish_outbound(
        &self,
        id: &MessageId,
        attempt: u32,
        result: SendResult,
        delivery: Option<CrmDelivery>,
        now: Timestamp,
    ) -> Result<OutboundMessage, OutboundQueueError>;

    /// Hands a claimed message back untried: `pending`, due at `until`, its claim's attempt not
    /// counted (the worker could not make it in time, e.g. its account's send pace is held).
    ///
    /// # Errors
    /// MUST return `NotFound` when the message does not exist, and `ClaimLost` when it is no
    /// longer `sending` with `attempts == attempt` (nothing is written then).
    async fn postpone_outbound(
        &self,
        id: &MessageId,
        attempt: u32,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<(), OutboundQueueError>;

    /// Replaces the text of a claimed text message (an auto-reply whose `{username}` the worker
    /// filled in just before sending it), so the stored message says what Meta is sent.
    ///
    /// # Errors
    /// MUST return `NotFound` when the message does not exist, and `ClaimLost` when it is no
    /// longer `sending` with `attempts == attempt` or carries an attachment (nothing is written
    /// then).
    async fn fill_outbound_text(
        &self,
        id: &MessageId,
        attempt: u32,
        text: &str,
        now: Timestamp,
    ) -> Result<(), OutboundQueueError>;

    /// The sends of `account` that Meta knows by one of `mids` (its `message_id` of them, which
    /// is the `mid` of their echoes), as (`mid`, send id) pairs in no particular order.
    ///
    /// # Errors
    /// `Store` for backend failures; ids that match no send are left out.
    async fn sends_by_instagram_ids(
        &self,
        account: &AccountId,
        mids: &[InstagramMessageId],
    ) -> Result<Vec<(InstagramMessageId, MessageId)>, OutboundQueueError>;

    /// The outbound message with this id.
    ///
    /// # Errors
    /// MUST return `Ok(None)` when there is none; `Store` for backend failures.
    async fn outbound(&self, id: &MessageId)
    -> Result<Option<OutboundMessage>, OutboundQueueError>;
}

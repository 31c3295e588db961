//! What ingest does about igrouter's own messages: the auto-reply an inbound text causes, and
//! the recognition of echoes of igrouter's own sends.

use std::collections::HashMap;
use std::sync::Arc;

use domain::ports::{OutboundQueue, OutboundQueueError, StoreError};
use domain::{
    Account, AccountId, Direction, EventKind, InstagramMessageId, Message, OutboundContent,
    OutboundMessage, Timestamp,
};

use super::IngestError;
use crate::random;
use crate::replies::RuleCache;
use crate::telemetry::request_id;
use crate::workers::Wake;

/// The ports ingest needs for auto-replies and echoes.
#[derive(Clone)]
pub(crate) struct IngestReplies {
    /// Each account's compiled rules.
    pub(crate) rules: Arc<RuleCache>,
    /// Where echoes find the sends they are copies of.
    pub(crate) outbound: Arc<dyn OutboundQueue>,
    /// Rung after a commit that queued auto-replies, so the send worker starts them at once.
    pub(crate) send_wake: Wake,
}

impl IngestReplies {
    /// The auto-reply to `message`, if it is an inbound text to `account` that one of the
    /// account's enabled rules matches: the best-ranked rule's reply, queued now, to the sender.
    /// Echoes, the account's own messages and every other kind of event (reactions, reads,
    /// edits, deletions, postbacks, referrals) are never answered. The reply's text is the
    /// rule's as written; the send worker fills `{username}` in. Whether it goes out is the
    /// cooldown's call, in the ingest transaction.
    ///
    /// # Errors
    /// [`IngestError::Rules`] when the account's rules are not in memory and cannot be read,
    /// [`IngestError::Random`] when no id can be drawn.
    pub(super) async fn auto_reply(
        &self,
        message: &Message,
        account: &Account,
        now: Timestamp,
    ) -> Result<Option<OutboundMessage>, IngestError> {
        let answerable = message.kind == EventKind::Message
            && message.direction == Direction::Inbound
            && message.sender_id != account.instagram_account_id;
        let Some(text) = message
            .text
            .as_deref()
            .filter(|text| answerable && !text.is_empty())
        else {
            return Ok(None);
        };
        let rules = self
            .rules
            .rules(&account.id)
            .await
            .map_err(|error| IngestError::Rules(rule_store_error(error)))?;
        let Some(rule) = rules.best_match(text) else {
            return Ok(None);
        };
        tracing::debug!(account.id = %account.id, rule.id = %rule.id, message.id = %message.id, "auto-reply rule matched");
        Ok(Some(
            OutboundMessage::new_pending(
                random::message_id().map_err(IngestError::Random)?,
                account.id.clone(),
                message.sender_id.clone(),
                OutboundContent::Text(rule.reply.clone()),
                Some(rule.id.clone()),
                now,
            )
            .with_request_id(request_id::current()),
        ))
    }

    /// Links each echo in `messages` of a message igrouter sent (same account, the send's Meta
    /// id) to that send: stored linked, it is not forwarded (the CRM hears of the send as
    /// `outbound.sent`) and the history lists the send alone. One lookup per account with
    /// echoes in the body. An echo that arrives before the send's outcome is recorded is not
    /// found here; recording the outcome links it then (`OutboundQueue::finish_outbound`).
    ///
    /// # Errors
    /// [`IngestError::Store`] when the lookup fails.
    pub(super) async fn link_echoes(&self, messages: &mut [Message]) -> Result<(), IngestError> {
        let mut echoes: HashMap<AccountId, Vec<InstagramMessageId>> = HashMap::new();
        for message in messages.iter() {
            if let (EventKind::Echo, Some(account), Some(mid)) = (
                message.kind,
                &message.account_id,
                &message.instagram_message_id,
            ) {
                echoes.entry(account.clone()).or_default().push(mid.clone());
            }
        }
        for (account, mids) in echoes {
            let sends: HashMap<InstagramMessageId, _> = self
                .outbound
                .sends_by_instagram_ids(&account, &mids)
                .await
                .map_err(|error| IngestError::Store(queue_store_error(error)))?
                .into_iter()
                .collect();
            for message in messages.iter_mut() {
                let ours = message.kind == EventKind::Echo
                    && message.account_id.as_ref() == Some(&account);
                if let Some(send) = message
                    .instagram_message_id
                    .as_ref()
                    .filter(|_| ours)
                    .and_then(|mid| sends.get(mid))
                {
                    message.outbound_message_id = Some(send.clone());
                }
            }
        }
        Ok(())
    }
}

fn rule_store_error(error: domain::ports::RuleStoreError) -> StoreError {
    match error {
        domain::ports::RuleStoreError::Store(error) => error,
        other => StoreError::Backend(Box::new(other)),
    }
}

fn queue_store_error(error: OutboundQueueError) -> StoreError {
    match error {
        OutboundQueueError::Store(error) => error,
        other => StoreError::Backend(Box::new(other)),
    }
}

//! Storage of the conversation history, and the ingest transaction.

use async_trait::async_trait;

use super::StoreError;
use crate::{
    AccountId, HistoryEntry, InboundRecord, IngestResult, InstagramId, Message, MessageId, Page,
    PageRequest,
};

/// Stores inbound events with the work they cause, and reads the history back.
#[async_trait]
pub trait MessageStore: Send + Sync {
    /// Commits a batch of events in one transaction, with few round trips whatever its size.
    ///
    /// For each record whose (`instagram_account_id`, `event_key`) is new, stores the message,
    /// its delivery and its auto-reply; for one already stored (earlier, concurrently, or earlier
    /// in the same batch) writes nothing. Returns one result per record, in order.
    ///
    /// An auto-reply with a `rule_id` is written only when that rule still exists for the
    /// reply's account, is enabled, and has not replied to the same recipient within its
    /// `cooldown_seconds` before the reply's `created_at`; the transaction then records the
    /// reply in the rule's cooldown. Otherwise the reply is dropped and the message stored all
    /// the same (its result is `Stored`). Concurrent ingests MUST NOT let two replies of one rule
    /// to one recipient through within the cooldown.
    ///
    /// # Errors
    /// MUST return `StoreError::Unavailable` when the backend cannot be reached, and then nothing
    /// of the batch is stored. A concurrent insert of the same event MUST NOT surface as an
    /// error: it is a `Duplicate`.
    async fn ingest(&self, records: Vec<InboundRecord>) -> Result<Vec<IngestResult>, StoreError>;

    /// The message with this id.
    ///
    /// # Errors
    /// MUST return `Ok(None)` when there is none; `Unavailable` when the backend is down.
    async fn message(&self, id: &MessageId) -> Result<Option<Message>, StoreError>;

    /// An account's stored events (what ingest wrote), newest first by `occurred_at`, optionally
    /// with one participant. The conversation the API lists, sends included, is
    /// [`MessageStore::conversation`].
    ///
    /// # Errors
    /// `Unavailable`/`Backend` for backend failures.
    async fn history(
        &self,
        account: &AccountId,
        participant: Option<&InstagramId>,
        page: &PageRequest,
    ) -> Result<Page<Message>, StoreError>;

    /// An account's conversation: its stored events and its queued sends (`OutboundQueue`, API
    /// sends and auto-replies, in any state) in one listing, newest first by
    /// [`HistoryEntry::at`] and then by id, optionally with one participant (an event's
    /// `participant_id`, a send's `recipient_id`). The page's cursor is the last entry's
    /// (`at`, id), so entries inserted meanwhile never repeat or shift a later page.
    ///
    /// An event linked to a send (`outbound_message_id` set: the echo of a message igrouter
    /// sent) is left out: the send is that message's one entry.
    ///
    /// # Errors
    /// `Unavailable`/`Backend` for backend failures.
    async fn conversation(
        &self,
        account: &AccountId,
        participant: Option<&InstagramId>,
        page: &PageRequest,
    ) -> Result<Page<HistoryEntry>, StoreError>;
}

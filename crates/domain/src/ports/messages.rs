//! Storage of the conversation history, and the ingest transaction.

use async_trait::async_trait;

use super::StoreError;
use crate::{
    AccountId, InboundRecord, IngestResult, InstagramId, Message, MessageId, Page, PageRequest,
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

    /// An account's history, newest first by `occurred_at`, optionally with one participant.
    ///
    /// # Errors
    /// `Unavailable`/`Backend` for backend failures.
    async fn history(
        &self,
        account: &AccountId,
        participant: Option<&InstagramId>,
        page: &PageRequest,
    ) -> Result<Page<Message>, StoreError>;
}

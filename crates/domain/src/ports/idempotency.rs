//! Storage of idempotency keys.

use async_trait::async_trait;

use super::StoreError;
use crate::{AccountId, IdempotencyBegin, IdempotencyKey, IdempotencyRecord, MessageId, Timestamp};

/// Holds idempotency keys for the send API.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Takes the record's key for its account, atomically.
    ///
    /// Returns `Started` when the key was free (or its old record had expired at
    /// `record.created_at`) and is now held in progress; `Existing` with the stored record
    /// otherwise. Of two concurrent calls with one key exactly one gets `Started`.
    ///
    /// # Errors
    /// `Unavailable`/`Backend` for backend failures.
    async fn begin_idempotent(
        &self,
        record: &IdempotencyRecord,
    ) -> Result<IdempotencyBegin, StoreError>;

    /// Stores the response of the request holding the key.
    ///
    /// # Errors
    /// `Unavailable`/`Backend` for backend failures; an unknown key is not an error.
    async fn complete_idempotent(
        &self,
        account: &AccountId,
        key: &IdempotencyKey,
        message_id: Option<&MessageId>,
        status: u16,
        body: &str,
    ) -> Result<(), StoreError>;

    /// Frees a key whose request failed before creating anything, so the client may retry.
    ///
    /// # Errors
    /// `Unavailable`/`Backend` for backend failures.
    async fn release_idempotent(
        &self,
        account: &AccountId,
        key: &IdempotencyKey,
    ) -> Result<(), StoreError>;

    /// Forgets records that expired before `now`. Returns how many.
    ///
    /// # Errors
    /// `Unavailable`/`Backend` for backend failures.
    async fn purge_expired_idempotency(&self, now: Timestamp) -> Result<u64, StoreError>;
}

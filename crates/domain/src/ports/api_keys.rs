//! Storage of API keys (hashes only).

use async_trait::async_trait;

use super::StoreError;
use crate::{ApiKey, ApiKeyHash, ApiKeyId, Timestamp};

/// Reads and writes API keys.
#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    /// Stores a new key.
    ///
    /// # Errors
    /// `Backend` when the id or hash already exists (256 random bits: a bug, not a user error).
    async fn create_api_key(&self, key: &ApiKey) -> Result<(), StoreError>;

    /// The unrevoked key with this hash.
    ///
    /// # Errors
    /// MUST return `Ok(None)` for an unknown or revoked key, so a revocation takes effect on the
    /// next request in every instance; `Unavailable` when the backend is down.
    async fn active_api_key_by_hash(&self, hash: &ApiKeyHash)
    -> Result<Option<ApiKey>, StoreError>;

    /// Every key, revoked ones included, oldest first.
    ///
    /// # Errors
    /// `Unavailable`/`Backend` for backend failures.
    async fn list_api_keys(&self) -> Result<Vec<ApiKey>, StoreError>;

    /// Revokes a key.
    ///
    /// # Errors
    /// MUST return `Ok(false)` when there is no such unrevoked key.
    async fn revoke_api_key(&self, id: &ApiKeyId, now: Timestamp) -> Result<bool, StoreError>;

    /// Notes that the key was just used.
    ///
    /// # Errors
    /// `Unavailable`/`Backend` for backend failures; an unknown id is not an error.
    async fn touch_api_key(&self, id: &ApiKeyId, now: Timestamp) -> Result<(), StoreError>;

    /// Whether any key was ever created (development accepts any token until one is).
    ///
    /// # Errors
    /// `Unavailable`/`Backend` for backend failures.
    async fn any_api_key_exists(&self) -> Result<bool, StoreError>;
}

//! Storage of accounts.

use async_trait::async_trait;

use super::StoreError;
use crate::{Account, AccountChanges, AccountId, InstagramId, Page, PageRequest, Timestamp};

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountStoreError {
    /// Another account already has this Instagram account id.
    #[error("an account for this instagram account id already exists")]
    InstagramAccountTaken,
    /// The backend failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads and writes accounts.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Stores a new account.
    ///
    /// # Errors
    /// MUST return `InstagramAccountTaken` when an account with the same `instagram_account_id`
    /// exists (also when two creates race); `Store` for backend failures.
    async fn create_account(&self, account: &Account) -> Result<(), AccountStoreError>;

    /// The account with this id.
    ///
    /// # Errors
    /// MUST return `Ok(None)` when there is none and `Store(Unavailable)` when the backend is down.
    async fn account(&self, id: &AccountId) -> Result<Option<Account>, AccountStoreError>;

    /// The account for this Instagram business account id.
    ///
    /// # Errors
    /// MUST return `Ok(None)` when there is none; `Store` for backend failures.
    async fn account_by_instagram_id(
        &self,
        instagram_id: &InstagramId,
    ) -> Result<Option<Account>, AccountStoreError>;

    /// Accounts, newest first; `only` limits the listing to these ids (an API key's scope).
    ///
    /// # Errors
    /// `Store` for backend failures.
    async fn list_accounts(
        &self,
        only: Option<&[AccountId]>,
        page: &PageRequest,
    ) -> Result<Page<Account>, AccountStoreError>;

    /// Applies `changes` and returns the account as stored afterwards.
    ///
    /// # Errors
    /// MUST return `Ok(None)` when the account does not exist; `Store` for backend failures.
    async fn update_account(
        &self,
        id: &AccountId,
        changes: AccountChanges,
        now: Timestamp,
    ) -> Result<Option<Account>, AccountStoreError>;

    /// Deletes the account and everything that belongs to it (history, queues, rules).
    ///
    /// # Errors
    /// MUST return `Ok(false)` when the account does not exist; `Store` for backend failures.
    async fn delete_account(&self, id: &AccountId) -> Result<bool, AccountStoreError>;
}

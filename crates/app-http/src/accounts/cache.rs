//! [`CachedAccounts`]: the account store with the webhook path's lookup cached for a moment.
//!
//! Every webhook body looks its business account up by Instagram id; at thousands of webhooks
//! per second that read is a round trip per request for a row that almost never changes. Found
//! accounts are kept for [`LOOKUP_TTL`]; writes through this store forget them at once, so this
//! instance never serves a stale account, and another instance's change shows here within the
//! TTL. Unknown ids are never cached: an account created on another instance is routed to as
//! soon as it exists. What a stale entry could do in that second is harmless by construction:
//! the CRM URL and secret are read again by the delivery worker at each attempt, and a deleted
//! account's events fail their foreign key (the webhook answers `503` and Meta retries).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use domain::ports::{AccountStore, AccountStoreError};
use domain::{Account, AccountChanges, AccountId, InstagramId, Page, PageRequest, Timestamp};

/// How long a looked-up account is served from memory.
pub const LOOKUP_TTL: Duration = Duration::from_secs(1);

/// An [`AccountStore`] whose `account_by_instagram_id` answers from memory for a moment.
pub struct CachedAccounts {
    store: Arc<dyn AccountStore>,
    ttl: Duration,
    found: Mutex<HashMap<InstagramId, (Instant, Account)>>,
}

impl CachedAccounts {
    /// `store` with lookups kept for `ttl`.
    pub fn new(store: Arc<dyn AccountStore>, ttl: Duration) -> Self {
        Self {
            store,
            ttl,
            found: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<InstagramId, (Instant, Account)>> {
        // Entries are inserted or removed whole; a panic elsewhere cannot leave one half-made.
        self.found.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn forget(&self, id: &AccountId) {
        self.entries().retain(|_, (_, account)| &account.id != id);
    }
}

#[async_trait]
impl AccountStore for CachedAccounts {
    async fn create_account(&self, account: &Account) -> Result<(), AccountStoreError> {
        self.store.create_account(account).await
    }

    async fn account(&self, id: &AccountId) -> Result<Option<Account>, AccountStoreError> {
        self.store.account(id).await
    }

    async fn account_by_instagram_id(
        &self,
        instagram_id: &InstagramId,
    ) -> Result<Option<Account>, AccountStoreError> {
        if let Some((at, account)) = self.entries().get(instagram_id)
            && at.elapsed() < self.ttl
        {
            return Ok(Some(account.clone()));
        }
        let found = self.store.account_by_instagram_id(instagram_id).await?;
        let mut entries = self.entries();
        match &found {
            Some(account) => {
                entries.insert(instagram_id.clone(), (Instant::now(), account.clone()));
            }
            None => {
                entries.remove(instagram_id);
            }
        }
        Ok(found)
    }

    async fn list_accounts(
        &self,
        only: Option<&[AccountId]>,
        page: &PageRequest,
    ) -> Result<Page<Account>, AccountStoreError> {
        self.store.list_accounts(only, page).await
    }

    async fn update_account(
        &self,
        id: &AccountId,
        changes: AccountChanges,
        now: Timestamp,
    ) -> Result<Option<Account>, AccountStoreError> {
        self.forget(id);
        let updated = self.store.update_account(id, changes, now).await;
        // Forget again: a lookup that read the old row before the write may have cached it since.
        // (One finishing later still can; the TTL bounds that.)
        self.forget(id);
        updated
    }

    async fn delete_account(&self, id: &AccountId) -> Result<bool, AccountStoreError> {
        self.forget(id);
        let deleted = self.store.delete_account(id).await;
        self.forget(id);
        deleted
    }
}

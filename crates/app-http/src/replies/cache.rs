//! [`RuleCache`]: each account's rules, compiled, kept in memory, so the webhook path matches
//! without a database read in the steady state.
//!
//! Why a time to live and local invalidation, rather than a version stamp read per message: the
//! stamp would be a read per webhook, the very thing the cache is for. Instead:
//! - a write through this instance's API forgets the account's entry at once, so this instance
//!   never matches with rules older than its own last write;
//! - an entry older than [`RULES_TTL`] is reloaded in the background the next time the account
//!   gets a message, while that message is matched against the entry it has (a webhook never
//!   waits for a reload, only for the first load of an account), so another instance's change
//!   is in use here within [`RULES_TTL`] of the next message;
//! - what must never be late is checked again where it is enforced: the ingest transaction
//!   queues a reply only while its rule still exists and is enabled (`MessageStore::ingest`), so
//!   a rule deleted or disabled on any instance stops replying at once everywhere. Only a new
//!   rule, or a changed pattern, reply or priority, can take up to [`RULES_TTL`] to be seen by
//!   the other instances.
//!
//! A reload reads the account's rules and recompiles only when they differ from the ones held.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use domain::ports::{ReplyRuleStore, RuleStoreError};
use domain::{AccountId, ReplyRule};

use super::matcher::CompiledRules;

/// How long an account's compiled rules are used before they are read again.
pub const RULES_TTL: Duration = Duration::from_secs(5);

/// Compiled rules per account. Shared by every worker of the instance.
pub struct RuleCache {
    store: Arc<dyn ReplyRuleStore>,
    ttl: Duration,
    entries: Mutex<HashMap<AccountId, Entry>>,
    /// Grows with every [`RuleCache::forget`]: a load that started before one may hold rules
    /// from before the write, and is not kept.
    forgets: AtomicU64,
}

struct Entry {
    source: Arc<Vec<ReplyRule>>,
    compiled: Arc<CompiledRules>,
    loaded_at: Instant,
    reloading: bool,
}

impl RuleCache {
    /// A cache over `store` whose entries are reloaded after `ttl`.
    pub fn new(store: Arc<dyn ReplyRuleStore>, ttl: Duration) -> Self {
        Self {
            store,
            ttl,
            entries: Mutex::new(HashMap::new()),
            forgets: AtomicU64::new(0),
        }
    }

    /// The account's compiled rules: from memory, reloaded in the background when older than
    /// the TTL, read and compiled now when the account has no entry.
    ///
    /// # Errors
    /// The store's, when the account has no entry and its rules cannot be read.
    pub async fn rules(
        self: &Arc<Self>,
        account: &AccountId,
    ) -> Result<Arc<CompiledRules>, RuleStoreError> {
        let stale = {
            let mut entries = self.entries();
            match entries.get_mut(account) {
                Some(entry) if entry.loaded_at.elapsed() < self.ttl => {
                    return Ok(Arc::clone(&entry.compiled));
                }
                Some(entry) => {
                    let start = !std::mem::replace(&mut entry.reloading, true);
                    Some((Arc::clone(&entry.compiled), start))
                }
                None => None,
            }
        };
        match stale {
            Some((compiled, start)) => {
                if start {
                    let cache = Arc::clone(self);
                    let account = account.clone();
                    tokio::spawn(async move {
                        if let Err(error) = cache.load(&account).await {
                            tracing::warn!(account.id = %account, error = %error, "could not reload the account's reply rules; the ones in memory stay in use");
                            cache.reloaded_without_change(&account);
                        }
                    });
                }
                Ok(compiled)
            }
            None => self.load(&account.clone()).await,
        }
    }

    /// The account's rules as stored now, compiled: one read of the store, and a compile (off
    /// the async workers) only when they differ from the ones held, which they then replace. For
    /// a caller that must see every instance's latest write at once (`rules/test`); the ingest
    /// uses [`Self::rules`], which reads nothing in the steady state.
    ///
    /// # Errors
    /// The store's, when the rules cannot be read.
    pub async fn current(&self, account: &AccountId) -> Result<Arc<CompiledRules>, RuleStoreError> {
        self.load(account).await
    }

    /// Drops the account's entry, after a write of its rules through this instance.
    pub fn forget(&self, account: &AccountId) {
        self.forgets.fetch_add(1, Ordering::SeqCst);
        self.entries().remove(account);
    }

    /// Reads the account's rules, compiles them unless they are the ones held, and keeps them
    /// unless a write was forgotten meanwhile.
    async fn load(&self, account: &AccountId) -> Result<Arc<CompiledRules>, RuleStoreError> {
        let forgets = self.forgets.load(Ordering::SeqCst);
        let rules = self.store.rules_for_account(account).await?;
        let held = self
            .entries()
            .get(account)
            .filter(|entry| *entry.source == rules)
            .map(|entry| Arc::clone(&entry.compiled));
        let source = Arc::new(rules);
        let compiled = match held {
            Some(compiled) => compiled,
            None => compile(Arc::clone(&source)).await,
        };
        if self.forgets.load(Ordering::SeqCst) == forgets {
            self.entries().insert(
                account.clone(),
                Entry {
                    source,
                    compiled: Arc::clone(&compiled),
                    loaded_at: Instant::now(),
                    reloading: false,
                },
            );
        }
        Ok(compiled)
    }

    /// Lets the next message try a reload again after a failed one.
    fn reloaded_without_change(&self, account: &AccountId) {
        if let Some(entry) = self.entries().get_mut(account) {
            entry.reloading = false;
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<AccountId, Entry>> {
        // Entries are replaced whole; a panic elsewhere cannot leave one half-made.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Compiles off the async workers: a thousand rules with regexes take milliseconds.
async fn compile(rules: Arc<Vec<ReplyRule>>) -> Arc<CompiledRules> {
    let compiling = Arc::clone(&rules);
    match tokio::task::spawn_blocking(move || CompiledRules::compile(&compiling)).await {
        Ok(compiled) => Arc::new(compiled),
        // The blocking pool is shutting down: compile here rather than match nothing.
        Err(_) => Arc::new(CompiledRules::compile(&rules)),
    }
}

//! Storage of auto-reply rules.

use async_trait::async_trait;

use super::StoreError;
use crate::{AccountId, ReplyRule, RuleId};

/// Why a rule operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RuleStoreError {
    /// The rule's account does not exist.
    #[error("account not found")]
    UnknownAccount,
    /// The backend failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads and writes auto-reply rules.
#[async_trait]
pub trait ReplyRuleStore: Send + Sync {
    /// Stores a new rule.
    ///
    /// # Errors
    /// MUST return `UnknownAccount` when the account does not exist.
    async fn create_rule(&self, rule: &ReplyRule) -> Result<(), RuleStoreError>;

    /// The rule with this id.
    ///
    /// # Errors
    /// MUST return `Ok(None)` when there is none.
    async fn rule(&self, id: &RuleId) -> Result<Option<ReplyRule>, RuleStoreError>;

    /// An account's rules, highest priority first, then oldest first.
    ///
    /// # Errors
    /// `Store` for backend failures; an unknown account has no rules.
    async fn rules_for_account(
        &self,
        account: &AccountId,
    ) -> Result<Vec<ReplyRule>, RuleStoreError>;

    /// Replaces a rule's editable fields (match, pattern, reply, priority, enabled, cooldown,
    /// updated time).
    ///
    /// # Errors
    /// MUST return `Ok(false)` when the rule does not exist.
    async fn update_rule(&self, rule: &ReplyRule) -> Result<bool, RuleStoreError>;

    /// Deletes a rule.
    ///
    /// # Errors
    /// MUST return `Ok(false)` when the rule does not exist.
    async fn delete_rule(&self, id: &RuleId) -> Result<bool, RuleStoreError>;
}

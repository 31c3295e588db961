//! The rule use cases behind `/api/v1/accounts/{id}/rules`: each write is validated as a whole
//! rule (a pattern is checked for the kind it ends up with), stored, and then forgotten by this
//! instance's [`RuleCache`], so the next message to the account is matched with it.

use std::sync::Arc;

use domain::ports::{Clock, ReplyRuleStore, RuleStoreError};
use domain::{AccountId, MatchKind, ReplyRule, RuleId, ValidationError};

use super::cache::RuleCache;
use super::fold::fold;
use super::matcher::compile_regex;
use super::username::fill;
use crate::random::{self, RandomUnavailable};

/// Longest pattern, in bytes: no message is longer, so no longer pattern could match.
pub(crate) const MAX_PATTERN_BYTES: usize = domain::message::MAX_TEXT_BYTES;
/// Longest reply, in bytes: Meta's limit for one message.
pub(crate) const MAX_REPLY_BYTES: usize = domain::message::MAX_TEXT_BYTES;
/// Longest cooldown: a year.
pub(crate) const MAX_COOLDOWN_SECONDS: u32 = 365 * 24 * 60 * 60;
/// Most rules an account may have, enabled or not: matching one message is sized for this many
/// (`just bench-rules`).
pub(crate) const MAX_RULES_PER_ACCOUNT: usize = 1_000;
/// Why a create is refused at [`MAX_RULES_PER_ACCOUNT`] rules (`409 rule_limit_reached`).
pub(crate) const RULE_LIMIT_REACHED: &str =
    "the account has 1000 rules, the most it may have: delete or reuse one to add another";

/// A new rule as the API gives it (defaults already applied), not yet validated.
#[derive(Debug, Clone)]
pub(crate) struct RuleInput {
    pub(crate) match_kind: MatchKind,
    pub(crate) pattern: String,
    pub(crate) reply: String,
    pub(crate) priority: i32,
    pub(crate) enabled: bool,
    pub(crate) cooldown_seconds: u32,
}

/// The members of a `PATCH`; `None` leaves the field as it is.
#[derive(Debug, Clone, Default)]
pub(crate) struct RuleChanges {
    pub(crate) match_kind: Option<MatchKind>,
    pub(crate) pattern: Option<String>,
    pub(crate) reply: Option<String>,
    pub(crate) priority: Option<i32>,
    pub(crate) enabled: Option<bool>,
    pub(crate) cooldown_seconds: Option<u32>,
}

/// Why a rule could not be written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RuleWriteError {
    /// A field breaks its rule (`422`).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// No rule id could be drawn.
    #[error("could not draw a rule id")]
    Random(#[source] RandomUnavailable),
    /// The store failed, or the account is gone.
    #[error(transparent)]
    Store(#[from] RuleStoreError),
}

/// What creating a rule did.
#[derive(Debug)]
pub(crate) enum Created {
    /// The rule, stored.
    Rule(ReplyRule),
    /// Nothing: the account has [`MAX_RULES_PER_ACCOUNT`] rules already.
    LimitReached,
}

/// Stores a new rule for `account`, unless it has [`MAX_RULES_PER_ACCOUNT`] rules already. The
/// count is read before the insert, so creates racing at the limit may pass it by as many as
/// race: the limit bounds matching cost, which a few more rules do not change.
///
/// # Errors
/// [`RuleWriteError`]; `Store(UnknownAccount)` when the account does not exist.
pub(crate) async fn create_rule(
    store: &dyn ReplyRuleStore,
    cache: &Arc<RuleCache>,
    clock: &dyn Clock,
    account: &AccountId,
    input: RuleInput,
) -> Result<Created, RuleWriteError> {
    let now = clock.now();
    let rule = ReplyRule {
        id: random::rule_id().map_err(RuleWriteError::Random)?,
        account_id: account.clone(),
        match_kind: input.match_kind,
        pattern: input.pattern,
        reply: input.reply,
        priority: input.priority,
        enabled: input.enabled,
        cooldown_seconds: input.cooldown_seconds,
        created_at: now,
        updated_at: now,
    };
    validate(&rule)?;
    if store.rules_for_account(account).await?.len() >= MAX_RULES_PER_ACCOUNT {
        return Ok(Created::LimitReached);
    }
    store.create_rule(&rule).await?;
    cache.forget(account);
    Ok(Created::Rule(rule))
}

/// Applies `changes` to the rule `id` of `account`: `None` when there is no such rule. No change
/// at all answers the rule as it is.
///
/// # Errors
/// [`RuleWriteError`].
pub(crate) async fn update_rule(
    store: &dyn ReplyRuleStore,
    cache: &Arc<RuleCache>,
    clock: &dyn Clock,
    account: &AccountId,
    id: &RuleId,
    changes: RuleChanges,
) -> Result<Option<ReplyRule>, RuleWriteError> {
    let Some(mut rule) = store.rule(id).await?.filter(|r| &r.account_id == account) else {
        return Ok(None);
    };
    let before = rule.clone();
    let RuleChanges {
        match_kind,
        pattern,
        reply,
        priority,
        enabled,
        cooldown_seconds,
    } = changes;
    rule.match_kind = match_kind.unwrap_or(rule.match_kind);
    rule.pattern = pattern.unwrap_or(rule.pattern);
    rule.reply = reply.unwrap_or(rule.reply);
    rule.priority = priority.unwrap_or(rule.priority);
    rule.enabled = enabled.unwrap_or(rule.enabled);
    rule.cooldown_seconds = cooldown_seconds.unwrap_or(rule.cooldown_seconds);
    if rule == before {
        return Ok(Some(rule));
    }
    validate(&rule)?;
    rule.updated_at = clock.now();
    let found = store.update_rule(&rule).await?;
    cache.forget(account);
    Ok(found.then_some(rule))
}

/// Deletes the rule `id` of `account`: false when there is no such rule.
///
/// # Errors
/// [`RuleWriteError::Store`].
pub(crate) async fn delete_rule(
    store: &dyn ReplyRuleStore,
    cache: &Arc<RuleCache>,
    account: &AccountId,
    id: &RuleId,
) -> Result<bool, RuleWriteError> {
    if store
        .rule(id)
        .await?
        .filter(|r| &r.account_id == account)
        .is_none()
    {
        return Ok(false);
    }
    let deleted = store.delete_rule(id).await?;
    cache.forget(account);
    Ok(deleted)
}

/// Checks a whole rule: its pattern for its kind, its reply, its cooldown.
fn validate(rule: &ReplyRule) -> Result<(), ValidationError> {
    check_text("pattern", &rule.pattern, MAX_PATTERN_BYTES)?;
    match rule.match_kind {
        MatchKind::Regex => {
            compile_regex(&rule.pattern)?;
        }
        MatchKind::Exact | MatchKind::Contains | MatchKind::Keyword => {
            if fold(&rule.pattern).is_empty() {
                return Err(ValidationError::new(
                    "pattern",
                    "must contain something besides spaces and accents",
                ));
            }
        }
    }
    check_text("reply", &rule.reply, MAX_REPLY_BYTES)?;
    if fill(&rule.reply, None).is_empty() {
        return Err(ValidationError::new(
            "reply",
            "must say something besides {username} (it is left out when the profile is unknown)",
        ));
    }
    if rule.cooldown_seconds > MAX_COOLDOWN_SECONDS {
        return Err(ValidationError::new(
            "cooldown_seconds",
            format!("must be between 0 and {MAX_COOLDOWN_SECONDS} (a year)"),
        ));
    }
    Ok(())
}

/// 1 to `max` bytes of UTF-8 without NUL.
fn check_text(field: &'static str, text: &str, max: usize) -> Result<(), ValidationError> {
    if text.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if text.len() > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} bytes of UTF-8"),
        ));
    }
    if text.contains('\0') {
        return Err(ValidationError::new(
            field,
            "must not contain NUL characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_reason_names_the_limit() {
        assert!(RULE_LIMIT_REACHED.contains(&MAX_RULES_PER_ACCOUNT.to_string()));
    }
}

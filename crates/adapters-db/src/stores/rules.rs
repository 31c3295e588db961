//! `ReplyRuleStore` over the `reply_rules` table.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use domain::ports::{ReplyRuleStore, RuleStoreError, StoreError};
use domain::{AccountId, MatchKind, ReplyRule, RuleId, Timestamp};

use crate::Database;
use crate::error::{DbError, corrupt};
use crate::macros::with_conn;
use crate::schema::reply_rules;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = reply_rules)]
struct ReplyRuleRow {
    id: String,
    account_id: String,
    match_kind: String,
    pattern: String,
    reply: String,
    priority: i32,
    enabled: bool,
    cooldown_seconds: i64,
    created_at: i64,
    updated_at: i64,
}

/// The fields `update_rule` replaces: everything but the id, the account and the creation time.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = reply_rules)]
struct ReplyRuleChanges {
    match_kind: String,
    pattern: String,
    reply: String,
    priority: i32,
    enabled: bool,
    cooldown_seconds: i64,
    updated_at: i64,
}

impl From<&ReplyRule> for ReplyRuleRow {
    fn from(rule: &ReplyRule) -> Self {
        Self {
            id: rule.id.to_string(),
            account_id: rule.account_id.to_string(),
            match_kind: rule.match_kind.as_str().to_owned(),
            pattern: rule.pattern.clone(),
            reply: rule.reply.clone(),
            priority: rule.priority,
            enabled: rule.enabled,
            cooldown_seconds: i64::from(rule.cooldown_seconds),
            created_at: rule.created_at.as_millis(),
            updated_at: rule.updated_at.as_millis(),
        }
    }
}

impl From<&ReplyRule> for ReplyRuleChanges {
    fn from(rule: &ReplyRule) -> Self {
        Self {
            match_kind: rule.match_kind.as_str().to_owned(),
            pattern: rule.pattern.clone(),
            reply: rule.reply.clone(),
            priority: rule.priority,
            enabled: rule.enabled,
            cooldown_seconds: i64::from(rule.cooldown_seconds),
            updated_at: rule.updated_at.as_millis(),
        }
    }
}

impl TryFrom<ReplyRuleRow> for ReplyRule {
    type Error = DbError;

    fn try_from(row: ReplyRuleRow) -> Result<Self, DbError> {
        Ok(Self {
            id: RuleId::parse(&row.id).map_err(|e| corrupt("reply_rules.id", e))?,
            account_id: AccountId::parse(&row.account_id)
                .map_err(|e| corrupt("reply_rules.account_id", e))?,
            match_kind: MatchKind::parse(&row.match_kind)
                .map_err(|e| corrupt("reply_rules.match_kind", e))?,
            pattern: row.pattern,
            reply: row.reply,
            priority: row.priority,
            enabled: row.enabled,
            cooldown_seconds: u32::try_from(row.cooldown_seconds)
                .map_err(|e| corrupt("reply_rules.cooldown_seconds", e))?,
            created_at: Timestamp::from_millis(row.created_at),
            updated_at: Timestamp::from_millis(row.updated_at),
        })
    }
}

fn store_error(error: DbError) -> RuleStoreError {
    RuleStoreError::Store(StoreError::from(error))
}

impl Database {
    async fn insert_rule(&self, row: ReplyRuleRow) -> Result<(), DbError> {
        with_conn!(self, |conn| diesel::insert_into(reply_rules::table)
            .values(&row)
            .execute(conn)
            .await?);
        Ok(())
    }

    async fn load_rule(&self, id: &str) -> Result<Option<ReplyRule>, DbError> {
        let row: Option<ReplyRuleRow> = with_conn!(self, |conn| reply_rules::table
            .find(id)
            .select(ReplyRuleRow::as_select())
            .first(conn)
            .await
            .optional()?);
        row.map(ReplyRule::try_from).transpose()
    }

    async fn load_rules_for_account(&self, account_id: &str) -> Result<Vec<ReplyRule>, DbError> {
        let rows: Vec<ReplyRuleRow> = with_conn!(self, |conn| reply_rules::table
            .filter(reply_rules::account_id.eq(account_id))
            .select(ReplyRuleRow::as_select())
            .order((
                reply_rules::priority.desc(),
                reply_rules::created_at.asc(),
                reply_rules::id.asc(),
            ))
            .load(conn)
            .await?);
        rows.into_iter().map(ReplyRule::try_from).collect()
    }

    async fn change_rule(&self, id: &str, changes: ReplyRuleChanges) -> Result<bool, DbError> {
        // MySQL would count only rows whose values changed, but diesel-async connects with
        // CLIENT_FOUND_ROWS: an update to identical values still reports the rule as found.
        let updated = with_conn!(self, |conn| diesel::update(reply_rules::table.find(id))
            .set(&changes)
            .execute(conn)
            .await?);
        Ok(updated > 0)
    }

    async fn remove_rule(&self, id: &str) -> Result<bool, DbError> {
        let deleted = with_conn!(self, |conn| diesel::delete(reply_rules::table.find(id))
            .execute(conn)
            .await?);
        Ok(deleted > 0)
    }
}

#[async_trait]
impl ReplyRuleStore for Database {
    async fn create_rule(&self, rule: &ReplyRule) -> Result<(), RuleStoreError> {
        match self.insert_rule(ReplyRuleRow::from(rule)).await {
            Ok(()) => Ok(()),
            Err(error) if error.is_foreign_key_violation() => Err(RuleStoreError::UnknownAccount),
            Err(error) => Err(store_error(error)),
        }
    }

    async fn rule(&self, id: &RuleId) -> Result<Option<ReplyRule>, RuleStoreError> {
        self.load_rule(id.as_str()).await.map_err(store_error)
    }

    async fn rules_for_account(
        &self,
        account: &AccountId,
    ) -> Result<Vec<ReplyRule>, RuleStoreError> {
        self.load_rules_for_account(account.as_str())
            .await
            .map_err(store_error)
    }

    async fn update_rule(&self, rule: &ReplyRule) -> Result<bool, RuleStoreError> {
        self.change_rule(rule.id.as_str(), ReplyRuleChanges::from(rule))
            .await
            .map_err(store_error)
    }

    async fn delete_rule(&self, id: &RuleId) -> Result<bool, RuleStoreError> {
        self.remove_rule(id.as_str()).await.map_err(store_error)
    }
}

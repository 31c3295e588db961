//! `ApiKeyStore` over the `api_keys` table and the scope rows in `api_key_accounts`.
//!
//! A key with `all_accounts` sees every account; otherwise its scope is exactly its
//! `api_key_accounts` rows, read back sorted by account id. Deleting an account cascades to those
//! rows, so a scoped key simply stops seeing it.

use std::collections::HashMap;

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use domain::ports::{ApiKeyStore, StoreError};
use domain::{AccountId, ApiKey, ApiKeyHash, ApiKeyId, ApiKeyScope, Timestamp};

use crate::Database;
use crate::error::{DbError, corrupt};
use crate::macros::{with_conn, with_tx};
use crate::schema::{api_key_accounts, api_keys};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
struct ApiKeyRow {
    id: String,
    name: String,
    prefix: String,
    key_hash: String,
    all_accounts: bool,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_key_accounts)]
struct ApiKeyAccountRow {
    api_key_id: String,
    account_id: String,
}

impl ApiKeyRow {
    fn new(key: &ApiKey) -> Self {
        Self {
            id: key.id.to_string(),
            name: key.name.clone(),
            prefix: key.prefix.clone(),
            key_hash: key.hash.to_hex(),
            all_accounts: matches!(key.scope, ApiKeyScope::All),
            created_at: key.created_at.as_millis(),
            last_used_at: key.last_used_at.map(Timestamp::as_millis),
            revoked_at: key.revoked_at.map(Timestamp::as_millis),
        }
    }

    /// The domain key, with `accounts` (this key's scope rows) as its scope unless it sees all.
    fn into_api_key(self, accounts: Vec<String>) -> Result<ApiKey, DbError> {
        let scope = if self.all_accounts {
            ApiKeyScope::All
        } else {
            let mut ids = accounts
                .iter()
                .map(|id| {
                    AccountId::parse(id).map_err(|e| corrupt("api_key_accounts.account_id", e))
                })
                .collect::<Result<Vec<_>, _>>()?;
            ids.sort();
            ApiKeyScope::Accounts(ids)
        };
        Ok(ApiKey {
            id: ApiKeyId::parse(&self.id).map_err(|e| corrupt("api_keys.id", e))?,
            hash: ApiKeyHash::from_hex(&self.key_hash)
                .ok_or_else(|| corrupt("api_keys.key_hash is not 64 hex digits", &self.id))?,
            name: self.name,
            prefix: self.prefix,
            scope,
            created_at: Timestamp::from_millis(self.created_at),
            last_used_at: self.last_used_at.map(Timestamp::from_millis),
            revoked_at: self.revoked_at.map(Timestamp::from_millis),
        })
    }
}

/// The scope rows of `key`: none for a key that sees every account. Duplicates are dropped, since
/// the scope is a set and a repeated account would break the primary key.
fn scope_rows(key: &ApiKey) -> Vec<ApiKeyAccountRow> {
    let ApiKeyScope::Accounts(accounts) = &key.scope else {
        return Vec::new();
    };
    let mut ids: Vec<String> = accounts.iter().map(ToString::to_string).collect();
    ids.sort();
    ids.dedup();
    ids.into_iter()
        .map(|account_id| ApiKeyAccountRow {
            api_key_id: key.id.to_string(),
            account_id,
        })
        .collect()
}

impl Database {
    async fn insert_api_key(
        &self,
        key: ApiKeyRow,
        scope: Vec<ApiKeyAccountRow>,
    ) -> Result<(), DbError> {
        with_tx!(self, |conn| {
            diesel::insert_into(api_keys::table)
                .values(&key)
                .execute(conn)
                .await?;
            // One row per statement: multi-row inserts do not compile for SQLite through
            // diesel-async's wrapper, and a key is scoped to a handful of accounts at most.
            for row in &scope {
                diesel::insert_into(api_key_accounts::table)
                    .values(row)
                    .execute(conn)
                    .await?;
            }
            Ok(())
        })
    }

    async fn load_active_api_key(&self, hash: &str) -> Result<Option<ApiKey>, DbError> {
        let found: Option<(ApiKeyRow, Vec<String>)> = with_conn!(self, |conn| {
            let row = api_keys::table
                .filter(api_keys::key_hash.eq(hash))
                .filter(api_keys::revoked_at.is_null())
                .select(ApiKeyRow::as_select())
                .first(conn)
                .await
                .optional()?;
            match row {
                Some(row) if !row.all_accounts => {
                    let accounts = api_key_accounts::table
                        .filter(api_key_accounts::api_key_id.eq(&row.id))
                        .select(api_key_accounts::account_id)
                        .load::<String>(conn)
                        .await?;
                    Some((row, accounts))
                }
                Some(row) => Some((row, Vec::new())),
                None => None,
            }
        });
        found
            .map(|(row, accounts)| row.into_api_key(accounts))
            .transpose()
    }

    async fn load_api_keys(&self) -> Result<Vec<ApiKey>, DbError> {
        // Keys before scope rows, without a transaction: a key and its scope rows commit together,
        // so every key read here already has all of its rows.
        let (rows, scopes): (Vec<ApiKeyRow>, Vec<ApiKeyAccountRow>) = with_conn!(self, |conn| {
            let rows = api_keys::table
                .select(ApiKeyRow::as_select())
                .order((api_keys::created_at.asc(), api_keys::id.asc()))
                .load(conn)
                .await?;
            let scopes = api_key_accounts::table
                .select(ApiKeyAccountRow::as_select())
                .load(conn)
                .await?;
            (rows, scopes)
        });
        let mut by_key: HashMap<String, Vec<String>> = HashMap::new();
        for scope in scopes {
            by_key
                .entry(scope.api_key_id)
                .or_default()
                .push(scope.account_id);
        }
        rows.into_iter()
            .map(|row| {
                let accounts = by_key.remove(&row.id).unwrap_or_default();
                row.into_api_key(accounts)
            })
            .collect()
    }

    async fn set_api_key_revoked(&self, id: &str, now: i64) -> Result<bool, DbError> {
        // Guarded on `revoked_at IS NULL`, so a second revocation matches nothing and keeps the
        // first time.
        let updated = with_conn!(self, |conn| diesel::update(
            api_keys::table
                .find(id)
                .filter(api_keys::revoked_at.is_null())
        )
        .set(api_keys::revoked_at.eq(now))
        .execute(conn)
        .await?);
        Ok(updated > 0)
    }

    async fn set_api_key_used(&self, id: &str, now: i64) -> Result<(), DbError> {
        with_conn!(self, |conn| diesel::update(api_keys::table.find(id))
            .set(api_keys::last_used_at.eq(now))
            .execute(conn)
            .await?);
        Ok(())
    }

    async fn has_api_keys(&self) -> Result<bool, DbError> {
        let exists = with_conn!(self, |conn| diesel::select(diesel::dsl::exists(
            api_keys::table.select(api_keys::id)
        ))
        .get_result::<bool>(conn)
        .await?);
        Ok(exists)
    }
}

#[async_trait]
impl ApiKeyStore for Database {
    async fn create_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        Ok(self
            .insert_api_key(ApiKeyRow::new(key), scope_rows(key))
            .await?)
    }

    async fn active_api_key_by_hash(
        &self,
        hash: &ApiKeyHash,
    ) -> Result<Option<ApiKey>, StoreError> {
        Ok(self.load_active_api_key(&hash.to_hex()).await?)
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        Ok(self.load_api_keys().await?)
    }

    async fn revoke_api_key(&self, id: &ApiKeyId, now: Timestamp) -> Result<bool, StoreError> {
        Ok(self
            .set_api_key_revoked(id.as_str(), now.as_millis())
            .await?)
    }

    async fn touch_api_key(&self, id: &ApiKeyId, now: Timestamp) -> Result<(), StoreError> {
        Ok(self.set_api_key_used(id.as_str(), now.as_millis()).await?)
    }

    async fn any_api_key_exists(&self) -> Result<bool, StoreError> {
        Ok(self.has_api_keys().await?)
    }
}

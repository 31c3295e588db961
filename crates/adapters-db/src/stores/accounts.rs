//! `AccountStore` over the `accounts` table.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use domain::ports::{AccountStore, AccountStoreError, StoreError};
use domain::{
    Account, AccountChanges, AccountId, InstagramId, Page, PageRequest, SealedSecret, Timestamp,
    Username, WebhookUrl,
};

use crate::Database;
use crate::error::{DbError, corrupt};
use crate::macros::{with_conn, with_tx};
use crate::schema::accounts;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = accounts, treat_none_as_null = true)]
struct AccountRow {
    id: String,
    instagram_account_id: String,
    username: String,
    access_token_sealed: Vec<u8>,
    webhook_secret_sealed: Vec<u8>,
    crm_webhook_url: Option<String>,
    token_invalid_since: Option<i64>,
    send_rate_per_second: i32,
    created_at: i64,
    updated_at: i64,
}

impl From<&Account> for AccountRow {
    fn from(account: &Account) -> Self {
        Self {
            id: account.id.to_string(),
            instagram_account_id: account.instagram_account_id.to_string(),
            username: account.username.as_str().to_owned(),
            access_token_sealed: account.access_token.as_bytes().to_vec(),
            webhook_secret_sealed: account.webhook_secret.as_bytes().to_vec(),
            crm_webhook_url: account
                .crm_webhook_url
                .as_ref()
                .map(|url| url.as_str().to_owned()),
            token_invalid_since: account.token_invalid_since.map(Timestamp::as_millis),
            send_rate_per_second: i32::try_from(account.send_rate_per_second).unwrap_or(i32::MAX),
            created_at: account.created_at.as_millis(),
            updated_at: account.updated_at.as_millis(),
        }
    }
}

impl TryFrom<AccountRow> for Account {
    type Error = DbError;

    fn try_from(row: AccountRow) -> Result<Self, DbError> {
        Ok(Self {
            id: AccountId::parse(&row.id).map_err(|e| corrupt("accounts.id", e))?,
            instagram_account_id: InstagramId::parse(
                "instagram_account_id",
                &row.instagram_account_id,
            )
            .map_err(|e| corrupt("accounts.instagram_account_id", e))?,
            username: Username::parse(&row.username)
                .map_err(|e| corrupt("accounts.username", e))?,
            access_token: SealedSecret::from_bytes(row.access_token_sealed),
            webhook_secret: SealedSecret::from_bytes(row.webhook_secret_sealed),
            crm_webhook_url: row
                .crm_webhook_url
                .map(|url| WebhookUrl::parse("crm_webhook_url", &url))
                .transpose()
                .map_err(|e| corrupt("accounts.crm_webhook_url", e))?,
            token_invalid_since: row.token_invalid_since.map(Timestamp::from_millis),
            send_rate_per_second: u32::try_from(row.send_rate_per_second)
                .map_err(|e| corrupt("accounts.send_rate_per_second", e))?,
            created_at: Timestamp::from_millis(row.created_at),
            updated_at: Timestamp::from_millis(row.updated_at),
        })
    }
}

fn store_error(error: DbError) -> AccountStoreError {
    AccountStoreError::Store(StoreError::from(error))
}

impl Database {
    async fn load_account(&self, id: &str) -> Result<Option<Account>, DbError> {
        let row: Option<AccountRow> = with_conn!(self, |conn| accounts::table
            .find(id)
            .select(AccountRow::as_select())
            .first(conn)
            .await
            .optional()?);
        row.map(Account::try_from).transpose()
    }

    async fn load_account_by_instagram_id(
        &self,
        instagram_id: &str,
    ) -> Result<Option<Account>, DbError> {
        let row: Option<AccountRow> = with_conn!(self, |conn| accounts::table
            .filter(accounts::instagram_account_id.eq(instagram_id))
            .select(AccountRow::as_select())
            .first(conn)
            .await
            .optional()?);
        row.map(Account::try_from).transpose()
    }

    async fn insert_account(&self, row: AccountRow) -> Result<(), DbError> {
        with_conn!(self, |conn| diesel::insert_into(accounts::table)
            .values(&row)
            .execute(conn)
            .await?);
        Ok(())
    }

    async fn list_account_rows(
        &self,
        only: Option<Vec<String>>,
        page: &PageRequest,
    ) -> Result<Vec<AccountRow>, DbError> {
        let limit = i64::from(page.limit) + 1;
        let after = page.after.clone();
        let rows = with_conn!(self, |conn| {
            let mut query = accounts::table
                .select(AccountRow::as_select())
                .order((accounts::created_at.desc(), accounts::id.desc()))
                .limit(limit)
                .into_boxed();
            if let Some(ids) = &only {
                query = query.filter(accounts::id.eq_any(ids.clone()));
            }
            if let Some(cursor) = &after {
                let at = cursor.at.as_millis();
                query = query.filter(
                    accounts::created_at.lt(at).or(accounts::created_at
                        .eq(at)
                        .and(accounts::id.lt(cursor.id.clone()))),
                );
            }
            query.load(conn).await?
        });
        Ok(rows)
    }

    async fn change_account(
        &self,
        id: &str,
        changes: AccountChanges,
        now: Timestamp,
    ) -> Result<Option<Account>, DbError> {
        let id = id.to_owned();
        with_tx!(self, |conn| {
            let Some(row) = accounts::table
                .find(&id)
                .select(AccountRow::as_select())
                .first(conn)
                .await
                .optional()?
            else {
                return Ok(None);
            };
            let mut account = Account::try_from(row)?;
            changes.clone().apply_to(&mut account, now);
            let row = AccountRow::from(&account);
            diesel::update(accounts::table.find(&id))
                .set(&row)
                .execute(conn)
                .await?;
            Ok(Some(account))
        })
    }

    async fn remove_account(&self, id: &str) -> Result<bool, DbError> {
        let deleted = with_conn!(self, |conn| diesel::delete(accounts::table.find(id))
            .execute(conn)
            .await?);
        Ok(deleted > 0)
    }
}

#[async_trait]
impl AccountStore for Database {
    async fn create_account(&self, account: &Account) -> Result<(), AccountStoreError> {
        match self.insert_account(AccountRow::from(account)).await {
            Ok(()) => Ok(()),
            Err(error) if error.is_unique_violation() => {
                Err(AccountStoreError::InstagramAccountTaken)
            }
            Err(error) => Err(store_error(error)),
        }
    }

    async fn account(&self, id: &AccountId) -> Result<Option<Account>, AccountStoreError> {
        self.load_account(id.as_str()).await.map_err(store_error)
    }

    async fn account_by_instagram_id(
        &self,
        instagram_id: &InstagramId,
    ) -> Result<Option<Account>, AccountStoreError> {
        self.load_account_by_instagram_id(instagram_id.as_str())
            .await
            .map_err(store_error)
    }

    async fn list_accounts(
        &self,
        only: Option<&[AccountId]>,
        page: &PageRequest,
    ) -> Result<Page<Account>, AccountStoreError> {
        let only = only.map(|ids| ids.iter().map(ToString::to_string).collect());
        let rows = self
            .list_account_rows(only, page)
            .await
            .map_err(store_error)?;
        let accounts = rows
            .into_iter()
            .map(Account::try_from)
            .collect::<Result<Vec<_>, _>>()
            .map_err(store_error)?;
        Ok(crate::stores::page_of(accounts, page.limit, |account| {
            (account.created_at, account.id.to_string())
        }))
    }

    async fn update_account(
        &self,
        id: &AccountId,
        changes: AccountChanges,
        now: Timestamp,
    ) -> Result<Option<Account>, AccountStoreError> {
        self.change_account(id.as_str(), changes, now)
            .await
            .map_err(store_error)
    }

    async fn delete_account(&self, id: &AccountId) -> Result<bool, AccountStoreError> {
        self.remove_account(id.as_str()).await.map_err(store_error)
    }
}

//! `IdempotencyStore` over the `idempotency_keys` table.
//!
//! A row with `response_status` and `response_body` NULL is held in progress; both set means
//! completed. Taking a key is a plain insert whose primary key decides the race: no transaction
//! is open when the insert may fail, because on PostgreSQL a failed statement poisons the rest of
//! its transaction. Only the loser then reads, and replaces the record if it had expired, in a
//! fresh transaction.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use domain::ports::{IdempotencyStore, StoreError};
use domain::{
    AccountId, IdempotencyBegin, IdempotencyKey, IdempotencyRecord, IdempotencyState, MessageId,
    Timestamp,
};

use crate::Database;
use crate::error::{DbError, corrupt};
use crate::macros::{with_conn, with_tx};
use crate::schema::idempotency_keys;

/// How often `begin_idempotent` goes back to inserting after the record it collided with
/// vanished (released or purged) before it could read it. Each round needs another request to
/// free the key at just the wrong moment, so two rounds are already rare.
const TAKE_OVER_ATTEMPTS: usize = 3;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
struct IdempotencyRow {
    account_id: String,
    idempotency_key: String,
    fingerprint: String,
    message_id: Option<String>,
    response_status: Option<i32>,
    response_body: Option<String>,
    created_at: i64,
    expires_at: i64,
}

impl IdempotencyRow {
    /// The row that holds `record`'s key in progress, whatever state `record` claims.
    fn in_progress(record: &IdempotencyRecord) -> Self {
        Self {
            account_id: record.account_id.to_string(),
            idempotency_key: record.key.as_str().to_owned(),
            fingerprint: record.fingerprint.clone(),
            message_id: record.message_id.as_ref().map(ToString::to_string),
            response_status: None,
            response_body: None,
            created_at: record.created_at.as_millis(),
            expires_at: record.expires_at.as_millis(),
        }
    }
}

impl TryFrom<IdempotencyRow> for IdempotencyRecord {
    type Error = DbError;

    fn try_from(row: IdempotencyRow) -> Result<Self, DbError> {
        let state = match (row.response_status, row.response_body) {
            (None, None) => IdempotencyState::InProgress,
            (Some(status), Some(body)) => IdempotencyState::Completed {
                status: u16::try_from(status)
                    .map_err(|e| corrupt("idempotency_keys.response_status", e))?,
                body,
            },
            (status, _) => {
                return Err(corrupt(
                    "idempotency_keys has only one of response_status and response_body",
                    format_args!("status {status:?}"),
                ));
            }
        };
        Ok(Self {
            account_id: AccountId::parse(&row.account_id)
                .map_err(|e| corrupt("idempotency_keys.account_id", e))?,
            key: IdempotencyKey::parse(&row.idempotency_key)
                .map_err(|e| corrupt("idempotency_keys.idempotency_key", e))?,
            fingerprint: row.fingerprint,
            message_id: row
                .message_id
                .map(|id| MessageId::parse(&id))
                .transpose()
                .map_err(|e| corrupt("idempotency_keys.message_id", e))?,
            state,
            created_at: Timestamp::from_millis(row.created_at),
            expires_at: Timestamp::from_millis(row.expires_at),
        })
    }
}

impl Database {
    async fn take_idempotency_key(&self, row: IdempotencyRow) -> Result<IdempotencyBegin, DbError> {
        for _ in 0..TAKE_OVER_ATTEMPTS {
            match self.insert_idempotency_row(&row).await {
                Err(error) if error.is_unique_violation() => {}
                other => return other.map(|()| IdempotencyBegin::Started),
            }
            if let Some(found) = self.take_over_idempotency_row(&row).await? {
                return Ok(found);
            }
        }
        // The key keeps being freed between our insert and our read: one last plain insert,
        // whose unique violation, if any, is reported as it is.
        self.insert_idempotency_row(&row)
            .await
            .map(|()| IdempotencyBegin::Started)
    }

    async fn insert_idempotency_row(&self, row: &IdempotencyRow) -> Result<(), DbError> {
        with_conn!(self, |conn| diesel::insert_into(idempotency_keys::table)
            .values(row)
            .execute(conn)
            .await?);
        Ok(())
    }

    /// After losing the insert: replaces the stored record if it had expired by
    /// `row.created_at` (`Started`), else returns it (`Existing`); `None` when it is gone.
    ///
    /// The replacement is an update guarded by `expires_at`, so of several callers replacing
    /// one expired record exactly one matches it: the others wait for its row lock (SQLite: for
    /// the write lock) and then find a record that has not expired.
    async fn take_over_idempotency_row(
        &self,
        row: &IdempotencyRow,
    ) -> Result<Option<IdempotencyBegin>, DbError> {
        use idempotency_keys::dsl as k;
        let pk = (row.account_id.as_str(), row.idempotency_key.as_str());
        with_tx!(self, |conn| {
            let replaced = diesel::update(k::idempotency_keys.find(pk))
                .filter(k::expires_at.le(row.created_at))
                .set((
                    k::fingerprint.eq(&row.fingerprint),
                    k::message_id.eq(&row.message_id),
                    k::response_status.eq(None::<i32>),
                    k::response_body.eq(None::<String>),
                    k::created_at.eq(row.created_at),
                    k::expires_at.eq(row.expires_at),
                ))
                .execute(conn)
                .await?;
            if replaced > 0 {
                return Ok(Some(IdempotencyBegin::Started));
            }
            let existing = k::idempotency_keys
                .find(pk)
                .select(IdempotencyRow::as_select())
                .first(conn)
                .await
                .optional()?;
            existing
                .map(|stored| IdempotencyRecord::try_from(stored).map(IdempotencyBegin::Existing))
                .transpose()
        })
    }

    async fn complete_idempotency_row(
        &self,
        pk: (&str, &str),
        message_id: Option<String>,
        status: i32,
        body: &str,
    ) -> Result<(), DbError> {
        use idempotency_keys::dsl as k;
        with_conn!(self, |conn| diesel::update(k::idempotency_keys.find(pk))
            .set((
                k::message_id.eq(&message_id),
                k::response_status.eq(Some(status)),
                k::response_body.eq(Some(body)),
            ))
            .execute(conn)
            .await?);
        Ok(())
    }

    async fn release_idempotency_row(&self, pk: (&str, &str)) -> Result<(), DbError> {
        use idempotency_keys::dsl as k;
        // A completed record stays: its response must keep being replayed.
        with_conn!(self, |conn| diesel::delete(
            k::idempotency_keys
                .find(pk)
                .filter(k::response_status.is_null())
        )
        .execute(conn)
        .await?);
        Ok(())
    }

    async fn purge_idempotency_rows(&self, now: i64) -> Result<u64, DbError> {
        use idempotency_keys::dsl as k;
        // `<=`, the same test `begin_idempotent` uses: a record is expired at its `expires_at`.
        // A DELETE reports rows actually deleted on every backend (MariaDB's found-rows quirk
        // only concerns inserts and updates).
        let deleted = with_conn!(self, |conn| diesel::delete(
            k::idempotency_keys.filter(k::expires_at.le(now))
        )
        .execute(conn)
        .await?);
        Ok(u64::try_from(deleted).unwrap_or(u64::MAX))
    }
}

#[async_trait]
impl IdempotencyStore for Database {
    async fn begin_idempotent(
        &self,
        record: &IdempotencyRecord,
    ) -> Result<IdempotencyBegin, StoreError> {
        Ok(self
            .take_idempotency_key(IdempotencyRow::in_progress(record))
            .await?)
    }

    async fn complete_idempotent(
        &self,
        account: &AccountId,
        key: &IdempotencyKey,
        message_id: Option<&MessageId>,
        status: u16,
        body: &str,
    ) -> Result<(), StoreError> {
        Ok(self
            .complete_idempotency_row(
                (account.as_str(), key.as_str()),
                message_id.map(ToString::to_string),
                i32::from(status),
                body,
            )
            .await?)
    }

    async fn release_idempotent(
        &self,
        account: &AccountId,
        key: &IdempotencyKey,
    ) -> Result<(), StoreError> {
        Ok(self
            .release_idempotency_row((account.as_str(), key.as_str()))
            .await?)
    }

    async fn purge_expired_idempotency(&self, now: Timestamp) -> Result<u64, StoreError> {
        Ok(self.purge_idempotency_rows(now.as_millis()).await?)
    }
}

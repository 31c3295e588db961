//! `DeliveryQueue` over `crm_deliveries` and `delivery_attempts`.

use std::time::Duration;

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use domain::ports::{
    AttemptRecord, DeliveryQueue, DeliveryQueueError, DeliveryWithAttempts, StoreError,
};
use domain::{
    AccountId, CrmDelivery, CrmEventType, DeliveryAttempt, DeliveryFilter, DeliveryNext,
    DeliveryStatus, EventId, MessageId, Page, PageRequest, RequestId, Timestamp,
};

use super::claim::{Guarded, claim_due_rows};
use crate::Database;
use crate::error::{DbError, corrupt, retry_conflicts};
use crate::macros::{with_conn, with_tx};
use crate::schema::{crm_deliveries, delivery_attempts};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = crm_deliveries, treat_none_as_default_value = false)]
pub(crate) struct DeliveryRow {
    id: String,
    account_id: String,
    event_type: String,
    message_id: Option<String>,
    dedupe_key: String,
    payload: String,
    status: String,
    attempts: i32,
    due_at: Option<i64>,
    last_error: Option<String>,
    created_at: i64,
    updated_at: i64,
    delivered_at: Option<i64>,
    request_id: Option<String>,
}

impl From<&CrmDelivery> for DeliveryRow {
    fn from(delivery: &CrmDelivery) -> Self {
        Self {
            id: delivery.id.to_string(),
            account_id: delivery.account_id.to_string(),
            event_type: delivery.event_type.as_str().to_owned(),
            message_id: delivery.message_id.as_ref().map(ToString::to_string),
            dedupe_key: delivery.dedupe_key.clone(),
            payload: delivery.payload.clone(),
            status: delivery.status.as_str().to_owned(),
            attempts: i32::try_from(delivery.attempts).unwrap_or(i32::MAX),
            due_at: delivery.due_at.map(Timestamp::as_millis),
            last_error: delivery.last_error.clone(),
            created_at: delivery.created_at.as_millis(),
            updated_at: delivery.updated_at.as_millis(),
            delivered_at: delivery.delivered_at.map(Timestamp::as_millis),
            request_id: delivery.request_id.as_ref().map(ToString::to_string),
        }
    }
}

impl TryFrom<DeliveryRow> for CrmDelivery {
    type Error = DbError;

    fn try_from(row: DeliveryRow) -> Result<Self, DbError> {
        Ok(Self {
            id: EventId::parse(&row.id).map_err(|e| corrupt("crm_deliveries.id", e))?,
            account_id: AccountId::parse(&row.account_id)
                .map_err(|e| corrupt("crm_deliveries.account_id", e))?,
            event_type: CrmEventType::from_name(&row.event_type)
                .ok_or_else(|| corrupt("crm_deliveries.event_type", &row.event_type))?,
            message_id: row
                .message_id
                .as_deref()
                .map(MessageId::parse)
                .transpose()
                .map_err(|e| corrupt("crm_deliveries.message_id", e))?,
            dedupe_key: row.dedupe_key,
            payload: row.payload,
            status: DeliveryStatus::from_name(&row.status)
                .ok_or_else(|| corrupt("crm_deliveries.status", &row.status))?,
            attempts: u32::try_from(row.attempts)
                .map_err(|e| corrupt("crm_deliveries.attempts", e))?,
            due_at: row.due_at.map(Timestamp::from_millis),
            last_error: row.last_error,
            created_at: Timestamp::from_millis(row.created_at),
            updated_at: Timestamp::from_millis(row.updated_at),
            delivered_at: row.delivered_at.map(Timestamp::from_millis),
            request_id: row
                .request_id
                .as_deref()
                .map(RequestId::parse)
                .transpose()
                .map_err(|e| corrupt("crm_deliveries.request_id", e))?,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = delivery_attempts)]
struct AttemptRow {
    delivery_id: String,
    attempt_number: i32,
    started_at: i64,
    http_status: Option<i32>,
    latency_ms: i64,
    error: Option<String>,
    response_excerpt: Option<String>,
}

impl AttemptRow {
    fn new(delivery: &EventId, attempt: &DeliveryAttempt) -> Self {
        Self {
            delivery_id: delivery.to_string(),
            attempt_number: i32::try_from(attempt.number).unwrap_or(i32::MAX),
            started_at: attempt.started_at.as_millis(),
            http_status: attempt.http_status.map(i32::from),
            latency_ms: i64::try_from(attempt.latency_ms).unwrap_or(i64::MAX),
            error: attempt.error.clone(),
            response_excerpt: attempt.response_excerpt.clone(),
        }
    }
}

impl TryFrom<AttemptRow> for DeliveryAttempt {
    type Error = DbError;

    fn try_from(row: AttemptRow) -> Result<Self, DbError> {
        Ok(Self {
            number: u32::try_from(row.attempt_number)
                .map_err(|e| corrupt("delivery_attempts.attempt_number", e))?,
            started_at: Timestamp::from_millis(row.started_at),
            http_status: row
                .http_status
                .map(u16::try_from)
                .transpose()
                .map_err(|e| corrupt("delivery_attempts.http_status", e))?,
            latency_ms: u64::try_from(row.latency_ms)
                .map_err(|e| corrupt("delivery_attempts.latency_ms", e))?,
            error: row.error,
            response_excerpt: row.response_excerpt,
        })
    }
}

/// The delivery columns one attempt's result sets.
struct AttemptWrite {
    status: DeliveryStatus,
    due_at: Option<i64>,
    delivered_at: Option<i64>,
    error: Option<String>,
}

impl AttemptWrite {
    fn new(attempt: &DeliveryAttempt, next: DeliveryNext, now: Timestamp) -> Self {
        let (status, due_at, delivered_at) = match next {
            DeliveryNext::Delivered => (DeliveryStatus::Delivered, None, Some(now.as_millis())),
            DeliveryNext::RetryAt(at) => (DeliveryStatus::Pending, Some(at.as_millis()), None),
            DeliveryNext::Dead => (DeliveryStatus::Failed, None, None),
        };
        Self {
            status,
            due_at,
            delivered_at,
            error: attempt.error.clone(),
        }
    }
}

fn guarded_result(guarded: Guarded<()>) -> Result<(), DeliveryQueueError> {
    match guarded {
        Guarded::Done(()) => Ok(()),
        Guarded::NotFound => Err(DeliveryQueueError::NotFound),
        Guarded::ClaimLost => Err(DeliveryQueueError::ClaimLost),
    }
}

fn queue_error(error: DbError) -> DeliveryQueueError {
    DeliveryQueueError::Store(StoreError::from(error))
}

impl Database {
    async fn claim_deliveries(
        &self,
        now: Timestamp,
        limit: u32,
        lease: Duration,
        skip_accounts: &[AccountId],
    ) -> Result<Vec<DeliveryRow>, DbError> {
        let claimed = DeliveryStatus::Delivering.as_str();
        claim_due_rows!(
            self,
            crm_deliveries,
            DeliveryRow,
            claimed,
            now,
            limit,
            lease,
            skip_accounts
        )
    }

    /// Writes each record under its claim guard, all in one transaction.
    async fn record_attempts(
        &self,
        records: &[AttemptRecord],
        now: Timestamp,
    ) -> Result<Vec<Guarded<()>>, DbError> {
        let rows: Vec<(String, i32, AttemptWrite, AttemptRow)> = records
            .iter()
            .map(|record| {
                (
                    record.id.to_string(),
                    i32::try_from(record.attempt.number).unwrap_or(i32::MAX),
                    AttemptWrite::new(&record.attempt, record.next, now),
                    AttemptRow::new(&record.id, &record.attempt),
                )
            })
            .collect();
        let now = now.as_millis();
        with_tx!(self, |conn| {
            let mut outcomes = Vec::with_capacity(rows.len());
            for (key, number, write, attempt_row) in &rows {
                let updated = diesel::update(
                    crm_deliveries::table
                        .find(key)
                        .filter(crm_deliveries::status.eq(DeliveryStatus::Delivering.as_str()))
                        .filter(crm_deliveries::attempts.eq(*number)),
                )
                .set((
                    crm_deliveries::status.eq(write.status.as_str()),
                    crm_deliveries::due_at.eq(write.due_at),
                    crm_deliveries::last_error.eq(&write.error),
                    crm_deliveries::updated_at.eq(now),
                    crm_deliveries::delivered_at.eq(write.delivered_at),
                ))
                .execute(conn)
                .await?;
                if updated == 0 {
                    let exists: i64 = crm_deliveries::table
                        .find(key)
                        .count()
                        .get_result(conn)
                        .await?;
                    outcomes.push(if exists == 0 {
                        Guarded::NotFound
                    } else {
                        Guarded::ClaimLost
                    });
                    continue;
                }
                diesel::insert_into(delivery_attempts::table)
                    .values(attempt_row)
                    .execute(conn)
                    .await?;
                outcomes.push(Guarded::Done(()));
            }
            Ok(outcomes)
        })
    }

    async fn load_delivery(&self, id: &str) -> Result<Option<DeliveryWithAttempts>, DbError> {
        let found: Option<(DeliveryRow, Vec<AttemptRow>)> = with_conn!(self, |conn| {
            let delivery: Option<DeliveryRow> = crm_deliveries::table
                .find(id)
                .select(DeliveryRow::as_select())
                .first(conn)
                .await
                .optional()?;
            match delivery {
                Some(delivery) => {
                    let attempts: Vec<AttemptRow> = delivery_attempts::table
                        .filter(delivery_attempts::delivery_id.eq(id))
                        .select(AttemptRow::as_select())
                        .order(delivery_attempts::attempt_number.asc())
                        .load(conn)
                        .await?;
                    Some((delivery, attempts))
                }
                None => None,
            }
        });
        found
            .map(|(delivery, attempts)| {
                Ok(DeliveryWithAttempts {
                    delivery: CrmDelivery::try_from(delivery)?,
                    attempts: attempts
                        .into_iter()
                        .map(DeliveryAttempt::try_from)
                        .collect::<Result<_, _>>()?,
                })
            })
            .transpose()
    }

    async fn list_delivery_rows(
        &self,
        filter: &DeliveryFilter,
        page: &PageRequest,
    ) -> Result<Vec<DeliveryRow>, DbError> {
        let limit = i64::from(page.limit) + 1;
        let status = filter.status.map(DeliveryStatus::as_str);
        let accounts: Option<Vec<String>> = filter
            .account_ids
            .as_ref()
            .map(|ids| ids.iter().map(ToString::to_string).collect());
        let rows = with_conn!(self, |conn| {
            let mut query = crm_deliveries::table
                .select(DeliveryRow::as_select())
                .order((crm_deliveries::created_at.desc(), crm_deliveries::id.desc()))
                .limit(limit)
                .into_boxed();
            if let Some(status) = status {
                query = query.filter(crm_deliveries::status.eq(status));
            }
            if let Some(accounts) = &accounts {
                query = query.filter(crm_deliveries::account_id.eq_any(accounts.clone()));
            }
            if let Some(cursor) = &page.after {
                let at = cursor.at.as_millis();
                query = query.filter(
                    crm_deliveries::created_at
                        .lt(at)
                        .or(crm_deliveries::created_at
                            .eq(at)
                            .and(crm_deliveries::id.lt(cursor.id.clone()))),
                );
            }
            query.load(conn).await?
        });
        Ok(rows)
    }

    async fn replay_failed(
        &self,
        id: &str,
        now: Timestamp,
    ) -> Result<Result<DeliveryRow, DeliveryQueueError>, DbError> {
        let now = now.as_millis();
        with_tx!(self, |conn| {
            let updated = diesel::update(
                crm_deliveries::table
                    .find(id)
                    .filter(crm_deliveries::status.eq(DeliveryStatus::Failed.as_str())),
            )
            .set((
                crm_deliveries::status.eq(DeliveryStatus::Pending.as_str()),
                crm_deliveries::due_at.eq(Some(now)),
                crm_deliveries::updated_at.eq(now),
            ))
            .execute(conn)
            .await?;
            let row: Option<DeliveryRow> = crm_deliveries::table
                .find(id)
                .select(DeliveryRow::as_select())
                .first(conn)
                .await
                .optional()?;
            Ok(match (row, updated) {
                (None, _) => Err(DeliveryQueueError::NotFound),
                (Some(_), 0) => Err(DeliveryQueueError::NotFailed),
                (Some(row), _) => Ok(row),
            })
        })
    }

    async fn recover_failed(
        &self,
        account: &str,
        since: i64,
        until: i64,
        now: i64,
    ) -> Result<usize, DbError> {
        let updated = with_conn!(self, |conn| diesel::update(
            crm_deliveries::table
                .filter(crm_deliveries::account_id.eq(account))
                .filter(crm_deliveries::status.eq(DeliveryStatus::Failed.as_str()))
                .filter(crm_deliveries::created_at.ge(since))
                .filter(crm_deliveries::created_at.lt(until)),
        )
        .set((
            crm_deliveries::status.eq(DeliveryStatus::Pending.as_str()),
            crm_deliveries::due_at.eq(Some(now)),
            crm_deliveries::updated_at.eq(now),
        ))
        .execute(conn)
        .await?);
        Ok(updated)
    }
}

#[async_trait]
impl DeliveryQueue for Database {
    async fn claim_due_deliveries(
        &self,
        now: Timestamp,
        limit: u32,
        lease: Duration,
        skip_accounts: &[AccountId],
    ) -> Result<Vec<CrmDelivery>, DeliveryQueueError> {
        let rows = retry_conflicts(|| self.claim_deliveries(now, limit, lease, skip_accounts))
            .await
            .map_err(queue_error)?;
        rows.into_iter()
            .map(CrmDelivery::try_from)
            .collect::<Result<_, _>>()
            .map_err(queue_error)
    }

    async fn record_delivery_attempt(
        &self,
        id: &EventId,
        attempt: &DeliveryAttempt,
        next: DeliveryNext,
        now: Timestamp,
    ) -> Result<(), DeliveryQueueError> {
        let record = AttemptRecord {
            id: id.clone(),
            attempt: attempt.clone(),
            next,
        };
        let mut outcomes =
            retry_conflicts(|| self.record_attempts(std::slice::from_ref(&record), now))
                .await
                .map_err(queue_error)?;
        outcomes
            .pop()
            .map_or(Err(DeliveryQueueError::NotFound), guarded_result)
    }

    async fn record_delivery_attempts(
        &self,
        records: &[AttemptRecord],
        now: Timestamp,
    ) -> Result<Vec<Result<(), DeliveryQueueError>>, DeliveryQueueError> {
        let outcomes = retry_conflicts(|| self.record_attempts(records, now))
            .await
            .map_err(queue_error)?;
        Ok(outcomes.into_iter().map(guarded_result).collect())
    }

    async fn delivery(
        &self,
        id: &EventId,
    ) -> Result<Option<DeliveryWithAttempts>, DeliveryQueueError> {
        self.load_delivery(id.as_str()).await.map_err(queue_error)
    }

    async fn list_deliveries(
        &self,
        filter: &DeliveryFilter,
        page: &PageRequest,
    ) -> Result<Page<CrmDelivery>, DeliveryQueueError> {
        let rows = self
            .list_delivery_rows(filter, page)
            .await
            .map_err(queue_error)?;
        let deliveries = rows
            .into_iter()
            .map(CrmDelivery::try_from)
            .collect::<Result<Vec<_>, _>>()
            .map_err(queue_error)?;
        Ok(super::page_of(deliveries, page.limit, |delivery| {
            (delivery.created_at, delivery.id.to_string())
        }))
    }

    async fn retry_delivery(
        &self,
        id: &EventId,
        now: Timestamp,
    ) -> Result<CrmDelivery, DeliveryQueueError> {
        let row = retry_conflicts(|| self.replay_failed(id.as_str(), now))
            .await
            .map_err(queue_error)??;
        CrmDelivery::try_from(row).map_err(queue_error)
    }

    async fn recover_deliveries(
        &self,
        account: &AccountId,
        since: Timestamp,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<u64, DeliveryQueueError> {
        let count = retry_conflicts(|| {
            self.recover_failed(
                account.as_str(),
                since.as_millis(),
                until.as_millis(),
                now.as_millis(),
            )
        })
        .await
        .map_err(queue_error)?;
        Ok(u64::try_from(count).unwrap_or(u64::MAX))
    }
}

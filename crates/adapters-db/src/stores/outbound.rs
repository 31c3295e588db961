//! `OutboundQueue` over `outbound_messages`.

use std::time::Duration;

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use domain::ports::{OutboundQueue, OutboundQueueError, StoreError};
use domain::{
    AccountId, AttachmentType, CrmDelivery, InstagramId, InstagramMessageId, MessageId,
    OutboundContent, OutboundMessage, OutboundStatus, RequestId, RuleId, SendResult, Timestamp,
};

use super::claim::{Guarded, claim_due_rows};
use super::cooldowns::ReplyKey;
use super::deliveries::DeliveryRow;
use super::echoes::link_echo;
use crate::Database;
use crate::error::{DbError, corrupt, retry_conflicts};
use crate::macros::{with_conn, with_tx};
use crate::schema::{crm_deliveries, outbound_messages};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = outbound_messages, treat_none_as_default_value = false)]
pub(crate) struct OutboundRow {
    id: String,
    account_id: String,
    recipient_id: String,
    text: Option<String>,
    attachment_type: Option<String>,
    attachment_url: Option<String>,
    status: String,
    attempts: i32,
    instagram_message_id: Option<String>,
    error_code: Option<i64>,
    error_message: Option<String>,
    rule_id: Option<String>,
    due_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
    request_id: Option<String>,
}

impl From<&OutboundMessage> for OutboundRow {
    fn from(message: &OutboundMessage) -> Self {
        let (text, attachment_type, attachment_url) = match &message.content {
            OutboundContent::Text(text) => (Some(text.clone()), None, None),
            OutboundContent::Attachment { kind, url } => {
                (None, Some(kind.as_str().to_owned()), Some(url.clone()))
            }
        };
        Self {
            id: message.id.to_string(),
            account_id: message.account_id.to_string(),
            recipient_id: message.recipient_id.to_string(),
            text,
            attachment_type,
            attachment_url,
            status: message.status.as_str().to_owned(),
            attempts: i32::try_from(message.attempts).unwrap_or(i32::MAX),
            instagram_message_id: message
                .instagram_message_id
                .as_ref()
                .map(ToString::to_string),
            error_code: message.error_code,
            error_message: message.error_message.clone(),
            rule_id: message.rule_id.as_ref().map(ToString::to_string),
            due_at: message.due_at.map(Timestamp::as_millis),
            created_at: message.created_at.as_millis(),
            updated_at: message.updated_at.as_millis(),
            request_id: message.request_id.as_ref().map(ToString::to_string),
        }
    }
}

impl TryFrom<OutboundRow> for OutboundMessage {
    type Error = DbError;

    fn try_from(row: OutboundRow) -> Result<Self, DbError> {
        let content = match (row.text, row.attachment_type, row.attachment_url) {
            (Some(text), None, None) => OutboundContent::Text(text),
            (None, Some(kind), Some(url)) => OutboundContent::Attachment {
                kind: AttachmentType::parse(&kind)
                    .map_err(|e| corrupt("outbound_messages.attachment_type", e))?,
                url,
            },
            _ => {
                return Err(corrupt(
                    "outbound_messages",
                    format!("{} has neither text nor one attachment", row.id),
                ));
            }
        };
        Ok(Self {
            id: MessageId::parse(&row.id).map_err(|e| corrupt("outbound_messages.id", e))?,
            account_id: AccountId::parse(&row.account_id)
                .map_err(|e| corrupt("outbound_messages.account_id", e))?,
            recipient_id: InstagramId::parse("recipient_id", &row.recipient_id)
                .map_err(|e| corrupt("outbound_messages.recipient_id", e))?,
            content,
            status: OutboundStatus::from_name(&row.status)
                .ok_or_else(|| corrupt("outbound_messages.status", &row.status))?,
            attempts: u32::try_from(row.attempts)
                .map_err(|e| corrupt("outbound_messages.attempts", e))?,
            instagram_message_id: row
                .instagram_message_id
                .as_deref()
                .map(|mid| InstagramMessageId::parse("instagram_message_id", mid))
                .transpose()
                .map_err(|e| corrupt("outbound_messages.instagram_message_id", e))?,
            error_code: row.error_code,
            error_message: row.error_message,
            rule_id: row
                .rule_id
                .as_deref()
                .map(RuleId::parse)
                .transpose()
                .map_err(|e| corrupt("outbound_messages.rule_id", e))?,
            due_at: row.due_at.map(Timestamp::from_millis),
            created_at: Timestamp::from_millis(row.created_at),
            updated_at: Timestamp::from_millis(row.updated_at),
            request_id: row
                .request_id
                .as_deref()
                .map(RequestId::parse)
                .transpose()
                .map_err(|e| corrupt("outbound_messages.request_id", e))?,
        })
    }
}

impl OutboundRow {
    /// What the ingest transaction's cooldown check needs of an auto-reply; `None` for a send
    /// no rule queued.
    pub(super) fn reply_key(&self) -> Option<ReplyKey<'_>> {
        Some(ReplyKey {
            rule_id: self.rule_id.as_deref()?,
            account_id: &self.account_id,
            sender_id: &self.recipient_id,
            at: self.created_at,
        })
    }
}

/// The message `$id` while attempt `$attempt` (`i32`) holds its claim: what the worker's updates
/// are guarded by.
macro_rules! claimed_row {
    ($id:expr, $attempt:expr) => {
        outbound_messages::table
            .find($id)
            .filter(outbound_messages::status.eq(OutboundStatus::Sending.as_str()))
            .filter(outbound_messages::attempts.eq($attempt))
    };
}

/// What a guarded update of the message `$id` that matched nothing ran into: the message is
/// gone, or it is no longer claimed by this attempt. Runs in the update's transaction.
macro_rules! missed {
    ($conn:expr, $id:expr) => {{
        let exists: i64 = outbound_messages::table
            .find($id)
            .count()
            .get_result($conn)
            .await?;
        if exists == 0 {
            Guarded::NotFound
        } else {
            Guarded::ClaimLost
        }
    }};
}

/// Sets `$changes` on `$target` (the claimed message `$id`, see [`claimed_row`]) in a
/// transaction: `Done`, or why the update matched nothing.
macro_rules! update_claimed {
    ($db:expr, $id:expr, $target:expr, $changes:expr) => {
        with_tx!($db, |conn| {
            let updated = diesel::update($target).set($changes).execute(conn).await?;
            if updated > 0 {
                return Ok(Guarded::Done(()));
            }
            Ok(missed!(conn, $id))
        })
    };
}

/// A guarded update's outcome as the port reports it.
fn guarded<T>(outcome: Guarded<T>) -> Result<T, OutboundQueueError> {
    match outcome {
        Guarded::Done(done) => Ok(done),
        Guarded::NotFound => Err(OutboundQueueError::NotFound),
        Guarded::ClaimLost => Err(OutboundQueueError::ClaimLost),
    }
}

fn queue_error(error: DbError) -> OutboundQueueError {
    if error.is_foreign_key_violation() {
        return OutboundQueueError::UnknownAccount;
    }
    OutboundQueueError::Store(StoreError::from(error))
}

/// The columns a finished attempt sets.
#[derive(Clone)]
struct Outcome {
    status: OutboundStatus,
    instagram_message_id: Option<String>,
    error_code: Option<i64>,
    error_message: Option<String>,
    due_at: Option<i64>,
}

impl From<SendResult> for Outcome {
    fn from(result: SendResult) -> Self {
        match result {
            SendResult::Sent {
                instagram_message_id,
            } => Self {
                status: OutboundStatus::Sent,
                instagram_message_id: Some(instagram_message_id.to_string()),
                error_code: None,
                error_message: None,
                due_at: None,
            },
            SendResult::Retry {
                retry_at,
                error_code,
                error_message,
            } => Self {
                status: OutboundStatus::Pending,
                instagram_message_id: None,
                error_code,
                error_message: Some(error_message),
                due_at: Some(retry_at.as_millis()),
            },
            SendResult::Failed {
                error_code,
                error_message,
            } => Self {
                status: OutboundStatus::Failed,
                instagram_message_id: None,
                error_code,
                error_message: Some(error_message),
                due_at: None,
            },
        }
    }
}

impl Database {
    async fn insert_outbound(&self, row: OutboundRow) -> Result<(), DbError> {
        with_conn!(self, |conn| diesel::insert_into(outbound_messages::table)
            .values(&row)
            .execute(conn)
            .await?);
        Ok(())
    }

    async fn claim_outbound(
        &self,
        now: Timestamp,
        limit: u32,
        lease: Duration,
        skip_accounts: &[AccountId],
    ) -> Result<Vec<OutboundRow>, DbError> {
        let claimed = OutboundStatus::Sending.as_str();
        claim_due_rows!(
            self,
            outbound_messages,
            OutboundRow,
            claimed,
            now,
            limit,
            lease,
            skip_accounts
        )
    }

    async fn finish(
        &self,
        id: &str,
        attempt: u32,
        outcome: Outcome,
        delivery: Option<DeliveryRow>,
        now: Timestamp,
    ) -> Result<Guarded<OutboundRow>, DbError> {
        let attempt = i32::try_from(attempt).unwrap_or(i32::MAX);
        let now = now.as_millis();
        with_tx!(self, |conn| {
            let updated = diesel::update(claimed_row!(id, attempt))
                .set((
                    outbound_messages::status.eq(outcome.status.as_str()),
                    outbound_messages::instagram_message_id.eq(&outcome.instagram_message_id),
                    outbound_messages::error_code.eq(outcome.error_code),
                    outbound_messages::error_message.eq(&outcome.error_message),
                    outbound_messages::due_at.eq(outcome.due_at),
                    outbound_messages::updated_at.eq(now),
                ))
                .execute(conn)
                .await?;
            if updated == 0 {
                return Ok(missed!(conn, id));
            }
            if let Some(delivery) = &delivery {
                diesel::insert_into(crm_deliveries::table)
                    .values(delivery)
                    .execute(conn)
                    .await?;
            }
            let row: OutboundRow = outbound_messages::table
                .find(id)
                .select(OutboundRow::as_select())
                .first(conn)
                .await?;
            if let Some(mid) = row.instagram_message_id.as_deref() {
                link_echo!(conn, id, &row.account_id, mid);
            }
            Ok(Guarded::Done(row))
        })
    }

    async fn postpone(
        &self,
        id: &str,
        attempt: u32,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<Guarded<()>, DbError> {
        let attempt = i32::try_from(attempt).unwrap_or(i32::MAX);
        update_claimed!(
            self,
            id,
            claimed_row!(id, attempt),
            (
                outbound_messages::status.eq(OutboundStatus::Pending.as_str()),
                outbound_messages::attempts.eq(attempt.saturating_sub(1).max(0)),
                outbound_messages::due_at.eq(Some(until.as_millis())),
                outbound_messages::updated_at.eq(now.as_millis()),
            )
        )
    }

    async fn fill_text(
        &self,
        id: &str,
        attempt: u32,
        text: &str,
        now: Timestamp,
    ) -> Result<Guarded<()>, DbError> {
        let attempt = i32::try_from(attempt).unwrap_or(i32::MAX);
        update_claimed!(
            self,
            id,
            claimed_row!(id, attempt).filter(outbound_messages::text.is_not_null()),
            (
                outbound_messages::text.eq(text),
                outbound_messages::updated_at.eq(now.as_millis()),
            )
        )
    }

    async fn load_sends_by_instagram_ids(
        &self,
        account: &str,
        mids: &[String],
    ) -> Result<Vec<(Option<String>, String)>, DbError> {
        let found = with_conn!(self, |conn| outbound_messages::table
            .filter(outbound_messages::account_id.eq(account))
            .filter(outbound_messages::instagram_message_id.eq_any(mids))
            .select((
                outbound_messages::instagram_message_id,
                outbound_messages::id
            ))
            .load(conn)
            .await?);
        Ok(found)
    }

    async fn load_outbound(&self, id: &str) -> Result<Option<OutboundRow>, DbError> {
        let row = with_conn!(self, |conn| outbound_messages::table
            .find(id)
            .select(OutboundRow::as_select())
            .first(conn)
            .await
            .optional()?);
        Ok(row)
    }
}

#[async_trait]
impl OutboundQueue for Database {
    async fn enqueue_outbound(&self, message: &OutboundMessage) -> Result<(), OutboundQueueError> {
        let row = OutboundRow::from(message);
        retry_conflicts(|| self.insert_outbound(row.clone()))
            .await
            .map_err(queue_error)
    }

    async fn claim_due_outbound(
        &self,
        now: Timestamp,
        limit: u32,
        lease: Duration,
        skip_accounts: &[AccountId],
    ) -> Result<Vec<OutboundMessage>, OutboundQueueError> {
        let rows = retry_conflicts(|| self.claim_outbound(now, limit, lease, skip_accounts))
            .await
            .map_err(queue_error)?;
        rows.into_iter()
            .map(OutboundMessage::try_from)
            .collect::<Result<_, _>>()
            .map_err(queue_error)
    }

    async fn finish_outbound(
        &self,
        id: &MessageId,
        attempt: u32,
        result: SendResult,
        delivery: Option<CrmDelivery>,
        now: Timestamp,
    ) -> Result<OutboundMessage, OutboundQueueError> {
        let delivery = delivery.as_ref().map(DeliveryRow::from);
        let outcome = Outcome::from(result);
        let row = guarded(
            retry_conflicts(|| {
                self.finish(id.as_str(), attempt, outcome.clone(), delivery.clone(), now)
            })
            .await
            .map_err(queue_error)?,
        )?;
        OutboundMessage::try_from(row).map_err(queue_error)
    }

    async fn postpone_outbound(
        &self,
        id: &MessageId,
        attempt: u32,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<(), OutboundQueueError> {
        guarded(
            retry_conflicts(|| self.postpone(id.as_str(), attempt, until, now))
                .await
                .map_err(queue_error)?,
        )
    }

    async fn fill_outbound_text(
        &self,
        id: &MessageId,
        attempt: u32,
        text: &str,
        now: Timestamp,
    ) -> Result<(), OutboundQueueError> {
        guarded(
            self.fill_text(id.as_str(), attempt, text, now)
                .await
                .map_err(queue_error)?,
        )
    }

    async fn sends_by_instagram_ids(
        &self,
        account: &AccountId,
        mids: &[InstagramMessageId],
    ) -> Result<Vec<(InstagramMessageId, MessageId)>, OutboundQueueError> {
        if mids.is_empty() {
            return Ok(Vec::new());
        }
        let mids: Vec<String> = mids.iter().map(ToString::to_string).collect();
        let mut found = Vec::new();
        for chunk in mids.chunks(super::ingest::INSERT_CHUNK) {
            let rows = self
                .load_sends_by_instagram_ids(account.as_str(), chunk)
                .await
                .map_err(queue_error)?;
            for (mid, id) in rows {
                let Some(mid) = mid else { continue };
                found.push((
                    InstagramMessageId::parse("instagram_message_id", &mid).map_err(|e| {
                        queue_error(corrupt("outbound_messages.instagram_message_id", e))
                    })?,
                    MessageId::parse(&id)
                        .map_err(|e| queue_error(corrupt("outbound_messages.id", e)))?,
                ));
            }
        }
        Ok(found)
    }

    async fn outbound(
        &self,
        id: &MessageId,
    ) -> Result<Option<OutboundMessage>, OutboundQueueError> {
        let row = self.load_outbound(id.as_str()).await.map_err(queue_error)?;
        row.map(OutboundMessage::try_from)
            .transpose()
            .map_err(queue_error)
    }
}

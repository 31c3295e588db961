//! `MessageStore` over `messages`: the ingest transaction and the conversation history.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use domain::ports::{MessageStore, StoreError};
use domain::{
    AccountId, Attachment, Direction, EventDetails, EventKind, InboundRecord, IngestResult,
    InstagramId, InstagramMessageId, Message, MessageId, Page, PageRequest, Timestamp,
};

use super::batch::BatchInsert;
use super::deliveries::DeliveryRow;
use super::outbound::OutboundRow;
use crate::Database;
use crate::error::{DbError, corrupt};
use crate::macros::{with_conn, with_tx};
use crate::pool::Pools;
use crate::schema::messages;

/// How often an ingest transaction is run again after losing a race to a concurrent one.
const CONFLICT_RETRIES: usize = 5;
/// Rows per multi-row INSERT: well under every backend's bind-parameter limit.
const INSERT_CHUNK: usize = 500;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = messages, treat_none_as_default_value = false)]
pub(crate) struct MessageRow {
    id: String,
    account_id: Option<String>,
    instagram_account_id: String,
    event_key: String,
    direction: String,
    kind: String,
    instagram_message_id: Option<String>,
    participant_id: String,
    sender_id: String,
    recipient_id: String,
    text: Option<String>,
    attachments: Option<String>,
    details: Option<String>,
    outbound_message_id: Option<String>,
    occurred_at: i64,
    received_at: i64,
}

impl TryFrom<&Message> for MessageRow {
    type Error = DbError;

    fn try_from(message: &Message) -> Result<Self, DbError> {
        let attachments = if message.attachments.is_empty() {
            None
        } else {
            Some(
                serde_json::to_string(&message.attachments)
                    .map_err(|e| corrupt("messages.attachments", e))?,
            )
        };
        let details = if message.details.is_empty() {
            None
        } else {
            Some(
                serde_json::to_string(&message.details)
                    .map_err(|e| corrupt("messages.details", e))?,
            )
        };
        Ok(Self {
            id: message.id.to_string(),
            account_id: message.account_id.as_ref().map(ToString::to_string),
            instagram_account_id: message.instagram_account_id.to_string(),
            event_key: message.event_key.clone(),
            direction: message.direction.as_str().to_owned(),
            kind: message.kind.as_str().to_owned(),
            instagram_message_id: message
                .instagram_message_id
                .as_ref()
                .map(ToString::to_string),
            participant_id: message.participant_id.to_string(),
            sender_id: message.sender_id.to_string(),
            recipient_id: message.recipient_id.to_string(),
            text: message.text.clone(),
            attachments,
            details,
            outbound_message_id: message
                .outbound_message_id
                .as_ref()
                .map(ToString::to_string),
            occurred_at: message.occurred_at.as_millis(),
            received_at: message.received_at.as_millis(),
        })
    }
}

impl TryFrom<MessageRow> for Message {
    type Error = DbError;

    fn try_from(row: MessageRow) -> Result<Self, DbError> {
        let instagram_id = |field: &'static str, value: &str| {
            InstagramId::parse(field, value).map_err(|e| corrupt("messages", e))
        };
        Ok(Self {
            id: MessageId::parse(&row.id).map_err(|e| corrupt("messages.id", e))?,
            account_id: row
                .account_id
                .as_deref()
                .map(AccountId::parse)
                .transpose()
                .map_err(|e| corrupt("messages.account_id", e))?,
            instagram_account_id: instagram_id("instagram_account_id", &row.instagram_account_id)?,
            event_key: row.event_key,
            direction: Direction::from_name(&row.direction)
                .ok_or_else(|| corrupt("messages.direction", &row.direction))?,
            kind: EventKind::from_name(&row.kind)
                .ok_or_else(|| corrupt("messages.kind", &row.kind))?,
            instagram_message_id: row
                .instagram_message_id
                .as_deref()
                .map(|mid| InstagramMessageId::parse("instagram_message_id", mid))
                .transpose()
                .map_err(|e| corrupt("messages.instagram_message_id", e))?,
            participant_id: instagram_id("participant_id", &row.participant_id)?,
            sender_id: instagram_id("sender_id", &row.sender_id)?,
            recipient_id: instagram_id("recipient_id", &row.recipient_id)?,
            text: row.text,
            attachments: match row.attachments {
                Some(json) => serde_json::from_str::<Vec<Attachment>>(&json)
                    .map_err(|e| corrupt("messages.attachments", e))?,
                None => Vec::new(),
            },
            details: match row.details {
                Some(json) => serde_json::from_str::<EventDetails>(&json)
                    .map_err(|e| corrupt("messages.details", e))?,
                None => EventDetails::default(),
            },
            outbound_message_id: row
                .outbound_message_id
                .as_deref()
                .map(MessageId::parse)
                .transpose()
                .map_err(|e| corrupt("messages.outbound_message_id", e))?,
            occurred_at: Timestamp::from_millis(row.occurred_at),
            received_at: Timestamp::from_millis(row.received_at),
        })
    }
}

/// The rows one ingest batch may write, already converted.
pub(super) struct IngestRows {
    /// (instagram account, event key) of each record, in batch order.
    keys: Vec<(String, String)>,
    /// Whether the record repeats an earlier record of the same batch.
    repeated: Vec<bool>,
    messages: Vec<MessageRow>,
    deliveries: Vec<Option<DeliveryRow>>,
    sends: Vec<Option<OutboundRow>>,
}

/// What one attempt at the transaction writes, decided from the keys already stored.
pub(super) struct IngestPlan {
    pub(super) results: Vec<IngestResult>,
    pub(super) messages: Vec<MessageRow>,
    pub(super) sends: Vec<OutboundRow>,
    pub(super) deliveries: Vec<DeliveryRow>,
}

impl IngestRows {
    fn new(records: &[InboundRecord]) -> Result<Self, DbError> {
        let mut seen = HashSet::with_capacity(records.len());
        let mut rows = Self {
            keys: Vec::with_capacity(records.len()),
            repeated: Vec::with_capacity(records.len()),
            messages: Vec::with_capacity(records.len()),
            deliveries: Vec::with_capacity(records.len()),
            sends: Vec::with_capacity(records.len()),
        };
        for record in records {
            let key = (
                record.message.instagram_account_id.to_string(),
                record.message.event_key.clone(),
            );
            rows.repeated.push(!seen.insert(key.clone()));
            rows.keys.push(key);
            rows.messages.push(MessageRow::try_from(&record.message)?);
            rows.deliveries
                .push(record.delivery.as_ref().map(DeliveryRow::from));
            rows.sends
                .push(record.auto_reply.as_ref().map(OutboundRow::from));
        }
        Ok(rows)
    }

    /// The event keys to look up, grouped by business account (in practice one per batch), so
    /// each lookup is a range of the unique (account, key) index.
    pub(super) fn keys_by_account(&self) -> Vec<(String, Vec<String>)> {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for (account, key) in &self.keys {
            match groups.iter_mut().find(|(seen, _)| seen == account) {
                Some((_, keys)) => keys.push(key.clone()),
                None => groups.push((account.clone(), vec![key.clone()])),
            }
        }
        groups
    }

    /// Stores each record whose key is neither already stored nor earlier in the batch.
    pub(super) fn plan(&self, existing: &HashSet<(String, String)>) -> IngestPlan {
        let mut plan = IngestPlan {
            results: Vec::with_capacity(self.keys.len()),
            messages: Vec::new(),
            sends: Vec::new(),
            deliveries: Vec::new(),
        };
        for (index, key) in self.keys.iter().enumerate() {
            if self.repeated[index] || existing.contains(key) {
                plan.results.push(IngestResult::Duplicate);
                continue;
            }
            plan.results.push(IngestResult::Stored);
            plan.messages.push(self.messages[index].clone());
            plan.sends.extend(self.sends[index].clone());
            plan.deliveries.extend(self.deliveries[index].clone());
        }
        plan
    }
}

/// Splits rows into owned chunks of at most [`INSERT_CHUNK`] (none for no rows).
pub(super) fn chunked<T>(mut rows: Vec<T>) -> Vec<Vec<T>> {
    let mut chunks = Vec::new();
    while rows.len() > INSERT_CHUNK {
        let rest = rows.split_off(INSERT_CHUNK);
        chunks.push(rows);
        rows = rest;
    }
    if !rows.is_empty() {
        chunks.push(rows);
    }
    chunks
}

impl Database {
    /// One attempt at the ingest transaction: read which keys exist, insert the rest.
    async fn ingest_once(&self, rows: &Arc<IngestRows>) -> Result<Vec<IngestResult>, DbError> {
        if let Pools::Sqlite(pool) = self.pools() {
            // Through the async wrapper every statement is a hop to the blocking pool; one hop
            // for the whole transaction makes ingest several times faster on SQLite.
            let _turn = self.sqlite_write_turn().await;
            let mut conn = pool.get().await?;
            let rows = Arc::clone(rows);
            return Ok(conn
                .spawn_blocking(move |conn| sqlite_ingest::ingest(conn, &rows))
                .await?);
        }
        let groups = rows.keys_by_account();
        with_tx!(self, |conn| {
            let mut existing: HashSet<(String, String)> = HashSet::new();
            for (account, keys) in &groups {
                for chunk in keys.chunks(INSERT_CHUNK) {
                    let found: Vec<(String, String)> = messages::table
                        .filter(messages::instagram_account_id.eq(account))
                        .filter(messages::event_key.eq_any(chunk))
                        .select((messages::instagram_account_id, messages::event_key))
                        .load(conn)
                        .await?;
                    existing.extend(found);
                }
            }
            let plan = rows.plan(&existing);
            for chunk in chunked(plan.messages) {
                conn.insert_batch(chunk).await?;
            }
            for chunk in chunked(plan.sends) {
                conn.insert_batch(chunk).await?;
            }
            for chunk in chunked(plan.deliveries) {
                conn.insert_batch(chunk).await?;
            }
            Ok(plan.results)
        })
    }

    async fn load_message(&self, id: &str) -> Result<Option<Message>, DbError> {
        let row: Option<MessageRow> = with_conn!(self, |conn| messages::table
            .find(id)
            .select(MessageRow::as_select())
            .first(conn)
            .await
            .optional()?);
        row.map(Message::try_from).transpose()
    }

    async fn load_history(
        &self,
        account: &str,
        participant: Option<&str>,
        page: &PageRequest,
    ) -> Result<Vec<Message>, DbError> {
        let limit = i64::from(page.limit) + 1;
        let rows: Vec<MessageRow> = with_conn!(self, |conn| {
            let mut query = messages::table
                .filter(messages::account_id.eq(account))
                .select(MessageRow::as_select())
                .order((messages::occurred_at.desc(), messages::id.desc()))
                .limit(limit)
                .into_boxed();
            if let Some(participant) = participant {
                query = query.filter(messages::participant_id.eq(participant));
            }
            if let Some(cursor) = &page.after {
                let at = cursor.at.as_millis();
                query = query.filter(
                    messages::occurred_at.lt(at).or(messages::occurred_at
                        .eq(at)
                        .and(messages::id.lt(cursor.id.clone()))),
                );
            }
            query.load(conn).await?
        });
        rows.into_iter().map(Message::try_from).collect()
    }
}

#[async_trait]
impl MessageStore for Database {
    async fn ingest(&self, records: Vec<InboundRecord>) -> Result<Vec<IngestResult>, StoreError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let rows = Arc::new(IngestRows::new(&records)?);
        let mut tries = 0;
        loop {
            match self.ingest_once(&rows).await {
                Ok(results) => return Ok(results),
                // A concurrent transaction committed one of our keys between our read and our
                // insert (or the backend picked us as a deadlock victim): run again, and the
                // read now sees its rows, so they become duplicates.
                Err(error) if error.is_retryable_conflict() && tries < CONFLICT_RETRIES => {
                    tries += 1
                }
                Err(error) => return Err(error.into()),
            }
        }
    }

    async fn message(&self, id: &MessageId) -> Result<Option<Message>, StoreError> {
        Ok(self.load_message(id.as_str()).await?)
    }

    async fn history(
        &self,
        account: &AccountId,
        participant: Option<&InstagramId>,
        page: &PageRequest,
    ) -> Result<Page<Message>, StoreError> {
        let messages = self
            .load_history(account.as_str(), participant.map(InstagramId::as_str), page)
            .await?;
        Ok(super::page_of(messages, page.limit, |message| {
            (message.occurred_at, message.id.to_string())
        }))
    }
}

/// The ingest transaction as synchronous diesel code, run in one blocking-pool hop on SQLite.
mod sqlite_ingest {
    use std::collections::HashSet;

    use diesel::prelude::*;
    use domain::IngestResult;

    use super::{INSERT_CHUNK, IngestRows, chunked};
    use crate::schema::{crm_deliveries, messages, outbound_messages};

    pub(super) fn ingest(
        conn: &mut SqliteConnection,
        rows: &IngestRows,
    ) -> QueryResult<Vec<IngestResult>> {
        conn.immediate_transaction(|conn| {
            let mut existing: HashSet<(String, String)> = HashSet::new();
            for (account, keys) in rows.keys_by_account() {
                for chunk in keys.chunks(INSERT_CHUNK) {
                    let found: Vec<(String, String)> = messages::table
                        .filter(messages::instagram_account_id.eq(&account))
                        .filter(messages::event_key.eq_any(chunk))
                        .select((messages::instagram_account_id, messages::event_key))
                        .load(conn)?;
                    existing.extend(found);
                }
            }
            let plan = rows.plan(&existing);
            for chunk in chunked(plan.messages) {
                diesel::insert_into(messages::table)
                    .values(&chunk)
                    .execute(conn)?;
            }
            for chunk in chunked(plan.sends) {
                diesel::insert_into(outbound_messages::table)
                    .values(&chunk)
                    .execute(conn)?;
            }
            for chunk in chunked(plan.deliveries) {
                diesel::insert_into(crm_deliveries::table)
                    .values(&chunk)
                    .execute(conn)?;
            }
            Ok(plan.results)
        })
    }
}

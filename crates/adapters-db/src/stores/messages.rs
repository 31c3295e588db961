//! `MessageStore` over `messages`: the ingest transaction and the history (the conversation,
//! which adds the sends, is in `conversation.rs`).

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use domain::ports::{MessageStore, StoreError};
use domain::{
    AccountId, Attachment, Direction, EventDetails, EventKind, HistoryEntry, InboundRecord,
    IngestResult, InstagramId, InstagramMessageId, Message, MessageId, Page, PageRequest,
    Timestamp,
};

use crate::Database;
use crate::error::{DbError, corrupt};
use crate::macros::with_conn;
use crate::schema::messages;

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

/// Whether a listing of events includes those linked to a send (`outbound_message_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Linked {
    /// Every event.
    With,
    /// Only events that are not the history entry of a send.
    Without,
}

impl Database {
    async fn load_message(&self, id: &str) -> Result<Option<Message>, DbError> {
        let row: Option<MessageRow> = with_conn!(self, |conn| messages::table
            .find(id)
            .select(MessageRow::as_select())
            .first(conn)
            .await
            .optional()?);
        row.map(Message::try_from).transpose()
    }

    /// Up to `page.limit + 1` of an account's events after `page.after`, newest first; without
    /// the events linked to a send when `linked` is [`Linked::Without`].
    pub(super) async fn load_history(
        &self,
        account: &str,
        participant: Option<&str>,
        page: &PageRequest,
        linked: Linked,
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
            if linked == Linked::Without {
                query = query.filter(messages::outbound_message_id.is_null());
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
        self.ingest_records(records).await
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
            .load_history(
                account.as_str(),
                participant.map(InstagramId::as_str),
                page,
                Linked::With,
            )
            .await?;
        Ok(super::page_of(messages, page.limit, |message| {
            (message.occurred_at, message.id.to_string())
        }))
    }

    async fn conversation(
        &self,
        account: &AccountId,
        participant: Option<&InstagramId>,
        page: &PageRequest,
    ) -> Result<Page<HistoryEntry>, StoreError> {
        let entries = self
            .load_conversation(account.as_str(), participant.map(InstagramId::as_str), page)
            .await?;
        Ok(super::page_of(entries, page.limit, |entry| {
            (entry.at(), entry.id().to_string())
        }))
    }
}

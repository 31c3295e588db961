//! The ingest transaction: a batch of inbound events with the deliveries and auto-replies they
//! cause, stored all or nothing, each event once.
//!
//! The first try assumes every event is new (Meta's redeliveries are rare) and writes with as few
//! round trips as the backend allows: one statement for a single event (PostgreSQL chains the
//! message, reply and delivery inserts in one statement with data-modifying CTEs), otherwise one
//! transaction of multi-row inserts. A unique violation means an event was already stored (or a
//! concurrent request stored it first): the next try reads which keys exist and skips them.
//! Concurrent callers' batches are committed together (`group_commit.rs`); on SQLite the whole
//! transaction runs on the writer connection in one blocking-pool hop.

use std::collections::HashSet;
use std::sync::Arc;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use domain::ports::StoreError;
use domain::{InboundRecord, IngestResult};

use super::batch::BatchInsert;
use super::cooldowns::admit_replies;
use super::cte::{With2, With3};
use super::deliveries::DeliveryRow;
use super::messages::MessageRow;
use super::outbound::OutboundRow;
use crate::Database;
use crate::error::DbError;
use crate::macros::with_tx;
use crate::pool::Pools;
use crate::schema::{crm_deliveries, messages, outbound_messages};

/// How often an ingest transaction is run again after losing a race to a concurrent one.
pub(super) const CONFLICT_RETRIES: usize = 5;
/// Rows per multi-row INSERT: well under every backend's bind-parameter limit.
pub(super) const INSERT_CHUNK: usize = 500;

/// The rows one ingest batch may write, already converted.
pub(crate) struct IngestRows {
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

    /// Several callers' batches as one; a record repeating an earlier caller's is a repeat too.
    pub(super) fn concat(members: &[Arc<IngestRows>]) -> Self {
        let mut seen = HashSet::new();
        let mut rows = Self {
            keys: Vec::new(),
            repeated: Vec::new(),
            messages: Vec::new(),
            deliveries: Vec::new(),
            sends: Vec::new(),
        };
        for member in members {
            for key in &member.keys {
                rows.repeated.push(!seen.insert(key.clone()));
                rows.keys.push(key.clone());
            }
            rows.messages.extend(member.messages.iter().cloned());
            rows.deliveries.extend(member.deliveries.iter().cloned());
            rows.sends.extend(member.sends.iter().cloned());
        }
        rows
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

    /// The keys of the records `results` says were stored.
    pub(super) fn stored_keys<'a>(
        &'a self,
        results: &'a [IngestResult],
    ) -> impl Iterator<Item = (String, String)> + 'a {
        self.keys
            .iter()
            .zip(results)
            .filter(|(_, result)| **result == IngestResult::Stored)
            .map(|(key, _)| key.clone())
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
    /// `MessageStore::ingest`: tries until the batch is stored or fails for a reason other than
    /// a lost race.
    pub(super) async fn ingest_records(
        &self,
        records: Vec<InboundRecord>,
    ) -> Result<Vec<IngestResult>, StoreError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let rows = Arc::new(IngestRows::new(&records)?);
        self.ingest_group().ingest(self, rows).await
    }

    /// Commits the ingests of several callers, one result per caller: together in one
    /// transaction, or, when that fails, each alone so one bad batch fails only its caller.
    pub(super) async fn commit_ingests(
        &self,
        members: Vec<Arc<IngestRows>>,
    ) -> Vec<Result<Vec<IngestResult>, StoreError>> {
        if let Pools::Sqlite(pools) = self.pools() {
            return super::group_commit::commit_sqlite(&pools.write, members).await;
        }
        if members.len() == 1 {
            return vec![self.ingest_with_retries(&members[0]).await];
        }
        let combined = Arc::new(IngestRows::concat(&members));
        if let Ok(mut results) = self.ingest_with_retries(&combined).await {
            return members
                .iter()
                .map(|member| Ok(results.drain(..member.keys.len()).collect()))
                .collect();
        }
        let mut alone = Vec::with_capacity(members.len());
        for member in &members {
            alone.push(self.ingest_with_retries(member).await);
        }
        alone
    }

    /// Runs the ingest transaction until it is stored or fails for a reason other than a lost
    /// race.
    async fn ingest_with_retries(
        &self,
        rows: &Arc<IngestRows>,
    ) -> Result<Vec<IngestResult>, StoreError> {
        let mut tries = 0;
        loop {
            // Redeliveries are rare, so the first try skips the lookup of stored keys.
            match self.ingest_once(rows, tries > 0).await {
                Ok(results) => return Ok(results),
                // A key is already stored, or a concurrent transaction committed one between our
                // read and our insert, or the backend picked us as a deadlock victim: run again
                // with the lookup, which now sees those rows, so they become duplicates.
                Err(error) if error.is_retryable_conflict() && tries < CONFLICT_RETRIES => {
                    tries += 1
                }
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// Stores one new event, with its reply and delivery, in a single autocommitted statement
    /// where the backend can (always on PostgreSQL, elsewhere when there is nothing but the
    /// message). `None` when it cannot: the caller uses a transaction.
    async fn store_one_in_one_statement(
        &self,
        plan: IngestPlan,
    ) -> Result<Option<Vec<IngestResult>>, DbError> {
        let IngestPlan {
            results,
            mut messages,
            mut sends,
            mut deliveries,
        } = plan;
        // An auto-reply waits on its rule's cooldown (`cooldowns.rs`): a transaction's work.
        let (Some(message), true, true, true) = (
            messages.pop(),
            messages.is_empty(),
            sends.len() + deliveries.len() <= 2,
            sends.iter().all(|send| send.reply_key().is_none()),
        ) else {
            return Ok(None);
        };
        let (send, delivery) = (sends.pop(), deliveries.pop());
        let into_messages = diesel::insert_into(messages::table).values(message);
        match self.pools() {
            Pools::Postgres(pool) => {
                let mut conn = pool.get().await?;
                let conn = &mut *conn;
                match (send, delivery) {
                    (None, None) => into_messages.execute(conn).await?,
                    (Some(send), None) => {
                        With2(
                            into_messages,
                            diesel::insert_into(outbound_messages::table).values(send),
                        )
                        .execute(conn)
                        .await?
                    }
                    (None, Some(delivery)) => {
                        With2(
                            into_messages,
                            diesel::insert_into(crm_deliveries::table).values(delivery),
                        )
                        .execute(conn)
                        .await?
                    }
                    (Some(send), Some(delivery)) => {
                        With3(
                            into_messages,
                            diesel::insert_into(outbound_messages::table).values(send),
                            diesel::insert_into(crm_deliveries::table).values(delivery),
                        )
                        .execute(conn)
                        .await?
                    }
                };
            }
            Pools::Mysql(pool) if send.is_none() && delivery.is_none() => {
                into_messages.execute(&mut *pool.get().await?).await?;
            }
            Pools::Sqlite(pools) if send.is_none() && delivery.is_none() => {
                into_messages
                    .execute(&mut *pools.write.get().await?)
                    .await?;
            }
            Pools::Mysql(_) | Pools::Sqlite(_) => return Ok(None),
        }
        Ok(Some(results))
    }

    /// One attempt at the ingest transaction: insert every record that is new. With `lookup`
    /// it first reads which keys are already stored; without, it assumes none are (the common
    /// case) and a unique violation sends the caller back with `lookup`.
    async fn ingest_once(
        &self,
        rows: &Arc<IngestRows>,
        lookup: bool,
    ) -> Result<Vec<IngestResult>, DbError> {
        if !lookup && rows.keys.len() == 1 {
            let plan = rows.plan(&HashSet::new());
            if let Some(results) = self.store_one_in_one_statement(plan).await? {
                return Ok(results);
            }
        }
        let groups = if lookup {
            rows.keys_by_account()
        } else {
            Vec::new()
        };
        // PostgreSQL and MySQL only: SQLite ingests are group-committed (`group_commit.rs`), but
        // `with_tx!` expands its SQLite arm too, which keeps it type-checked.
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
            let sends = admit_replies!(conn, plan.sends, .await);
            for chunk in chunked(plan.messages) {
                conn.insert_batch(chunk).await?;
            }
            for chunk in chunked(sends) {
                conn.insert_batch(chunk).await?;
            }
            for chunk in chunked(plan.deliveries) {
                conn.insert_batch(chunk).await?;
            }
            Ok(plan.results)
        })
    }
}

//! Group commit for ingest.
//!
//! Concurrent ingests queue for a turn to commit (one at a time on SQLite, which has one writer
//! anyway; a few at once on PostgreSQL and MySQL). Whoever gets a turn commits every ingest queued
//! by then in one transaction and hands each caller its own results; callers whose records were
//! committed by someone else find their answer waiting when their turn comes. One commit for many
//! requests is what lets the ingest path beat one-row-per-transaction rates under concurrency. A
//! group that fails is retried one caller at a time, so one bad batch never fails another's.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use diesel::prelude::*;
use domain::IngestResult;
use domain::ports::StoreError;
use tokio::sync::{Semaphore, oneshot};

use super::cooldowns::admit_replies;
use super::ingest::{INSERT_CHUNK, IngestRows, chunked};
use crate::Database;
use crate::error::DbError;
use crate::pool::SqlitePool;
use crate::schema::{crm_deliveries, messages, outbound_messages};

type Reply = oneshot::Sender<Result<Vec<IngestResult>, StoreError>>;

/// Ingests waiting for their turn to commit.
pub(crate) struct GroupQueue {
    waiting: Mutex<Vec<(Arc<IngestRows>, Reply)>>,
    /// How many groups may commit at once: one on SQLite, a few on the server databases.
    turns: Semaphore,
}

impl GroupQueue {
    /// A queue letting `concurrent` groups commit at once.
    pub(crate) fn new(concurrent: usize) -> Self {
        Self {
            waiting: Mutex::new(Vec::new()),
            turns: Semaphore::new(concurrent.max(1)),
        }
    }

    /// Stores `rows`, in a group with whatever else is queued when a turn is free.
    pub(crate) async fn ingest(
        &self,
        db: &Database,
        rows: Arc<IngestRows>,
    ) -> Result<Vec<IngestResult>, StoreError> {
        let (reply, mut answer) = oneshot::channel();
        self.lock().push((rows, reply));
        let _turn = self
            .turns
            .acquire()
            .await
            .map_err(|error| StoreError::Backend(Box::new(error)))?;
        match answer.try_recv() {
            Ok(done) => return done,
            // The caller that took our records was cancelled before it answered: whether they
            // were committed is unknown. Unavailable makes Meta retry; a retry is deduplicated.
            Err(oneshot::error::TryRecvError::Closed) => {
                return Err(StoreError::Unavailable(
                    "the ingest group holding this batch was cancelled".into(),
                ));
            }
            Err(oneshot::error::TryRecvError::Empty) => {}
        }
        let group = std::mem::take(&mut *self.lock());
        let (members, replies): (Vec<_>, Vec<_>) = group.into_iter().unzip();
        let outcomes = db.commit_ingests(members).await;
        for (reply, outcome) in replies.into_iter().zip(outcomes) {
            // A caller that gave up (its request was cancelled) no longer listens.
            let _ = reply.send(outcome);
        }
        answer.await.unwrap_or_else(|_| {
            Err(StoreError::Corrupt(
                "an ingest group lost a caller's result".to_owned(),
            ))
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(Arc<IngestRows>, Reply)>> {
        // The queue is only pushed to and emptied; a panic elsewhere cannot leave it half-done.
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Commits a group on SQLite's writer connection: together in one transaction, or each member
/// alone when that fails.
pub(crate) async fn commit_sqlite(
    writer: &SqlitePool,
    members: Vec<Arc<IngestRows>>,
) -> Vec<Result<Vec<IngestResult>, StoreError>> {
    let mut conn = match writer.get().await {
        Ok(conn) => conn,
        Err(error) => {
            let error = StoreError::from(DbError::from(error));
            let mut failed = Vec::with_capacity(members.len());
            failed.push(Err(error));
            failed.extend((1..members.len()).map(|_| {
                Err(StoreError::Unavailable(
                    "no sqlite writer connection".into(),
                ))
            }));
            return failed;
        }
    };
    let members = Arc::new(members);
    let shared = Arc::clone(&members);
    match conn
        .spawn_blocking(move |conn| commit_group(conn, &shared))
        .await
    {
        Ok(results) => results.into_iter().map(Ok).collect(),
        Err(_) if members.len() > 1 => {
            let mut alone = Vec::with_capacity(members.len());
            for member in members.iter() {
                let member = Arc::new(vec![Arc::clone(member)]);
                let result = conn
                    .spawn_blocking(move |conn| commit_group(conn, &member))
                    .await;
                alone.push(match result {
                    Ok(mut results) => Ok(results.pop().unwrap_or_default()),
                    Err(error) => Err(StoreError::from(DbError::from(error))),
                });
            }
            alone
        }
        Err(error) => vec![Err(StoreError::from(DbError::from(error)))],
    }
}

/// Inserts rows in chunks; a single row uses the single-row statement, which SQLite prepares
/// once and caches.
macro_rules! insert_all {
    ($conn:expr, $table:expr, $rows:expr) => {
        for chunk in chunked($rows) {
            match chunk.as_slice() {
                [row] => diesel::insert_into($table).values(row).execute($conn)?,
                _ => diesel::insert_into($table).values(&chunk).execute($conn)?,
            };
        }
    };
}

/// One `BEGIN IMMEDIATE` transaction storing every member's new events; later members see
/// earlier members' events as duplicates. Results per member, in order.
fn commit_group(
    conn: &mut SqliteConnection,
    members: &[Arc<IngestRows>],
) -> QueryResult<Vec<Vec<IngestResult>>> {
    conn.immediate_transaction(|conn| {
        let mut existing: HashSet<(String, String)> = HashSet::new();
        for member in members {
            for (account, keys) in member.keys_by_account() {
                for chunk in keys.chunks(INSERT_CHUNK) {
                    let found: Vec<(String, String)> = messages::table
                        .filter(messages::instagram_account_id.eq(&account))
                        .filter(messages::event_key.eq_any(chunk))
                        .select((messages::instagram_account_id, messages::event_key))
                        .load(conn)?;
                    existing.extend(found);
                }
            }
        }
        let mut results = Vec::with_capacity(members.len());
        for member in members {
            let plan = member.plan(&existing);
            existing.extend(member.stored_keys(&plan.results));
            insert_all!(conn, messages::table, plan.messages);
            let sends = admit_replies!(conn, plan.sends,);
            insert_all!(conn, outbound_messages::table, sends);
            insert_all!(conn, crm_deliveries::table, plan.deliveries);
            results.push(plan.results);
        }
        Ok(results)
    })
}

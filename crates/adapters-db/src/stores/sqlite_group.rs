//! Group commit for ingest on SQLite.
//!
//! SQLite runs one write transaction at a time, so concurrent ingests queue for the one writer
//! connection anyway. Whoever gets the connection commits every ingest queued by then in one
//! transaction and hands each caller its own results; callers whose records were committed by
//! someone else find their answer waiting when their turn comes. One commit for many requests is
//! what lets SQLite keep up with concurrent webhooks. A group that fails is retried one caller at
//! a time, so one bad batch never fails another caller's.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use diesel::prelude::*;
use domain::IngestResult;
use domain::ports::StoreError;
use tokio::sync::oneshot;

use super::ingest::{INSERT_CHUNK, IngestRows, chunked};
use crate::error::DbError;
use crate::pool::SqlitePool;
use crate::schema::{crm_deliveries, messages, outbound_messages};

type Reply = oneshot::Sender<Result<Vec<IngestResult>, StoreError>>;

/// Ingests waiting for the writer connection.
#[derive(Default)]
pub(crate) struct GroupQueue {
    waiting: Mutex<Vec<(Arc<IngestRows>, Reply)>>,
}

impl GroupQueue {
    /// Stores `rows`, in a group with whatever else is queued when the writer is free.
    pub(crate) async fn ingest(
        &self,
        writer: &SqlitePool,
        rows: Arc<IngestRows>,
    ) -> Result<Vec<IngestResult>, StoreError> {
        let (reply, mut answer) = oneshot::channel();
        self.lock().push((rows, reply));
        let mut conn = writer.get().await.map_err(DbError::from)?;
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
        let members = Arc::new(members);
        let shared = Arc::clone(&members);
        let outcome = conn
            .spawn_blocking(move |conn| commit_group(conn, &shared))
            .await;
        let outcomes: Vec<Result<Vec<IngestResult>, StoreError>> = match outcome {
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
        };
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
            insert_all!(conn, outbound_messages::table, plan.sends);
            insert_all!(conn, crm_deliveries::table, plan.deliveries);
            results.push(plan.results);
        }
        Ok(results)
    })
}

//! `QueueStats` over the two queue tables' `due_at` index.
//!
//! Both queues keep `due_at` set while a row is unfinished (the next attempt, or the end of the
//! claim on the attempt under way) and NULL once it is final (`stores/claim.rs`), and both
//! tables index it (`deliveries_due`, `outbound_due`). So the depth is a count over the index's
//! non-NULL range, the rows due now a count over its `<= now` range, and the oldest due time its
//! first entry: no finished row is ever read, however long the history.

use async_trait::async_trait;
use diesel::dsl::{count_star, min};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use domain::Timestamp;
use domain::ports::{QueueDepth, QueueDepths, QueueStats, StoreError};

use crate::Database;
use crate::error::DbError;
use crate::macros::with_conn;
use crate::schema::{crm_deliveries, outbound_messages};

/// The depth of queue table `$table` (a `crate::schema` module) at `$now` (epoch ms), on
/// connection `$conn`. A macro because diesel's DSL is typed per table; both queues share the
/// `due_at` column.
macro_rules! depth_of {
    ($conn:expr, $table:ident, $now:expr) => {{
        let unfinished: i64 = $table::table
            .filter($table::due_at.is_not_null())
            .count()
            .get_result($conn)
            .await?;
        let (due, oldest): (i64, Option<i64>) = $table::table
            .filter($table::due_at.le($now))
            .select((count_star(), min($table::due_at)))
            .get_result($conn)
            .await?;
        QueueDepth {
            unfinished: u64::try_from(unfinished).unwrap_or(0),
            due: u64::try_from(due).unwrap_or(0),
            oldest_due_at: oldest.map(Timestamp::from_millis),
        }
    }};
}

impl Database {
    async fn read_queue_depths(&self, now: i64) -> Result<QueueDepths, DbError> {
        with_conn!(self, |conn| {
            let deliveries = depth_of!(conn, crm_deliveries, now);
            let sends = depth_of!(conn, outbound_messages, now);
            Ok(QueueDepths { deliveries, sends })
        })
    }
}

#[async_trait]
impl QueueStats for Database {
    async fn queue_depths(&self, now: Timestamp) -> Result<QueueDepths, StoreError> {
        Ok(self.read_queue_depths(now.as_millis()).await?)
    }
}

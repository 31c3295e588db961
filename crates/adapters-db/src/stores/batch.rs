//! Multi-row INSERTs: one statement per chunk of rows on every backend.
//!
//! diesel implements multi-row inserts for SQLite only on its synchronous `SqliteConnection`,
//! so on SQLite the insert runs on the wrapped connection in the blocking pool (inside the same
//! transaction); PostgreSQL and MySQL take the statement directly.

use std::future::Future;

use diesel::QueryResult;
use diesel_async::{AsyncMysqlConnection, AsyncPgConnection};

use crate::pool::SqliteConn;

/// Inserts many rows of one table in one statement.
pub(crate) trait BatchInsert<Row> {
    /// Inserts `rows`; returns how many were inserted.
    fn insert_batch(&mut self, rows: Vec<Row>) -> impl Future<Output = QueryResult<usize>> + Send;
}

macro_rules! batch_insert {
    ($row:ty, $table:path) => {
        batch_insert!($row, $table, AsyncPgConnection, AsyncMysqlConnection);
    };
    ($row:ty, $table:path, $($async_conn:ty),+) => {
        impl BatchInsert<$row> for SqliteConn {
            fn insert_batch(
                &mut self,
                rows: Vec<$row>,
            ) -> impl Future<Output = QueryResult<usize>> + Send {
                self.spawn_blocking(move |conn| {
                    diesel::RunQueryDsl::execute(diesel::insert_into($table).values(&rows), conn)
                })
            }
        }

        $(impl BatchInsert<$row> for $async_conn {
            fn insert_batch(
                &mut self,
                rows: Vec<$row>,
            ) -> impl Future<Output = QueryResult<usize>> + Send {
                async move {
                    // One row goes through the single-row statement, which the driver prepares
                    // once and caches; a multi-row statement is prepared anew for each size.
                    match <[$row; 1]>::try_from(rows) {
                        Ok([row]) => {
                            diesel_async::RunQueryDsl::execute(
                                diesel::insert_into($table).values(row),
                                self,
                            )
                            .await
                        }
                        Err(rows) => {
                            diesel_async::RunQueryDsl::execute(
                                diesel::insert_into($table).values(rows),
                                self,
                            )
                            .await
                        }
                    }
                }
            }
        })+
    };
}

batch_insert!(super::messages::MessageRow, crate::schema::messages::table);
batch_insert!(
    super::deliveries::DeliveryRow,
    crate::schema::crm_deliveries::table
);
batch_insert!(
    super::outbound::OutboundRow,
    crate::schema::outbound_messages::table
);

//! The two macros that let each query be written once for all three backends.
//!
//! Each expands its body once per backend with `$conn` bound to that backend's concrete
//! connection type, so every arm is type-checked against its own SQL dialect. Code that truly
//! differs per backend (claims, multi-row inserts) matches on `Database::backend` instead.

/// Runs `$body` with `$conn: &mut Connection` taken from the pool. Use inside an `async fn`
/// returning `Result<_, DbError>`.
macro_rules! with_conn {
    ($db:expr, |$conn:ident| $body:expr) => {{
        match $db.pools() {
            $crate::pool::Pools::Sqlite(pools) => {
                let mut pooled = pools
                    .read
                    .get()
                    .await
                    .map_err($crate::error::DbError::from)?;
                let $conn = &mut *pooled;
                $body
            }
            $crate::pool::Pools::Postgres(pool) => {
                let mut pooled = pool.get().await.map_err($crate::error::DbError::from)?;
                let $conn = &mut *pooled;
                $body
            }
            $crate::pool::Pools::Mysql(pool) => {
                let mut pooled = pool.get().await.map_err($crate::error::DbError::from)?;
                let $conn = &mut *pooled;
                $body
            }
        }
    }};
}

/// Runs `$body` in one transaction; its `Err` rolls everything back. On SQLite the transaction
/// is `BEGIN IMMEDIATE`: it takes the write lock up front, so writers in other processes queue on
/// the busy timeout instead of one failing when it upgrades from reading to writing; writers in
/// this process queue for the one writer connection first.
macro_rules! with_tx {
    ($db:expr, |$conn:ident| $body:expr) => {{
        match $db.pools() {
            $crate::pool::Pools::Sqlite(pools) => {
                let mut pooled = pools
                    .write
                    .get()
                    .await
                    .map_err($crate::error::DbError::from)?;
                pooled
                    .immediate_transaction(async |$conn| -> Result<_, $crate::error::DbError> {
                        $body
                    })
                    .await
            }
            $crate::pool::Pools::Postgres(pool) => {
                let mut pooled = pool.get().await.map_err($crate::error::DbError::from)?;
                diesel_async::AsyncConnection::transaction(
                    &mut *pooled,
                    async |$conn| -> Result<_, $crate::error::DbError> { $body },
                )
                .await
            }
            $crate::pool::Pools::Mysql(pool) => {
                let mut pooled = pool.get().await.map_err($crate::error::DbError::from)?;
                diesel_async::AsyncConnection::transaction(
                    &mut *pooled,
                    async |$conn| -> Result<_, $crate::error::DbError> { $body },
                )
                .await
            }
        }
    }};
}

pub(crate) use with_conn;
pub(crate) use with_tx;

//! igrouter's storage adapter: every store port of `domain` over SQLite, PostgreSQL and
//! MySQL/MariaDB, from one code path (diesel + diesel-async).
//!
//! [`Database`] implements all the ports. The `DATABASE_URL` scheme picks the backend; queries are
//! written once and expanded per backend by the macros in `macros.rs`; only claims and a few
//! inserts differ per dialect. Row structs stay private and convert into domain types.

mod checkpoint;
mod error;
mod macros;
mod migrations;
mod pool;
mod schema;
mod stores;
mod url;

#[cfg(feature = "test-support")]
pub mod testing;

use domain::ports::{HealthCheck, StoreError};

pub use migrations::{
    MIGRATION_LOCK_TIMEOUT, MYSQL_MIGRATION_LOCK_NAME, MigrationError, POSTGRES_MIGRATION_LOCK_KEY,
};
pub use pool::{PoolBuildError, PoolOptions};
pub use url::{Backend, DatabaseUrl, DatabaseUrlError, redact};

use crate::error::DbError;
use crate::macros::with_conn;
use crate::pool::Pools;

/// A pooled connection to igrouter's database. Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct Database {
    pools: Pools,
    url: DatabaseUrl,
    /// Concurrent ingests, committed together.
    ingest_group: std::sync::Arc<stores::GroupQueue>,
}

impl Database {
    /// Builds a pool for `url`. Connections are opened on first use, so an unreachable database
    /// shows up as `StoreError::Unavailable` on the first query, not here.
    ///
    /// # Errors
    /// [`PoolBuildError`] when the pool settings are unusable.
    pub fn connect(url: &DatabaseUrl, options: PoolOptions) -> Result<Self, PoolBuildError> {
        // SQLite commits one group at a time on its one writer. The servers commit as many at
        // once as the pool has connections, so groups form only when every connection is busy:
        // then callers that would queue for a connection are committed together instead (a lone
        // event keeps its one-statement fast path).
        let turns = match url.backend() {
            Backend::Sqlite => 1,
            Backend::Postgres | Backend::Mysql => options.max_connections,
        };
        Ok(Self {
            pools: Pools::build(url, options)?,
            url: url.clone(),
            ingest_group: std::sync::Arc::new(stores::GroupQueue::new(turns)),
        })
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.url.backend()
    }

    /// Applies every pending migration; returns the versions applied. It first takes the
    /// database's migration lock (on SQLite, its write lock), so instances starting together
    /// apply each migration once: the others wait (at most [`MIGRATION_LOCK_TIMEOUT`]) and then
    /// find nothing pending.
    ///
    /// # Errors
    /// [`MigrationError`] when the database is unreachable, another instance holds the lock for
    /// the whole wait, or a migration fails.
    pub async fn run_migrations(&self) -> Result<Vec<String>, MigrationError> {
        migrations::migrate(&self.url, migrations::Direction::Up, MIGRATION_LOCK_TIMEOUT).await
    }

    /// Reverts every migration, dropping all of igrouter's tables. For tests of the migrations
    /// themselves; never called by the service.
    ///
    /// # Errors
    /// [`MigrationError`] when the database is unreachable or a down migration fails.
    pub async fn revert_all_migrations(&self) -> Result<Vec<String>, MigrationError> {
        migrations::migrate(
            &self.url,
            migrations::Direction::DownAll,
            MIGRATION_LOCK_TIMEOUT,
        )
        .await
    }

    /// How each connection pool is used right now, for metrics: one entry on PostgreSQL and
    /// MySQL (`main`), two on SQLite (`read`, and `write`, its one writer connection).
    pub fn pool_usage(&self) -> Vec<PoolUsage> {
        let usage = |pool: &'static str, status: deadpool::Status| PoolUsage {
            pool,
            max_size: status.max_size,
            open: status.size,
            idle: status.available,
            waiting: status.waiting,
        };
        match &self.pools {
            Pools::Sqlite(pools) => vec![
                usage("read", pools.read.status()),
                usage("write", pools.write.status()),
            ],
            Pools::Postgres(pool) => vec![usage("main", pool.status())],
            Pools::Mysql(pool) => vec![usage("main", pool.status())],
        }
    }

    pub(crate) fn pools(&self) -> &Pools {
        &self.pools
    }

    pub(crate) fn ingest_group(&self) -> &stores::GroupQueue {
        &self.ingest_group
    }

    async fn select_one(&self) -> Result<(), DbError> {
        use diesel_async::RunQueryDsl;
        let one: i32 = with_conn!(self, |conn| diesel::select(diesel::dsl::sql::<
            diesel::sql_types::Integer,
        >("1"))
        .get_result(conn)
        .await?);
        if one == 1 {
            Ok(())
        } else {
            Err(error::corrupt("select 1 returned", one))
        }
    }
}

/// One connection pool's use at one moment ([`Database::pool_usage`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    /// Which pool: `main`, or SQLite's `read` and `write`.
    pub pool: &'static str,
    /// Most connections the pool opens.
    pub max_size: usize,
    /// Connections open now, idle or lent out.
    pub open: usize,
    /// Of those, idle ones waiting in the pool.
    pub idle: usize,
    /// Callers waiting for a connection.
    pub waiting: usize,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl HealthCheck for Database {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(self.select_one().await?)
    }
}

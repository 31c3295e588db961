//! Connection pools, one variant per backend, and the settings every connection gets.

use std::time::Duration;

use deadpool::managed::{Manager, Metrics, RecycleError, RecycleResult};
use diesel::SqliteConnection;
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::result::ConnectionError;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, PoolError, RecyclingMethod,
};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{
    AsyncConnection, AsyncMysqlConnection, AsyncPgConnection, SimpleAsyncConnection,
};

use crate::checkpoint::Checkpointer;
use crate::url::{Backend, DatabaseUrl};

/// SQLite through diesel-async's wrapper, which runs each call on tokio's blocking pool.
pub(crate) type SqliteConn = SyncConnectionWrapper<SqliteConnection>;

/// A pool of SQLite connections, with the recycling check SQLite needs (see [`SqliteManager`]).
pub(crate) type SqlitePool = deadpool::managed::Pool<SqliteManager>;

/// Pragmas for every SQLite connection: WAL so readers never block the writer, NORMAL sync (safe
/// with WAL: a power cut may lose the last commits but never corrupts), a busy timeout so
/// writers queue instead of failing, foreign keys, which SQLite leaves off by default, and
/// checkpoints left to the [`Checkpointer`] up to a backstop of 4000 pages
/// ([`crate::checkpoint`]).
/// The busy timeout comes first: switching to WAL needs a moment alone with the file.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 4000;";

/// Pool settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolOptions {
    /// Most connections open at once.
    pub max_connections: usize,
    /// How long a caller waits for a connection (or to open one) before the database counts as
    /// unavailable.
    pub acquire_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// A pool for whichever backend the URL named.
#[derive(Clone)]
pub(crate) enum Pools {
    Sqlite(SqlitePools),
    Postgres(Pool<AsyncPgConnection>),
    Mysql(Pool<AsyncMysqlConnection>),
}

/// SQLite's pools: readers, and one writer connection.
///
/// SQLite runs one write at a time anyway. Giving every write the same connection keeps its page
/// cache warm (a connection's cache is dropped whenever another connection has written), and
/// queueing writers on that one connection, in-process, is cheaper and fairer than letting them
/// collide on the file lock and back off in SQLite's busy handler.
#[derive(Clone)]
pub(crate) struct SqlitePools {
    /// For queries.
    pub(crate) read: SqlitePool,
    /// Size one: every write transaction.
    pub(crate) write: SqlitePool,
    /// Checkpoints the WAL off the writer while the pools live.
    _checkpointer: Option<Checkpointer>,
}

/// The pool could not be built (a bug in the settings, not an unreachable database: pools open
/// connections lazily).
#[derive(Debug, thiserror::Error)]
#[error("could not build the connection pool")]
pub struct PoolBuildError(#[source] deadpool::managed::BuildError);

impl Pools {
    pub(crate) fn build(url: &DatabaseUrl, options: PoolOptions) -> Result<Self, PoolBuildError> {
        match url.backend() {
            Backend::Sqlite => {
                let writer = PoolOptions {
                    max_connections: 1,
                    ..options
                };
                let manager = || SqliteManager {
                    path: url.target().to_owned(),
                };
                Ok(Self::Sqlite(SqlitePools {
                    read: build_pool(manager(), options)?,
                    write: build_pool(manager(), writer)?,
                    _checkpointer: Checkpointer::start(url.target()),
                }))
            }
            Backend::Postgres => build_pool(fast_manager(url), options).map(Self::Postgres),
            Backend::Mysql => build_pool(fast_manager(url), options).map(Self::Mysql),
        }
    }
}

/// Opens SQLite connections with [`SQLITE_PRAGMAS`] and checks each one before reuse.
///
/// diesel-async's wrapper runs every call on the blocking pool. When the future of a call is
/// dropped (a cancelled request, a timeout around a store call) the blocking task still runs and
/// still holds the connection; diesel-async's own pool check then panics on the shared state, and
/// a cancelled transaction may still be open. This manager's check queues behind any such task
/// (a no-op on the same connection waits for its lock) and throws away a connection left inside
/// a transaction, so a reused connection is always idle and outside any transaction.
pub(crate) struct SqliteManager {
    path: String,
}

impl Manager for SqliteManager {
    type Type = SqliteConn;
    type Error = PoolError;

    async fn create(&self) -> Result<SqliteConn, PoolError> {
        let mut conn = SqliteConn::establish(&self.path)
            .await
            .map_err(PoolError::ConnectionError)?;
        conn.batch_execute(SQLITE_PRAGMAS).await.map_err(|error| {
            PoolError::ConnectionError(ConnectionError::CouldntSetupConfiguration(error))
        })?;
        Ok(conn)
    }

    async fn recycle(&self, conn: &mut SqliteConn, _: &Metrics) -> RecycleResult<PoolError> {
        let idle = conn
            .spawn_blocking(|inner| {
                let status = AnsiTransactionManager::transaction_manager_status_mut(inner);
                Ok(matches!(status.transaction_depth(), Ok(None)))
            })
            .await
            .map_err(|error| RecycleError::Backend(PoolError::QueryError(error)))?;
        if idle {
            Ok(())
        } else {
            Err(RecycleError::Message(
                "a cancelled transaction left the connection inside a transaction".into(),
            ))
        }
    }
}

/// A manager that hands out connections without a ping: a dead connection shows up as a query
/// error (mapped to "unavailable") and is dropped, which saves a round trip per request.
fn fast_manager<C>(url: &DatabaseUrl) -> AsyncDieselConnectionManager<C>
where
    C: diesel_async::pooled_connection::PoolableConnection + 'static,
{
    let mut config = ManagerConfig::<C>::default();
    config.recycling_method = RecyclingMethod::Fast;
    AsyncDieselConnectionManager::new_with_config(url.target(), config)
}

fn build_pool<M: Manager>(
    manager: M,
    options: PoolOptions,
) -> Result<deadpool::managed::Pool<M>, PoolBuildError> {
    deadpool::managed::Pool::builder(manager)
        .max_size(options.max_connections)
        .runtime(deadpool::Runtime::Tokio1)
        .wait_timeout(Some(options.acquire_timeout))
        .create_timeout(Some(options.acquire_timeout))
        .build()
        .map_err(PoolBuildError)
}

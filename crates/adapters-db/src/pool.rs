//! Connection pools, one variant per backend, and the settings every connection gets.

use std::time::Duration;

use diesel::SqliteConnection;
use diesel::result::ConnectionError;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{
    AsyncConnection, AsyncMysqlConnection, AsyncPgConnection, SimpleAsyncConnection,
};
use futures::FutureExt;

use crate::url::{Backend, DatabaseUrl};

/// SQLite through diesel-async's wrapper, which runs each call on tokio's blocking pool.
pub(crate) type SqliteConn = SyncConnectionWrapper<SqliteConnection>;

/// Pragmas for every SQLite connection: WAL so readers never block the writer, NORMAL sync (safe
/// with WAL: a power cut may lose the last commits but never corrupts), a busy timeout so
/// writers queue instead of failing, and foreign keys, which SQLite leaves off by default.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
     PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;";

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
    pub(crate) read: Pool<SqliteConn>,
    /// Size one: every write transaction.
    pub(crate) write: Pool<SqliteConn>,
    /// Ingests waiting for `write`, committed together.
    pub(crate) group: std::sync::Arc<crate::stores::sqlite_group::GroupQueue>,
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
                Ok(Self::Sqlite(SqlitePools {
                    read: build_pool(sqlite_manager(url), options)?,
                    write: build_pool(sqlite_manager(url), writer)?,
                    group: std::sync::Arc::default(),
                }))
            }
            Backend::Postgres => build_pool(fast_manager(url), options).map(Self::Postgres),
            Backend::Mysql => build_pool(fast_manager(url), options).map(Self::Mysql),
        }
    }
}

/// A SQLite manager whose connections get [`SQLITE_PRAGMAS`].
fn sqlite_manager(url: &DatabaseUrl) -> AsyncDieselConnectionManager<SqliteConn> {
    let mut config = ManagerConfig::<SqliteConn>::default();
    config.recycling_method = RecyclingMethod::Fast;
    config.custom_setup = Box::new(|path| {
        let path = path.to_owned();
        async move {
            let mut conn = SqliteConn::establish(&path).await?;
            conn.batch_execute(SQLITE_PRAGMAS)
                .await
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
            Ok(conn)
        }
        .boxed()
    });
    AsyncDieselConnectionManager::new_with_config(url.target(), config)
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

fn build_pool<C>(
    manager: AsyncDieselConnectionManager<C>,
    options: PoolOptions,
) -> Result<Pool<C>, PoolBuildError>
where
    C: diesel_async::pooled_connection::PoolableConnection + 'static,
    AsyncDieselConnectionManager<C>: deadpool::managed::Manager<Type = C>,
{
    Pool::builder(manager)
        .max_size(options.max_connections)
        .runtime(deadpool::Runtime::Tokio1)
        .wait_timeout(Some(options.acquire_timeout))
        .create_timeout(Some(options.acquire_timeout))
        .build()
        .map_err(PoolBuildError)
}

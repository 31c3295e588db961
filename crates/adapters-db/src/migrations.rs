//! Schema migrations, one tree per dialect, embedded in the binary, applied under a
//! database-wide lock so that instances starting together do not race.

use std::time::{Duration, Instant};

use diesel::SqliteConnection;
use diesel::sql_types::{BigInt, Bool, Nullable};
use diesel::{QueryableByName, RunQueryDsl};
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::{AsyncMysqlConnection, AsyncPgConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::url::{Backend, DatabaseUrl};

const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
const MYSQL: EmbeddedMigrations = embed_migrations!("../../migrations/mysql");

/// Key of the PostgreSQL session advisory lock held while migrating (`"igrouter"` in ASCII).
/// Advisory locks are per database, so it serialises every igrouter migrating that database.
pub const POSTGRES_MIGRATION_LOCK_KEY: i64 = 0x6967_726f_7574_6572;

/// SQL expression naming the MySQL/MariaDB user lock (`GET_LOCK`) held while migrating. User
/// locks are per server, so the name carries the current database (hashed: names are limited to
/// 64 characters, database names alone may take 64): igrouter databases sharing one server
/// migrate independently, instances of one database take turns.
pub const MYSQL_MIGRATION_LOCK_NAME: &str = "CONCAT('igrouter_migrations:', MD5(DATABASE()))";

/// How long an instance waits for another one's migrations before giving up.
pub const MIGRATION_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// Between two `pg_try_advisory_lock` attempts. The blocking `pg_advisory_lock` has no timeout
/// of its own (`lock_timeout` would end it with an error indistinguishable from others except by
/// a localised message), so the wait is polled.
const POSTGRES_LOCK_POLL: Duration = Duration::from_millis(100);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Migrations could not be applied or reverted.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    /// The database could not be reached.
    #[error("database unavailable for migrations")]
    Unavailable(#[source] BoxError),
    /// Another instance held the migration lock for the whole wait: it is still migrating, or
    /// a session of it hangs holding the lock.
    #[error(
        "timed out after {} s waiting for the migration lock held by another instance",
        .0.as_secs()
    )]
    LockTimeout(Duration),
    /// A migration failed (on MySQL/MariaDB, DDL auto-commits: a half-applied migration must be
    /// repaired by hand).
    #[error("migration failed")]
    Failed(#[source] BoxError),
}

/// Which way to migrate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Up,
    DownAll,
}

/// Applies (or reverts) migrations on a dedicated synchronous connection in the blocking pool;
/// diesel's migration harness is synchronous. The connection first takes the database's
/// migration lock, waiting at most `lock_timeout`, and gives it back whatever the outcome.
/// Returns the versions touched.
pub(crate) async fn migrate(
    url: &DatabaseUrl,
    direction: Direction,
    lock_timeout: Duration,
) -> Result<Vec<String>, MigrationError> {
    let url = url.clone();
    tokio::task::spawn_blocking(move || match url.backend() {
        Backend::Sqlite => run::<SqliteConnection>(url.target(), SQLITE, direction, lock_timeout),
        Backend::Postgres => run::<AsyncConnectionWrapper<AsyncPgConnection>>(
            url.target(),
            POSTGRES,
            direction,
            lock_timeout,
        ),
        Backend::Mysql => run::<AsyncConnectionWrapper<AsyncMysqlConnection>>(
            url.target(),
            MYSQL,
            direction,
            lock_timeout,
        ),
    })
    .await
    .map_err(|error| MigrationError::Failed(Box::new(error)))?
}

/// The versions recorded in `__diesel_schema_migrations`, oldest first.
#[cfg(feature = "test-support")]
async fn recorded(url: &DatabaseUrl) -> Result<Vec<String>, MigrationError> {
    fn read<C>(target: &str) -> Result<Vec<String>, MigrationError>
    where
        C: diesel::Connection + MigrationHarness<C::Backend>,
    {
        let mut conn = <C as diesel::Connection>::establish(target)
            .map_err(|error| MigrationError::Unavailable(Box::new(error)))?;
        let mut versions: Vec<String> = conn
            .applied_migrations()
            .map_err(MigrationError::Failed)?
            .iter()
            .map(ToString::to_string)
            .collect();
        versions.sort();
        Ok(versions)
    }
    let url = url.clone();
    tokio::task::spawn_blocking(move || match url.backend() {
        Backend::Sqlite => read::<SqliteConnection>(url.target()),
        Backend::Postgres => read::<AsyncConnectionWrapper<AsyncPgConnection>>(url.target()),
        Backend::Mysql => read::<AsyncConnectionWrapper<AsyncMysqlConnection>>(url.target()),
    })
    .await
    .map_err(|error| MigrationError::Failed(Box::new(error)))?
}

fn run<C>(
    target: &str,
    migrations: EmbeddedMigrations,
    direction: Direction,
    lock_timeout: Duration,
) -> Result<Vec<String>, MigrationError>
where
    C: MigrationLock + MigrationHarness<C::Backend> + 'static,
{
    let mut conn = <C as diesel::Connection>::establish(target)
        .map_err(|error| MigrationError::Unavailable(Box::new(error)))?;
    conn.locked(lock_timeout, |conn| {
        match direction {
            Direction::Up => conn.run_pending_migrations(migrations),
            Direction::DownAll => conn.revert_all_migrations(migrations),
        }
        .map(|versions| versions.iter().map(ToString::to_string).collect())
        .map_err(MigrationError::Failed)
    })
}

/// How one backend serialises migrations between processes.
trait MigrationLock: diesel::Connection + Sized {
    /// Takes the migration lock for this connection's session, waiting at most `timeout`.
    fn lock(&mut self, timeout: Duration) -> Result<(), MigrationError>;
    /// Gives the lock back.
    fn unlock(&mut self) -> Result<(), BoxError>;

    /// Runs `work` holding the lock, and gives the lock back whatever its outcome.
    fn locked<T>(
        &mut self,
        timeout: Duration,
        work: impl FnOnce(&mut Self) -> Result<T, MigrationError>,
    ) -> Result<T, MigrationError> {
        self.lock(timeout)?;
        let result = work(self);
        // Unlocking on failure too keeps the lock from outliving this call; were the unlock
        // itself to fail, the server still drops the lock when the connection closes, which the
        // caller does next.
        if let Err(error) = self.unlock() {
            tracing::warn!(error = %error, "could not release the migration lock; closing its connection releases it");
        }
        result
    }
}

/// SQLite needs no lock beyond its own: igrouter runs one instance per SQLite file (the file
/// lives on one machine, and SQLite's locking is not safe over network file systems), so the
/// only contender is an `igrouter migrate` next to a starting `serve`. SQLite's write lock covers
/// that: all pending migrations run in one `BEGIN IMMEDIATE` transaction (diesel's per-migration
/// transactions become savepoints in it), and a second process waits for the lock through
/// `busy_timeout` before it even reads which migrations are pending.
impl MigrationLock for SqliteConnection {
    fn lock(&mut self, _timeout: Duration) -> Result<(), MigrationError> {
        Ok(())
    }

    fn unlock(&mut self) -> Result<(), BoxError> {
        Ok(())
    }

    fn locked<T>(
        &mut self,
        timeout: Duration,
        work: impl FnOnce(&mut Self) -> Result<T, MigrationError>,
    ) -> Result<T, MigrationError> {
        diesel::sql_query(format!("PRAGMA busy_timeout = {}", timeout.as_millis()))
            .execute(self)
            .map_err(|error| MigrationError::Unavailable(Box::new(error)))?;
        let mut started = false;
        let outcome = self.immediate_transaction(|conn| {
            started = true;
            work(conn).map_err(SqliteTx::Migration)
        });
        match outcome {
            Ok(value) => Ok(value),
            Err(SqliteTx::Migration(error)) => Err(error),
            // BEGIN IMMEDIATE gave up after busy_timeout: another process holds the write lock.
            Err(SqliteTx::Diesel(diesel::result::Error::DatabaseError(..))) if !started => {
                Err(MigrationError::LockTimeout(timeout))
            }
            Err(SqliteTx::Diesel(error)) => Err(MigrationError::Failed(Box::new(error))),
        }
    }
}

/// The error of the SQLite migration transaction: its own (BEGIN, COMMIT) or a migration's.
enum SqliteTx {
    Diesel(diesel::result::Error),
    Migration(MigrationError),
}

impl From<diesel::result::Error> for SqliteTx {
    fn from(error: diesel::result::Error) -> Self {
        Self::Diesel(error)
    }
}

/// A session-level advisory lock: held across the transactions of each migration and released
/// by `pg_advisory_unlock` on the same session, or by the server when the session ends.
impl MigrationLock for AsyncConnectionWrapper<AsyncPgConnection> {
    fn lock(&mut self, timeout: Duration) -> Result<(), MigrationError> {
        let deadline = Instant::now() + timeout;
        let mut waiting = false;
        loop {
            let row: Flag = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS flag")
                .bind::<BigInt, _>(POSTGRES_MIGRATION_LOCK_KEY)
                .get_result(self)
                .map_err(|error| MigrationError::Unavailable(Box::new(error)))?;
            if row.flag {
                return Ok(());
            }
            if !waiting {
                waiting = true;
                tracing::info!(
                    timeout_ms = timeout.as_millis(),
                    "waiting for another instance's migrations (postgres advisory lock)"
                );
            }
            if Instant::now() >= deadline {
                return Err(MigrationError::LockTimeout(timeout));
            }
            std::thread::sleep(POSTGRES_LOCK_POLL);
        }
    }

    fn unlock(&mut self) -> Result<(), BoxError> {
        let row: Flag = diesel::sql_query("SELECT pg_advisory_unlock($1) AS flag")
            .bind::<BigInt, _>(POSTGRES_MIGRATION_LOCK_KEY)
            .get_result(self)?;
        if row.flag {
            Ok(())
        } else {
            Err("pg_advisory_unlock: the session did not hold the migration lock".into())
        }
    }
}

/// A user lock: tied to this connection, so it survives the implicit commits of MySQL's DDL,
/// and released by `RELEASE_LOCK` on the same connection, or by the server when it closes.
impl MigrationLock for AsyncConnectionWrapper<AsyncMysqlConnection> {
    fn lock(&mut self, timeout: Duration) -> Result<(), MigrationError> {
        // A first attempt without waiting, so that a wait is logged before it starts.
        if get_lock(self, Duration::ZERO)? {
            return Ok(());
        }
        tracing::info!(
            timeout_ms = timeout.as_millis(),
            "waiting for another instance's migrations (mysql GET_LOCK)"
        );
        if get_lock(self, timeout)? {
            return Ok(());
        }
        Err(MigrationError::LockTimeout(timeout))
    }

    fn unlock(&mut self) -> Result<(), BoxError> {
        let row: Count = diesel::sql_query(format!(
            "SELECT RELEASE_LOCK({MYSQL_MIGRATION_LOCK_NAME}) AS count"
        ))
        .get_result(self)?;
        if row.count == Some(1) {
            Ok(())
        } else {
            Err("RELEASE_LOCK: the connection did not hold the migration lock".into())
        }
    }
}

/// `GET_LOCK` answers 1 when it has the lock, 0 after waiting `timeout` (whole seconds) in vain,
/// and NULL on an error such as the wait being killed.
fn get_lock(
    conn: &mut AsyncConnectionWrapper<AsyncMysqlConnection>,
    timeout: Duration,
) -> Result<bool, MigrationError> {
    let seconds = i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX);
    let row: Count = diesel::sql_query(format!(
        "SELECT GET_LOCK({MYSQL_MIGRATION_LOCK_NAME}, ?) AS count"
    ))
    .bind::<BigInt, _>(seconds)
    .get_result(conn)
    .map_err(|error| MigrationError::Unavailable(Box::new(error)))?;
    match row.count {
        Some(1) => Ok(true),
        Some(_) => Ok(false),
        None => Err(MigrationError::Unavailable(
            "GET_LOCK failed for the migration lock".into(),
        )),
    }
}

#[derive(QueryableByName)]
struct Flag {
    #[diesel(sql_type = Bool)]
    flag: bool,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = Nullable<BigInt>)]
    count: Option<i64>,
}

#[cfg(feature = "test-support")]
impl crate::Database {
    /// [`crate::Database::run_migrations`] with another wait for the lock, to test the timeout.
    ///
    /// # Errors
    /// As `run_migrations`.
    pub async fn run_migrations_waiting(
        &self,
        lock_timeout: Duration,
    ) -> Result<Vec<String>, MigrationError> {
        migrate(&self.url, Direction::Up, lock_timeout).await
    }

    /// Every version recorded in `__diesel_schema_migrations`, oldest first.
    ///
    /// # Errors
    /// [`MigrationError`] when the database is unreachable or the table cannot be read.
    pub async fn recorded_migrations(&self) -> Result<Vec<String>, MigrationError> {
        recorded(&self.url).await
    }
}

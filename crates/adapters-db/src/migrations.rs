//! Schema migrations, one tree per dialect, embedded in the binary.

use diesel::SqliteConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::{AsyncMysqlConnection, AsyncPgConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::url::{Backend, DatabaseUrl};

const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
const MYSQL: EmbeddedMigrations = embed_migrations!("../../migrations/mysql");

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Migrations could not be applied or reverted.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    /// The database could not be reached.
    #[error("database unavailable for migrations")]
    Unavailable(#[source] BoxError),
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
/// diesel's migration harness is synchronous. Returns the versions touched.
pub(crate) async fn migrate(
    url: &DatabaseUrl,
    direction: Direction,
) -> Result<Vec<String>, MigrationError> {
    let url = url.clone();
    tokio::task::spawn_blocking(move || match url.backend() {
        Backend::Sqlite => run::<SqliteConnection>(url.target(), SQLITE, direction),
        Backend::Postgres => {
            run::<AsyncConnectionWrapper<AsyncPgConnection>>(url.target(), POSTGRES, direction)
        }
        Backend::Mysql => {
            run::<AsyncConnectionWrapper<AsyncMysqlConnection>>(url.target(), MYSQL, direction)
        }
    })
    .await
    .map_err(|error| MigrationError::Failed(Box::new(error)))?
}

fn run<C>(
    target: &str,
    migrations: EmbeddedMigrations,
    direction: Direction,
) -> Result<Vec<String>, MigrationError>
where
    C: diesel::Connection + MigrationHarness<C::Backend> + 'static,
{
    let mut conn = <C as diesel::Connection>::establish(target)
        .map_err(|error| MigrationError::Unavailable(Box::new(error)))?;
    let versions = match direction {
        Direction::Up => conn.run_pending_migrations(migrations),
        Direction::DownAll => conn.revert_all_migrations(migrations),
    }
    .map_err(MigrationError::Failed)?;
    Ok(versions.iter().map(ToString::to_string).collect())
}

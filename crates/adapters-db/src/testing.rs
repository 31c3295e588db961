//! Test support (feature `test-support`): a fresh, migrated database per test on any backend,
//! dropped when the test ends.
//!
//! PostgreSQL gets a new schema, MySQL/MariaDB a new database, SQLite a new file in a temporary
//! directory. Servers come from `TEST_POSTGRES_URL` / `TEST_MYSQL_URL` (default: the local
//! servers every igrouter machine runs). An unreachable server makes the test print `SKIPPED`
//! with the reason, unless `IGROUTER_TEST_ALL_BACKENDS=1`, where it fails.

#![expect(
    clippy::print_stdout,
    clippy::expect_used,
    reason = "test support reports skips and fails loudly"
)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use diesel_async::{
    AsyncConnection, AsyncMysqlConnection, AsyncPgConnection, SimpleAsyncConnection,
};

use crate::{Backend, Database, DatabaseUrl, PoolOptions};

/// Default PostgreSQL server for tests.
pub const DEFAULT_TEST_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// Default MySQL/MariaDB server for tests.
pub const DEFAULT_TEST_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/test";

/// Name prefix of every test schema/database, so leftovers of killed runs can be swept.
const PREFIX: &str = "igrtest_";
/// Leftovers older than this are swept when a test creates its database.
const SWEEP_AFTER_SECS: u64 = 3600;

/// A fresh, migrated database that is dropped with this value.
pub struct TestDb {
    /// The store under test.
    pub db: Database,
    /// The `DATABASE_URL` that reaches it (for starting the whole service on it).
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(std::path::PathBuf),
    Postgres { admin_url: String, schema: String },
    Mysql { admin_url: String, database: String },
}

impl TestDb {
    /// A fresh migrated database on `backend`, or `None` (after printing `SKIPPED: reason`) when
    /// its server is unreachable and not every backend is required.
    ///
    /// # Panics
    /// When the server is unreachable and `IGROUTER_TEST_ALL_BACKENDS=1`, or setup fails.
    pub async fn new(backend: Backend) -> Option<Self> {
        let test_db = match Self::create(backend).await {
            Ok(test_db) => test_db,
            Err(reason) => {
                if std::env::var("IGROUTER_TEST_ALL_BACKENDS").is_ok_and(|value| value == "1") {
                    panic!(
                        "{backend} is required (IGROUTER_TEST_ALL_BACKENDS=1) but unavailable: {reason}"
                    );
                }
                println!("SKIPPED: {backend} test database unavailable: {reason}");
                return None;
            }
        };
        test_db
            .db
            .run_migrations()
            .await
            .expect("migrations apply to a fresh database");
        Some(test_db)
    }

    /// The server URL tests use for `backend` (`None` for SQLite).
    pub fn server_url(backend: Backend) -> Option<String> {
        match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(
                std::env::var("TEST_POSTGRES_URL")
                    .unwrap_or_else(|_| DEFAULT_TEST_POSTGRES_URL.to_owned()),
            ),
            Backend::Mysql => Some(
                std::env::var("TEST_MYSQL_URL")
                    .unwrap_or_else(|_| DEFAULT_TEST_MYSQL_URL.to_owned()),
            ),
        }
    }

    async fn create(backend: Backend) -> Result<Self, String> {
        let name = unique_name();
        let (url, cleanup) = match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
                let path = dir.join("igrouter.db");
                (format!("sqlite://{}", path.display()), Cleanup::Sqlite(dir))
            }
            Backend::Postgres => {
                let admin_url = Self::server_url(backend).unwrap_or_default();
                let mut conn = AsyncPgConnection::establish(&admin_url)
                    .await
                    .map_err(|e| e.to_string())?;
                sweep_postgres(&mut conn).await;
                conn.batch_execute(&format!("CREATE SCHEMA {name}"))
                    .await
                    .map_err(|e| e.to_string())?;
                let separator = if admin_url.contains('?') { '&' } else { '?' };
                let url = format!("{admin_url}{separator}options=-c%20search_path%3D{name}");
                (
                    url,
                    Cleanup::Postgres {
                        admin_url,
                        schema: name,
                    },
                )
            }
            Backend::Mysql => {
                let admin_url = Self::server_url(backend).unwrap_or_default();
                let parsed = DatabaseUrl::parse(&admin_url).map_err(|e| e.to_string())?;
                let mut conn = AsyncMysqlConnection::establish(parsed.target())
                    .await
                    .map_err(|e| e.to_string())?;
                sweep_mysql(&mut conn).await;
                conn.batch_execute(&format!(
                    "CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin"
                ))
                .await
                .map_err(|e| e.to_string())?;
                let base = parsed.target();
                let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
                (
                    format!("{server}/{name}"),
                    Cleanup::Mysql {
                        admin_url: parsed.target().to_owned(),
                        database: name,
                    },
                )
            }
        };
        let parsed = DatabaseUrl::parse(&url).map_err(|e| e.to_string())?;
        let options = PoolOptions {
            max_connections: 8,
            ..PoolOptions::default()
        };
        let db = Database::connect(&parsed, options).map_err(|e| e.to_string())?;
        Ok(Self { db, url, cleanup })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let cleanup = std::mem::replace(
            &mut self.cleanup,
            Cleanup::Sqlite(std::path::PathBuf::new()),
        );
        // Drop runs inside the test's runtime, where blocking on async work is not allowed: do the
        // cleanup on a thread of its own with a small runtime.
        let worker = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cleanup runtime");
            runtime.block_on(async move {
                match cleanup {
                    Cleanup::Sqlite(dir) => {
                        if !dir.as_os_str().is_empty() {
                            let _ = std::fs::remove_dir_all(dir);
                        }
                    }
                    Cleanup::Postgres { admin_url, schema } => {
                        if let Ok(mut conn) = AsyncPgConnection::establish(&admin_url).await {
                            let _ = conn
                                .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                                .await;
                        }
                    }
                    Cleanup::Mysql {
                        admin_url,
                        database,
                    } => {
                        if let Ok(mut conn) = AsyncMysqlConnection::establish(&admin_url).await {
                            let _ = conn
                                .batch_execute(&format!("DROP DATABASE IF EXISTS {database}"))
                                .await;
                        }
                    }
                }
            });
        });
        let _ = worker.join();
    }
}

/// `igrtest_<unix seconds>_<process>_<counter>`: unique across the threads and processes of a run.
fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    format!(
        "{PREFIX}{secs}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// True for a leftover of a run that started over [`SWEEP_AFTER_SECS`] ago.
fn is_stale(name: &str) -> bool {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    name.strip_prefix(PREFIX)
        .and_then(|rest| rest.split('_').next())
        .and_then(|secs| secs.parse::<u64>().ok())
        .is_some_and(|created| created + SWEEP_AFTER_SECS < now)
}

async fn sweep_postgres(conn: &mut AsyncPgConnection) {
    use diesel_async::RunQueryDsl;
    let names: Vec<String> = diesel::sql_query("SELECT schema_name AS name FROM information_schema.schemata WHERE schema_name LIKE 'igrtest_%'")
        .load::<NameRow>(conn)
        .await
        .map(|rows| rows.into_iter().map(|row| row.name).collect())
        .unwrap_or_default();
    for name in names.into_iter().filter(|name| is_stale(name)) {
        let _ = conn
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
            .await;
    }
}

async fn sweep_mysql(conn: &mut AsyncMysqlConnection) {
    use diesel_async::RunQueryDsl;
    let names: Vec<String> = diesel::sql_query("SELECT schema_name AS name FROM information_schema.schemata WHERE schema_name LIKE 'igrtest\\_%'")
        .load::<NameRow>(conn)
        .await
        .map(|rows| rows.into_iter().map(|row| row.name).collect())
        .unwrap_or_default();
    for name in names.into_iter().filter(|name| is_stale(name)) {
        let _ = conn
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .await;
    }
}

#[derive(diesel::QueryableByName)]
struct NameRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

/// Generates one `#[tokio::test]` per backend for an `async fn(Database)` (or `async fn(TestDb)`
/// with `test_db`): `name::sqlite`, `name::postgres`, `name::mysql`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() { $crate::testing::run($crate::Backend::Sqlite, super::$name).await }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() { $crate::testing::run($crate::Backend::Postgres, super::$name).await }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn mysql() { $crate::testing::run($crate::Backend::Mysql, super::$name).await }
            }
        )+
    };
}

/// Runs `test` on a fresh database of `backend` (or reports the skip).
pub async fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    if let Some(test_db) = TestDb::new(backend).await {
        test(test_db).await;
    }
}

diesel::table! {
    /// The two-column table of the storage benchmark's ceiling measurement.
    bench_ceiling (id) {
        id -> BigInt,
        v -> Text,
    }
}

impl Database {
    /// The benchmark's ceiling: one bare single-row insert, autocommitted, through the same pool
    /// and driver as every store. The table must exist (see the storage bench).
    ///
    /// # Errors
    /// As any store call.
    pub async fn bench_insert_pair(&self, id: i64) -> Result<(), domain::ports::StoreError> {
        Ok(self.insert_pair(id).await?)
    }

    async fn insert_pair(&self, id: i64) -> Result<(), crate::error::DbError> {
        use diesel::ExpressionMethods;
        use diesel_async::RunQueryDsl;
        crate::macros::with_conn!(self, |conn| diesel::insert_into(bench_ceiling::table)
            .values((bench_ceiling::id.eq(id), bench_ceiling::v.eq("x")))
            .execute(conn)
            .await?);
        Ok(())
    }

    /// Runs raw SQL on a pooled connection (SQLite setup in benches, where a second connection
    /// would be another database file handle).
    ///
    /// # Errors
    /// As any store call.
    pub async fn bench_execute(&self, sql: &str) -> Result<(), domain::ports::StoreError> {
        Ok(self.execute_raw(sql).await?)
    }

    async fn execute_raw(&self, sql: &str) -> Result<(), crate::error::DbError> {
        crate::macros::with_conn!(self, |conn| conn.batch_execute(sql).await?);
        Ok(())
    }
}

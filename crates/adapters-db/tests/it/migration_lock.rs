//! Instances starting together migrate one database once: the migration lock makes the others
//! wait, and a lock held too long (SQLite: its write lock) ends the wait with `LockTimeout`.

use std::time::Duration;

use adapters_db::testing::TestDb;
use adapters_db::{
    Backend, Database, DatabaseUrl, MYSQL_MIGRATION_LOCK_NAME, MigrationError,
    POSTGRES_MIGRATION_LOCK_KEY, PoolOptions, backend_tests,
};
use diesel_async::{AsyncConnection, AsyncMysqlConnection, AsyncPgConnection, RunQueryDsl};

const INSTANCES: usize = 4;

backend_tests!(concurrent_migrations_on_a_fresh_database_apply_once);

async fn concurrent_migrations_on_a_fresh_database_apply_once(test: TestDb) {
    // Back to an empty database: no igrouter table, no migrations table either.
    let all = {
        let mut reverted = test.db.revert_all_migrations().await.unwrap();
        reverted.sort();
        reverted
    };
    assert!(!all.is_empty());
    test.db
        .bench_execute("DROP TABLE __diesel_schema_migrations")
        .await
        .unwrap();

    let url = DatabaseUrl::parse(&test.url).unwrap();
    let runs: Vec<_> = (0..INSTANCES)
        .map(|_| {
            let instance = Database::connect(&url, PoolOptions::default()).unwrap();
            tokio::spawn(async move { instance.run_migrations().await })
        })
        .collect();
    let mut applied = Vec::new();
    for run in runs {
        applied.push(run.await.unwrap().unwrap());
    }

    applied.sort_by_key(Vec::len);
    let (first, others) = applied.split_last().unwrap();
    let mut first = first.clone();
    first.sort();
    assert_eq!(first, all, "one instance applies every migration");
    assert!(
        others.iter().all(Vec::is_empty),
        "the others find nothing pending: {others:?}"
    );
    assert_eq!(test.db.recorded_migrations().await.unwrap(), all);
    assert!(test.db.run_migrations().await.unwrap().is_empty());
}

backend_tests!(a_held_migration_lock_times_out_then_frees);

async fn a_held_migration_lock_times_out_then_frees(test: TestDb) {
    let wait = Duration::from_secs(1);
    let holder: Box<dyn std::any::Any + Send> = match test.db.backend() {
        // SQLite's own write lock, held by another process's transaction.
        Backend::Sqlite => {
            let path = test.url.strip_prefix("sqlite://").unwrap();
            let mut conn =
                <diesel::SqliteConnection as diesel::Connection>::establish(path).unwrap();
            diesel::connection::SimpleConnection::batch_execute(&mut conn, "BEGIN IMMEDIATE")
                .unwrap();
            Box::new(conn)
        }
        Backend::Postgres => {
            let mut conn = AsyncPgConnection::establish(&test.url).await.unwrap();
            diesel::sql_query("SELECT pg_advisory_lock($1)")
                .bind::<diesel::sql_types::BigInt, _>(POSTGRES_MIGRATION_LOCK_KEY)
                .execute(&mut conn)
                .await
                .unwrap();
            Box::new(conn)
        }
        Backend::Mysql => {
            let mut conn = AsyncMysqlConnection::establish(&test.url).await.unwrap();
            diesel::sql_query(format!("SELECT GET_LOCK({MYSQL_MIGRATION_LOCK_NAME}, 10)"))
                .execute(&mut conn)
                .await
                .unwrap();
            Box::new(conn)
        }
    };

    let error = test.db.run_migrations_waiting(wait).await.unwrap_err();
    assert!(
        matches!(error, MigrationError::LockTimeout(waited) if waited == wait),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "timed out after 1 s waiting for the migration lock held by another instance"
    );

    // The holder's connection closing releases the lock: the next run gets it.
    drop(holder);
    assert!(
        test.db
            .run_migrations_waiting(Duration::from_secs(10))
            .await
            .unwrap()
            .is_empty()
    );
}

/// MySQL's user locks are server-wide, so the lock's name carries the database: igrouter
/// databases sharing a server migrate without waiting for each other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_databases_on_one_server_do_not_share_the_lock() {
    let (Some(held), Some(other)) = (
        TestDb::new(Backend::Mysql).await,
        TestDb::new(Backend::Mysql).await,
    ) else {
        return;
    };
    let mut holder = AsyncMysqlConnection::establish(&held.url).await.unwrap();
    diesel::sql_query(format!("SELECT GET_LOCK({MYSQL_MIGRATION_LOCK_NAME}, 10)"))
        .execute(&mut holder)
        .await
        .unwrap();

    let error = held
        .db
        .run_migrations_waiting(Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(matches!(error, MigrationError::LockTimeout(_)), "{error:?}");
    assert!(
        other
            .db
            .run_migrations_waiting(Duration::from_secs(1))
            .await
            .unwrap()
            .is_empty()
    );
}

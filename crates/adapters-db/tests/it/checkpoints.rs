//! SQLite's WAL is copied into the database file by the checkpoint thread, not by a commit of the
//! writer: the file grows soon after a write far smaller than the connections' own threshold.

use std::path::Path;
use std::time::{Duration, Instant};

use adapters_db::testing::TestDb;
use adapters_db::{Backend, Database, DatabaseUrl, PoolOptions};
use diesel::Connection as _;
use diesel::connection::SimpleConnection as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checkpoint_thread_copies_the_wal_into_the_database() {
    let test = TestDb::new(Backend::Sqlite).await.unwrap();
    let path = test.url.strip_prefix("sqlite://").unwrap().to_owned();
    fills_the_file_soon(&test.db, &path).await;
}

/// The checkpoint thread opened the file while it was still a rollback-journal database (a
/// fresh file before the pool's first connection switched it to WAL): it still checkpoints.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_switched_to_wal_after_the_thread_opened_it_is_checkpointed() {
    // A file of its own in a test database's directory, removed with it.
    let test = TestDb::new(Backend::Sqlite).await.unwrap();
    let dir = Path::new(test.url.strip_prefix("sqlite://").unwrap())
        .parent()
        .unwrap();
    let path = dir.join("rollback.db").to_str().unwrap().to_owned();
    let mut rollback = diesel::SqliteConnection::establish(&path).unwrap();
    rollback
        .batch_execute("CREATE TABLE early (v INTEGER)")
        .unwrap();
    drop(rollback);

    let url = DatabaseUrl::parse(&format!("sqlite://{path}")).unwrap();
    let db = Database::connect(&url, PoolOptions::default()).unwrap();
    // Several checkpoint intervals on the rollback-journal file.
    tokio::time::sleep(Duration::from_millis(300)).await;
    db.run_migrations().await.unwrap();
    fills_the_file_soon(&db, &path).await;
}

/// Writes about 500 KiB through `db` and waits for the database file at `path` to hold it.
async fn fills_the_file_soon(db: &Database, path: &str) {
    let size = || std::fs::metadata(path).unwrap().len();
    db.bench_execute("CREATE TABLE filler (v BLOB NOT NULL)")
        .await
        .unwrap();
    let before = size();

    // About 500 KiB, some 130 pages: a tenth of SQLite's default threshold, a thirtieth of ours.
    db.bench_execute(
        "INSERT INTO filler (v) WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n \
             WHERE x < 500) SELECT randomblob(1000) FROM n",
    )
    .await
    .unwrap();
    let started = Instant::now();
    while size() < before + 500_000 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the database file stayed at {} bytes (was {before})",
            size()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

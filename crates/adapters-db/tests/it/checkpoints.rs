//! SQLite's WAL is copied into the database file by the checkpoint thread, not by a commit of the
//! writer: the file grows soon after a write far smaller than the connections' own threshold.

use std::time::{Duration, Instant};

use adapters_db::Backend;
use adapters_db::testing::TestDb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checkpoint_thread_copies_the_wal_into_the_database() {
    let test = TestDb::new(Backend::Sqlite).await.unwrap();
    let path = test.url.strip_prefix("sqlite://").unwrap().to_owned();
    let size = || std::fs::metadata(&path).unwrap().len();
    test.db
        .bench_execute("CREATE TABLE filler (v BLOB NOT NULL)")
        .await
        .unwrap();
    let before = size();

    // About 500 KiB, some 130 pages: a tenth of SQLite's default threshold, a thirtieth of ours.
    test.db
        .bench_execute(
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

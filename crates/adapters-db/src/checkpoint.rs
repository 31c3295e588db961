//! SQLite's WAL checkpoints, taken off the writer.
//!
//! By default the connection whose commit takes the WAL past 1000 pages checkpoints it there and
//! then: copies the pages into the database file and syncs both, inside that commit. With one
//! writer connection for every write, that is one ingest group in a thousand paying for all the
//! others. So the pool's connections only checkpoint past a backstop of 4000 pages (16 MiB of
//! 4 KiB pages; `wal_autocheckpoint` in `pool.rs`), reached only when this thread cannot keep up
//! or cannot open the database, and a thread of its own, on a connection of its own, runs a
//! `PASSIVE` checkpoint every [`CHECKPOINT_INTERVAL`]: it never waits for readers or the writer,
//! copies what it can, and the writer starts the WAL over once it was all copied. In the ingest
//! benchmark that is 10–13% more webhooks per second on SQLite (docs/benchmarks.md).

use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use diesel::sql_types::Integer;
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};

/// How often the checkpoint thread copies the WAL into the database: often enough that each
/// copy is small (every 200 ms measured no better than the writer checkpointing itself).
pub(crate) const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(50);

/// Runs the checkpoint thread of the database at `path` while this value lives (clones included).
#[derive(Clone)]
pub(crate) struct Checkpointer {
    /// Never sent on: when the last clone is dropped the thread sees the channel close and ends.
    _alive: mpsc::Sender<()>,
}

impl Checkpointer {
    /// Starts the thread; `None` (logged) when the system would not start one, and then the
    /// connections' backstop checkpoints keep the WAL bounded.
    pub(crate) fn start(path: &str) -> Option<Self> {
        let (alive, ended) = mpsc::channel::<()>();
        let path = path.to_owned();
        let started = std::thread::Builder::new()
            .name("sqlite-checkpoint".to_owned())
            .spawn(move || run(&path, &ended));
        match started {
            Ok(_) => Some(Self { _alive: alive }),
            Err(error) => {
                tracing::warn!(%error, "could not start the SQLite checkpoint thread; the writer checkpoints instead, past 4000 pages");
                None
            }
        }
    }
}

fn run(path: &str, ended: &mpsc::Receiver<()>) {
    let uri = read_write_uri(path);
    let mut conn: Option<SqliteConnection> = None;
    let mut warned = false;
    while let Err(RecvTimeoutError::Timeout) = ended.recv_timeout(CHECKPOINT_INTERVAL) {
        if conn.is_none() {
            conn = SqliteConnection::establish(&uri)
                .inspect_err(|error| tracing::debug!(%error, "checkpoint thread: could not open the database"))
                .ok();
        }
        let Some(open) = conn.as_mut() else {
            continue;
        };
        match diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").get_result::<Checkpoint>(open) {
            // A connection that first read the file before it was switched to WAL keeps taking
            // it for a rollback-journal database, and its checkpoints do nothing (log = -1):
            // a new connection sees the WAL.
            Ok(Checkpoint { log: -1, .. }) => conn = None,
            Ok(_) => {}
            Err(error) => {
                if !warned {
                    tracing::warn!(%error, "SQLite checkpoint failed; retrying with a new connection");
                    warned = true;
                }
                conn = None;
            }
        }
    }
}

/// `path` as a URI that opens an existing database only: after the file was deleted (a test's
/// directory removed while the thread has not yet seen the pools go), the thread must not
/// create an empty one in its place.
fn read_write_uri(path: &str) -> String {
    let mut uri = String::from("file:");
    for c in path.chars() {
        match c {
            '%' => uri.push_str("%25"),
            '?' => uri.push_str("%3F"),
            '#' => uri.push_str("%23"),
            _ => uri.push(c),
        }
    }
    uri.push_str("?mode=rw");
    uri
}

/// The answer of `PRAGMA wal_checkpoint`.
#[derive(QueryableByName)]
struct Checkpoint {
    /// WAL frames, or -1 when the connection is not in WAL mode.
    #[diesel(sql_type = Integer)]
    log: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uri_names_the_path_and_never_creates_it() {
        assert_eq!(
            read_write_uri("/data/igrouter.db"),
            "file:/data/igrouter.db?mode=rw"
        );
        assert_eq!(
            read_write_uri("odd%name?#.db"),
            "file:odd%25name%3F%23.db?mode=rw"
        );
        let missing =
            std::env::temp_dir().join(format!("igrouter-ckpt-{}-missing.db", std::process::id()));
        let path = missing.to_str().unwrap_or_default();
        assert!(SqliteConnection::establish(&read_write_uri(path)).is_err());
        assert!(!missing.exists());
    }
}

//! The adapter's own error, and the one place driver errors become domain errors.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use domain::ports::StoreError;

/// Anything that can go wrong inside this crate.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DbError {
    /// No connection could be had from the pool (backend down, pool exhausted).
    #[error("no database connection")]
    Pool(#[source] diesel_async::pooled_connection::deadpool::PoolError),
    /// A query failed.
    #[error("query failed")]
    Query(#[from] DieselError),
    /// A row could not be turned into a domain value.
    #[error("stored row is invalid: {0}")]
    Corrupt(String),
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for DbError {
    fn from(error: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        Self::Pool(error)
    }
}

impl DbError {
    /// A unique or primary-key constraint rejected the write.
    pub(crate) fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            Self::Query(DieselError::DatabaseError(
                DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }

    /// A foreign-key constraint rejected the write.
    pub(crate) fn is_foreign_key_violation(&self) -> bool {
        matches!(
            self,
            Self::Query(DieselError::DatabaseError(
                DatabaseErrorKind::ForeignKeyViolation,
                _
            ))
        )
    }

    /// A transaction lost a race (deadlock, serialization failure, or a unique key another
    /// transaction committed first): running it again gives the right answer.
    pub(crate) fn is_retryable_conflict(&self) -> bool {
        match self {
            Self::Query(DieselError::DatabaseError(kind, info)) => {
                matches!(
                    kind,
                    DatabaseErrorKind::UniqueViolation | DatabaseErrorKind::SerializationFailure
                ) || info.message().contains("Deadlock found")
                    || info.message().contains("deadlock detected")
            }
            _ => false,
        }
    }

    /// The backend could not be reached or did not answer in time.
    fn is_unavailable(&self) -> bool {
        match self {
            Self::Pool(_) => true,
            Self::Query(DieselError::DatabaseError(kind, info)) => {
                matches!(kind, DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand)
                    // SQLite's busy timeout ran out: another writer held the lock too long.
                    || info.message().contains("database is locked")
            }
            Self::Query(DieselError::BrokenTransactionManager) => true,
            _ => false,
        }
    }
}

impl From<DbError> for StoreError {
    fn from(error: DbError) -> Self {
        if error.is_unavailable() {
            return Self::Unavailable(Box::new(error));
        }
        match error {
            DbError::Corrupt(reason) => Self::Corrupt(reason),
            other => Self::Backend(Box::new(other)),
        }
    }
}

/// Shorthand for a row that does not convert.
pub(crate) fn corrupt(what: &str, value: impl std::fmt::Display) -> DbError {
    DbError::Corrupt(format!("{what}: {value}"))
}

/// How many times [`retry_conflicts`] runs a transaction that lost a race.
const CONFLICT_TRIES: usize = 3;

/// Runs `transaction` again (up to [`CONFLICT_TRIES`] times in all) while it fails with a lost
/// race (deadlock, serialization failure): MySQL picks a deadlock victim among concurrent
/// queue updates (a recover against a claim, say), and the right answer is to run it again,
/// not to fail the request.
pub(crate) async fn retry_conflicts<T, F, Fut>(mut transaction: F) -> Result<T, DbError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, DbError>>,
{
    let mut tries = 1;
    loop {
        match transaction().await {
            Err(error) if error.is_retryable_conflict() && tries < CONFLICT_TRIES => tries += 1,
            done => return done,
        }
    }
}

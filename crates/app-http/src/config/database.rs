//! Where igrouter's data lives. The URL scheme picks the backend; an unknown scheme is an error,
//! never a silently created SQLite file.
//!
//! Reads `DATABASE_URL` (flag `--database-url`).

use adapters_db::{DatabaseUrl, PoolOptions, redact};

use super::{Overrides, Vars};

/// `DATABASE_URL` when unset: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://igrouter.db";

/// The database settings.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// The validated URL; its `Debug` hides the password.
    pub url: DatabaseUrl,
    /// The URL with its password replaced, for logs and error messages.
    pub redacted_url: String,
    /// Pool size and how long to wait for a connection.
    pub pool: PoolOptions,
    /// Apply pending migrations when the service starts. Always `true` when loaded from the
    /// environment; tests turn it off to start the service on a database that is down.
    pub migrate_at_startup: bool,
}

pub(super) fn load(vars: &Vars<'_>, overrides: &Overrides) -> Option<DatabaseConfig> {
    let url = vars.parse_flag_or(
        ("--database-url", overrides.database_url.as_deref()),
        "DATABASE_URL",
        DEFAULT_DATABASE_URL,
        |text| {
            DatabaseUrl::parse(text)
                .map(|url| (url, redact(text)))
                .map_err(|error| error.to_string())
        },
    );
    let (url, redacted_url) = url?;
    Some(DatabaseConfig {
        url,
        redacted_url,
        pool: PoolOptions::default(),
        migrate_at_startup: true,
    })
}

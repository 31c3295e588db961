//! `DATABASE_URL` parsing: the scheme picks the backend.

use std::fmt;

/// The database engines igrouter runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// SQLite, bundled into the binary.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    Mysql,
}

impl Backend {
    /// Every backend.
    pub const ALL: [Self; 3] = [Self::Sqlite, Self::Postgres, Self::Mysql];

    /// A short lowercase name for logs and benchmark tables.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
            Self::Mysql => "mysql",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `DATABASE_URL` whose scheme names no supported backend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatabaseUrlError {
    /// Unknown or missing scheme; never silently treated as a SQLite path.
    #[error("unsupported database url scheme '{0}' (use sqlite://PATH, postgres://… or mysql://…)")]
    UnknownScheme(String),
    /// `sqlite://` without a path, or an in-memory database (each pooled connection would get its
    /// own empty database).
    #[error("sqlite url needs a file path (in-memory databases cannot be shared by a pool)")]
    SqlitePath,
}

/// A validated database URL, in the form its driver expects.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    backend: Backend,
    /// For SQLite the file path; for the others the URL as the driver wants it.
    target: String,
}

impl DatabaseUrl {
    /// Parses a `DATABASE_URL`.
    ///
    /// Accepts `sqlite://PATH` (`sqlite:///abs/path` for absolute paths) and `sqlite:PATH`,
    /// `postgres://` and `postgresql://`, `mysql://` and `mariadb://`.
    ///
    /// # Errors
    /// [`DatabaseUrlError`] for any other scheme or an unusable SQLite path.
    pub fn parse(url: &str) -> Result<Self, DatabaseUrlError> {
        let (scheme, rest) = url
            .split_once(':')
            .ok_or_else(|| DatabaseUrlError::UnknownScheme(String::new()))?;
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => {
                let path = rest.strip_prefix("//").unwrap_or(rest);
                let path = path.split('?').next().unwrap_or_default();
                if path.is_empty() || path == ":memory:" || path.contains("mode=memory") {
                    return Err(DatabaseUrlError::SqlitePath);
                }
                Ok(Self {
                    backend: Backend::Sqlite,
                    target: path.to_owned(),
                })
            }
            "postgres" | "postgresql" => Ok(Self {
                backend: Backend::Postgres,
                target: url.to_owned(),
            }),
            // mysql_async only understands `mysql://`.
            "mysql" | "mariadb" => Ok(Self {
                backend: Backend::Mysql,
                target: format!("mysql:{rest}"),
            }),
            other => Err(DatabaseUrlError::UnknownScheme(other.to_owned())),
        }
    }

    /// The backend the scheme names.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The SQLite path or the driver URL.
    pub(crate) fn target(&self) -> &str {
        &self.target
    }
}

/// Prints the URL without its password.
impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", redact(&self.target))
    }
}

/// The URL with any password replaced by `***`, for logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_picks_the_backend() {
        let sqlite = DatabaseUrl::parse("sqlite://igrouter.db").unwrap();
        assert_eq!(
            (sqlite.backend(), sqlite.target()),
            (Backend::Sqlite, "igrouter.db")
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/x.db")
                .unwrap()
                .target(),
            "/var/lib/x.db"
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:data.db").unwrap().target(),
            "data.db"
        );
        assert_eq!(
            DatabaseUrl::parse("postgresql://u@h/db").unwrap().backend(),
            Backend::Postgres
        );
        let maria = DatabaseUrl::parse("mariadb://root@127.0.0.1/test").unwrap();
        assert_eq!(
            (maria.backend(), maria.target()),
            (Backend::Mysql, "mysql://root@127.0.0.1/test")
        );
    }

    #[test]
    fn unknown_schemes_and_memory_databases_are_refused() {
        assert_eq!(
            DatabaseUrl::parse("igrouter.db"),
            Err(DatabaseUrlError::UnknownScheme(String::new()))
        );
        assert_eq!(
            DatabaseUrl::parse("redis://x"),
            Err(DatabaseUrlError::UnknownScheme("redis".into()))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite::memory:"),
            Err(DatabaseUrlError::SqlitePath)
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite://"),
            Err(DatabaseUrlError::SqlitePath)
        );
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/ig"),
            "postgres://app:***@db:5432/ig"
        );
        assert_eq!(redact("mysql://root@db/ig"), "mysql://root@db/ig");
        let url = DatabaseUrl::parse("postgres://app:s3cret@db/ig").unwrap();
        assert!(!format!("{url:?}").contains("s3cret"));
    }
}

//! Typed configuration: read once at startup, validated, then passed explicitly (no globals).
//!
//! Sources, strongest first: command-line flags ([`Overrides`]), the process environment, a
//! `.env` file in the working directory. A blank variable counts as unset. Every problem found is
//! collected, so one run reports all of them, on one line ([`ConfigError`]).
//!
//! Reads `ENVIRONMENT` (flag `--environment`) and `HTTP_TIMEOUT`, which the Graph API and CRM
//! clients share; each submodule lists the variables it reads.

mod credentials;
mod crm;
mod database;
mod instagram;
mod server;

use std::cell::RefCell;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

pub use credentials::{CREDENTIALS_KEY_LEN, CredentialsConfig, CredentialsKey, KeySource};
pub use crm::{CrmConfig, DEFAULT_CRM_RETRY_SCHEDULE};
pub use database::{DEFAULT_DATABASE_URL, DatabaseConfig};
pub use instagram::{
    BootstrapAccount, DEFAULT_GRAPH_API_BASE_URL, DEFAULT_GRAPH_API_VERSION,
    DEFAULT_SEND_RETRY_SCHEDULE, InstagramConfig,
};
pub use server::{
    DEFAULT_API_RATE_LIMIT, DEFAULT_BIND_ADDRESS, DEFAULT_LOG_LEVEL, LogConfig, LogFormat,
    RateLimit, ServerConfig,
};

/// `ENVIRONMENT` when unset.
pub const DEFAULT_ENVIRONMENT: Environment = Environment::Development;
/// `HTTP_TIMEOUT` when unset: per attempt, for CRM and Graph API calls.
pub const DEFAULT_HTTP_TIMEOUT: &str = "15s";

/// The whole service configuration, one struct per concern.
#[derive(Debug, Clone)]
pub struct Config {
    /// `development` relaxes what production insists on.
    pub environment: Environment,
    /// The HTTP server: listen address, logging, API rate limit, metrics.
    pub server: ServerConfig,
    /// Where the data lives.
    pub database: DatabaseConfig,
    /// The key for secrets at rest.
    pub credentials: CredentialsConfig,
    /// Meta's side: webhook secrets and the Graph API.
    pub instagram: InstagramConfig,
    /// Deliveries to the CRM.
    pub crm: CrmConfig,
}

/// Which kind of deployment this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// A developer's machine: missing secrets are tolerated with a warning.
    Development,
    /// A real deployment: secrets are required, private CRM URLs refused, logs are JSON.
    Production,
}

/// Values given on the command line; each one wins over its environment variable.
#[derive(Clone, Default)]
pub struct Overrides {
    /// `--bind`, over `BIND_ADDRESS`.
    pub bind: Option<SocketAddr>,
    /// `--database-url`, over `DATABASE_URL`.
    pub database_url: Option<String>,
    /// `--environment`, over `ENVIRONMENT`.
    pub environment: Option<Environment>,
    /// `--log-level`, over `LOG_LEVEL`.
    pub log_level: Option<String>,
    /// `--log-format`, over `LOG_FORMAT`.
    pub log_format: Option<LogFormat>,
}

/// The configuration is unusable; names every bad or missing variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    problems: Vec<ConfigProblem>,
}

/// One bad or missing variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The variable (or flag, or `.env`) at fault.
    pub variable: String,
    /// What is wrong with it, lowercase. Never contains the value of a secret.
    pub reason: String,
}

impl Config {
    /// Loads the configuration from the process environment and `./.env` (process variables
    /// win), with `overrides` from the command line on top.
    ///
    /// # Errors
    /// A [`ConfigError`] naming every variable that is missing or does not parse.
    pub fn from_env(overrides: &Overrides) -> Result<Self, ConfigError> {
        let (dotenv, dotenv_problem) = read_dotenv(".env");
        let result = Self::from_lookup(
            |name| {
                std::env::var(name).ok().or_else(|| {
                    dotenv
                        .iter()
                        .find(|(key, _)| key == name)
                        .map(|(_, value)| value.clone())
                })
            },
            overrides,
        );
        match (result, dotenv_problem) {
            (result, None) => result,
            (Ok(_), Some(problem)) => Err(ConfigError {
                problems: vec![problem],
            }),
            (Err(mut error), Some(problem)) => {
                error.problems.insert(0, problem);
                Err(error)
            }
        }
    }

    /// Loads the configuration from `lookup` (a variable's value by name) and `overrides`, without
    /// touching the process environment, so tests can state exactly what is set.
    ///
    /// # Errors
    /// A [`ConfigError`] naming every variable that is missing or does not parse.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        overrides: &Overrides,
    ) -> Result<Self, ConfigError> {
        let vars = Vars::new(&lookup);
        let environment = match overrides.environment {
            Some(environment) => Some(environment),
            None => vars.parse_or(
                "ENVIRONMENT",
                DEFAULT_ENVIRONMENT.as_str(),
                Environment::from_str,
            ),
        };
        // An unparsable ENVIRONMENT is already reported; check the rest as development would.
        let checks_for = environment.unwrap_or(DEFAULT_ENVIRONMENT);
        let http_timeout = vars.parse_or("HTTP_TIMEOUT", DEFAULT_HTTP_TIMEOUT, parse_timeout);

        let server = server::load(&vars, overrides, checks_for);
        let database = database::load(&vars, overrides);
        let credentials = credentials::load(&vars, checks_for);
        let instagram = instagram::load(&vars, checks_for, http_timeout);
        let crm = crm::load(&vars, checks_for, http_timeout);

        let problems = vars.into_problems();
        // Every `None` below comes with a recorded problem, so an empty list means all are set.
        match (environment, server, database, credentials, instagram, crm) {
            (
                Some(environment),
                Some(server),
                Some(database),
                Some(credentials),
                Some(instagram),
                Some(crm),
            ) if problems.is_empty() => Ok(Self {
                environment,
                server,
                database,
                credentials,
                instagram,
                crm,
            }),
            _ => Err(ConfigError { problems }),
        }
    }

    /// What an operator should know about this configuration before the service starts: the
    /// development fallbacks in use. Empty in production, which refuses to start without them.
    pub fn startup_warnings(&self) -> Vec<&'static str> {
        let mut warnings = Vec::new();
        if self.credentials.source == KeySource::DevelopmentDefault {
            warnings.push(
                "CREDENTIALS_KEY is not set: tokens are encrypted with the public development key",
            );
        }
        if self.instagram.app_secrets().next().is_none() {
            warnings.push(
                "neither INSTAGRAM_APP_SECRET nor FACEBOOK_APP_SECRET is set: unsigned webhook posts are accepted",
            );
        }
        if self.instagram.verify_token.is_none() {
            warnings.push(
                "FACEBOOK_VERIFY_TOKEN is not set: Meta's webhook verification handshake will fail",
            );
        }
        warnings
    }
}

impl Environment {
    /// The name `ENVIRONMENT` uses.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Production => "production",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Environment {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "development" => Ok(Self::Development),
            "production" => Ok(Self::Production),
            _ => Err("must be development or production".to_owned()),
        }
    }
}

impl ConfigError {
    /// Every problem found, in the order the variables were read.
    pub fn problems(&self) -> &[ConfigProblem] {
        &self.problems
    }
}

/// One line: `invalid configuration: A: reason; B: reason`.
impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid configuration: ")?;
        for (index, problem) in self.problems.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(
                f,
                "{}: {}",
                problem.variable,
                problem.reason.replace('\n', " ")
            )?;
        }
        Ok(())
    }
}

/// The configuration sources, and the problems found while reading them.
///
/// The `parse*` methods return `None` after recording a problem, so a loader reads every variable
/// first (reporting all problems) and only then combines the results with `?`.
pub(crate) struct Vars<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    problems: RefCell<Vec<ConfigProblem>>,
}

impl<'a> Vars<'a> {
    fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self {
            lookup,
            problems: RefCell::new(Vec::new()),
        }
    }

    /// The trimmed value of `name`; `None` when unset or blank.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }

    /// Whether `name` has a value.
    pub(crate) fn is_set(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// `name` parsed by `parse`, or `default` parsed when unset.
    pub(crate) fn parse_or<T>(
        &self,
        name: &'static str,
        default: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let value = self.get(name);
        self.check(name, parse(value.as_deref().unwrap_or(default)))
    }

    /// `flag_value` when the flag was given (problems name the flag), else like
    /// [`Self::parse_or`].
    pub(crate) fn parse_flag_or<T>(
        &self,
        (flag, flag_value): (&'static str, Option<&str>),
        name: &'static str,
        default: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        match flag_value {
            Some(value) => self.check(flag, parse(value.trim())),
            None => self.parse_or(name, default, parse),
        }
    }

    /// `name` parsed when set: `Some(None)` when unset, `None` when it does not parse.
    pub(crate) fn parse_optional<T>(
        &self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<Option<T>> {
        match self.get(name) {
            None => Some(None),
            Some(value) => self.check(name, parse(&value)).map(Some),
        }
    }

    /// Records that `variable` is missing or wrong.
    pub(crate) fn problem(&self, variable: impl Into<String>, reason: impl Into<String>) {
        self.problems.borrow_mut().push(ConfigProblem {
            variable: variable.into(),
            reason: reason.into(),
        });
    }

    fn check<T>(&self, name: &str, result: Result<T, String>) -> Option<T> {
        result.map_err(|reason| self.problem(name, reason)).ok()
    }

    fn into_problems(self) -> Vec<ConfigProblem> {
        self.problems.into_inner()
    }
}

/// Parses a boolean the way people write them in env files.
pub(crate) fn parse_bool(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("must be true or false".to_owned()),
    }
}

/// A positive duration such as `15s` or `500ms`.
pub(crate) fn parse_timeout(text: &str) -> Result<Duration, String> {
    match domain::retry::parse_duration(text)? {
        Duration::ZERO => Err("must be longer than zero".to_owned()),
        timeout => Ok(timeout),
    }
}

/// The pairs of a `.env` file; a missing file is no problem, an unreadable one is.
fn read_dotenv(path: &str) -> (Vec<(String, String)>, Option<ConfigProblem>) {
    let problem = |error: dotenvy::Error| ConfigProblem {
        variable: ".env".to_owned(),
        reason: match error {
            // dotenvy quotes the whole line, which may hold a secret: name the variable only.
            dotenvy::Error::LineParse(line, _) => {
                let name: String = line
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.'))
                    .collect();
                format!("the line of '{name}' is not NAME=value")
            }
            other => other.to_string(),
        },
    };
    let iter = match dotenvy::from_path_iter(path) {
        Ok(iter) => iter,
        Err(error) if error.not_found() => return (Vec::new(), None),
        Err(error) => return (Vec::new(), Some(problem(error))),
    };
    let mut pairs = Vec::new();
    for item in iter {
        match item {
            Ok(pair) => pairs.push(pair),
            Err(error) => return (pairs, Some(problem(error))),
        }
    }
    (pairs, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_and_timeouts_parse() {
        assert_eq!(parse_bool("TRUE"), Ok(true));
        assert_eq!(parse_bool("0"), Ok(false));
        assert!(parse_bool("maybe").is_err());
        assert_eq!(parse_timeout("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_timeout("0s").is_err());
        assert!(parse_timeout("15").is_err());
    }

    #[test]
    fn problems_print_on_one_line() {
        let error = ConfigError {
            problems: vec![
                ConfigProblem {
                    variable: "A".into(),
                    reason: "bad".into(),
                },
                ConfigProblem {
                    variable: "B".into(),
                    reason: "two\nlines".into(),
                },
            ],
        };
        assert_eq!(
            error.to_string(),
            "invalid configuration: A: bad; B: two lines"
        );
    }
}

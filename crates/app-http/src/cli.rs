//! The command line: `igrouter [serve] [--bind ADDR]`, `igrouter migrate`,
//! `igrouter api-keys create|list|revoke`, `igrouter credentials rotate`,
//! `igrouter healthcheck [--url URL]`, and the flags they all share. Flags override their
//! environment variables.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use url::Url;

use domain::{AccountId, ApiKeyId};

use crate::config::{Environment, LogFormat, Overrides, parse_timeout};
use crate::healthcheck;

/// Exit code of a runtime failure (database unreachable, port taken, …).
pub const EXIT_FAILURE: u8 = 1;
/// Exit code of a bad configuration or command line (clap uses it for usage errors too).
pub const EXIT_BAD_CONFIGURATION: u8 = 2;

/// Connects Instagram direct messages to a CRM.
///
/// Configuration comes from environment variables (a .env file in the working directory is read
/// first); the flags below override them.
#[derive(Parser)]
#[command(name = "igrouter", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    // `igrouter --bind ...` is `igrouter serve --bind ...`.
    #[command(flatten)]
    serve: ServeArgs,
    #[command(flatten)]
    shared: SharedArgs,
}

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Apply pending migrations, then serve HTTP until SIGTERM or SIGINT (the default).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create, list and revoke the API keys of /api/v1.
    #[command(subcommand)]
    ApiKeys(ApiKeysCommand),
    /// Manage the encryption of stored access tokens and webhook secrets.
    #[command(subcommand)]
    Credentials(CredentialsCommand),
    /// Probe a running igrouter's GET /health: exit 0 when it answers 200, 1 otherwise (for
    /// container health checks; the image has no shell or curl).
    Healthcheck(HealthcheckArgs),
}

/// `igrouter api-keys …`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum ApiKeysCommand {
    /// Create a key and print it once on stdout; only its hash is stored.
    Create {
        /// What the key is for, shown by `list` (1 to 128 characters).
        #[arg(long, value_parser = parse_key_name)]
        name: String,
        /// Limit the key to this account (repeat for several); without it the key sees all.
        #[arg(long = "account", value_name = "ACCOUNT_ID", value_parser = parse_account_id)]
        accounts: Vec<AccountId>,
    },
    /// Print every key: id, name, prefix, scope, created, last used, revoked.
    List,
    /// Revoke a key; every instance refuses it from the next request on.
    Revoke {
        /// The key's id (key_…), as `list` prints it.
        #[arg(value_parser = parse_api_key_id)]
        key_id: ApiKeyId,
    },
}

/// `igrouter credentials …`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum CredentialsCommand {
    /// Re-encrypt every account's credentials under CREDENTIALS_KEY, reading them with
    /// CREDENTIALS_KEY or CREDENTIALS_KEY_PREVIOUS.
    Rotate,
}

/// Flags of `igrouter healthcheck`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct HealthcheckArgs {
    /// The http:// URL to probe [default: /health on BIND_ADDRESS, with 0.0.0.0 or :: as
    /// loopback]
    #[arg(long, value_name = "URL", value_parser = healthcheck::parse_url)]
    pub url: Option<Url>,
    /// Give up after this long: connection, request and answer (units ms, s, m)
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout,
          default_value = healthcheck::DEFAULT_TIMEOUT)]
    pub timeout: Duration,
}

/// Longest API key name (the column's size).
pub const MAX_KEY_NAME_LEN: usize = 128;

/// Flags of `igrouter serve`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct ServeArgs {
    /// Address to listen on, IP:PORT [env: BIND_ADDRESS, default 0.0.0.0:8000]
    #[arg(long, value_name = "ADDR")]
    bind: Option<SocketAddr>,
}

/// Flags every command takes.
#[derive(Args)]
struct SharedArgs {
    /// sqlite://PATH, postgres://… or mysql://… [env: DATABASE_URL, default sqlite://igrouter.db]
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// development or production [env: ENVIRONMENT, default development]
    #[arg(long, global = true, value_name = "NAME")]
    environment: Option<Environment>,
    /// A level (trace, debug, info, warn, error, off) or a tracing filter [env: LOG_LEVEL]
    #[arg(long, global = true, value_name = "FILTER")]
    log_level: Option<String>,
    /// pretty or json [env: LOG_FORMAT, default pretty, json in production]
    #[arg(long, global = true, value_name = "FORMAT")]
    log_format: Option<LogFormat>,
}

impl Cli {
    /// Parses the process arguments; on `--help`, `--version` or a usage error, prints and exits
    /// (usage errors with [`EXIT_BAD_CONFIGURATION`]).
    pub fn from_args() -> Self {
        Self::parse()
    }

    /// The command to run; none given means `serve`.
    pub fn selected_command(&self) -> Command {
        self.command
            .clone()
            .unwrap_or_else(|| Command::Serve(self.serve.clone()))
    }

    /// The configuration values the flags set.
    pub fn overrides(&self) -> Overrides {
        let bind = match &self.command {
            Some(Command::Serve(args)) => args.bind,
            _ => self.serve.bind,
        };
        Overrides {
            bind,
            database_url: self.shared.database_url.clone(),
            environment: self.shared.environment,
            log_level: self.shared.log_level.clone(),
            log_format: self.shared.log_format,
        }
    }
}

fn parse_key_name(text: &str) -> Result<String, String> {
    let name = text.trim();
    let length = name.chars().count();
    if length == 0 || length > MAX_KEY_NAME_LEN {
        return Err(format!("must be 1 to {MAX_KEY_NAME_LEN} characters"));
    }
    if name.chars().any(char::is_control) {
        return Err("must not contain control characters".to_owned());
    }
    Ok(name.to_owned())
}

fn parse_account_id(text: &str) -> Result<AccountId, String> {
    AccountId::parse(text).map_err(|error| error.reason)
}

fn parse_api_key_id(text: &str) -> Result<ApiKeyId, String> {
    ApiKeyId::parse(text).map_err(|error| error.reason)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("igrouter").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_line_is_consistent() {
        <Cli as CommandFactory>::command().debug_assert();
    }

    #[test]
    fn no_command_means_serve_and_flags_become_overrides() {
        let cli = parse(&[]).unwrap();
        assert_eq!(cli.selected_command(), Command::Serve(ServeArgs::default()));

        let cli = parse(&["--bind", "127.0.0.1:9000", "--environment", "production"]).unwrap();
        assert!(matches!(cli.selected_command(), Command::Serve(_)));
        let overrides = cli.overrides();
        assert_eq!(overrides.bind, Some("127.0.0.1:9000".parse().unwrap()));
        assert_eq!(overrides.environment, Some(Environment::Production));

        let cli = parse(&["serve", "--bind", "[::1]:0", "--log-format", "json"]).unwrap();
        assert_eq!(cli.overrides().bind, Some("[::1]:0".parse().unwrap()));
        assert_eq!(cli.overrides().log_format, Some(LogFormat::Json));

        let cli = parse(&["migrate", "--database-url", "sqlite://x.db"]).unwrap();
        assert_eq!(cli.selected_command(), Command::Migrate);
        assert_eq!(
            cli.overrides().database_url.as_deref(),
            Some("sqlite://x.db")
        );
    }

    #[test]
    fn api_key_and_credentials_commands_parse() {
        let cli = parse(&[
            "api-keys",
            "create",
            "--name",
            "crm",
            "--account",
            "acc_aaaaaaaaaaaa",
            "--account",
            "acc_bbbbbbbbbbbb",
        ])
        .unwrap();
        assert_eq!(
            cli.selected_command(),
            Command::ApiKeys(ApiKeysCommand::Create {
                name: "crm".into(),
                accounts: vec![
                    AccountId::parse("acc_aaaaaaaaaaaa").unwrap(),
                    AccountId::parse("acc_bbbbbbbbbbbb").unwrap(),
                ],
            })
        );
        let cli = parse(&["api-keys", "revoke", "key_aaaaaaaaaaaa"]).unwrap();
        assert!(matches!(
            cli.selected_command(),
            Command::ApiKeys(ApiKeysCommand::Revoke { .. })
        ));
        let cli = parse(&["credentials", "rotate"]).unwrap();
        assert_eq!(
            cli.selected_command(),
            Command::Credentials(CredentialsCommand::Rotate)
        );
    }

    #[test]
    fn healthcheck_parses_with_defaults() {
        let cli = parse(&["healthcheck"]).unwrap();
        assert_eq!(
            cli.selected_command(),
            Command::Healthcheck(HealthcheckArgs {
                url: None,
                timeout: Duration::from_secs(5),
            })
        );
        let cli = parse(&[
            "healthcheck",
            "--url",
            "http://127.0.0.1:9000/health",
            "--timeout",
            "500ms",
        ])
        .unwrap();
        assert_eq!(
            cli.selected_command(),
            Command::Healthcheck(HealthcheckArgs {
                url: Some(Url::parse("http://127.0.0.1:9000/health").unwrap()),
                timeout: Duration::from_millis(500),
            })
        );
    }

    #[test]
    fn usage_errors_are_refused() {
        for args in [
            &["--bind", "nowhere"][..],
            &["--environment", "staging"],
            &["--log-format", "xml"],
            &["migrate", "--bind", "127.0.0.1:1"],
            &["frobnicate"],
            &["api-keys", "create"],
            &["api-keys", "create", "--name", ""],
            &["api-keys", "create", "--name", "x", "--account", "acc_nope"],
            &["api-keys", "revoke", "acc_aaaaaaaaaaaa"],
            &["credentials"],
            &["healthcheck", "--url", "https://127.0.0.1/health"],
            &["healthcheck", "--timeout", "0s"],
            &["healthcheck", "--bind", "127.0.0.1:1"],
        ] {
            let error = parse(args)
                .err()
                .unwrap_or_else(|| panic!("{args:?} parsed"));
            assert_eq!(
                error.exit_code(),
                i32::from(EXIT_BAD_CONFIGURATION),
                "{args:?}"
            );
        }
    }
}

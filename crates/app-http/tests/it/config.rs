//! Configuration loading, without touching the process environment.

use std::num::NonZeroU32;
use std::time::Duration;

use adapters_db::Backend;
use app_http::Config;
use app_http::config::{ConfigError, Environment, KeySource, LogFormat, Overrides, RateLimit};
use secrecy::ExposeSecret;

use crate::helpers::vars;

/// `openssl rand -base64 32` output (32 bytes of 0x2a).
const KEY: &str = "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=";

fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::from_lookup(vars(pairs), &Overrides::default())
}

fn problem_variables(error: &ConfigError) -> Vec<&str> {
    error
        .problems()
        .iter()
        .map(|problem| problem.variable.as_str())
        .collect()
}

#[test]
fn nothing_set_gives_the_documented_defaults() {
    let config = load(&[]).unwrap();

    assert_eq!(config.environment, Environment::Development);
    assert_eq!(config.server.bind, "0.0.0.0:8000".parse().unwrap());
    assert_eq!(config.server.log.filter, "info");
    assert_eq!(config.server.log.format, LogFormat::Pretty);
    assert_eq!(
        config.server.api_rate_limit,
        RateLimit {
            requests: NonZeroU32::new(50).unwrap(),
            per: Duration::from_secs(1),
            burst: NonZeroU32::new(200).unwrap(),
        }
    );
    assert!(config.server.metrics_token.is_none());
    assert_eq!(config.database.url.backend(), Backend::Sqlite);
    assert_eq!(config.database.redacted_url, "sqlite://igrouter.db");
    assert!(config.database.migrate_at_startup);
    assert_eq!(config.credentials.source, KeySource::DevelopmentDefault);
    assert_eq!(config.credentials.key.expose().len(), 32);
    assert!(config.credentials.previous.is_none());
    assert!(config.instagram.verify_token.is_none());
    assert_eq!(config.instagram.app_secrets().count(), 0);
    assert!(config.instagram.bootstrap_account.is_none());
    assert_eq!(
        config.instagram.graph_api_base_url.as_str(),
        "https://graph.instagram.com/"
    );
    assert_eq!(config.instagram.graph_api_version, "v21.0");
    assert_eq!(config.instagram.send_retry_schedule.max_attempts(), 6);
    assert_eq!(config.instagram.http_timeout, Duration::from_secs(15));
    assert_eq!(config.crm.retry_schedule.max_attempts(), 11);
    assert_eq!(
        config.crm.retry_schedule.delays()[0..3],
        [
            Duration::from_secs(5),
            Duration::from_secs(30),
            Duration::from_secs(120)
        ]
    );
    assert_eq!(config.crm.http_timeout, Duration::from_secs(15));
    assert!(config.crm.allow_private_webhook_urls);
    assert_eq!(config.startup_warnings().len(), 3);
}

#[test]
fn production_without_its_secrets_names_each_on_one_line() {
    let error = load(&[("ENVIRONMENT", "production")]).unwrap_err();

    assert_eq!(
        problem_variables(&error),
        [
            "CREDENTIALS_KEY",
            "FACEBOOK_VERIFY_TOKEN",
            "INSTAGRAM_APP_SECRET or FACEBOOK_APP_SECRET"
        ]
    );
    let line = error.to_string();
    assert!(!line.contains('\n'));
    assert!(line.starts_with("invalid configuration: "), "{line}");
}

#[test]
fn production_with_its_secrets_starts_with_production_defaults() {
    for secret in ["INSTAGRAM_APP_SECRET", "FACEBOOK_APP_SECRET"] {
        let config = load(&[
            ("ENVIRONMENT", "production"),
            ("FACEBOOK_VERIFY_TOKEN", "verify-me"),
            (secret, "app-secret"),
            ("CREDENTIALS_KEY", KEY),
        ])
        .unwrap();

        assert_eq!(config.environment, Environment::Production);
        assert_eq!(config.server.log.format, LogFormat::Json);
        assert!(!config.crm.allow_private_webhook_urls);
        assert_eq!(config.credentials.source, KeySource::Configured);
        assert_eq!(config.credentials.key.expose(), [0x2a; 32]);
        assert_eq!(config.instagram.app_secrets().count(), 1);
        assert!(config.startup_warnings().is_empty());
    }
}

#[test]
fn debug_output_shows_no_secret() {
    let secrets = [
        ("FACEBOOK_VERIFY_TOKEN", "secret-verify-token"),
        ("INSTAGRAM_APP_SECRET", "secret-instagram-app"),
        ("FACEBOOK_APP_SECRET", "secret-facebook-app"),
        ("INSTAGRAM_PAGE_ACCESS_TOKEN", "secret-page-token"),
        ("METRICS_TOKEN", "secret-metrics"),
    ];
    let mut pairs = secrets.to_vec();
    pairs.extend([
        ("INSTAGRAM_BUSINESS_ACCOUNT_ID", "17841400000000000"),
        ("CREDENTIALS_KEY", KEY),
        ("CREDENTIALS_KEY_PREVIOUS", KEY),
        (
            "DATABASE_URL",
            "postgres://app:secret-db-password@db:5432/igrouter",
        ),
    ]);
    let config = load(&pairs).unwrap();

    let debug = format!("{config:?}");

    for (name, value) in secrets {
        assert!(!debug.contains(value), "{name} leaks into Debug: {debug}");
    }
    assert!(!debug.contains(KEY) && !debug.contains("42, 42"), "{debug}");
    assert!(!debug.contains("secret-db-password"), "{debug}");
    assert_eq!(
        config.database.redacted_url,
        "postgres://app:***@db:5432/igrouter"
    );
    let bootstrap = config.instagram.bootstrap_account.unwrap();
    assert_eq!(bootstrap.instagram_account_id.as_str(), "17841400000000000");
    assert_eq!(bootstrap.access_token.expose_secret(), "secret-page-token");
}

#[test]
fn a_bad_value_is_refused_naming_its_variable() {
    for (name, value) in [
        ("ENVIRONMENT", "staging"),
        ("DATABASE_URL", "redis://x"),
        ("DATABASE_URL", "igrouter.db"),
        ("BIND_ADDRESS", "localhost"),
        ("CREDENTIALS_KEY", "c2hvcnQ="),
        ("CREDENTIALS_KEY", "not base64 at all!"),
        ("CREDENTIALS_KEY_PREVIOUS", "c2hvcnQ="),
        ("CRM_RETRY_SCHEDULE", "5s,soon"),
        ("SEND_RETRY_SCHEDULE", "1"),
        ("HTTP_TIMEOUT", "15"),
        ("HTTP_TIMEOUT", "0s"),
        ("LOG_LEVEL", "verbose"),
        ("LOG_FORMAT", "xml"),
        ("API_RATE_LIMIT", "fast"),
        ("GRAPH_API_BASE_URL", "graph.instagram.com"),
        ("GRAPH_API_VERSION", "v21.0/me"),
        ("ALLOW_PRIVATE_WEBHOOK_URLS", "perhaps"),
        ("INSTAGRAM_BUSINESS_ACCOUNT_ID", "has spaces"),
    ] {
        let mut pairs = vec![(name, value)];
        if name == "INSTAGRAM_BUSINESS_ACCOUNT_ID" {
            pairs.push(("INSTAGRAM_PAGE_ACCESS_TOKEN", "token"));
        }
        let error = load(&pairs).expect_err(name);
        assert_eq!(problem_variables(&error), [name], "{name}={value}: {error}");
        assert!(error.to_string().contains(name));
    }
}

#[test]
fn a_bad_key_is_never_echoed() {
    let almost_a_key = "KioqKioqKioqKioqKioqKioqKioqKioqKioqKio=";
    let error = load(&[("CREDENTIALS_KEY", almost_a_key)]).unwrap_err();

    assert_eq!(problem_variables(&error), ["CREDENTIALS_KEY"]);
    assert!(!error.to_string().contains(almost_a_key), "{error}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let error = load(&[
        ("ENVIRONMENT", "production"),
        ("DATABASE_URL", "redis://x"),
        ("HTTP_TIMEOUT", "soon"),
        ("FACEBOOK_VERIFY_TOKEN", "token"),
        ("FACEBOOK_APP_SECRET", "secret"),
        ("CREDENTIALS_KEY", KEY),
        ("CRM_RETRY_SCHEDULE", "1x"),
    ])
    .unwrap_err();

    assert_eq!(
        problem_variables(&error),
        ["HTTP_TIMEOUT", "DATABASE_URL", "CRM_RETRY_SCHEDULE"]
    );
}

#[test]
fn one_bootstrap_variable_without_the_other_is_refused() {
    let error = load(&[("INSTAGRAM_PAGE_ACCESS_TOKEN", "token")]).unwrap_err();
    assert_eq!(problem_variables(&error), ["INSTAGRAM_BUSINESS_ACCOUNT_ID"]);

    let error = load(&[("INSTAGRAM_BUSINESS_ACCOUNT_ID", "1784")]).unwrap_err();
    assert_eq!(problem_variables(&error), ["INSTAGRAM_PAGE_ACCESS_TOKEN"]);
}

#[test]
fn blank_variables_count_as_unset() {
    let config = load(&[
        ("DATABASE_URL", ""),
        ("CREDENTIALS_KEY", "  "),
        ("FACEBOOK_VERIFY_TOKEN", ""),
    ])
    .unwrap();
    assert_eq!(config.database.redacted_url, "sqlite://igrouter.db");
    assert_eq!(config.credentials.source, KeySource::DevelopmentDefault);
    assert!(config.instagram.verify_token.is_none());

    let error = load(&[
        ("ENVIRONMENT", "production"),
        ("FACEBOOK_VERIFY_TOKEN", " "),
    ]);
    assert!(problem_variables(&error.unwrap_err()).contains(&"FACEBOOK_VERIFY_TOKEN"));
}

#[test]
fn explicit_values_are_used() {
    let config = load(&[
        ("BIND_ADDRESS", "127.0.0.1:9000"),
        ("LOG_LEVEL", "warn,adapters_db=debug"),
        ("API_RATE_LIMIT", "10/m"),
        ("HTTP_TIMEOUT", "2500ms"),
        ("GRAPH_API_BASE_URL", "http://127.0.0.1:9999"),
        ("GRAPH_API_VERSION", "v22.0"),
        ("ALLOW_PRIVATE_WEBHOOK_URLS", "false"),
        ("DATABASE_URL", "mariadb://root@127.0.0.1/ig"),
    ])
    .unwrap();
    assert_eq!(config.server.bind.port(), 9000);
    assert_eq!(config.server.log.filter, "warn,adapters_db=debug");
    assert_eq!(config.server.api_rate_limit.burst.get(), 10);
    assert_eq!(config.server.api_rate_limit.per, Duration::from_secs(60));
    assert_eq!(config.crm.http_timeout, Duration::from_millis(2500));
    assert_eq!(config.instagram.http_timeout, Duration::from_millis(2500));
    assert_eq!(config.instagram.graph_api_base_url.port(), Some(9999));
    assert_eq!(config.instagram.graph_api_version, "v22.0");
    assert!(!config.crm.allow_private_webhook_urls);
    assert_eq!(config.database.url.backend(), Backend::Mysql);

    let production = load(&[
        ("ENVIRONMENT", "Production"),
        ("ALLOW_PRIVATE_WEBHOOK_URLS", "true"),
        ("FACEBOOK_VERIFY_TOKEN", "t"),
        ("FACEBOOK_APP_SECRET", "s"),
        ("CREDENTIALS_KEY", KEY),
        ("LOG_FORMAT", "pretty"),
    ])
    .unwrap();
    assert!(production.crm.allow_private_webhook_urls);
    assert_eq!(production.server.log.format, LogFormat::Pretty);
}

#[test]
fn flags_win_over_variables_and_are_named_when_bad() {
    let overrides = Overrides {
        bind: Some("127.0.0.1:7000".parse().unwrap()),
        database_url: Some("sqlite://flag.db".to_owned()),
        environment: Some(Environment::Development),
        log_level: Some("debug".to_owned()),
        log_format: Some(LogFormat::Json),
    };
    let config = Config::from_lookup(
        vars(&[
            ("BIND_ADDRESS", "not an address"),
            ("DATABASE_URL", "redis://ignored"),
            ("ENVIRONMENT", "production"),
            ("LOG_LEVEL", "nonsense"),
            ("LOG_FORMAT", "xml"),
        ]),
        &overrides,
    )
    .unwrap();
    assert_eq!(config.server.bind.port(), 7000);
    assert_eq!(config.database.redacted_url, "sqlite://flag.db");
    assert_eq!(config.environment, Environment::Development);
    assert_eq!(config.server.log.filter, "debug");
    assert_eq!(config.server.log.format, LogFormat::Json);

    let bad_flag = Overrides {
        database_url: Some("redis://x".to_owned()),
        ..Overrides::default()
    };
    let error = Config::from_lookup(vars(&[]), &bad_flag).unwrap_err();
    assert_eq!(problem_variables(&error), ["--database-url"]);
}

//! The HTTP server's own settings: where it listens, how it logs, how fast API clients may call,
//! who may read metrics.
//!
//! Reads `BIND_ADDRESS` (flag `--bind`), `LOG_LEVEL` (`--log-level`), `LOG_FORMAT`
//! (`--log-format`), `API_RATE_LIMIT` and `METRICS_TOKEN`.

use std::fmt;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;

use super::{Environment, Overrides, Vars};

/// `BIND_ADDRESS` when unset.
pub const DEFAULT_BIND_ADDRESS: &str = "0.0.0.0:8000";
/// `LOG_LEVEL` when unset.
pub const DEFAULT_LOG_LEVEL: &str = "info";
/// `API_RATE_LIMIT` when unset.
pub const DEFAULT_API_RATE_LIMIT: &str = "50/s,burst=200";

/// Levels `LOG_LEVEL` may name on its own; anything with `=` or `,` is a full tracing filter.
const LOG_LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

/// The HTTP server's settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The address to listen on; port 0 picks a free port.
    pub bind: SocketAddr,
    /// Log filter and format.
    pub log: LogConfig,
    /// Requests per API key on `/api/v1`.
    pub api_rate_limit: RateLimit,
    /// When set, `/metrics` requires `Authorization: Bearer <token>`.
    pub metrics_token: Option<SecretString>,
}

/// How the service logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// A tracing `EnvFilter` directive: a level (`info`) or per-target levels
    /// (`info,adapters_db=debug`).
    pub filter: String,
    /// Output format.
    pub format: LogFormat,
}

/// The log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines, coloured on a terminal.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// A token bucket: `requests` per `per` on average, bursts up to `burst`.
///
/// Written `50/s,burst=200`; the unit is `s`, `m` or `h`, and `burst` defaults to `requests`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per `per`.
    pub requests: NonZeroU32,
    /// The window `requests` refers to.
    pub per: Duration,
    /// The most requests allowed at once after a quiet period.
    pub burst: NonZeroU32,
}

pub(super) fn load(
    vars: &Vars<'_>,
    overrides: &Overrides,
    environment: Environment,
) -> Option<ServerConfig> {
    let bind = match overrides.bind {
        Some(bind) => Some(bind),
        None => vars.parse_or("BIND_ADDRESS", DEFAULT_BIND_ADDRESS, |text| {
            text.parse().map_err(|_| {
                format!("'{text}' is not an IP:PORT address like {DEFAULT_BIND_ADDRESS}")
            })
        }),
    };
    let filter = vars.parse_flag_or(
        ("--log-level", overrides.log_level.as_deref()),
        "LOG_LEVEL",
        DEFAULT_LOG_LEVEL,
        parse_log_filter,
    );
    let default_format = match environment {
        Environment::Development => LogFormat::Pretty,
        Environment::Production => LogFormat::Json,
    };
    let format = match overrides.log_format {
        Some(format) => Some(format),
        None => vars.parse_or("LOG_FORMAT", default_format.as_str(), LogFormat::from_str),
    };
    let api_rate_limit = vars.parse_or("API_RATE_LIMIT", DEFAULT_API_RATE_LIMIT, RateLimit::parse);
    let metrics_token = vars.get("METRICS_TOKEN").map(SecretString::from);
    Some(ServerConfig {
        bind: bind?,
        log: LogConfig {
            filter: filter?,
            format: format?,
        },
        api_rate_limit: api_rate_limit?,
        metrics_token,
    })
}

impl LogFormat {
    /// The name `LOG_FORMAT` uses.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pretty => "pretty",
            Self::Json => "json",
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "pretty" => Ok(Self::Pretty),
            "json" => Ok(Self::Json),
            _ => Err("must be pretty or json".to_owned()),
        }
    }
}

impl RateLimit {
    /// Parses `N/UNIT[,burst=M]`, e.g. `50/s,burst=200` or `600/m`.
    ///
    /// # Errors
    /// A reason (lowercase) when the text has another shape or a count is zero.
    pub fn parse(text: &str) -> Result<Self, String> {
        let shape = || format!("'{text}' is not like {DEFAULT_API_RATE_LIMIT}");
        let mut parts = text.split(',').map(str::trim);
        let (requests, unit) = parts
            .next()
            .and_then(|rate| rate.split_once('/'))
            .ok_or_else(shape)?;
        let requests = parse_count(requests.trim()).ok_or_else(shape)?;
        let per = match unit.trim() {
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            _ => return Err(format!("'{text}' has an unknown unit (use s, m or h)")),
        };
        let burst = match parts.next() {
            None => requests,
            Some(burst) => burst
                .strip_prefix("burst")
                .and_then(|rest| rest.trim_start().strip_prefix('='))
                .and_then(|count| parse_count(count.trim()))
                .ok_or_else(shape)?,
        };
        if parts.next().is_some() {
            return Err(shape());
        }
        Ok(Self {
            requests,
            per,
            burst,
        })
    }
}

impl FromStr for RateLimit {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

fn parse_count(text: &str) -> Option<NonZeroU32> {
    text.parse().ok()
}

/// Accepts a bare level, or a full filter; a bare word that is not a level would silently turn
/// logging off for everything but a target of that name, so it is refused.
fn parse_log_filter(text: &str) -> Result<String, String> {
    let is_directive_list = text.contains(['=', ',', '[']);
    if !is_directive_list && !LOG_LEVELS.contains(&text.to_ascii_lowercase().as_str()) {
        return Err(format!(
            "'{text}' is not a level ({}) or a filter like info,adapters_db=debug",
            LOG_LEVELS.join(", ")
        ));
    }
    tracing_subscriber::EnvFilter::try_new(text)
        .map(|_| text.to_owned())
        .map_err(|error| format!("'{text}' is not a valid log filter ({error})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(requests: u32, per_secs: u64, burst: u32) -> RateLimit {
        RateLimit {
            requests: NonZeroU32::new(requests).unwrap(),
            per: Duration::from_secs(per_secs),
            burst: NonZeroU32::new(burst).unwrap(),
        }
    }

    #[test]
    fn rate_limits_parse() {
        assert_eq!(RateLimit::parse("50/s,burst=200"), Ok(limit(50, 1, 200)));
        assert_eq!(
            RateLimit::parse(" 600 / m , burst = 10 "),
            Ok(limit(600, 60, 10))
        );
        assert_eq!(RateLimit::parse("1000/h"), Ok(limit(1000, 3600, 1000)));
        for bad in [
            "",
            "50",
            "50/d",
            "0/s",
            "50/s,burst=0",
            "50/s,burst",
            "50/s,200",
            "50/s,burst=1,x",
            "-5/s",
        ] {
            assert!(RateLimit::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn log_filters_are_levels_or_directives() {
        for good in [
            "info",
            "DEBUG",
            "off",
            "warn,adapters_db=debug",
            "app_http=trace",
        ] {
            assert!(parse_log_filter(good).is_ok(), "{good}");
        }
        for bad in ["verbose", "inf", "info,=x=y"] {
            assert!(parse_log_filter(bad).is_err(), "{bad}");
        }
    }
}

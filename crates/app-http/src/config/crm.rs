//! Deliveries to the CRM: how often to retry, and which webhook URLs are acceptable.
//!
//! Reads `CRM_RETRY_SCHEDULE`, `ALLOW_PRIVATE_WEBHOOK_URLS` and the delivery worker's pacing
//! (`CRM_DELIVERY_CONCURRENCY`, `CRM_DELIVERY_CONCURRENCY_PER_ACCOUNT`, `CRM_POLL_INTERVAL`; not in
//! the contract, documented in the README), and is handed `HTTP_TIMEOUT`.

use std::time::Duration;

use domain::RetrySchedule;

use super::{Environment, Vars, parse_bool, parse_timeout};

/// A whole number from 1 to 10,000.
fn parse_positive(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(count @ 1..=10_000) => Ok(count),
        _ => Err("must be a whole number from 1 to 10000".to_owned()),
    }
}

/// `CRM_RETRY_SCHEDULE` when unset: about a day of retries before a delivery is dead.
pub const DEFAULT_CRM_RETRY_SCHEDULE: &str = "5s,30s,2m,10m,30m,1h,2h,4h,8h,8h";

/// Settings for delivering events to the CRM.
#[derive(Debug, Clone)]
pub struct CrmConfig {
    /// Delays between delivery attempts after the first; after the last the delivery fails.
    pub retry_schedule: RetrySchedule,
    /// Per-attempt timeout of a delivery.
    pub http_timeout: Duration,
    /// Whether CRM webhook URLs may point at private, loopback or link-local addresses
    /// (default: allowed in development, refused in production).
    pub allow_private_webhook_urls: bool,
    /// Most deliveries one instance attempts at once (`CRM_DELIVERY_CONCURRENCY`).
    pub delivery_concurrency: usize,
    /// Most attempts at once to one account's CRM (`CRM_DELIVERY_CONCURRENCY_PER_ACCOUNT`).
    pub delivery_concurrency_per_account: usize,
    /// How often the worker looks for due work nobody rang for (`CRM_POLL_INTERVAL`).
    pub delivery_poll_interval: Duration,
}

/// `CRM_DELIVERY_CONCURRENCY` when unset.
const DEFAULT_DELIVERY_CONCURRENCY: &str = "128";
/// `CRM_DELIVERY_CONCURRENCY_PER_ACCOUNT` when unset.
const DEFAULT_DELIVERY_CONCURRENCY_PER_ACCOUNT: &str = "16";
/// `CRM_POLL_INTERVAL` when unset: retries come due at most this late.
const DEFAULT_POLL_INTERVAL: &str = "1s";

pub(super) fn load(
    vars: &Vars<'_>,
    environment: Environment,
    http_timeout: Option<Duration>,
) -> Option<CrmConfig> {
    let retry_schedule = vars.parse_or("CRM_RETRY_SCHEDULE", DEFAULT_CRM_RETRY_SCHEDULE, |text| {
        RetrySchedule::parse("CRM_RETRY_SCHEDULE", text).map_err(|error| error.reason)
    });
    let allow_private_webhook_urls = vars
        .parse_optional("ALLOW_PRIVATE_WEBHOOK_URLS", parse_bool)
        .map(|allow| allow.unwrap_or(environment == Environment::Development));
    let delivery_concurrency = vars.parse_or(
        "CRM_DELIVERY_CONCURRENCY",
        DEFAULT_DELIVERY_CONCURRENCY,
        parse_positive,
    );
    let delivery_concurrency_per_account = vars.parse_or(
        "CRM_DELIVERY_CONCURRENCY_PER_ACCOUNT",
        DEFAULT_DELIVERY_CONCURRENCY_PER_ACCOUNT,
        parse_positive,
    );
    let delivery_poll_interval =
        vars.parse_or("CRM_POLL_INTERVAL", DEFAULT_POLL_INTERVAL, parse_timeout);
    Some(CrmConfig {
        delivery_concurrency: delivery_concurrency?,
        delivery_concurrency_per_account: delivery_concurrency_per_account?,
        delivery_poll_interval: delivery_poll_interval?,
        retry_schedule: retry_schedule?,
        http_timeout: http_timeout?,
        allow_private_webhook_urls: allow_private_webhook_urls?,
    })
}

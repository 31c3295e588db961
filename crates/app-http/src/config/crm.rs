//! Deliveries to the CRM: how often to retry, and which webhook URLs are acceptable.
//!
//! Reads `CRM_RETRY_SCHEDULE` and `ALLOW_PRIVATE_WEBHOOK_URLS` (and is handed `HTTP_TIMEOUT`).

use std::time::Duration;

use domain::RetrySchedule;

use super::{Environment, Vars, parse_bool};

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
}

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
    Some(CrmConfig {
        retry_schedule: retry_schedule?,
        http_timeout: http_timeout?,
        allow_private_webhook_urls: allow_private_webhook_urls?,
    })
}

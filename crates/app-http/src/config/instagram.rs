//! Meta's side: the webhook verification token and signature secrets, the optional single-account
//! bootstrap, and how to reach the Graph API.
//!
//! Reads `FACEBOOK_VERIFY_TOKEN`, `INSTAGRAM_APP_SECRET`, `FACEBOOK_APP_SECRET`,
//! `INSTAGRAM_PAGE_ACCESS_TOKEN`, `INSTAGRAM_BUSINESS_ACCOUNT_ID`, `GRAPH_API_BASE_URL`,
//! `GRAPH_API_VERSION` and `SEND_RETRY_SCHEDULE` (and is handed `HTTP_TIMEOUT`).

use std::time::Duration;

use domain::{InstagramId, RetrySchedule};
use secrecy::SecretString;
use url::Url;

use super::{Environment, Vars};

/// `GRAPH_API_BASE_URL` when unset.
pub const DEFAULT_GRAPH_API_BASE_URL: &str = "https://graph.instagram.com";
/// `GRAPH_API_VERSION` when unset.
pub const DEFAULT_GRAPH_API_VERSION: &str = "v21.0";
/// `SEND_RETRY_SCHEDULE` when unset.
pub const DEFAULT_SEND_RETRY_SCHEDULE: &str = "1s,5s,30s,2m,10m";

/// Settings for talking to Meta.
#[derive(Debug, Clone)]
pub struct InstagramConfig {
    /// Answers Meta's `GET /webhooks/instagram` verification handshake.
    pub verify_token: Option<SecretString>,
    /// Webhook signature secret of the Instagram Login flow.
    pub instagram_app_secret: Option<SecretString>,
    /// Webhook signature secret of the Facebook Login flow.
    pub facebook_app_secret: Option<SecretString>,
    /// The one account to create or update at startup, when configured.
    pub bootstrap_account: Option<BootstrapAccount>,
    /// Graph API root, without the version.
    pub graph_api_base_url: Url,
    /// Path segment of every Graph API call, e.g. `v21.0`.
    pub graph_api_version: String,
    /// Delays between send attempts after a retryable Graph API error.
    pub send_retry_schedule: RetrySchedule,
    /// Per-attempt timeout of a Graph API call.
    pub http_timeout: Duration,
}

/// The account `INSTAGRAM_BUSINESS_ACCOUNT_ID` and `INSTAGRAM_PAGE_ACCESS_TOKEN` describe.
#[derive(Debug, Clone)]
pub struct BootstrapAccount {
    /// The business's Instagram id.
    pub instagram_account_id: InstagramId,
    /// Its Graph API access token.
    pub access_token: SecretString,
}

pub(super) fn load(
    vars: &Vars<'_>,
    environment: Environment,
    http_timeout: Option<Duration>,
) -> Option<InstagramConfig> {
    let verify_token = vars.get("FACEBOOK_VERIFY_TOKEN").map(SecretString::from);
    let instagram_app_secret = vars.get("INSTAGRAM_APP_SECRET").map(SecretString::from);
    let facebook_app_secret = vars.get("FACEBOOK_APP_SECRET").map(SecretString::from);
    if environment == Environment::Production {
        if verify_token.is_none() {
            vars.problem("FACEBOOK_VERIFY_TOKEN", "required in production");
        }
        if instagram_app_secret.is_none() && facebook_app_secret.is_none() {
            vars.problem(
                "INSTAGRAM_APP_SECRET or FACEBOOK_APP_SECRET",
                "one is required in production",
            );
        }
    }
    let bootstrap_account = load_bootstrap(vars);
    let graph_api_base_url = vars.parse_or(
        "GRAPH_API_BASE_URL",
        DEFAULT_GRAPH_API_BASE_URL,
        parse_base_url,
    );
    let graph_api_version = vars.parse_or(
        "GRAPH_API_VERSION",
        DEFAULT_GRAPH_API_VERSION,
        parse_version,
    );
    let send_retry_schedule =
        vars.parse_or("SEND_RETRY_SCHEDULE", DEFAULT_SEND_RETRY_SCHEDULE, |text| {
            RetrySchedule::parse("SEND_RETRY_SCHEDULE", text).map_err(|error| error.reason)
        });
    Some(InstagramConfig {
        verify_token,
        instagram_app_secret,
        facebook_app_secret,
        bootstrap_account: bootstrap_account?,
        graph_api_base_url: graph_api_base_url?,
        graph_api_version: graph_api_version?,
        send_retry_schedule: send_retry_schedule?,
        http_timeout: http_timeout?,
    })
}

impl InstagramConfig {
    /// The configured webhook signature secrets; a signature made with any of them is valid.
    pub fn app_secrets(&self) -> impl Iterator<Item = &SecretString> {
        self.instagram_app_secret
            .iter()
            .chain(self.facebook_app_secret.iter())
    }
}

/// Both variables or neither: one alone is almost certainly a mistake.
fn load_bootstrap(vars: &Vars<'_>) -> Option<Option<BootstrapAccount>> {
    let access_token = vars.get("INSTAGRAM_PAGE_ACCESS_TOKEN");
    let account_id = vars.parse_optional("INSTAGRAM_BUSINESS_ACCOUNT_ID", |text| {
        InstagramId::parse("INSTAGRAM_BUSINESS_ACCOUNT_ID", text).map_err(|error| error.reason)
    })?;
    match (account_id, access_token) {
        (Some(instagram_account_id), Some(access_token)) => Some(Some(BootstrapAccount {
            instagram_account_id,
            access_token: SecretString::from(access_token),
        })),
        (None, None) => Some(None),
        (Some(_), None) => {
            vars.problem(
                "INSTAGRAM_PAGE_ACCESS_TOKEN",
                "required when INSTAGRAM_BUSINESS_ACCOUNT_ID is set",
            );
            None
        }
        (None, Some(_)) => {
            vars.problem(
                "INSTAGRAM_BUSINESS_ACCOUNT_ID",
                "required when INSTAGRAM_PAGE_ACCESS_TOKEN is set",
            );
            None
        }
    }
}

fn parse_base_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|error| format!("'{text}' is not a url ({error})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.query().is_some() {
        return Err(format!("'{text}' must be an http(s) url without a query"));
    }
    Ok(url)
}

fn parse_version(text: &str) -> Result<String, String> {
    if text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
    {
        Ok(text.to_owned())
    } else {
        Err(format!("'{text}' must be one path segment like v21.0"))
    }
}

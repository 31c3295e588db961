//! What every handler can reach: the ports as trait objects, so handlers stay non-generic and
//! tests can swap any adapter.

use std::sync::Arc;

use domain::ports::{
    AccountStore, Clock, CredentialCipher, DeliveryQueue, HealthCheck, IdempotencyStore,
    MessageStore, OutboundQueue, ReplyRuleStore, StatsStore,
};

use crate::auth::Authenticator;
use crate::ingest::Ingest;
use crate::metrics::Metrics;
use crate::rate_limit::ApiRateLimiter;
use crate::replies::RuleCache;
use crate::webhook_auth::WebhookAuth;
use crate::webhook_url::DestinationPolicy;
use crate::workers::{SendOutcomes, Wake};

/// Shared by every worker; handlers take it as `web::Data<AppState>`.
pub(crate) struct AppState {
    /// Reports whether the database answers (`GET /health`).
    pub(crate) health: Arc<dyn HealthCheck>,
    /// The accounts.
    pub(crate) accounts: Arc<dyn AccountStore>,
    /// Checks `/api/v1` callers' keys.
    pub(crate) auth: Authenticator,
    /// The per-key `/api/v1` rate limit (`API_RATE_LIMIT`).
    pub(crate) rate_limits: Arc<ApiRateLimiter>,
    /// What `/metrics` shows; the request middleware feeds its HTTP latency.
    pub(crate) metrics: Arc<Metrics>,
    /// Seals and opens account credentials (`CREDENTIALS_KEY`).
    pub(crate) cipher: Arc<dyn CredentialCipher>,
    /// The time, for `created_at` and `updated_at`.
    pub(crate) clock: Arc<dyn Clock>,
    /// Where CRM webhook URLs may point (`ALLOW_PRIVATE_WEBHOOK_URLS`).
    pub(crate) webhook_destinations: DestinationPolicy,
    /// The webhook verify token and app secrets.
    pub(crate) webhook_auth: WebhookAuth,
    /// Stores what Meta's webhook posts hold.
    pub(crate) ingest: Ingest,
    /// The CRM delivery outbox (`/api/v1/deliveries`).
    pub(crate) deliveries: Arc<dyn DeliveryQueue>,
    /// Rung after a commit that made deliveries due now (a retry or a recover), so this
    /// instance's delivery worker starts them at once.
    pub(crate) delivery_wake: Wake,
    /// The send queue (`/api/v1/messages`).
    pub(crate) outbound: Arc<dyn OutboundQueue>,
    /// The send API's idempotency keys.
    pub(crate) idempotency: Arc<dyn IdempotencyStore>,
    /// The conversation history.
    pub(crate) messages: Arc<dyn MessageStore>,
    /// Rung after a send is committed, so this instance's send worker starts it at once.
    pub(crate) send_wake: Wake,
    /// Where the send worker announces outcomes to requests waiting on `Prefer: wait`.
    pub(crate) send_outcomes: SendOutcomes,
    /// The auto-reply rules (`/api/v1/accounts/{id}/rules`).
    pub(crate) rules: Arc<dyn ReplyRuleStore>,
    /// An account's stats (`/api/v1/accounts/{id}/stats`), computed by the database.
    pub(crate) stats: Arc<dyn StatsStore>,
    /// The turns of the stats queries this instance runs at once
    /// ([`crate::routes::MAX_CONCURRENT_STATS`]).
    pub(crate) stats_turns: tokio::sync::Semaphore,
    /// The compiled rules the ingest path matches with; rule writes make it forget an account.
    pub(crate) rule_cache: Arc<RuleCache>,
}

//! Prometheus metrics for `GET /metrics` (contract §4), with `prometheus-client`.
//!
//! The service counts in memory as it works (`ingest::WebhookCounters`, the workers'
//! `DeliveryMetrics` and `SendMetrics`, the rate limiter's refusals); a scrape copies those
//! counters, reads the queue depths through [`QueueStats`] (cached, `queues.rs`) and the pools'
//! use, and writes them all from a registry built for that scrape (`families.rs`). Only the HTTP
//! latency histogram (`http.rs`) is kept by `prometheus-client` itself. There is no global
//! registry: everything hangs off [`Metrics`], one per process, shared by every worker.
//!
//! Answers are in the Prometheus text format (0.0.4), or in OpenMetrics 1.0 when the scraper
//! asks for it in `Accept`, as Prometheus does. Every value is this instance's, except the queue
//! depths, which are the database's and so the same on every instance.

mod families;
mod http;
mod queues;

use std::fmt;
use std::sync::Arc;

use actix_web::http::header::HeaderValue;
use adapters_db::PoolUsage;
use domain::ApiKeyHash;
use domain::ports::{Clock, QueueStats};
use prometheus_client::encoding::{prometheus_text, text};
use prometheus_client::registry::Registry;
use secrecy::{ExposeSecret, SecretString};

pub(crate) use http::{HttpLatency, observe_request};

use self::families::Scrape;
use self::queues::{CachedQueueStats, QUEUE_STATS_TTL};
use crate::api_keys::hash_key;
use crate::auth::{bearer_token, hashes_equal};
use crate::ingest::WebhookCounters;
use crate::rate_limit::ApiRateLimiter;
use crate::workers::deliveries::DeliveryMetrics;
use crate::workers::sends::SendMetrics;

/// Reads the connection pools' use at the moment of a scrape.
pub(crate) type PoolReader = Box<dyn Fn() -> Vec<PoolUsage> + Send + Sync>;

/// Where the numbers come from.
pub(crate) struct MetricSources {
    /// The webhook endpoint's counters.
    pub(crate) webhooks: Arc<WebhookCounters>,
    /// The delivery worker's counters.
    pub(crate) deliveries: Arc<DeliveryMetrics>,
    /// The send worker's counters.
    pub(crate) sends: Arc<SendMetrics>,
    /// The `/api/v1` rate limiter, for its refusals.
    pub(crate) rate_limits: Arc<ApiRateLimiter>,
    /// The queue depths.
    pub(crate) queues: Arc<dyn QueueStats>,
    /// The time the queue ages are counted to.
    pub(crate) clock: Arc<dyn Clock>,
    /// The connection pools.
    pub(crate) pools: PoolReader,
}

/// The metrics of one process.
pub(crate) struct Metrics {
    webhooks: Arc<WebhookCounters>,
    deliveries: Arc<DeliveryMetrics>,
    sends: Arc<SendMetrics>,
    rate_limits: Arc<ApiRateLimiter>,
    queues: CachedQueueStats,
    pools: PoolReader,
    http: HttpLatency,
    /// SHA-256 of `METRICS_TOKEN`; `None`: `/metrics` is open.
    token: Option<ApiKeyHash>,
}

/// The exposition format of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// The Prometheus text format, version 0.0.4: what every scraper reads.
    Prometheus,
    /// OpenMetrics 1.0 text, for scrapers that ask for it.
    OpenMetrics,
}

impl Metrics {
    /// Metrics over `sources`; with a `token`, scrapes must present it as a bearer token.
    pub(crate) fn new(sources: MetricSources, token: Option<&SecretString>) -> Self {
        Self {
            webhooks: sources.webhooks,
            deliveries: sources.deliveries,
            sends: sources.sends,
            rate_limits: sources.rate_limits,
            queues: CachedQueueStats::new(sources.queues, sources.clock, QUEUE_STATS_TTL),
            pools: sources.pools,
            http: http::http_latency(),
            token: token.map(|token| hash_key(token.expose_secret())),
        }
    }

    /// Whether a scrape with this `Authorization` header may read the metrics: always without
    /// `METRICS_TOKEN`, otherwise only with `Bearer <METRICS_TOKEN>`. Both tokens are hashed
    /// first, so the comparison takes the same time whatever their lengths and contents.
    pub(crate) fn authorize(&self, authorization: Option<&HeaderValue>) -> bool {
        let Some(expected) = &self.token else {
            return true;
        };
        authorization
            .and_then(bearer_token)
            .is_some_and(|presented| hashes_equal(expected, &hash_key(presented)))
    }

    /// The HTTP latency histograms the request middleware feeds.
    pub(crate) fn http_latency(&self) -> &HttpLatency {
        &self.http
    }

    /// Every metric, now, in `format`.
    ///
    /// # Errors
    /// Only if encoding fails, which writing to a `String` does not.
    pub(crate) async fn render(&self, format: Format) -> Result<String, fmt::Error> {
        let scrape = Scrape {
            webhooks: self.webhooks.snapshot(),
            deliveries: self.deliveries.snapshot(),
            sends: self.sends.snapshot(),
            queues: self.queues.reading().await,
            pools: (self.pools)(),
            rate_limited: self.rate_limits.refused_total(),
            http: self.http.clone(),
        };
        let mut registry = Registry::default();
        registry.register_collector(Box::new(scrape));
        let mut body = String::new();
        match format {
            Format::Prometheus => prometheus_text::encode(&mut body, &registry)?,
            Format::OpenMetrics => text::encode(&mut body, &registry)?,
        }
        Ok(body)
    }
}

impl Format {
    /// OpenMetrics when `Accept` names it (Prometheus asks for it first), else the Prometheus
    /// text format.
    pub(crate) fn negotiate(accept: Option<&HeaderValue>) -> Self {
        let wants_openmetrics = accept
            .and_then(|value| value.to_str().ok())
            .is_some_and(|accept| accept.contains("application/openmetrics-text"));
        if wants_openmetrics {
            Self::OpenMetrics
        } else {
            Self::Prometheus
        }
    }

    /// The answer's `Content-Type`.
    pub(crate) const fn content_type(self) -> &'static str {
        match self {
            Self::Prometheus => prometheus_text::CONTENT_TYPE,
            Self::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

//! Every metric family `/metrics` shows, written from one [`Scrape`]: the counters the service
//! keeps in memory, copied at the moment of the scrape, plus the queues and pools read for it.
//!
//! Names carry the `igrouter_` prefix and their unit (`_seconds`); counters get `_total` from
//! the encoder. docs/metrics.md describes each family.

use std::fmt;

use adapters_db::PoolUsage;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeGaugeValue, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::{MetricType, TypedMetric};

use super::http::HttpLatency;
use super::queues::QueueReading;
use crate::ingest::{CountersSnapshot, EVENT_OUTCOMES};
use crate::workers::deliveries::{DeliveryMetricsSnapshot, LATENCY_BUCKETS_MS};
use crate::workers::sends::SendMetricsSnapshot;

/// Everything one scrape shows.
#[derive(Debug)]
pub(crate) struct Scrape {
    /// The webhook endpoint's counters.
    pub(crate) webhooks: CountersSnapshot,
    /// The delivery worker's counters.
    pub(crate) deliveries: DeliveryMetricsSnapshot,
    /// The send worker's counters.
    pub(crate) sends: SendMetricsSnapshot,
    /// Both queues; `None` when the database did not answer (the families are left out).
    pub(crate) queues: Option<QueueReading>,
    /// The connection pools.
    pub(crate) pools: Vec<PoolUsage>,
    /// `/api/v1` requests refused by the rate limit.
    pub(crate) rate_limited: u64,
    /// HTTP latency by route, method and status.
    pub(crate) http: HttpLatency,
}

/// `(label value, number)` pairs of a family with one label.
type Series<'a, N> = Vec<(&'a str, N)>;

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        let out = &mut encoder;
        gauges(
            out,
            "igrouter_build_info",
            "The running version; always 1.",
            "version",
            vec![(env!("CARGO_PKG_VERSION"), 1_u64)],
        )?;
        self.encode_webhooks(out)?;
        self.encode_deliveries(out)?;
        self.encode_sends(out)?;
        if let Some(reading) = &self.queues {
            encode_queues(out, reading)?;
        }
        encode_pools(out, &self.pools)?;
        counter(
            out,
            "igrouter_api_rate_limited_requests",
            "/api/v1 requests refused with 429 by API_RATE_LIMIT (this instance).",
            self.rate_limited,
        )?;
        let latency = out.encode_descriptor(
            "igrouter_http_request_duration_seconds",
            "HTTP requests by matched route pattern, method and status: time to answer.",
            None,
            MetricType::Histogram,
        )?;
        self.http.encode(latency)
    }
}

impl Scrape {
    fn encode_webhooks(&self, out: &mut DescriptorEncoder<'_>) -> fmt::Result {
        let webhooks = &self.webhooks;
        let mut events = out.encode_descriptor(
            "igrouter_webhook_events",
            "Webhook events committed, by event kind and outcome: stored, or duplicate (already \
             stored).",
            None,
            MetricType::Counter,
        )?;
        for counts in &webhooks.events {
            for (outcome, count) in EVENT_OUTCOMES
                .into_iter()
                .zip([counts.stored, counts.duplicates])
            {
                ConstCounter::new(count).encode(
                    events.encode_family(&[("kind", counts.kind), ("outcome", outcome)])?,
                )?;
            }
        }
        counter(
            out,
            "igrouter_webhook_unknown_account_events",
            "Webhook events for a business account igrouter does not know (stored, not forwarded).",
            webhooks.unknown_account,
        )?;
        counters(
            out,
            "igrouter_webhook_skipped_items",
            "Webhook items skipped (not understood or missing fields), by reason.",
            "reason",
            webhooks.skipped.clone(),
        )?;
        counter(
            out,
            "igrouter_webhook_signature_rejections",
            "Webhook posts refused with 401 for a missing or wrong X-Hub-Signature-256.",
            webhooks.signature_rejected,
        )?;
        counter(
            out,
            "igrouter_webhook_deliveries_queued",
            "CRM deliveries queued by stored webhook events.",
            webhooks.deliveries_queued,
        )
    }

    fn encode_deliveries(&self, out: &mut DescriptorEncoder<'_>) -> fmt::Result {
        let deliveries = &self.deliveries;
        counters(
            out,
            "igrouter_crm_delivery_attempts",
            "CRM delivery attempts by outcome: delivered, retried (another attempt scheduled), \
             dead (the last one failed), claim_lost, record_failed.",
            "outcome",
            vec![
                ("delivered", deliveries.delivered),
                ("retried", deliveries.retried),
                ("dead", deliveries.dead),
                ("claim_lost", deliveries.claim_lost),
                ("record_failed", deliveries.record_failed),
            ],
        )?;
        gauge(
            out,
            "igrouter_crm_delivery_attempts_in_flight",
            "CRM delivery attempts under way in this instance.",
            deliveries.in_flight,
        )?;
        let mut histogram = out.encode_descriptor(
            "igrouter_crm_delivery_attempt_duration_seconds",
            "CRM delivery attempts: time from the request to the CRM's answer or the failure.",
            None,
            MetricType::Histogram,
        )?;
        let bounds = LATENCY_BUCKETS_MS
            .iter()
            .map(|millis| millis_to_secs(*millis))
            .chain([f64::INFINITY]);
        let buckets: Vec<(f64, u64)> = bounds
            .zip(deliveries.latency_buckets.iter().copied())
            .collect();
        let count = deliveries.latency_buckets.iter().sum();
        histogram.encode_histogram::<NoLabelSet>(
            micros_to_secs(deliveries.latency_sum_us),
            count,
            &buckets,
            None,
        )
    }

    fn encode_sends(&self, out: &mut DescriptorEncoder<'_>) -> fmt::Result {
        let sends = &self.sends;
        counters(
            out,
            "igrouter_send_attempts",
            "Graph API send attempts by outcome: sent, retried, failed (given up with a known \
             error), outcome_unknown (failed, may have been sent), postponed (handed back \
             untried), claim_lost, record_failed.",
            "outcome",
            vec![
                ("sent", sends.sent),
                ("retried", sends.retried),
                ("failed", sends.failed.saturating_sub(sends.outcome_unknown)),
                ("outcome_unknown", sends.outcome_unknown),
                ("postponed", sends.postponed),
                ("claim_lost", sends.claim_lost),
                ("record_failed", sends.record_failed),
            ],
        )?;
        let codes: Vec<(String, u64)> = sends
            .error_codes
            .iter()
            .map(|(code, count)| (code.to_string(), *count))
            .collect();
        counters(
            out,
            "igrouter_send_graph_errors",
            "Graph API errors answered to send attempts, by Meta's error code.",
            "code",
            codes
                .iter()
                .map(|(code, count)| (code.as_str(), *count))
                .collect(),
        )
    }
}

fn encode_queues(out: &mut DescriptorEncoder<'_>, reading: &QueueReading) -> fmt::Result {
    let queues = [
        ("crm_deliveries", reading.depths.deliveries),
        ("sends", reading.depths.sends),
    ];
    gauges(
        out,
        "igrouter_queue_depth",
        "Unfinished rows in the queue (every instance's): waiting for an attempt or under way.",
        "queue",
        queues
            .iter()
            .map(|(queue, depth)| (*queue, depth.unfinished))
            .collect(),
    )?;
    gauges(
        out,
        "igrouter_queue_due",
        "Rows of the queue due now and not yet taken by a worker.",
        "queue",
        queues
            .iter()
            .map(|(queue, depth)| (*queue, depth.due))
            .collect(),
    )?;
    gauges(
        out,
        "igrouter_queue_oldest_due_age_seconds",
        "How long the row that has waited longest for a worker has been due; 0 when none is.",
        "queue",
        queues
            .iter()
            .map(|(queue, depth)| {
                let waited = depth.oldest_due_at.map_or(0, |due| {
                    reading
                        .at
                        .as_millis()
                        .saturating_sub(due.as_millis())
                        .max(0)
                });
                (*queue, millis_to_secs(u64::try_from(waited).unwrap_or(0)))
            })
            .collect(),
    )
}

fn encode_pools(out: &mut DescriptorEncoder<'_>, pools: &[PoolUsage]) -> fmt::Result {
    let mut connections = out.encode_descriptor(
        "igrouter_db_pool_connections",
        "Open database connections by pool and state: idle in the pool, or in_use.",
        None,
        MetricType::Gauge,
    )?;
    for pool in pools {
        let in_use = pool.open.saturating_sub(pool.idle);
        for (state, count) in [("idle", pool.idle), ("in_use", in_use)] {
            let labels = [("pool", pool.pool), ("state", state)];
            ConstGauge::new(count_u64(count)).encode(connections.encode_family(&labels)?)?;
        }
    }
    gauges(
        out,
        "igrouter_db_pool_max_connections",
        "Most connections each pool opens.",
        "pool",
        pools
            .iter()
            .map(|pool| (pool.pool, count_u64(pool.max_size)))
            .collect(),
    )?;
    gauges(
        out,
        "igrouter_db_pool_waiting",
        "Callers waiting for a connection from each pool.",
        "pool",
        pools
            .iter()
            .map(|pool| (pool.pool, count_u64(pool.waiting)))
            .collect(),
    )
}

/// A counter without labels.
fn counter(out: &mut DescriptorEncoder<'_>, name: &str, help: &str, value: u64) -> fmt::Result {
    single(out, name, help, ConstCounter::new(value))
}

/// A gauge without labels.
fn gauge(out: &mut DescriptorEncoder<'_>, name: &str, help: &str, value: u64) -> fmt::Result {
    single(out, name, help, ConstGauge::new(value))
}

/// A counter family with one label.
fn counters(
    out: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    label: &str,
    series: Series<'_, u64>,
) -> fmt::Result {
    let series = series
        .into_iter()
        .map(|(value, count)| (value, ConstCounter::new(count)));
    family(out, name, help, label, series)
}

/// A gauge family with one label.
fn gauges<N: EncodeGaugeValue>(
    out: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    label: &str,
    series: Series<'_, N>,
) -> fmt::Result {
    let series = series
        .into_iter()
        .map(|(value, number)| (value, ConstGauge::new(number)));
    family(out, name, help, label, series)
}

/// One metric without labels.
fn single<M: EncodeMetric + TypedMetric>(
    out: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    metric: M,
) -> fmt::Result {
    metric.encode(out.encode_descriptor(name, help, None, M::TYPE)?)
}

/// A family with one label: one series per `(label value, metric)`.
fn family<'a, M: EncodeMetric + TypedMetric>(
    out: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    label: &str,
    series: impl IntoIterator<Item = (&'a str, M)>,
) -> fmt::Result {
    let mut family = out.encode_descriptor(name, help, None, M::TYPE)?;
    for (value, metric) in series {
        metric.encode(family.encode_family(&[(label, value)])?)?;
    }
    Ok(())
}

/// Milliseconds as seconds; exact below 2^53 ms (285,000 years).
fn millis_to_secs(millis: u64) -> f64 {
    millis as f64 / 1000.0
}

/// Microseconds as seconds; exact below 2^53 µs (285 years).
fn micros_to_secs(micros: u64) -> f64 {
    micros as f64 / 1_000_000.0
}

fn count_u64(count: usize) -> u64 {
    u64::try_from(count).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use domain::Timestamp;
    use domain::ports::{QueueDepth, QueueDepths};
    use prometheus_client::encoding::prometheus_text;
    use prometheus_client::registry::Registry;

    use super::*;
    use crate::metrics::http::http_latency;

    fn render(scrape: Scrape) -> String {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(scrape));
        let mut text = String::new();
        prometheus_text::encode(&mut text, &registry).unwrap();
        text
    }

    fn scrape() -> Scrape {
        Scrape {
            webhooks: CountersSnapshot::default(),
            deliveries: DeliveryMetricsSnapshot {
                latency_buckets: vec![0; LATENCY_BUCKETS_MS.len() + 1],
                ..DeliveryMetricsSnapshot::default()
            },
            sends: SendMetricsSnapshot::default(),
            queues: None,
            pools: Vec::new(),
            rate_limited: 0,
            http: http_latency(),
        }
    }

    #[test]
    fn send_outcomes_do_not_overlap() {
        let text = render(Scrape {
            sends: SendMetricsSnapshot {
                failed: 3,
                outcome_unknown: 1,
                error_codes: BTreeMap::from([(613, 2)]),
                ..SendMetricsSnapshot::default()
            },
            ..scrape()
        });
        assert!(
            text.contains("igrouter_send_attempts_total{outcome=\"failed\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("igrouter_send_attempts_total{outcome=\"outcome_unknown\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("igrouter_send_graph_errors_total{code=\"613\"} 2\n"),
            "{text}"
        );
    }

    #[test]
    fn delivery_latencies_are_a_cumulative_histogram_in_seconds() {
        let mut buckets = vec![0; LATENCY_BUCKETS_MS.len() + 1];
        buckets[0] = 1; // ≤ 5 ms
        buckets[3] = 2; // ≤ 50 ms
        buckets[LATENCY_BUCKETS_MS.len()] = 1; // over 10 s
        let text = render(Scrape {
            deliveries: DeliveryMetricsSnapshot {
                latency_buckets: buckets,
                latency_sum_us: 60_083_000,
                ..DeliveryMetricsSnapshot::default()
            },
            ..scrape()
        });
        let name = "igrouter_crm_delivery_attempt_duration_seconds";
        for line in [
            format!("{name}_bucket{{le=\"0.005\"}} 1\n"),
            format!("{name}_bucket{{le=\"0.025\"}} 1\n"),
            format!("{name}_bucket{{le=\"0.05\"}} 3\n"),
            format!("{name}_bucket{{le=\"10\"}} 3\n"),
            format!("{name}_bucket{{le=\"+Inf\"}} 4\n"),
            format!("{name}_sum 60.083\n"),
            format!("{name}_count 4\n"),
        ] {
            assert!(text.contains(&line), "{line}: {text}");
        }
    }

    #[test]
    fn queue_ages_count_to_the_reading() {
        let depth = |oldest: Option<i64>| QueueDepth {
            unfinished: 4,
            due: 2,
            oldest_due_at: oldest.map(Timestamp::from_millis),
        };
        let text = render(Scrape {
            queues: Some(QueueReading {
                depths: QueueDepths {
                    deliveries: depth(Some(1_000)),
                    sends: depth(None),
                },
                at: Timestamp::from_millis(13_500),
            }),
            ..scrape()
        });
        for line in [
            "igrouter_queue_depth{queue=\"crm_deliveries\"} 4\n",
            "igrouter_queue_due{queue=\"sends\"} 2\n",
            "igrouter_queue_oldest_due_age_seconds{queue=\"crm_deliveries\"} 12.5\n",
            "igrouter_queue_oldest_due_age_seconds{queue=\"sends\"} 0.0\n",
        ] {
            assert!(text.contains(line), "{line}: {text}");
        }
    }
}

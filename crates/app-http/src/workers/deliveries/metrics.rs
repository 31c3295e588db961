//! Counters of what the delivery worker did, ready to be exported as Prometheus metrics
//! (issue 9) without changing the code that counts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (ms) of the attempt-latency histogram buckets; a last bucket takes the rest.
pub const LATENCY_BUCKETS_MS: [u64; 11] =
    [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000];

/// Delivery outcomes and attempt latencies since the service started. Shared by the worker's
/// tasks.
#[derive(Debug, Default)]
pub struct DeliveryMetrics {
    delivered: AtomicU64,
    retried: AtomicU64,
    dead: AtomicU64,
    claim_lost: AtomicU64,
    record_failed: AtomicU64,
    in_flight: AtomicU64,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS_MS.len() + 1],
    latency_sum_us: AtomicU64,
}

/// A copy of the metrics at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryMetricsSnapshot {
    /// Attempts the CRM accepted (2xx).
    pub delivered: u64,
    /// Failed attempts with another attempt scheduled.
    pub retried: u64,
    /// Failed attempts that were the last: the delivery is `failed`.
    pub dead: u64,
    /// Results dropped because the claim had expired and another worker took the delivery over.
    pub claim_lost: u64,
    /// Results that could not be written (the database failed); the lease brings the delivery back.
    pub record_failed: u64,
    /// Attempts under way now.
    pub in_flight: u64,
    /// Attempts by latency, one count per [`LATENCY_BUCKETS_MS`] bound and one for the rest
    /// (not cumulative).
    pub latency_buckets: Vec<u64>,
    /// Sum of all attempt latencies, µs (ms would count a fast CRM's attempts as nothing).
    pub latency_sum_us: u64,
}

/// How an attempt ended, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttemptOutcome {
    Delivered,
    Retried,
    Dead,
    ClaimLost,
    RecordFailed,
}

impl DeliveryMetrics {
    /// Counts one attempt that took `latency` and ended as `outcome`.
    pub(crate) fn record(&self, outcome: AttemptOutcome, latency: Duration) {
        let counter = match outcome {
            AttemptOutcome::Delivered => &self.delivered,
            AttemptOutcome::Retried => &self.retried,
            AttemptOutcome::Dead => &self.dead,
            AttemptOutcome::ClaimLost => &self.claim_lost,
            AttemptOutcome::RecordFailed => &self.record_failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        let bucket = LATENCY_BUCKETS_MS
            .iter()
            .position(|bound| micros <= bound.saturating_mul(1000))
            .unwrap_or(LATENCY_BUCKETS_MS.len());
        if let Some(slot) = self.latency_buckets.get(bucket) {
            slot.fetch_add(1, Ordering::Relaxed);
        }
        self.latency_sum_us.fetch_add(micros, Ordering::Relaxed);
    }

    /// An attempt started.
    pub(crate) fn started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// An attempt ended (whatever its outcome).
    pub(crate) fn ended(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    /// The metrics now.
    pub fn snapshot(&self) -> DeliveryMetricsSnapshot {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        DeliveryMetricsSnapshot {
            delivered: load(&self.delivered),
            retried: load(&self.retried),
            dead: load(&self.dead),
            claim_lost: load(&self.claim_lost),
            record_failed: load(&self.record_failed),
            in_flight: load(&self.in_flight),
            latency_buckets: self.latency_buckets.iter().map(load).collect(),
            latency_sum_us: load(&self.latency_sum_us),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_outcomes_and_buckets_latencies() {
        let metrics = DeliveryMetrics::default();
        metrics.record(AttemptOutcome::Delivered, Duration::from_micros(300));
        metrics.record(AttemptOutcome::Delivered, Duration::from_micros(50_400));
        metrics.record(AttemptOutcome::Dead, Duration::from_secs(60));
        metrics.started();
        let snapshot = metrics.snapshot();
        assert_eq!(snapshot.delivered, 2);
        assert_eq!(snapshot.dead, 1);
        assert_eq!(snapshot.retried, 0);
        assert_eq!(snapshot.in_flight, 1);
        assert_eq!(snapshot.latency_buckets[0], 1);
        // Just over 50 ms: the next bucket up.
        assert_eq!(snapshot.latency_buckets[4], 1);
        assert_eq!(snapshot.latency_buckets[LATENCY_BUCKETS_MS.len()], 1);
        assert_eq!(snapshot.latency_sum_us, 60_050_700);
    }
}

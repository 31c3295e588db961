//! The queue depths `/metrics` shows, read from the database at most once per [`QUEUE_STATS_TTL`]
//! however many scrapers ask, and never for longer than [`QUERY_TIMEOUT`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::Timestamp;
use domain::ports::{Clock, QueueDepths, QueueStats};
use tokio::sync::Mutex;

use crate::telemetry::error_chain;

/// How long one reading serves every scrape: several Prometheus servers (or a scraper gone
/// wild) cost the database one indexed query per second at most.
pub(crate) const QUEUE_STATS_TTL: Duration = Duration::from_secs(1);

/// A scrape gives up on the database after this long and shows the other metrics without the
/// queues; scrapers usually time out after 10 s.
const QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// One reading of both queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QueueReading {
    /// The queues.
    pub(crate) depths: QueueDepths,
    /// When they were read (the ages are counted to it).
    pub(crate) at: Timestamp,
}

/// [`QueueStats`] behind a short cache; a failed reading is cached too, so a database that is
/// down is asked once per TTL, not once per scrape.
pub(crate) struct CachedQueueStats {
    stats: Arc<dyn QueueStats>,
    clock: Arc<dyn Clock>,
    ttl: Duration,
    /// The last reading and when it was taken; scrapes queue on the lock, so only one of them
    /// queries when the reading is stale.
    last: Mutex<Option<(Instant, Option<QueueReading>)>>,
}

impl CachedQueueStats {
    /// A cache over `stats` that keeps a reading for `ttl`.
    pub(crate) fn new(stats: Arc<dyn QueueStats>, clock: Arc<dyn Clock>, ttl: Duration) -> Self {
        Self {
            stats,
            clock,
            ttl,
            last: Mutex::new(None),
        }
    }

    /// The queues, read now or less than a TTL ago; `None` when the database did not answer
    /// (logged once per reading).
    pub(crate) async fn reading(&self) -> Option<QueueReading> {
        let mut last = self.last.lock().await;
        if let Some((taken, reading)) = *last
            && taken.elapsed() < self.ttl
        {
            return reading;
        }
        let at = self.clock.now();
        let reading = match tokio::time::timeout(QUERY_TIMEOUT, self.stats.queue_depths(at)).await {
            Ok(Ok(depths)) => Some(QueueReading { depths, at }),
            Ok(Err(error)) => {
                tracing::warn!(error = %error_chain(&error), "metrics: could not read the queue depths");
                None
            }
            Err(_) => {
                tracing::warn!(
                    "metrics: the queue depths took over {} s to read",
                    QUERY_TIMEOUT.as_secs()
                );
                None
            }
        };
        *last = Some((Instant::now(), reading));
        reading
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use async_trait::async_trait;
    use domain::ports::{QueueDepth, StoreError};

    use super::*;
    use crate::clock::SystemClock;

    /// Counts its readings; each one reports the reading's number as the delivery depth.
    #[derive(Default)]
    struct Counting {
        reads: AtomicU64,
        down: bool,
    }

    #[async_trait]
    impl QueueStats for Counting {
        async fn queue_depths(&self, _now: Timestamp) -> Result<QueueDepths, StoreError> {
            let n = self.reads.fetch_add(1, Ordering::SeqCst) + 1;
            if self.down {
                return Err(StoreError::Unavailable("connection refused".into()));
            }
            Ok(QueueDepths {
                deliveries: QueueDepth {
                    unfinished: n,
                    ..QueueDepth::default()
                },
                sends: QueueDepth::default(),
            })
        }
    }

    #[tokio::test]
    async fn readings_are_reused_within_the_ttl() {
        let stats = Arc::new(Counting::default());
        let cache = CachedQueueStats::new(stats.clone(), Arc::new(SystemClock), QUEUE_STATS_TTL);
        for _ in 0..5 {
            let reading = cache.reading().await.unwrap();
            assert_eq!(reading.depths.deliveries.unfinished, 1);
        }
        assert_eq!(stats.reads.load(Ordering::SeqCst), 1);

        let fresh = CachedQueueStats::new(stats.clone(), Arc::new(SystemClock), Duration::ZERO);
        fresh.reading().await;
        fresh.reading().await;
        assert_eq!(stats.reads.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn failures_are_cached_too() {
        let stats = Arc::new(Counting {
            down: true,
            ..Counting::default()
        });
        let cache = CachedQueueStats::new(stats.clone(), Arc::new(SystemClock), QUEUE_STATS_TTL);
        assert_eq!(cache.reading().await, None);
        assert_eq!(cache.reading().await, None);
        assert_eq!(stats.reads.load(Ordering::SeqCst), 1);
    }
}

//! Forgetting expired idempotency keys: a background task of `igrouter serve`.
//!
//! Expired records are harmless (taking an expired key replaces its record), so purging only
//! bounds the table's size; once an hour is plenty. Every instance runs it; a purge that finds
//! nothing costs one indexed `DELETE`.

use std::sync::Arc;
use std::time::Duration;

use domain::ports::{Clock, IdempotencyStore};
use tokio::sync::watch;
use tokio::time::{MissedTickBehavior, interval};

use crate::telemetry::error_chain;

/// Time between two purges; the first runs at start-up.
pub(crate) const PURGE_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// Purges expired idempotency records every [`PURGE_INTERVAL`] until `stop` turns true (or its
/// sender is gone). Failures are logged and retried at the next interval.
pub(crate) async fn purge_expired_keys(
    store: Arc<dyn IdempotencyStore>,
    clock: Arc<dyn Clock>,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticks = interval(PURGE_INTERVAL);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
        match store.purge_expired_idempotency(clock.now()).await {
            Ok(0) => tracing::debug!("no expired idempotency keys"),
            Ok(purged) => tracing::info!(purged, "expired idempotency keys purged"),
            Err(error) => {
                tracing::warn!(error = %error_chain(&error), "could not purge expired idempotency keys");
            }
        }
    }
}

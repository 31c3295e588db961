//! [`Wake`]: how a request that just committed queue work tells this instance's worker to look
//! now instead of at its next poll.

use std::sync::Arc;

use tokio::sync::Notify;

/// A doorbell for one worker. Ringing it after a commit makes the worker claim at once; rings
/// while the worker is busy are remembered (one pending wake-up), so none is lost. Work written
/// by other instances is found by the worker's polling instead.
#[derive(Debug, Clone, Default)]
pub struct Wake(Arc<Notify>);

impl Wake {
    /// A new doorbell nobody has rung.
    pub fn new() -> Self {
        Self::default()
    }

    /// Tells the worker that work is due now.
    pub fn ring(&self) {
        self.0.notify_one();
    }

    /// Completes at the next ring (or at once when a ring is pending).
    pub async fn rung(&self) {
        self.0.notified().await;
    }
}

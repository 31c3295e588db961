//! Background workers running inside `igrouter serve`: the CRM delivery worker and the send
//! worker, both on one claim loop (`pump.rs`). Each claims due work from its queue in the database, so several instances on
//! one database share the work safely.

mod accounts;
pub mod deliveries;
mod outcomes;
mod pump;
mod retry;
pub mod sends;
mod wake;

pub use outcomes::{InFlight, OutcomeWaiter, SendOutcomes, Word};
pub use wake::Wake;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// Every worker of one instance, run and stopped together.
pub(crate) struct Workers {
    pub(crate) deliveries: deliveries::DeliveryWorker,
    pub(crate) sends: sends::SendWorker,
}

impl Workers {
    /// Runs every worker until `stop` turns true; each then drains for at most `drain`.
    pub(crate) async fn run(self, stop: watch::Receiver<bool>, drain: Duration) {
        tokio::join!(
            self.deliveries.run(stop.clone(), drain),
            self.sends.run(stop, drain)
        );
    }
}

/// The workers' metrics, shared with the running service.
#[derive(Debug, Default)]
pub struct WorkerMetrics {
    /// The delivery worker's.
    pub deliveries: Arc<deliveries::DeliveryMetrics>,
    /// The send worker's.
    pub sends: Arc<sends::SendMetrics>,
}

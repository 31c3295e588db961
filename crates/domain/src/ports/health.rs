//! A cheap check that a backend answers, for `GET /health`.

use async_trait::async_trait;

use super::StoreError;

/// Something whose reachability `/health` reports.
#[async_trait]
pub trait HealthCheck: Send + Sync {
    /// Runs the cheapest round trip the backend offers.
    ///
    /// # Errors
    /// MUST return `StoreError::Unavailable` when the backend cannot be reached.
    async fn ping(&self) -> Result<(), StoreError>;
}

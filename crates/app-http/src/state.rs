//! What every handler can reach: the ports as trait objects, so handlers stay non-generic and
//! tests can swap any adapter.

use std::sync::Arc;

use domain::ports::HealthCheck;

/// Shared by every worker; handlers take it as `web::Data<AppState>`.
pub(crate) struct AppState {
    /// Reports whether the database answers (`GET /health`).
    pub(crate) health: Arc<dyn HealthCheck>,
}

//! What every handler can reach: the ports as trait objects, so handlers stay non-generic and
//! tests can swap any adapter.

use std::sync::Arc;

use domain::ports::{AccountStore, HealthCheck};

use crate::auth::Authenticator;

/// Shared by every worker; handlers take it as `web::Data<AppState>`.
pub(crate) struct AppState {
    /// Reports whether the database answers (`GET /health`).
    pub(crate) health: Arc<dyn HealthCheck>,
    /// The accounts.
    pub(crate) accounts: Arc<dyn AccountStore>,
    /// Checks `/api/v1` callers' keys.
    pub(crate) auth: Authenticator,
}

//! What every handler can reach: the ports as trait objects, so handlers stay non-generic and
//! tests can swap any adapter.

use std::sync::Arc;

use domain::ports::{AccountStore, HealthCheck};

use crate::auth::Authenticator;
use crate::ingest::Ingest;
use crate::webhook_auth::WebhookAuth;

/// Shared by every worker; handlers take it as `web::Data<AppState>`.
pub(crate) struct AppState {
    /// Reports whether the database answers (`GET /health`).
    pub(crate) health: Arc<dyn HealthCheck>,
    /// The accounts.
    pub(crate) accounts: Arc<dyn AccountStore>,
    /// Checks `/api/v1` callers' keys.
    pub(crate) auth: Authenticator,
    /// The webhook verify token and app secrets.
    pub(crate) webhook_auth: WebhookAuth,
    /// Stores what Meta's webhook posts hold.
    pub(crate) ingest: Ingest,
}

//! `GET /health`: whether the service and its database answer (contract §4), for load balancers
//! and orchestrators.

use std::time::Duration;

use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;
use crate::telemetry::error_chain;

/// The version `/health` reports.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Probes usually give up after a few seconds; answer `503` before they do, rather than hang on a
/// database that accepts connections but does not answer.
const PING_TIMEOUT: Duration = Duration::from_secs(3);

/// The body of both answers.
#[derive(Debug, Serialize, ToSchema)]
struct Health {
    /// `ok`, or `degraded` when the database does not answer.
    #[schema(value_type = String, pattern = "^(ok|degraded)$")]
    status: &'static str,
    /// `ok` or `unavailable`.
    #[schema(value_type = String, pattern = "^(ok|unavailable)$")]
    database: &'static str,
    /// igrouter's version.
    #[schema(value_type = String)]
    version: &'static str,
}

/// `200 {"status":"ok","database":"ok",…}`, or `503` with `"database":"unavailable"`.
#[utoipa::path(
    get,
    path = "/health",
    tag = "operations",
    operation_id = "health",
    responses(
        (status = 200, description = "The service and its database answer.", body = Health),
        (status = 503, description = "The database does not answer within 3 s.", body = Health),
    ),
)]
pub(crate) async fn health(state: web::Data<AppState>) -> HttpResponse {
    let reason = match tokio::time::timeout(PING_TIMEOUT, state.health.ping()).await {
        Ok(Ok(())) => {
            return HttpResponse::Ok()
                .insert_header(CacheControl(vec![CacheDirective::NoStore]))
                .json(Health {
                    status: "ok",
                    database: "ok",
                    version: VERSION,
                });
        }
        Ok(Err(error)) => error_chain(&error),
        Err(_) => format!("no answer within {} s", PING_TIMEOUT.as_secs()),
    };
    tracing::warn!(error = %reason, "health check failed: database unavailable");
    HttpResponse::ServiceUnavailable()
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .json(Health {
            status: "degraded",
            database: "unavailable",
            version: VERSION,
        })
}

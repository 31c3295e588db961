//! `GET /metrics`: Prometheus metrics (contract §4; `metrics/` builds them, docs/metrics.md
//! lists them). With `METRICS_TOKEN` set, only `Authorization: Bearer <METRICS_TOKEN>` may read
//! them. Never rate limited.

use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::http_error::ApiError;
use crate::metrics::Format;
use crate::state::AppState;

/// Every metric of this instance, in the format the scraper asked for.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    operation_id = "metrics",
    responses(
        (status = 200, description = "Prometheus text format (OpenMetrics when the `Accept` header asks for it); docs/metrics.md lists the families.",
         content((String = "text/plain"), (String = "application/openmetrics-text"))),
        (status = 401, description = "`METRICS_TOKEN` is set and the request does not carry it as a bearer token (`unauthorized`).", body = crate::openapi::ErrorSchema,
         headers(("WWW-Authenticate" = String, description = "`Bearer`."))),
    ),
    security((), ("metrics_token" = [])),
)]
pub(crate) async fn metrics(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    if !state
        .metrics
        .authorize(request.headers().get(header::AUTHORIZATION))
    {
        tracing::debug!("metrics scrape refused: missing or wrong METRICS_TOKEN");
        return Err(ApiError::MetricsUnauthorized);
    }
    let format = Format::negotiate(request.headers().get(header::ACCEPT));
    let body = state
        .metrics
        .render(format)
        .await
        .map_err(|error| ApiError::Internal(Box::new(error)))?;
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .body(body))
}

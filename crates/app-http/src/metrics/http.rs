//! HTTP request latency by route, method and status: an actix middleware feeding one
//! Prometheus histogram family.
//!
//! The `route` label is the matched route pattern (`/api/v1/accounts/{id}`), never the raw path,
//! and every path no route takes is `unmatched`, so a scanner walking random URLs cannot grow
//! the number of series. Methods outside the usual few are `other` for the same reason.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;

use crate::state::AppState;

/// Upper bounds (seconds) of the latency buckets: from a webhook acknowledged in a millisecond
/// to a send waiting its full `Prefer: wait=30`.
pub(crate) const HTTP_BUCKETS_SECONDS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The `route` of requests no route matched.
pub(crate) const UNMATCHED_ROUTE: &str = "unmatched";

/// One series of the latency histogram.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct HttpLabels {
    /// The matched route pattern, or [`UNMATCHED_ROUTE`].
    pub(crate) route: String,
    /// The request method, or `other`.
    pub(crate) method: &'static str,
    /// The answer's status code.
    pub(crate) status: u16,
}

/// The latency histograms, one per label set.
pub(crate) type HttpLatency = Family<HttpLabels, Histogram, fn() -> Histogram>;

/// An empty family.
pub(crate) fn http_latency() -> HttpLatency {
    Family::new_with_constructor(|| Histogram::new(HTTP_BUCKETS_SECONDS))
}

/// Times every request, from the moment actix hands it over until its answer is ready.
pub(crate) async fn observe_request(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = method_label(request.method());
    let response = next.call(request).await;
    let elapsed = started.elapsed().as_secs_f64();
    let (request, status) = match &response {
        Ok(response) => (response.request(), response.status()),
        // Only a failing middleware gets here; its error still becomes an answer.
        Err(_) => return response,
    };
    if let Some(state) = request.app_data::<web::Data<AppState>>() {
        let labels = HttpLabels {
            route: request
                .match_pattern()
                .unwrap_or_else(|| UNMATCHED_ROUTE.to_owned()),
            method,
            status: status.as_u16(),
        };
        state
            .metrics
            .http_latency()
            .get_or_create(&labels)
            .observe(elapsed);
    }
    response
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

//! Logging: a tracing subscriber set up from `LOG_LEVEL` and `LOG_FORMAT`, one log line per
//! HTTP request, and request ids (`request_id.rs`) on every line of a request.
//!
//! Logs go to stderr, so stdout stays free for command output. Nothing here logs a secret: request
//! lines carry the path but never the query string, which may hold `hub.verify_token`.

mod json;
pub mod request_id;

use std::io::IsTerminal;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use anyhow::Context;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::JsonFields;

use crate::config::{LogConfig, LogFormat};

/// Installs the global tracing subscriber (and routes the `log` records of actix through it).
///
/// # Errors
/// When the filter does not parse or a subscriber is already installed.
pub fn init(config: &LogConfig) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(&config.filter).context("invalid log filter")?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match config.format {
        LogFormat::Pretty => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        // Span fields (the request's `request_id`) are flattened into each line.
        LogFormat::Json => builder
            .fmt_fields(JsonFields::new())
            .event_format(json::FlatJson)
            .try_init(),
    };
    installed
        .map_err(|error| anyhow::anyhow!(error))
        .context("could not install the log subscriber")
}

/// Logs each request once it is answered: method, path, status, duration.
pub(crate) async fn log_request(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.path().to_owned();
    let response = next.call(request).await?;
    let status = response.status().as_u16();
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    // Probes poll /health every few seconds; keep them out of the default log.
    if path == "/health" {
        tracing::debug!(http.method = %method, http.path = %path, http.status = status, duration_ms, "request answered");
    } else {
        tracing::info!(http.method = %method, http.path = %path, http.status = status, duration_ms, "request answered");
    }
    Ok(response)
}

/// `error: source: source …` on one line, for logs.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}

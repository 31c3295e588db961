//! igrouter's HTTP service: configuration, wiring, the actix-web handlers and the `igrouter`
//! binary's building blocks.
//!
//! `main.rs` and the integration tests both go through [`Application::build`], so tests start the
//! same service that ships. Only this crate knows igrouter's public JSON; adapters and the domain
//! know nothing of HTTP.

pub mod accounts;
pub mod api_keys;
mod auth;
pub mod bootstrap;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
mod console;
pub mod credentials;
pub mod healthcheck;
mod http_error;
pub mod ingest;
mod metrics;
mod openapi;
pub mod random;
mod rate_limit;
pub mod replies;
mod routes;
mod sending;
mod startup;
mod state;
pub mod telemetry;
mod webhook_auth;
pub mod webhook_url;
pub mod workers;

pub use config::Config;
pub use sending::idempotency_fingerprint;
pub use startup::{Application, SHUTDOWN_TIMEOUT_SECS, migrate};

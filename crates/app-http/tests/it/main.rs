//! app-http's integration tests: the real service started on port 0 over every backend, the
//! configuration loader, and the built `igrouter` binary.

// Clippy only treats `#[test]` functions as tests; helpers and the bodies `backend_tests!` wraps
// are test code too, and a failed setup should stop the test right there.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code fails loudly at the first unexpected result"
)]

mod accounts;
mod accounts_cache;
mod accounts_write;
mod api_keys_cli;
mod auth;
mod auto_replies;
mod cli;
mod config;
mod console;
mod credentials;
mod crm_crash;
mod crm_delivery;
mod deliveries_api;
mod drain;
mod errors;
mod health;
mod healthcheck;
mod helpers;
mod history_api;
mod logs;
mod metrics;
mod openapi;
mod rate_limits;
mod request_ids;
mod rule_test_api;
mod rules_api;
mod schemathesis;
mod send_api;
mod send_worker;
mod stats_api;
mod webhook_dedupe;
mod webhook_fixtures;
mod webhook_support;
mod webhooks;

//! adapters-db's conformance suite: every port's documented behaviour, checked on SQLite,
//! PostgreSQL and MySQL/MariaDB, each test on a fresh database.

#![expect(
    clippy::unwrap_used,
    reason = "clippy counts only #[test] fns as tests; these bodies run under backend_tests! and fail loudly"
)]

mod accounts;
mod api_keys;
mod cancellation;
mod checkpoints;
mod conversation;
mod cooldowns;
mod deliveries;
mod events;
mod fixtures;
mod idempotency;
mod messages;
mod migration_lock;
mod migrations;
mod outbound;
mod own_sends;
mod pacing;
mod queue_stats;
mod rules;
mod stats;

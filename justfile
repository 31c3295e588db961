# igrouter's everyday commands. Install just with `pip install rust-just` or
# `cargo install just --locked`; `just` alone lists the recipes.

# Recipes see the variables of a `.env` file (igrouter itself reads it too).
set dotenv-load

# Extra arguments reach cargo as "$@", spaces and all.
set positional-arguments

# List the recipes.
default:
    @just --list

# Serve on BIND_ADDRESS (default 0.0.0.0:8000); arguments go to igrouter (`just run --help`).
run *ARGS:
    cargo run --release -- "$@"

# Apply pending database migrations to DATABASE_URL and exit.
migrate:
    cargo run --release -- migrate

# Every test; PostgreSQL/MySQL tests print SKIPPED when their server is unreachable.
test *ARGS:
    cargo test --workspace "$@"

# Formatting and clippy, as strict as CI.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings

# Format the workspace in place.
fmt:
    cargo fmt --all

# Every benchmark.
bench: bench-db bench-ingest bench-delivery bench-send bench-rules

# Storage benchmarks on each backend (see docs/benchmarks.md).
bench-db *ARGS:
    cargo bench -p adapters-db --bench storage "$@"

# Signed webhooks through the real service on each backend, 64 connections (BENCH_SECONDS, default 20).
bench-ingest *ARGS:
    cargo bench -p app-http --bench ingest "$@"

# Webhooks → CRM latency, max rate and a 30 s CRM outage through the real service, on each backend
# (`--quick` for a few seconds per phase; see docs/benchmarks.md).
bench-delivery *ARGS:
    cargo bench -p app-http --bench delivery -- "$@"

# Send API accepted sends/s at 32 connections, 202 → sent against a fake Graph API (20 ms), and
# the 100/s per-account pace, on each backend (`--quick` for a few seconds per phase; see
# docs/benchmarks.md).
bench-send *ARGS:
    cargo bench -p app-http --bench send -- "$@"

# Choosing the auto-reply of one message among 1,000 rules: p50/p99 per message (see
# docs/benchmarks.md; BENCH_ITERATIONS, default 200000).
bench-rules *ARGS:
    cargo bench -p app-http --bench rules "$@"

# What CI runs: databases, fmt, dependency direction, clippy, tests on all backends.
ci:
    bash .ci/run

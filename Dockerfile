# syntax=docker/dockerfile:1
# igrouter's container image: build the release binary, then run it as a non-root user on a
# minimal glibc runtime. Migrations are embedded in the binary; SQLite is bundled; PostgreSQL and
# MySQL are spoken in pure Rust, so the runtime needs no database client library.
#
#   docker build -t igrouter .
#   docker run -p 8000:8000 igrouter                      # SQLite in /data/igrouter.db
#   docker run -e DATABASE_URL=postgres://... igrouter migrate

# The builder's Debian release must match the runtime's (cc-debian12 is bookworm): a binary linked
# against a newer glibc does not start on an older one.
FROM rust:1-bookworm AS builder
WORKDIR /src
COPY . .
# Cache mounts keep the crates.io download and the target directory between builds; the binary is
# copied out because the cached target/ is not part of the image layer.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p app-http \
    && install -D -m 0755 target/release/igrouter /out/igrouter \
    && mkdir -p /out/data

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=builder /out/igrouter /usr/local/bin/igrouter
# The working directory holds the default SQLite database (sqlite://igrouter.db) and an optional
# .env; it belongs to the nonroot user (65532) so the service can write it.
COPY --from=builder --chown=65532:65532 /out/data /data
WORKDIR /data
USER 65532:65532
ENV BIND_ADDRESS=0.0.0.0:8000
EXPOSE 8000
# The image has no shell and no curl: the binary probes its own GET /health (exit 0 on 200, 1
# otherwise), on 127.0.0.1 at BIND_ADDRESS's port. Change the port with BIND_ADDRESS, not with
# `serve --bind`, which the probe does not see. The start period covers the migrations at start.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["/usr/local/bin/igrouter", "healthcheck"]
# igrouter runs as PID 1 and handles SIGTERM itself (graceful stop within 30 s).
ENTRYPOINT ["/usr/local/bin/igrouter"]
CMD ["serve"]

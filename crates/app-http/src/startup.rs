//! Wiring: from a [`Config`] to a running HTTP server. `main` and the tests share this path, so
//! the tests start exactly the service that ships.

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use adapters_crm::HttpCrmNotifier;
use adapters_db::Database;
use adapters_instagram::GraphClient;
use anyhow::Context;
use domain::ports::{AccountStore, ApiKeyStore, Clock, CredentialCipher};
use tokio::sync::watch;

use crate::accounts::{CachedAccounts, LOOKUP_TTL};
use crate::auth::Authenticator;
use crate::bootstrap::{self, BootstrapOutcome};
use crate::clock::SystemClock;
use crate::config::{Config, DatabaseConfig, Environment};
use crate::credentials::{self, AesGcmCipher, CheckKeyError};
use crate::http_error;
use crate::ingest::{Ingest, IngestReplies, WebhookCounters};
use crate::metrics::{self, MetricSources, Metrics};
use crate::rate_limit::{self, ApiRateLimiter};
use crate::replies::{RULES_TTL, RuleCache};
use crate::routes;
use crate::sending;
use crate::state::AppState;
use crate::telemetry;
use crate::telemetry::request_id;
use crate::webhook_auth::WebhookAuth;
use crate::webhook_url::destination_policy;
use crate::workers::deliveries::{DeliveryMetrics, DeliveryPorts, DeliveryWorker};
use crate::workers::sends::{SendMetrics, SendPorts, SendReporting, SendWorker};
use crate::workers::{SendOutcomes, Wake};
use crate::workers::{WorkerMetrics, Workers};

/// After a shutdown signal the process exits within this (contract §4).
pub const SHUTDOWN_TIMEOUT_SECS: u64 = 30;

/// Of [`SHUTDOWN_TIMEOUT_SECS`], what in-flight requests and the workers' attempts get to
/// finish; the rest is for writing the last attempts' results and exiting, so a supervisor's
/// 30 s grace never ends in a `SIGKILL`.
const DRAIN_SECS: u64 = SHUTDOWN_TIMEOUT_SECS - 5;

/// The service, built and listening, not yet serving.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    state: web::Data<AppState>,
    webhook_counters: Arc<WebhookCounters>,
    workers: Workers,
    metrics: WorkerMetrics,
}

impl Application {
    /// Connects the database, applies pending migrations, checks that the credentials key opens
    /// the stored credentials and applies the single-account bootstrap (all skipped when
    /// [`DatabaseConfig::migrate_at_startup`] is off), and binds the listen address.
    ///
    /// # Errors
    /// When the database cannot be migrated (unreachable, or a migration fails), no configured
    /// key opens the stored credentials ([`credentials::CredentialsKeyMismatch`]), the bootstrap
    /// fails, or the address cannot be bound.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        tracing::info!(
            version = env!("CARGO_PKG_VERSION"),
            environment = %config.environment,
            database.backend = %config.database.url.backend(),
            database.url = %config.database.redacted_url,
            "starting igrouter"
        );
        for warning in config.startup_warnings() {
            tracing::warn!("{warning}");
        }
        if config.environment == Environment::Production && config.server.metrics_token.is_none() {
            tracing::warn!(
                "METRICS_TOKEN is not set: GET /metrics is open to anyone who can reach the port \
                 (set it, or keep the port private)"
            );
        }
        let database = connect(&config.database)?;
        let cipher = AesGcmCipher::new(&config.credentials)
            .context("could not set up the credentials cipher")?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        if config.database.migrate_at_startup {
            apply_migrations(&database, &config.database).await?;
            prepare_data(&database, &cipher, clock.as_ref(), &config).await?;
        }
        let listener = TcpListener::bind(config.server.bind)
            .with_context(|| format!("could not listen on {}", config.server.bind))?;
        listener
            .set_nonblocking(true)
            .context("could not configure the listening socket")?;
        let address = listener
            .local_addr()
            .context("could not read the listening address")?;
        let database = Arc::new(database);
        let cipher: Arc<dyn CredentialCipher> = Arc::new(cipher);
        let webhook_counters = Arc::new(WebhookCounters::default());
        let delivery_wake = Wake::new();
        let send_wake = Wake::new();
        let send_outcomes = SendOutcomes::new();
        let metrics = WorkerMetrics::default();
        let workers = build_workers(
            &config,
            &database,
            &cipher,
            &clock,
            WorkerSignals {
                delivery_wake: delivery_wake.clone(),
                send_wake: send_wake.clone(),
                send_outcomes: send_outcomes.clone(),
            },
            &metrics,
        )?;
        // Handlers and ingest share one cache, so this instance's account writes are seen at once.
        let accounts: Arc<dyn AccountStore> =
            Arc::new(CachedAccounts::new(database.clone(), LOOKUP_TTL));
        // Ingest matches with it and rule writes make it forget, so this instance's rule changes
        // apply to the next message.
        let rule_cache = Arc::new(RuleCache::new(database.clone(), RULES_TTL));
        let rate_limits = Arc::new(ApiRateLimiter::new(&config.server.api_rate_limit));
        let pools = Arc::clone(&database);
        let service_metrics = Arc::new(Metrics::new(
            MetricSources {
                webhooks: webhook_counters.clone(),
                deliveries: metrics.deliveries.clone(),
                sends: metrics.sends.clone(),
                rate_limits: rate_limits.clone(),
                queues: database.clone(),
                clock: clock.clone(),
                pools: Box::new(move || pools.pool_usage()),
            },
            config.server.metrics_token.as_ref(),
        ));
        let state = AppState {
            health: database.clone(),
            accounts: accounts.clone(),
            webhook_auth: WebhookAuth::new(&config.instagram, config.environment),
            ingest: Ingest::new(
                accounts,
                database.clone(),
                clock.clone(),
                webhook_counters.clone(),
                delivery_wake.clone(),
                IngestReplies {
                    rules: rule_cache.clone(),
                    outbound: database.clone(),
                    send_wake: send_wake.clone(),
                },
            ),
            deliveries: database.clone(),
            delivery_wake,
            outbound: database.clone(),
            idempotency: database.clone(),
            messages: database.clone(),
            send_wake,
            send_outcomes,
            rules: database.clone(),
            rule_cache,
            stats: database.clone(),
            stats_turns: tokio::sync::Semaphore::new(routes::MAX_CONCURRENT_STATS),
            auth: Authenticator::new(database, clock.clone(), config.environment),
            rate_limits,
            metrics: service_metrics,
            cipher,
            clock,
            webhook_destinations: destination_policy(&config.crm),
        };
        Ok(Self {
            listener,
            address,
            state: web::Data::new(state),
            webhook_counters,
            workers,
            metrics,
        })
    }

    /// The port the service listens on (the real one when the configuration said port 0).
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// The address the service listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// What the webhook endpoint has done so far (items by outcome), shared with the running
    /// service.
    pub fn webhook_counters(&self) -> Arc<WebhookCounters> {
        Arc::clone(&self.webhook_counters)
    }

    /// What the delivery worker has done so far, shared with the running service.
    pub fn delivery_metrics(&self) -> Arc<DeliveryMetrics> {
        Arc::clone(&self.metrics.deliveries)
    }

    /// What the send worker has done so far, shared with the running service.
    pub fn send_metrics(&self) -> Arc<SendMetrics> {
        Arc::clone(&self.metrics.sends)
    }

    /// Serves until SIGTERM or SIGINT, then stops accepting connections and lets in-flight
    /// requests and the workers' attempts finish (at most 25 s), so the process exits
    /// within [`SHUTDOWN_TIMEOUT_SECS`].
    ///
    /// # Errors
    /// When the signal handlers cannot be installed or the server fails.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let signal = shutdown_signal()?;
        self.run_until(signal).await
    }

    /// Serves until `shutdown` completes, then shuts down gracefully like
    /// [`Self::run_until_stopped`]. Installs no signal handler (for tests).
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let state = self.state;
        // One stop signal for the server and the workers: whoever completes `shutdown` stops all.
        let (stop, stopped) = watch::channel(false);
        let stop = Arc::new(stop);
        let on_shutdown = Arc::clone(&stop);
        tokio::spawn(async move {
            shutdown.await;
            on_shutdown.send_replace(true);
        });
        let workers = tokio::spawn(
            self.workers
                .run(stopped.clone(), Duration::from_secs(DRAIN_SECS)),
        );
        // Not waited for at shutdown: it holds no work that must finish.
        tokio::spawn(sending::purge_expired_keys(
            Arc::clone(&state.idempotency),
            Arc::clone(&state.clock),
            stopped.clone(),
        ));
        let mut server_stopped = stopped;
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(http_error::json_config())
                .app_data(http_error::query_config())
                .app_data(http_error::path_config())
                .configure(routes::configure)
                .default_service(web::to(http_error::not_found))
                .wrap(http_error::method_not_allowed_handler())
                // Outside the 405 rewrite, so its answers get the rate-limit headers and count.
                .wrap(from_fn(rate_limit::add_headers))
                .wrap(from_fn(metrics::observe_request))
                .wrap(from_fn(telemetry::log_request))
                // Outermost, so every line of the request (its "request answered" too) has the id.
                .wrap(from_fn(request_id::propagate))
        })
        .listen(self.listener)
        .context("could not start the http server")?
        .shutdown_signal(async move {
            // An error means the sender is gone, which also means stop.
            let _ = server_stopped.wait_for(|stop| *stop).await;
        })
        .shutdown_timeout(DRAIN_SECS)
        .run();
        tracing::info!(address = %self.address, "listening on http://{}", self.address);
        let served = server.await.context("the http server failed");
        // The server stops on the shared signal; if it failed instead, the worker still has to
        // be stopped. It drains within the same limit.
        stop.send_replace(true);
        if let Err(error) = workers.await {
            tracing::error!(error = %error, "a background worker panicked");
        }
        served?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Applies pending migrations and exits: `igrouter migrate`.
///
/// # Errors
/// When the database is unreachable or a migration fails.
pub async fn migrate(config: &DatabaseConfig) -> anyhow::Result<()> {
    let database = connect(config)?;
    apply_migrations(&database, config).await
}

/// Connects and applies pending migrations: what every command that touches data does first.
///
/// # Errors
/// When the database is unreachable or a migration fails.
pub(crate) async fn connect_and_migrate(config: &DatabaseConfig) -> anyhow::Result<Database> {
    let database = connect(config)?;
    apply_migrations(&database, config).await?;
    Ok(database)
}

/// Start-up work on the data, after the migrations: the credentials key check, the bootstrap,
/// and the warning that development accepts any API token while no key exists.
async fn prepare_data(
    database: &Database,
    cipher: &AesGcmCipher,
    clock: &dyn Clock,
    config: &Config,
) -> anyhow::Result<()> {
    match credentials::check_key(database, cipher).await {
        Ok(()) => {}
        // Kept as the outermost error, so `main` recognises it and exits 2.
        Err(CheckKeyError::Mismatch(mismatch)) => return Err(mismatch.into()),
        Err(error) => return Err(anyhow::Error::new(error)),
    }
    if let Some(wanted) = &config.instagram.bootstrap_account {
        let outcome = bootstrap::ensure_account(database, cipher, clock, wanted)
            .await
            .context("could not create or update the INSTAGRAM_BUSINESS_ACCOUNT_ID account")?;
        match outcome {
            BootstrapOutcome::Created(id) => {
                tracing::info!(account.id = %id, "bootstrap account created from INSTAGRAM_BUSINESS_ACCOUNT_ID");
            }
            BootstrapOutcome::TokenUpdated(id) => {
                tracing::info!(account.id = %id, "bootstrap account's access token updated from INSTAGRAM_PAGE_ACCESS_TOKEN");
            }
            BootstrapOutcome::Unchanged(id) => {
                tracing::debug!(account.id = %id, "bootstrap account is up to date");
            }
        }
    }
    if config.environment == Environment::Development
        && !database
            .any_api_key_exists()
            .await
            .context("could not read the api keys")?
    {
        tracing::warn!(
            "no api key exists: /api/v1 accepts ANY non-empty bearer token until one is created \
             with `igrouter api-keys create` (development only)"
        );
    }
    Ok(())
}

/// The doorbells and registries the workers share with the request handlers.
struct WorkerSignals {
    delivery_wake: Wake,
    send_wake: Wake,
    send_outcomes: SendOutcomes,
}

/// The background workers over `database`, with their HTTP clients.
fn build_workers(
    config: &Config,
    database: &Arc<Database>,
    cipher: &Arc<dyn CredentialCipher>,
    clock: &Arc<dyn Clock>,
    signals: WorkerSignals,
    metrics: &WorkerMetrics,
) -> anyhow::Result<Workers> {
    let notifier = HttpCrmNotifier::new(config.crm.http_timeout, destination_policy(&config.crm))
        .context("could not set up the crm http client")?;
    let graph = GraphClient::new(
        config.instagram.graph_api_base_url.as_str(),
        &config.instagram.graph_api_version,
        config.instagram.http_timeout,
    )
    .context("could not set up the graph api client")?;
    let deliveries = DeliveryWorker::new(
        DeliveryPorts {
            queue: database.clone(),
            accounts: database.clone(),
            cipher: cipher.clone(),
            notifier: Arc::new(notifier),
            clock: clock.clone(),
        },
        &config.crm,
        signals.delivery_wake.clone(),
        metrics.deliveries.clone(),
    );
    let sends = SendWorker::new(
        SendPorts {
            queue: database.clone(),
            accounts: database.clone(),
            cipher: cipher.clone(),
            instagram: Arc::new(graph),
            pacing: database.clone(),
            clock: clock.clone(),
        },
        SendReporting {
            metrics: metrics.sends.clone(),
            outcomes: signals.send_outcomes,
            delivery_wake: signals.delivery_wake,
        },
        config.instagram.send_retry_schedule.clone(),
        config.instagram.http_timeout,
        signals.send_wake,
    );
    Ok(Workers { deliveries, sends })
}

fn connect(config: &DatabaseConfig) -> anyhow::Result<Database> {
    Database::connect(&config.url, config.pool).with_context(|| {
        format!(
            "could not set up the database pool for {}",
            config.redacted_url
        )
    })
}

async fn apply_migrations(database: &Database, config: &DatabaseConfig) -> anyhow::Result<()> {
    let applied = database
        .run_migrations()
        .await
        .with_context(|| format!("could not migrate {}", config.redacted_url))?;
    if applied.is_empty() {
        tracing::info!("database schema is up to date");
    } else {
        tracing::info!(migrations = ?applied, "applied {} migration(s)", applied.len());
    }
    Ok(())
}

/// Completes on the first SIGTERM or SIGINT. The handlers are installed here, before the server
/// starts, so a signal sent as soon as the service listens is never lost to the default action.
#[cfg(unix)]
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};

    let mut terminate =
        signal(SignalKind::terminate()).context("could not install the SIGTERM handler")?;
    let mut interrupt =
        signal(SignalKind::interrupt()).context("could not install the SIGINT handler")?;
    Ok(async move {
        let name = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        };
        tracing::info!(
            signal = name,
            "shutting down: finishing in-flight requests and attempts (at most {DRAIN_SECS} s)"
        );
    })
}

/// Completes on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()> + Send + 'static> {
    Ok(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("shutting down: finishing in-flight requests");
        }
    })
}

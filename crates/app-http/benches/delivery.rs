//! `just bench-delivery`: how fast and how surely acknowledged webhooks reach the CRM.
//!
//! For every reachable backend it runs three phases, each on a fresh database (as in the tests)
//! with the real service (`Application::build`, port 0, the delivery worker at its defaults
//! unless `CRM_POLL_INTERVAL`, `CRM_DELIVERY_CONCURRENCY`, `CRM_DELIVERY_CONCURRENCY_PER_ACCOUNT`,
//! `HTTP_TIMEOUT` or `CRM_RETRY_SCHEDULE` are set), [`ACCOUNTS`] accounts whose CRM URL points at a
//! local receiver, and signed single-message webhooks spread over them:
//!
//! 1. **fixed**: `BENCH_RATE` (100) webhooks/s for `BENCH_FIXED_SECONDS` (20);
//! 2. **max**: `BENCH_CLIENTS` (32) connections posting back to back for `BENCH_MAX_SECONDS` (10);
//! 3. **outage**: `BENCH_RATE` webhooks/s while the CRM answers `503` for `BENCH_OUTAGE_SECONDS`
//!    (30), then `BENCH_RECOVERY_SECONDS` (15) more with the CRM back, on the retry schedule
//!    `BENCH_OUTAGE_SCHEDULE` (default [`OUTAGE_SCHEDULE`]). It reports how long after the CRM
//!    came back the last event of the backlog arrived, next to the bound the schedule implies.
//!
//! The receiver is a minimal HTTP/1.1 keep-alive server on a tokio `TcpListener` that answers
//! `200` (or `503` while down) with an empty body and records, for each delivery it accepts, when
//! it arrived and its `webhook-id`, keyed by the body's `message_id` (the Instagram `mid`). The
//! latency of an event is from the `200` of its webhook to the arrival of its delivery. After
//! each phase the bench waits until every acknowledged webhook was delivered (at most
//! `BENCH_DRAIN_TIMEOUT_SECONDS`, 30; an event still missing then counts as arriving then, so
//! the percentiles are lower bounds). `BENCH_TRACE=1` prints the worker's counters every 100 ms.
//!
//! Target (issue 6): p99 webhook `200` → CRM ≤ 50 ms at 100 webhooks/s on SQLite and PostgreSQL.
//!
//! `cargo bench -p app-http --bench delivery -- [sqlite|postgres|mysql]… [fixed|max|outage]…
//! [--quick]`; `--quick` (or `BENCH_QUICK=1`) runs each phase for a few seconds.

#![expect(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a bench binary prints and fails loudly"
)]

mod common;
mod fake_http;

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use adapters_db::Backend;
use adapters_db::testing::TestDb;
use app_http::Application;
use app_http::workers::deliveries::DeliveryMetrics;
use domain::RetrySchedule;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{MissedTickBehavior, interval};

use common::{Ack, Posted, Service, millis, percentile};

/// Accounts the webhooks are spread over, each with its own CRM URL on the receiver.
const ACCOUNTS: usize = 4;
/// `CRM_RETRY_SCHEDULE` of the outage phase: short steps, so that the drain time measures the
/// worker rather than the default schedule's 30 s and 2 min waits; 10 s steps once the CRM has
/// been down for 8 s, so an event waits at most 11 s (10 s + 10% jitter) after the CRM is back.
const OUTAGE_SCHEDULE: &str = "1s,2s,5s,10s,10s,10s,10s,10s,10s,10s";
/// The worker settings the bench passes through from its environment.
const WORKER_VARIABLES: [&str; 5] = [
    "CRM_POLL_INTERVAL",
    "CRM_DELIVERY_CONCURRENCY",
    "CRM_DELIVERY_CONCURRENCY_PER_ACCOUNT",
    "HTTP_TIMEOUT",
    "CRM_RETRY_SCHEDULE",
];
/// Target p99, webhook `200` → CRM, at 100 webhooks/s (issue 6).
const TARGET_P99_MS: f64 = 50.0;

/// The phases, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Fixed,
    Max,
    Outage,
}

impl Phase {
    const ALL: [Self; 3] = [Self::Fixed, Self::Max, Self::Outage];

    fn name(self) -> &'static str {
        match self {
            Self::Fixed => "fixed",
            Self::Max => "max",
            Self::Outage => "outage",
        }
    }
}

/// How long and how hard each phase runs.
struct Settings {
    phases: Vec<Phase>,
    rate: u32,
    fixed: Duration,
    max: Duration,
    clients: usize,
    outage: Duration,
    recovery: Duration,
    outage_schedule: String,
    drain_timeout: Duration,
    /// The worker variables set in the environment, passed to the service.
    worker: Vec<(&'static str, String)>,
}

impl Settings {
    fn from_env_and_args() -> Self {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let quick = args.iter().any(|arg| arg == "--quick")
            || std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1");
        let seconds = |name: &str, full: u64, short: u64| {
            Duration::from_secs(env_or(name, if quick { short } else { full }))
        };
        let mut phases: Vec<Phase> = Phase::ALL
            .into_iter()
            .filter(|phase| args.iter().any(|arg| arg == phase.name()))
            .collect();
        if phases.is_empty() {
            phases = Phase::ALL.to_vec();
        }
        Self {
            phases,
            rate: env_or("BENCH_RATE", 100),
            fixed: seconds("BENCH_FIXED_SECONDS", 20, 3),
            max: seconds("BENCH_MAX_SECONDS", 10, 3),
            clients: env_or("BENCH_CLIENTS", 32),
            outage: seconds("BENCH_OUTAGE_SECONDS", 30, 5),
            recovery: seconds("BENCH_RECOVERY_SECONDS", 15, 8),
            outage_schedule: std::env::var("BENCH_OUTAGE_SCHEDULE")
                .unwrap_or_else(|_| OUTAGE_SCHEDULE.to_owned()),
            drain_timeout: seconds("BENCH_DRAIN_TIMEOUT_SECONDS", 30, 20),
            worker: WORKER_VARIABLES
                .into_iter()
                .filter_map(|name| std::env::var(name).ok().map(|value| (name, value)))
                .collect(),
        }
    }

    /// The service's variables for `phase`: the worker's, and the outage schedule in that phase.
    fn variables(&self, phase: Phase) -> Vec<(&'static str, String)> {
        let mut variables = self.worker.clone();
        if phase == Phase::Outage {
            variables.retain(|(name, _)| *name != "CRM_RETRY_SCHEDULE");
            variables.push(("CRM_RETRY_SCHEDULE", self.outage_schedule.clone()));
        }
        variables
    }
}

/// `name` parsed from the environment, or `default`.
fn env_or<T: FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let settings = Settings::from_env_and_args();
    let runtime = common::runtime();
    // The worker's effective settings, as the service will read them.
    let crm = common::config("sqlite://unused.db", &settings.variables(Phase::Fixed)).crm;
    let outage_crm = common::config("sqlite://unused.db", &settings.variables(Phase::Outage)).crm;
    println!(
        "igrouter delivery benchmark: {} cores; {ACCOUNTS} accounts; fixed {} webhooks/s for {} s; \
         max {} clients for {} s; outage {} s down then {} s up at {} webhooks/s",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        settings.rate,
        settings.fixed.as_secs(),
        settings.clients,
        settings.max.as_secs(),
        settings.outage.as_secs(),
        settings.recovery.as_secs(),
        settings.rate,
    );
    println!(
        "worker: CRM_POLL_INTERVAL {:?}, CRM_DELIVERY_CONCURRENCY {}, \
         CRM_DELIVERY_CONCURRENCY_PER_ACCOUNT {}, HTTP_TIMEOUT {:?}; outage CRM_RETRY_SCHEDULE {}",
        crm.delivery_poll_interval,
        crm.delivery_concurrency,
        crm.delivery_concurrency_per_account,
        crm.http_timeout,
        settings.outage_schedule,
    );
    let mut flows = Vec::new();
    let mut outages = Vec::new();
    for backend in common::selected_backends() {
        for &phase in &settings.phases {
            println!("{}: {} phase…", backend.name(), phase.name());
            let ran = runtime.block_on(async {
                match phase {
                    Phase::Fixed => fixed_rate(backend, &settings)
                        .await
                        .map(|flow| flows.push(flow)),
                    Phase::Max => max_rate(backend, &settings)
                        .await
                        .map(|flow| flows.push(flow)),
                    Phase::Outage => outage(backend, &settings, &outage_crm.retry_schedule)
                        .await
                        .map(|figures| outages.push(figures)),
                }
            });
            if ran.is_none() {
                println!("{}: skipped: server unreachable", backend.name());
                break;
            }
        }
    }
    print_flows(&flows);
    print_outages(&outages);
}

// ---------------------------------------------------------------------------------------------
// The CRM receiver.

/// `200` with an empty body, keeping the connection open.
const OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
/// `503` with an empty body, keeping the connection open.
const UNAVAILABLE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n";

/// A local CRM: accepts deliveries (or answers `503` while down) and records their arrival.
struct Crm {
    down: AtomicBool,
    /// `503`s answered.
    refused: AtomicU64,
    log: Mutex<CrmLog>,
}

#[derive(Default)]
struct CrmLog {
    /// First accepted arrival of each event, by its Instagram `mid`.
    arrivals: HashMap<String, Instant>,
    /// Deliveries accepted again for an event already accepted.
    duplicates: u64,
    /// Deliveries whose `webhook-id` header is missing or differs from the body's `event_id`.
    mismatched_ids: u64,
    /// Deliveries without a readable `message_id`.
    unreadable: u64,
}

/// The receiver, served until dropped.
struct CrmServer {
    crm: Arc<Crm>,
    server: fake_http::Server,
}

impl CrmServer {
    async fn start() -> Self {
        let crm = Arc::new(Crm {
            down: AtomicBool::new(false),
            refused: AtomicU64::new(0),
            log: Mutex::new(CrmLog::default()),
        });
        let server = fake_http::serve(Arc::clone(&crm)).await;
        Self { crm, server }
    }
}

impl fake_http::Handler for Crm {
    async fn answer(&self, request: fake_http::Request) -> Vec<u8> {
        assert!(request.line.starts_with("POST "), "{}", request.line);
        let accepted = self.receive(request.arrived, request.header("webhook-id"), &request.body);
        if accepted { OK } else { UNAVAILABLE }.to_vec()
    }
}

impl Crm {
    /// Records a delivery that arrived at `arrived`; `false` (answer `503`) while down.
    fn receive(&self, arrived: Instant, webhook_id: Option<&str>, body: &[u8]) -> bool {
        if self.down.load(Ordering::SeqCst) {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let mid = json["message_id"].as_str();
        let event_id = json["event_id"].as_str();
        let mut guard = self.log.lock().unwrap();
        let log = &mut *guard;
        if webhook_id.is_none() || webhook_id != event_id {
            log.mismatched_ids += 1;
        }
        let Some(mid) = mid else {
            log.unreadable += 1;
            return true;
        };
        match log.arrivals.entry(mid.to_owned()) {
            Entry::Occupied(_) => log.duplicates += 1,
            Entry::Vacant(slot) => {
                slot.insert(arrived);
            }
        }
        true
    }

    fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// Whether every event of `acks` has arrived.
    fn has_all(&self, acks: &[Ack]) -> bool {
        let log = self.log.lock().unwrap();
        log.arrivals.len() >= acks.len()
            && acks.iter().all(|ack| log.arrivals.contains_key(&ack.mid))
    }

    /// Waits until every event of `acks` has arrived, for at most `timeout`; returns when it
    /// stopped waiting.
    async fn wait_for(&self, acks: &[Ack], timeout: Duration) -> Instant {
        let deadline = Instant::now() + timeout;
        while !self.has_all(acks) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Instant::now()
    }
}

// ---------------------------------------------------------------------------------------------
// A phase's service.

/// A fresh database, the receiver, and the service with [`ACCOUNTS`] accounts forwarding to it.
struct Stage {
    // Dropped last: the service's pool is gone by then.
    _test: TestDb,
    crm: CrmServer,
    service: Service,
    metrics: Arc<DeliveryMetrics>,
    business_ids: Vec<String>,
    /// `BENCH_TRACE=1`: prints the worker's progress every 100 ms.
    trace: Option<JoinHandle<()>>,
}

impl Stage {
    async fn set_up(backend: Backend, variables: &[(&str, String)]) -> Option<Self> {
        let test = TestDb::new(backend).await?;
        let crm = CrmServer::start().await;
        let config = common::config(&test.url, variables);
        let mut business_ids = Vec::new();
        for account in 0..ACCOUNTS {
            let business_id = format!("1784140000{account:07}");
            let crm_url = format!("{}/crm/{account}", crm.server.url);
            let username = format!("bench_shop_{account}");
            common::seed_account(&test.db, &config, &business_id, &username, &crm_url).await;
            business_ids.push(business_id);
        }
        let app = Application::build(config).await.unwrap();
        let metrics = app.delivery_metrics();
        let trace = std::env::var("BENCH_TRACE")
            .is_ok_and(|v| v == "1")
            .then(|| tokio::spawn(trace(Arc::clone(&metrics))));
        Some(Self {
            _test: test,
            crm,
            service: Service::start(app),
            metrics,
            business_ids,
            trace,
        })
    }

    fn crm(&self) -> &Crm {
        &self.crm.crm
    }

    async fn tear_down(self) {
        if let Some(trace) = &self.trace {
            trace.abort();
        }
        self.service.stop().await;
    }
}

/// Prints, every 100 ms, the attempts the worker finished since the last line, by outcome, and
/// how many are under way: where a backlog stops moving, this shows whether the worker is busy.
async fn trace(metrics: Arc<DeliveryMetrics>) {
    let started = Instant::now();
    let mut last = metrics.snapshot();
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = metrics.snapshot();
        println!(
            "trace {:>6.1} s: delivered +{:<4} retried +{:<4} in flight {}",
            started.elapsed().as_secs_f64(),
            now.delivered - last.delivered,
            now.retried - last.retried,
            now.in_flight,
        );
        last = now;
    }
}

/// Posts `rate` webhooks a second for `duration`, each on time whatever the previous ones wait
/// for (an open loop); the `n`th has `mid` `{tag}.{n}` and goes to account `n % accounts`.
async fn post_at_rate(
    url: &str,
    rate: u32,
    duration: Duration,
    tag: &str,
    business_ids: &[String],
) -> Posted {
    let client = reqwest::Client::new();
    let mut ticks = interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let total = (duration.as_secs_f64() * f64::from(rate)).round() as usize;
    let started = Instant::now();
    let mut posts = JoinSet::new();
    for n in 0..total {
        ticks.tick().await;
        let (client, url) = (client.clone(), url.to_owned());
        let business_id = business_ids[n % business_ids.len()].clone();
        let mid = format!("{tag}.{n}");
        posts.spawn(async move {
            common::post_webhook(&client, &url, &business_id, n % 1000, mid).await
        });
    }
    let mut posted = Posted {
        acks: Vec::with_capacity(total),
        failed: 0,
        elapsed: Duration::ZERO,
    };
    while let Some(answer) = posts.join_next().await {
        match answer.unwrap() {
            Some(ack) => posted.acks.push(ack),
            None => posted.failed += 1,
        }
    }
    posted.elapsed = started.elapsed();
    posted
}

// ---------------------------------------------------------------------------------------------
// Phases 1 and 2: the flow of deliveries under load.

/// What one load phase measured.
struct Flow {
    backend: Backend,
    phase: Phase,
    webhooks_per_sec: f64,
    webhook_p99_ms: f64,
    failed_webhooks: u64,
    /// Deliveries that arrived while webhooks were being posted, per second of it.
    deliveries_per_sec: f64,
    latency: Percentiles,
    acknowledged: usize,
    delivered: usize,
    duplicates: u64,
    mismatched_ids: u64,
    /// From the last webhook's answer to the last delivery.
    drained_after: Duration,
    /// Deliveries per second after the last webhook's answer, until the last delivery.
    drain_per_sec: f64,
    /// Acknowledged events not delivered when the bench stopped waiting.
    pending: usize,
}

/// Webhook `200` → delivery latencies, ms.
struct Percentiles {
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

/// Webhook `200` → arrival of each of `acks`, ms; an event still missing at `cutoff` counts as
/// arriving then (so the percentiles are lower bounds when any is missing).
fn latencies<'a>(
    acks: impl IntoIterator<Item = &'a Ack>,
    log: &CrmLog,
    cutoff: Instant,
) -> Vec<f64> {
    acks.into_iter()
        .map(|ack| {
            let arrived = log.arrivals.get(&ack.mid).copied().unwrap_or(cutoff);
            millis(arrived.saturating_duration_since(ack.acked))
        })
        .collect()
}

impl Percentiles {
    fn of(mut latencies: Vec<f64>) -> Self {
        latencies.sort_unstable_by(f64::total_cmp);
        Self {
            p50: percentile(&latencies, 0.50),
            p90: percentile(&latencies, 0.90),
            p99: percentile(&latencies, 0.99),
            max: latencies.last().copied().unwrap_or(f64::NAN),
        }
    }
}

async fn fixed_rate(backend: Backend, settings: &Settings) -> Option<Flow> {
    let stage = Stage::set_up(backend, &settings.variables(Phase::Fixed)).await?;
    let posted = post_at_rate(
        &stage.service.webhook_url,
        settings.rate,
        settings.fixed,
        "fixed",
        &stage.business_ids,
    )
    .await;
    Some(finish_flow(backend, Phase::Fixed, stage, &posted, settings).await)
}

async fn max_rate(backend: Backend, settings: &Settings) -> Option<Flow> {
    let stage = Stage::set_up(backend, &settings.variables(Phase::Max)).await?;
    let posted = common::post_from_clients(
        &stage.service.webhook_url,
        settings.clients,
        settings.max,
        "max",
        &stage.business_ids,
    )
    .await;
    Some(finish_flow(backend, Phase::Max, stage, &posted, settings).await)
}

/// Waits for the deliveries of `posted`, measures them and stops the service.
async fn finish_flow(
    backend: Backend,
    phase: Phase,
    stage: Stage,
    posted: &Posted,
    settings: &Settings,
) -> Flow {
    let posting_ended = posted
        .acks
        .iter()
        .map(|ack| ack.acked)
        .max()
        .unwrap_or_else(Instant::now);
    let posting_started = posted
        .acks
        .iter()
        .map(|ack| ack.sent)
        .min()
        .unwrap_or(posting_ended);
    let cutoff = stage
        .crm()
        .wait_for(&posted.acks, settings.drain_timeout)
        .await;
    let flow = {
        let log = stage.crm().log.lock().unwrap();
        let arrivals: Vec<(&Ack, Instant)> = posted
            .acks
            .iter()
            .filter_map(|ack| log.arrivals.get(&ack.mid).map(|at| (ack, *at)))
            .collect();
        let in_window = arrivals
            .iter()
            .filter(|(_, at)| *at <= posting_ended)
            .count();
        let drained_after = arrivals
            .iter()
            .map(|(_, at)| at.saturating_duration_since(posting_ended))
            .max()
            .unwrap_or(Duration::ZERO);
        let mut webhook_latencies: Vec<f64> = posted.acks.iter().map(Ack::latency_ms).collect();
        webhook_latencies.sort_unstable_by(f64::total_cmp);
        Flow {
            backend,
            phase,
            webhooks_per_sec: posted.acks.len() as f64 / posted.elapsed.as_secs_f64(),
            webhook_p99_ms: percentile(&webhook_latencies, 0.99),
            failed_webhooks: posted.failed,
            deliveries_per_sec: in_window as f64
                / (posting_ended - posting_started).as_secs_f64().max(1e-3),
            latency: Percentiles::of(latencies(&posted.acks, &log, cutoff)),
            acknowledged: posted.acks.len(),
            delivered: arrivals.len(),
            duplicates: log.duplicates,
            mismatched_ids: log.mismatched_ids + log.unreadable,
            drained_after,
            drain_per_sec: if drained_after < Duration::from_millis(500) {
                f64::NAN
            } else {
                (arrivals.len() - in_window) as f64 / drained_after.as_secs_f64()
            },
            pending: posted.acks.len() - arrivals.len(),
        }
    };
    stage.tear_down().await;
    flow
}

fn print_flows(flows: &[Flow]) {
    if flows.is_empty() {
        return;
    }
    println!();
    println!("Webhook 200 → CRM latency (ms) and throughput:");
    println!();
    println!(
        "| backend  | phase | webhooks/s | deliveries/s | p50 ms | p90 ms | p99 ms | max ms | webhook p99 ms | last delivery after s | deliveries/s then | delivered |"
    );
    println!(
        "|----------|-------|-----------:|-------------:|-------:|-------:|-------:|-------:|---------------:|----------------------:|------------------:|-----------|"
    );
    for f in flows {
        let mut delivered = format!("{}/{}", f.delivered, f.acknowledged);
        if f.pending > 0 {
            delivered += &format!(
                "; {} pending when the bench stopped waiting (latencies are lower bounds)",
                f.pending
            );
        }
        if f.failed_webhooks > 0 {
            delivered += &format!("; {} webhooks failed", f.failed_webhooks);
        }
        if f.duplicates > 0 {
            delivered += &format!("; {} duplicates", f.duplicates);
        }
        if f.mismatched_ids > 0 {
            delivered += &format!("; {} bad webhook-id/body", f.mismatched_ids);
        }
        println!(
            "| {:<8} | {:<5} | {:>10.0} | {:>12.0} | {:>6.1} | {:>6.1} | {:>6.1} | {:>6.1} | {:>14.1} | {:>21.2} | {:>17} | {delivered} |",
            f.backend.name(),
            f.phase.name(),
            f.webhooks_per_sec,
            f.deliveries_per_sec,
            f.latency.p50,
            f.latency.p90,
            f.latency.p99,
            f.latency.max,
            f.webhook_p99_ms,
            f.drained_after.as_secs_f64(),
            if f.drain_per_sec.is_nan() {
                "–".to_owned()
            } else {
                format!("{:.0}", f.drain_per_sec)
            },
        );
    }
    println!();
    for f in flows.iter().filter(|f| f.phase == Phase::Fixed) {
        let verdict = if f.latency.p99 <= TARGET_P99_MS {
            "met"
        } else {
            "MISSED"
        };
        println!(
            "{}: p99 {:.1} ms at {:.0} webhooks/s, target ≤ {TARGET_P99_MS} ms: {verdict}",
            f.backend.name(),
            f.latency.p99,
            f.webhooks_per_sec,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Phase 3: a CRM outage.

/// What the outage phase measured.
struct Outage {
    backend: Backend,
    down: Duration,
    /// Events acknowledged while the CRM was down.
    backlog: usize,
    backlog_delivered: usize,
    /// From the CRM coming back to the last backlog event arriving.
    drained_after: Duration,
    /// What the retry schedule alone implies for that (worst case, full jitter).
    implied: Option<Duration>,
    refused: u64,
    retried: u64,
    dead: u64,
    /// Events acknowledged after the CRM came back, and their latency.
    live: usize,
    live_latency: Percentiles,
    acknowledged: usize,
    delivered: usize,
    duplicates: u64,
}

async fn outage(backend: Backend, settings: &Settings, schedule: &RetrySchedule) -> Option<Outage> {
    let stage = Stage::set_up(backend, &settings.variables(Phase::Outage)).await?;
    stage.crm().set_down(true);
    let crm = Arc::clone(&stage.crm.crm);
    let down = settings.outage;
    let back_up = tokio::spawn(async move {
        tokio::time::sleep(down).await;
        crm.set_down(false);
        Instant::now()
    });
    let posted = post_at_rate(
        &stage.service.webhook_url,
        settings.rate,
        settings.outage + settings.recovery,
        "outage",
        &stage.business_ids,
    )
    .await;
    let up_at = back_up.await.unwrap();
    let cutoff = stage
        .crm()
        .wait_for(&posted.acks, settings.drain_timeout)
        .await;
    let metrics = stage.metrics.snapshot();
    let figures = {
        let log = stage.crm().log.lock().unwrap();
        let (backlog, live): (Vec<&Ack>, Vec<&Ack>) =
            posted.acks.iter().partition(|ack| ack.acked < up_at);
        let backlog_arrivals: Vec<Instant> = backlog
            .iter()
            .filter_map(|ack| log.arrivals.get(&ack.mid).copied())
            .collect();
        Outage {
            backend,
            down: settings.outage,
            backlog: backlog.len(),
            backlog_delivered: backlog_arrivals.len(),
            drained_after: backlog_arrivals
                .iter()
                .max()
                .map_or(Duration::ZERO, |at| at.saturating_duration_since(up_at)),
            implied: implied_drain(schedule, settings.outage),
            refused: stage.crm().refused.load(Ordering::Relaxed),
            retried: metrics.retried,
            dead: metrics.dead,
            live: live.len(),
            acknowledged: posted.acks.len(),
            delivered: posted
                .acks
                .iter()
                .filter(|ack| log.arrivals.contains_key(&ack.mid))
                .count(),
            live_latency: Percentiles::of(latencies(live.iter().copied(), &log, cutoff)),
            duplicates: log.duplicates,
        }
    };
    stage.tear_down().await;
    Some(figures)
}

/// The longest an event that first failed during an outage of `outage` waits, after the CRM is
/// back, for its next attempt, by `schedule` alone (its delays with 0 or the full 10% jitter,
/// over every moment of the outage); `None` when some event would use up its attempts first.
fn implied_drain(schedule: &RetrySchedule, outage: Duration) -> Option<Duration> {
    let mut worst = Duration::ZERO;
    let mut first = Duration::ZERO;
    while first < outage {
        for stretch in [1.0, 1.1] {
            let (mut at, mut made) = (first, 1);
            while at < outage {
                at += schedule.delay_after(made)?.mul_f64(stretch);
                made += 1;
            }
            worst = worst.max(at - outage);
        }
        first += Duration::from_millis(10);
    }
    Some(worst)
}

fn print_outages(outages: &[Outage]) {
    if outages.is_empty() {
        return;
    }
    println!();
    println!("CRM outage (503s), events arriving throughout, then back up:");
    println!();
    println!(
        "| backend  | down s | events while down | 503s answered | retries | backlog drained after s | schedule implies ≤ s | delivered | live p50 / p99 ms after |"
    );
    println!(
        "|----------|-------:|------------------:|--------------:|--------:|------------------------:|---------------------:|-----------|-------------------------|"
    );
    for o in outages {
        let implied = o.implied.map_or("dead first".to_owned(), |d| {
            format!("{:.1}", d.as_secs_f64())
        });
        let mut delivered = format!(
            "{}/{} ({}/{} of the backlog)",
            o.delivered, o.acknowledged, o.backlog_delivered, o.backlog
        );
        if o.dead > 0 {
            delivered += &format!("; {} dead", o.dead);
        }
        if o.duplicates > 0 {
            delivered += &format!("; {} duplicates", o.duplicates);
        }
        println!(
            "| {:<8} | {:>6} | {:>17} | {:>13} | {:>7} | {:>23.2} | {:>20} | {delivered} | {:.1} / {:.1} ({} events) |",
            o.backend.name(),
            o.down.as_secs(),
            o.backlog,
            o.refused,
            o.retried,
            o.drained_after.as_secs_f64(),
            implied,
            o.live_latency.p50,
            o.live_latency.p99,
            o.live,
        );
    }
}

//! `just bench-send`: how fast the send API accepts DMs, how soon they are sent, and whether each
//! account's pace (100 sends/s) holds.
//!
//! For every reachable backend it runs three phases, each on a fresh database (as in the tests)
//! with the real service (`Application::build`, port 0, the send worker at its defaults,
//! `API_RATE_LIMIT` set far out of the way) whose `GRAPH_API_BASE_URL` points at a local fake
//! Graph API. Accounts are seeded with distinct access tokens (sealed with the service's cipher)
//! and no CRM URL, and one API key that sees them all:
//!
//! 1. **accept**: `BENCH_CLIENTS` (32) connections post `POST /api/v1/messages/send` back to back
//!    for `BENCH_ACCEPT_SECONDS` (10), spread over [`ACCEPT_ACCOUNTS`] accounts; sends/s
//!    answered `202`, p50/p99 of the `202`, then the wait until the Graph API has every one;
//! 2. **latency**: `BENCH_RATE` (100) sends/s for `BENCH_LATENCY_SECONDS` (20), spread over
//!    [`LATENCY_ACCOUNTS`] accounts (well under their pace): `202` → the Graph API receiving the
//!    send, and `202` → `sent` (the row's `updated_at` when the worker recorded it, against the
//!    bench's wall clock at the `202`; same process, same clock, 1 ms resolution);
//! 3. **pace**: `BENCH_PACE_SENDS` (1,500) sends each for accounts A and B, posted as fast as the
//!    API takes them (32 connections, alternating), while account C sends
//!    [`LIGHT_RATE`] a second. The rate at which the Graph API receives A's and B's sends, from
//!    the 11th on (the first tenth of a second's worth may go back to back), must be within 5% of
//!    their `send_rate_per_second` (100); C shows how long a light account waits meanwhile.
//!
//! The fake Graph API is a minimal HTTP/1.1 keep-alive server on a tokio `TcpListener` (as the
//! CRM receiver of `delivery.rs`): for `POST /v21.0/me/messages` it records when the send arrived
//! and from which account (the `Authorization: Bearer` token), waits [`GRAPH_LATENCY`] (20 ms),
//! and answers `{"recipient_id":"…","message_id":"m.<n>"}` with a unique `n`. Each send's text is
//! unique, so an arrival is matched to its `202`.
//!
//! `cargo bench -p app-http --bench send [sqlite|postgres|mysql]… [accept|latency|pace]…
//! [--quick]`; `--quick` (or `BENCH_QUICK=1`) runs each phase for a few seconds.

#![expect(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a bench binary prints and fails loudly"
)]

#[expect(
    dead_code,
    reason = "the webhook helpers the other service benches share are not used here"
)]
mod common;
mod fake_http;

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use adapters_db::Backend;
use adapters_db::testing::TestDb;
use app_http::bootstrap::generate_webhook_secret;
use app_http::clock::SystemClock;
use app_http::credentials::AesGcmCipher;
use app_http::workers::sends::SendMetrics;
use app_http::{Application, Config, api_keys};
use domain::ports::{AccountStore, Clock, CredentialCipher, OutboundQueue};
use domain::{Account, InstagramId, MessageId, OutboundStatus, Username};
use secrecy::{ExposeSecret, SecretString};
use tokio::task::JoinSet;
use tokio::time::{MissedTickBehavior, interval};

use common::{Service, millis, percentile};

/// Latency of every answer of the fake Graph API.
const GRAPH_LATENCY: Duration = Duration::from_millis(20);
/// Where the Graph client posts sends (`GRAPH_API_VERSION` at its default).
const GRAPH_SEND_PATH: &str = "/v21.0/me/messages";
/// Token prefix; account `i` sends with `{TOKEN_PREFIX}{i}`.
const TOKEN_PREFIX: &str = "bench-graph-token-";
/// Accounts the accept phase spreads its sends over.
const ACCEPT_ACCOUNTS: usize = 8;
/// Accounts the latency phase spreads its sends over.
const LATENCY_ACCOUNTS: usize = 4;
/// Sends/s of the light account C in the pace phase.
const LIGHT_RATE: u32 = 10;
/// Every account's `send_rate_per_second`.
const SEND_RATE: u32 = 100;
/// Sends the pace phase leaves out of the steady rate: the first tenth of a second's worth may
/// go back to back (the worker's burst, `rate / 10`).
const BURST: usize = (SEND_RATE / 10) as usize;
/// How close to [`SEND_RATE`] the steady rate must be (issue 7).
const PACE_TOLERANCE: f64 = 0.05;
/// `API_RATE_LIMIT` of the service: far above anything the bench can post, so the API's own
/// limiter is not what is measured.
const API_RATE_LIMIT: &str = "100000/s,burst=100000";

/// The phases, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Accept,
    Latency,
    Pace,
}

impl Phase {
    const ALL: [Self; 3] = [Self::Accept, Self::Latency, Self::Pace];

    fn name(self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Latency => "latency",
            Self::Pace => "pace",
        }
    }
}

/// How long and how hard each phase runs.
struct Settings {
    phases: Vec<Phase>,
    clients: usize,
    accept: Duration,
    rate: u32,
    latency: Duration,
    pace_sends: usize,
    drain_timeout: Duration,
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
            clients: env_or("BENCH_CLIENTS", 32),
            accept: seconds("BENCH_ACCEPT_SECONDS", 10, 3),
            rate: env_or("BENCH_RATE", 100),
            latency: seconds("BENCH_LATENCY_SECONDS", 20, 5),
            pace_sends: env_or("BENCH_PACE_SENDS", if quick { 400 } else { 1500 }),
            drain_timeout: seconds("BENCH_DRAIN_TIMEOUT_SECONDS", 120, 60),
        }
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
    println!(
        "igrouter send benchmark: {} cores; fake Graph API latency {} ms; accept {} clients for \
         {} s over {ACCEPT_ACCOUNTS} accounts; latency {} sends/s for {} s over \
         {LATENCY_ACCOUNTS} accounts; pace {} sends each for 2 accounts + {LIGHT_RATE}/s for a \
         third; every account at {SEND_RATE} sends/s",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        GRAPH_LATENCY.as_millis(),
        settings.clients,
        settings.accept.as_secs(),
        settings.rate,
        settings.latency.as_secs(),
        settings.pace_sends,
    );
    let mut accepts = Vec::new();
    let mut latencies = Vec::new();
    let mut paces = Vec::new();
    for backend in common::selected_backends() {
        for &phase in &settings.phases {
            println!("{}: {} phase…", backend.name(), phase.name());
            let ran = runtime.block_on(async {
                match phase {
                    Phase::Accept => accept(backend, &settings)
                        .await
                        .map(|figures| accepts.push(figures)),
                    Phase::Latency => latency(backend, &settings)
                        .await
                        .map(|figures| latencies.push(figures)),
                    Phase::Pace => pace(backend, &settings)
                        .await
                        .map(|figures| paces.push(figures)),
                }
            });
            if ran.is_none() {
                println!("{}: skipped: server unreachable", backend.name());
                break;
            }
        }
    }
    print_accepts(&accepts);
    print_latencies(&latencies);
    print_paces(&paces);
}

// ---------------------------------------------------------------------------------------------
// The fake Graph API.

/// A local Graph API: answers every send after [`GRAPH_LATENCY`] and records its arrival.
struct Graph {
    /// The next `message_id` suffix.
    next_id: AtomicU64,
    log: Mutex<GraphLog>,
}

#[derive(Default)]
struct GraphLog {
    /// First arrival of each send, by its text.
    arrivals: HashMap<String, Arrival>,
    /// Sends that arrived again with a text already seen.
    duplicates: u64,
    /// Requests that were not a readable send with a bench token.
    unreadable: u64,
}

/// When a send reached the Graph API, and from which account (by its token).
#[derive(Debug, Clone, Copy)]
struct Arrival {
    account: usize,
    at: Instant,
}

/// The fake, served until dropped.
struct GraphServer {
    graph: Arc<Graph>,
    server: fake_http::Server,
}

impl GraphServer {
    async fn start() -> Self {
        let graph = Arc::new(Graph {
            next_id: AtomicU64::new(1),
            log: Mutex::new(GraphLog::default()),
        });
        let server = fake_http::serve(Arc::clone(&graph)).await;
        Self { graph, server }
    }
}

impl fake_http::Handler for Graph {
    async fn answer(&self, request: fake_http::Request) -> Vec<u8> {
        let is_send = request.line.starts_with("POST ") && request.line.contains(GRAPH_SEND_PATH);
        let token = request
            .header("authorization")
            .and_then(|value| value.strip_prefix("Bearer "));
        let recipient = if is_send {
            self.receive(request.arrived, token, &request.body)
        } else {
            self.log.lock().unwrap().unreadable += 1;
            None
        };
        tokio::time::sleep(GRAPH_LATENCY.saturating_sub(request.arrived.elapsed())).await;
        let answer = match recipient {
            Some(recipient) => {
                let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                let json = format!(r#"{{"recipient_id":"{recipient}","message_id":"m.{id}"}}"#);
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{json}",
                    json.len()
                )
            }
            None => {
                let json = r#"{"error":{"message":"not a bench send","type":"OAuthException","code":100}}"#;
                format!(
                    "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{json}",
                    json.len()
                )
            }
        };
        answer.into_bytes()
    }
}

impl Graph {
    /// Records a send that arrived at `arrived`: its recipient, or `None` when it is not a
    /// readable send with a bench token.
    fn receive(&self, arrived: Instant, token: Option<&str>, body: &[u8]) -> Option<String> {
        let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let account = token
            .and_then(|token| token.strip_prefix(TOKEN_PREFIX))
            .and_then(|index| index.parse::<usize>().ok());
        let text = json["message"]["text"].as_str();
        let recipient = json["recipient"]["id"].as_str();
        let mut log = self.log.lock().unwrap();
        let (Some(account), Some(text), Some(recipient)) = (account, text, recipient) else {
            log.unreadable += 1;
            return None;
        };
        match log.arrivals.entry(text.to_owned()) {
            Entry::Occupied(_) => log.duplicates += 1,
            Entry::Vacant(slot) => {
                slot.insert(Arrival {
                    account,
                    at: arrived,
                });
            }
        }
        Some(recipient.to_owned())
    }

    /// Whether every one of `accepted` has arrived.
    fn has_all(&self, accepted: &[Accepted]) -> bool {
        let log = self.log.lock().unwrap();
        log.arrivals.len() >= accepted.len()
            && accepted
                .iter()
                .all(|send| log.arrivals.contains_key(&send.text))
    }

    /// Waits until every one of `accepted` has arrived, for at most `timeout`.
    async fn wait_for(&self, accepted: &[Accepted], timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.has_all(accepted) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A phase's service and its API client.

/// A fresh database, the fake Graph API, and the service with `accounts` accounts sending to it.
struct Stage {
    // Dropped last: the service's pool is gone by then.
    test: TestDb,
    graph: GraphServer,
    service: Service,
    metrics: Arc<SendMetrics>,
    api: Api,
    accounts: Vec<Account>,
}

impl Stage {
    async fn set_up(backend: Backend, accounts: usize) -> Option<Self> {
        let test = TestDb::new(backend).await?;
        let graph = GraphServer::start().await;
        let config = common::config(
            &test.url,
            &[
                ("GRAPH_API_BASE_URL", graph.server.url.clone()),
                ("API_RATE_LIMIT", API_RATE_LIMIT.to_owned()),
            ],
        );
        let mut seeded = Vec::with_capacity(accounts);
        for index in 0..accounts {
            seeded.push(seed_sender(&test.db, &config, index).await);
        }
        let key = api_keys::create(&test.db, &test.db, &SystemClock, "bench".into(), Vec::new())
            .await
            .unwrap();
        let app = Application::build(config).await.unwrap();
        let metrics = app.send_metrics();
        let api = Api {
            url: format!("http://127.0.0.1:{}/api/v1/messages/send", app.port()),
            authorization: format!("Bearer {}", key.secret.expose_secret()),
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(256)
                .build()
                .unwrap(),
        };
        Some(Self {
            test,
            graph,
            service: Service::start(app),
            metrics,
            api,
            accounts: seeded,
        })
    }

    fn graph(&self) -> &Graph {
        &self.graph.graph
    }

    /// Waits until the worker has recorded `count` sends as sent (or failed), for at most
    /// `timeout`.
    async fn wait_recorded(&self, count: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let now = self.metrics.snapshot();
            if now.sent + now.failed >= count as u64 || Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn tear_down(self) {
        self.service.stop().await;
        drop(self.graph);
        drop(self.test);
    }
}

/// Account `index`: Instagram business account `17841500000000{index}`, its own access token
/// ([`TOKEN_PREFIX`]`{index}`), no CRM URL, [`SEND_RATE`] sends/s.
async fn seed_sender(db: &dyn AccountStore, config: &Config, index: usize) -> Account {
    let cipher = AesGcmCipher::new(&config.credentials).unwrap();
    let id = app_http::random::account_id().unwrap();
    let now = SystemClock.now();
    let token = SecretString::from(format!("{TOKEN_PREFIX}{index}"));
    let account = Account {
        instagram_account_id: InstagramId::parse(
            "instagram_account_id",
            &format!("1784150000{index:07}"),
        )
        .unwrap(),
        username: Username::parse(&format!("bench_sender_{index}")).unwrap(),
        access_token: cipher.seal(&id, &token).unwrap(),
        webhook_secret: cipher
            .seal(&id, &generate_webhook_secret().unwrap())
            .unwrap(),
        crm_webhook_url: None,
        token_invalid_since: None,
        send_rate_per_second: SEND_RATE,
        created_at: now,
        updated_at: now,
        id,
    };
    db.create_account(&account).await.unwrap();
    account
}

/// `POST /api/v1/messages/send` with one API key that sees every account.
#[derive(Clone)]
struct Api {
    url: String,
    authorization: String,
    http: reqwest::Client,
}

/// One send the API answered `202`.
struct Accepted {
    /// Its text, unique in the phase: how its arrival at the Graph API is found.
    text: String,
    /// The `message_id` of the `202`.
    message_id: String,
    /// Index of its account in the stage.
    account: usize,
    posted: Instant,
    accepted: Instant,
    /// The `202`'s arrival on the wall clock, ms since the epoch.
    accepted_wall_ms: f64,
}

impl Accepted {
    fn latency_ms(&self) -> f64 {
        millis(self.accepted - self.posted)
    }
}

impl Api {
    /// Sends `text` from `account` (index `index`) to customer `recipient`: `Some` on `202`.
    async fn send(
        &self,
        account: &Account,
        index: usize,
        recipient: usize,
        text: String,
    ) -> Result<Accepted, u16> {
        let body = serde_json::json!({
            "account_id": account.id,
            "recipient_id": (9_100_000 + recipient).to_string(),
            "message": text,
        })
        .to_string();
        let posted = Instant::now();
        let response = self
            .http
            .post(&self.url)
            .header("authorization", &self.authorization)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|_| 0_u16)?;
        let status = response.status().as_u16();
        let answer = response.bytes().await.map_err(|_| 0_u16)?;
        let accepted = Instant::now();
        let accepted_wall_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
            * 1000.0;
        if status != 202 {
            return Err(status);
        }
        let json: serde_json::Value = serde_json::from_slice(&answer).map_err(|_| status)?;
        Ok(Accepted {
            text,
            message_id: json["message_id"].as_str().ok_or(status)?.to_owned(),
            account: index,
            posted,
            accepted,
            accepted_wall_ms,
        })
    }
}

/// What a batch of posts saw.
#[derive(Default)]
struct Posted {
    accepted: Vec<Accepted>,
    /// Posts answered otherwise (by status; 0: no answer).
    failed: BTreeMap<u16, u64>,
    /// From the first post to the last answer.
    elapsed: Duration,
}

impl Posted {
    fn absorb(&mut self, other: Self) {
        self.accepted.extend(other.accepted);
        for (status, count) in other.failed {
            *self.failed.entry(status).or_default() += count;
        }
    }
}

/// Posts from `clients` connections, each posting its next send as soon as the last is answered,
/// until `deadline` or until `limit` sends were posted. The `n`th send (over all connections)
/// goes from account `accounts[n % len]` and says `{tag} {n}`.
async fn post_back_to_back(
    stage: &Stage,
    clients: usize,
    accounts: &[usize],
    deadline: Instant,
    limit: usize,
    tag: &str,
) -> Posted {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (api, next, tag) = (stage.api.clone(), Arc::clone(&next), tag.to_owned());
            let accounts: Vec<(usize, Account)> = accounts
                .iter()
                .map(|&index| (index, stage.accounts[index].clone()))
                .collect();
            tokio::spawn(async move {
                let mut posted = Posted::default();
                while Instant::now() < deadline {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= limit {
                        break;
                    }
                    let (index, account) = &accounts[n % accounts.len()];
                    match api
                        .send(account, *index, n % 1000, format!("{tag} {n}"))
                        .await
                    {
                        Ok(accepted) => posted.accepted.push(accepted),
                        Err(status) => *posted.failed.entry(status).or_default() += 1,
                    }
                }
                posted
            })
        })
        .collect();
    let mut posted = Posted::default();
    for task in tasks {
        posted.absorb(task.await.unwrap());
    }
    posted.elapsed = started.elapsed();
    posted
}

/// Posts `rate` sends a second for `duration`, each on time whatever the previous ones wait for
/// (an open loop); the `n`th goes from account `accounts[n % len]` and says `{tag} {n}`.
async fn post_at_rate(
    stage: &Stage,
    rate: u32,
    duration: Duration,
    accounts: &[usize],
    tag: &str,
) -> Posted {
    let mut ticks = interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let total = (duration.as_secs_f64() * f64::from(rate)).round() as usize;
    let started = Instant::now();
    let mut posts = JoinSet::new();
    for n in 0..total {
        ticks.tick().await;
        let api = stage.api.clone();
        let index = accounts[n % accounts.len()];
        let account = stage.accounts[index].clone();
        let text = format!("{tag} {n}");
        posts.spawn(async move { api.send(&account, index, n % 1000, text).await });
    }
    let mut posted = Posted::default();
    while let Some(answer) = posts.join_next().await {
        match answer.unwrap() {
            Ok(accepted) => posted.accepted.push(accepted),
            Err(status) => *posted.failed.entry(status).or_default() += 1,
        }
    }
    posted.elapsed = started.elapsed();
    posted
}

/// p50, p99 and max of some latencies, ms.
#[derive(Debug, Clone, Copy)]
struct Percentiles {
    p50: f64,
    p99: f64,
    max: f64,
}

impl Percentiles {
    fn of(mut latencies: Vec<f64>) -> Self {
        latencies.sort_unstable_by(f64::total_cmp);
        Self {
            p50: percentile(&latencies, 0.50),
            p99: percentile(&latencies, 0.99),
            max: latencies.last().copied().unwrap_or(f64::NAN),
        }
    }
}

/// What the Graph API saw of `accepted`: sends that never arrived, and duplicate arrivals.
struct Delivered {
    missing: usize,
    duplicates: u64,
    unreadable: u64,
}

fn delivered(graph: &Graph, accepted: &[Accepted]) -> Delivered {
    let log = graph.log.lock().unwrap();
    Delivered {
        missing: accepted
            .iter()
            .filter(|send| !log.arrivals.contains_key(&send.text))
            .count(),
        duplicates: log.duplicates,
        unreadable: log.unreadable,
    }
}

fn check_note(
    delivered: &Delivered,
    failed_posts: &BTreeMap<u16, u64>,
    failed_sends: u64,
) -> String {
    let mut notes = Vec::new();
    if delivered.missing > 0 {
        notes.push(format!("{} never reached the Graph API", delivered.missing));
    }
    if delivered.duplicates > 0 {
        notes.push(format!("{} DUPLICATE sends", delivered.duplicates));
    }
    if delivered.unreadable > 0 {
        notes.push(format!(
            "{} unreadable Graph requests",
            delivered.unreadable
        ));
    }
    for (status, count) in failed_posts {
        notes.push(format!("{count} posts answered {status} instead of 202"));
    }
    if failed_sends > 0 {
        notes.push(format!("{failed_sends} sends failed"));
    }
    if notes.is_empty() {
        "all sent once".to_owned()
    } else {
        notes.join("; ")
    }
}

// ---------------------------------------------------------------------------------------------
// Phase 1: how fast the API accepts sends.

struct AcceptFigures {
    backend: Backend,
    accepted_per_sec: f64,
    answer: Percentiles,
    accepted: usize,
    /// Sends the Graph API received while the API was being flooded, per second of it.
    sent_per_sec_meanwhile: f64,
    /// From the last `202` to the last send reaching the Graph API.
    drained_after: Duration,
    note: String,
}

async fn accept(backend: Backend, settings: &Settings) -> Option<AcceptFigures> {
    let stage = Stage::set_up(backend, ACCEPT_ACCOUNTS).await?;
    let accounts: Vec<usize> = (0..ACCEPT_ACCOUNTS).collect();
    let started = Instant::now();
    let posted = post_back_to_back(
        &stage,
        settings.clients,
        &accounts,
        started + settings.accept,
        usize::MAX,
        "accept",
    )
    .await;
    let ended = posted
        .accepted
        .iter()
        .map(|send| send.accepted)
        .max()
        .unwrap_or(started);
    stage
        .graph()
        .wait_for(&posted.accepted, settings.drain_timeout)
        .await;
    stage
        .wait_recorded(posted.accepted.len(), Duration::from_secs(10))
        .await;
    let (meanwhile, last) = {
        let log = stage.graph().log.lock().unwrap();
        let meanwhile = log.arrivals.values().filter(|a| a.at <= ended).count();
        let last = log.arrivals.values().map(|a| a.at).max().unwrap_or(ended);
        (meanwhile, last)
    };
    let metrics = stage.metrics.snapshot();
    let figures = AcceptFigures {
        backend,
        accepted_per_sec: posted.accepted.len() as f64 / posted.elapsed.as_secs_f64(),
        answer: Percentiles::of(posted.accepted.iter().map(Accepted::latency_ms).collect()),
        accepted: posted.accepted.len(),
        sent_per_sec_meanwhile: meanwhile as f64 / (ended - started).as_secs_f64().max(1e-3),
        drained_after: last.saturating_duration_since(ended),
        note: format!(
            "{}; worker: {} postponed, {} retried",
            check_note(
                &delivered(stage.graph(), &posted.accepted),
                &posted.failed,
                metrics.failed,
            ),
            metrics.postponed,
            metrics.retried,
        ),
    };
    stage.tear_down().await;
    Some(figures)
}

fn print_accepts(figures: &[AcceptFigures]) {
    if figures.is_empty() {
        return;
    }
    println!();
    println!(
        "Sends accepted by POST /api/v1/messages/send, back to back from the clients, over \
         {ACCEPT_ACCOUNTS} accounts:"
    );
    println!();
    println!(
        "| backend  | accepted/s | 202 p50 ms | 202 p99 ms | 202 max ms | accepted | sent/s meanwhile | all sent after s | check |"
    );
    println!(
        "|----------|-----------:|-----------:|-----------:|-----------:|---------:|-----------------:|-----------------:|-------|"
    );
    for f in figures {
        println!(
            "| {:<8} | {:>10.0} | {:>10.1} | {:>10.1} | {:>10.1} | {:>8} | {:>16.0} | {:>16.1} | {} |",
            f.backend.name(),
            f.accepted_per_sec,
            f.answer.p50,
            f.answer.p99,
            f.answer.max,
            f.accepted,
            f.sent_per_sec_meanwhile,
            f.drained_after.as_secs_f64(),
            f.note,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Phase 2: from 202 to sent.

struct LatencyFigures {
    backend: Backend,
    rate: f64,
    answer: Percentiles,
    /// `202` → the Graph API receiving the send.
    to_graph: Percentiles,
    /// `202` → the row `sent` (its `updated_at`).
    to_sent: Percentiles,
    accepted: usize,
    note: String,
}

async fn latency(backend: Backend, settings: &Settings) -> Option<LatencyFigures> {
    let stage = Stage::set_up(backend, LATENCY_ACCOUNTS).await?;
    let accounts: Vec<usize> = (0..LATENCY_ACCOUNTS).collect();
    let posted = post_at_rate(
        &stage,
        settings.rate,
        settings.latency,
        &accounts,
        "latency",
    )
    .await;
    stage
        .graph()
        .wait_for(&posted.accepted, settings.drain_timeout)
        .await;
    stage
        .wait_recorded(posted.accepted.len(), Duration::from_secs(10))
        .await;
    let to_graph: Vec<f64> = {
        let log = stage.graph().log.lock().unwrap();
        posted
            .accepted
            .iter()
            .filter_map(|send| {
                let arrival = log.arrivals.get(&send.text)?;
                Some(millis(arrival.at.saturating_duration_since(send.accepted)))
            })
            .collect()
    };
    let mut to_sent = Vec::with_capacity(posted.accepted.len());
    let mut not_sent = 0_u64;
    for send in &posted.accepted {
        let id = MessageId::parse(&send.message_id).unwrap();
        match stage.test.db.outbound(&id).await.unwrap() {
            Some(message) if message.status == OutboundStatus::Sent => {
                to_sent.push(message.updated_at.as_millis() as f64 - send.accepted_wall_ms);
            }
            _ => not_sent += 1,
        }
    }
    let figures = LatencyFigures {
        backend,
        rate: posted.accepted.len() as f64 / posted.elapsed.as_secs_f64(),
        answer: Percentiles::of(posted.accepted.iter().map(Accepted::latency_ms).collect()),
        to_graph: Percentiles::of(to_graph),
        to_sent: Percentiles::of(to_sent),
        accepted: posted.accepted.len(),
        note: check_note(
            &delivered(stage.graph(), &posted.accepted),
            &posted.failed,
            not_sent,
        ),
    };
    stage.tear_down().await;
    Some(figures)
}

fn print_latencies(figures: &[LatencyFigures]) {
    if figures.is_empty() {
        return;
    }
    println!();
    println!(
        "202 → Graph API → sent, at a fixed rate over {LATENCY_ACCOUNTS} accounts (fake Graph \
         latency {} ms; sent = the row's updated_at, 1 ms resolution):",
        GRAPH_LATENCY.as_millis()
    );
    println!();
    println!(
        "| backend  | sends/s | 202 p50 / p99 ms | 202 → Graph p50 / p99 / max ms | 202 → sent p50 / p99 / max ms | accepted | check |"
    );
    println!(
        "|----------|--------:|-----------------:|-------------------------------:|------------------------------:|---------:|-------|"
    );
    for f in figures {
        println!(
            "| {:<8} | {:>7.0} | {:>7.1} / {:>6.1} | {:>9.1} / {:>6.1} / {:>7.1} | {:>9.1} / {:>6.1} / {:>6.1} | {:>8} | {} |",
            f.backend.name(),
            f.rate,
            f.answer.p50,
            f.answer.p99,
            f.to_graph.p50,
            f.to_graph.p99,
            f.to_graph.max,
            f.to_sent.p50,
            f.to_sent.p99,
            f.to_sent.max,
            f.accepted,
            f.note,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Phase 3: the per-account pace.

/// One flooded account's arrivals at the Graph API.
struct Pace {
    sends: usize,
    /// From the first to the last `202` of its sends.
    queued_in: Duration,
    /// Sends/s from the `BURST + 1`th arrival to the last.
    steady_rate: f64,
    /// Most arrivals in any one second.
    max_in_a_second: usize,
    /// From the first arrival to the last.
    span: Duration,
}

struct PaceFigures {
    backend: Backend,
    flooded: [Pace; 2],
    /// The light account C: its sends/s and `202` → Graph API.
    light_rate: f64,
    light_to_graph: Percentiles,
    note: String,
}

async fn pace(backend: Backend, settings: &Settings) -> Option<PaceFigures> {
    let stage = Stage::set_up(backend, 3).await?;
    let sends = settings.pace_sends;
    let light_for = Duration::from_secs_f64(sends as f64 / f64::from(SEND_RATE));
    let (flood, light) = tokio::join!(
        post_back_to_back(
            &stage,
            settings.clients,
            &[0, 1],
            Instant::now() + settings.drain_timeout,
            2 * sends,
            "pace",
        ),
        post_at_rate(&stage, LIGHT_RATE, light_for, &[2], "light"),
    );
    let mut all = Posted::default();
    all.absorb(flood);
    let light_count = light.accepted.len();
    let light_elapsed = light.elapsed;
    all.absorb(light);
    stage
        .graph()
        .wait_for(&all.accepted, settings.drain_timeout)
        .await;
    stage
        .wait_recorded(all.accepted.len(), Duration::from_secs(10))
        .await;
    let metrics = stage.metrics.snapshot();
    let figures = {
        let log = stage.graph().log.lock().unwrap();
        let flooded = [0, 1].map(|account| {
            let mine: Vec<&Accepted> = all
                .accepted
                .iter()
                .filter(|send| send.account == account)
                .collect();
            let mut arrivals: Vec<Instant> = log
                .arrivals
                .values()
                .filter(|arrival| arrival.account == account)
                .map(|arrival| arrival.at)
                .collect();
            arrivals.sort_unstable();
            pace_of(&mine, &arrivals)
        });
        let light_to_graph = all
            .accepted
            .iter()
            .filter(|send| send.account == 2)
            .filter_map(|send| {
                let arrival = log.arrivals.get(&send.text)?;
                Some(millis(arrival.at.saturating_duration_since(send.accepted)))
            })
            .collect();
        PaceFigures {
            backend,
            flooded,
            light_rate: light_count as f64 / light_elapsed.as_secs_f64(),
            light_to_graph: Percentiles::of(light_to_graph),
            note: String::new(),
        }
    };
    let figures = PaceFigures {
        note: check_note(
            &delivered(stage.graph(), &all.accepted),
            &all.failed,
            metrics.failed,
        ),
        ..figures
    };
    stage.tear_down().await;
    Some(figures)
}

/// The pace of one account whose sends were `accepted` and reached the Graph API at `arrivals`
/// (sorted).
fn pace_of(accepted: &[&Accepted], arrivals: &[Instant]) -> Pace {
    let first_202 = accepted.iter().map(|send| send.accepted).min();
    let last_202 = accepted.iter().map(|send| send.accepted).max();
    let steady = arrivals.get(BURST..).unwrap_or_default();
    let steady_rate = match (steady.first(), steady.last()) {
        (Some(first), Some(last)) if steady.len() > 1 => {
            (steady.len() - 1) as f64 / (*last - *first).as_secs_f64()
        }
        _ => f64::NAN,
    };
    let mut max_in_a_second = 0;
    let mut start = 0;
    for (end, at) in arrivals.iter().enumerate() {
        while at.duration_since(arrivals[start]) >= Duration::from_secs(1) {
            start += 1;
        }
        max_in_a_second = max_in_a_second.max(end - start + 1);
    }
    Pace {
        sends: arrivals.len(),
        queued_in: match (first_202, last_202) {
            (Some(first), Some(last)) => last - first,
            _ => Duration::ZERO,
        },
        steady_rate,
        max_in_a_second,
        span: match (arrivals.first(), arrivals.last()) {
            (Some(first), Some(last)) => *last - *first,
            _ => Duration::ZERO,
        },
    }
}

fn print_paces(figures: &[PaceFigures]) {
    if figures.is_empty() {
        return;
    }
    println!();
    println!(
        "Per-account pace ({SEND_RATE} sends/s each): accounts A and B flooded at once, C at \
         {LIGHT_RATE}/s meanwhile; steady rate from the {}th arrival on:",
        BURST + 1
    );
    println!();
    println!(
        "| backend  | account | sends | all queued within s | sent over s | steady sends/s | vs {SEND_RATE}/s | most in 1 s | 202 → Graph p50 / p99 / max ms | check |"
    );
    println!(
        "|----------|---------|------:|--------------------:|------------:|---------------:|--------:|------------:|-------------------------------:|-------|"
    );
    for f in figures {
        for (name, p) in ["A", "B"].iter().zip(&f.flooded) {
            println!(
                "| {:<8} | {name} (flooded) | {:>5} | {:>19.2} | {:>11.2} | {:>14.1} | {:>+6.1}% | {:>11} | – | {} |",
                f.backend.name(),
                p.sends,
                p.queued_in.as_secs_f64(),
                p.span.as_secs_f64(),
                p.steady_rate,
                (p.steady_rate / f64::from(SEND_RATE) - 1.0) * 100.0,
                p.max_in_a_second,
                f.note,
            );
        }
        println!(
            "| {:<8} | C ({LIGHT_RATE}/s) | | | | {:>14.1} | | | {:>9.1} / {:>6.1} / {:>6.1} | |",
            f.backend.name(),
            f.light_rate,
            f.light_to_graph.p50,
            f.light_to_graph.p99,
            f.light_to_graph.max,
        );
    }
    println!();
    for f in figures {
        for (name, p) in ["A", "B"].iter().zip(&f.flooded) {
            let off = (p.steady_rate / f64::from(SEND_RATE) - 1.0).abs();
            let verdict = if off <= PACE_TOLERANCE {
                "met"
            } else {
                "MISSED"
            };
            println!(
                "{}: account {name} at {:.1} sends/s, target {SEND_RATE} ± {:.0}%: {verdict}",
                f.backend.name(),
                p.steady_rate,
                PACE_TOLERANCE * 100.0,
            );
        }
    }
}

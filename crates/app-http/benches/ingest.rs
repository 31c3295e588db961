//! `just bench-ingest`: webhooks per second through the real service, next to the backend's bare
//! insert ceiling measured in the same run.
//!
//! For every reachable backend (a fresh database each, as in the tests) it starts the service
//! with `Application::build` on a free port, with one account that forwards to a CRM, and posts
//! signed single-message webhooks with unique `mid`s from [`CONNECTIONS`] concurrent connections
//! for `BENCH_SECONDS` (default 20). Each acknowledged webhook is one message plus its CRM
//! delivery, committed before the `200`. It prints webhooks/s and p50/p99 latency, and the
//! ceiling: bare single-row `INSERT`s (autocommit) from as many concurrent tasks through a pool
//! of the service's size. Then it checks that every acknowledged `mid` is stored exactly once
//! and has exactly one delivery. Targets (issue 5): p99 ≤ 25 ms, webhooks/s ≥ 0.6 × ceiling.
//!
//! `cargo bench -p app-http --bench ingest [sqlite|postgres|mysql]`.

#![expect(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a bench binary prints and fails loudly"
)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use adapters_db::testing::TestDb;
use adapters_db::{Backend, Database, DatabaseUrl};
use adapters_instagram::signature_header_value;
use app_http::bootstrap::generate_webhook_secret;
use app_http::clock::SystemClock;
use app_http::config::Overrides;
use app_http::credentials::AesGcmCipher;
use app_http::{Application, Config};
use domain::ports::{AccountStore, Clock, CredentialCipher, DeliveryQueue, MessageStore};
use domain::{Account, AccountId, DeliveryFilter, InstagramId, PageRequest, Username, WebhookUrl};
use secrecy::SecretString;
use tokio::sync::oneshot;

/// Concurrent connections posting webhooks, and concurrent writers of the ceiling.
const CONNECTIONS: usize = 64;
/// The app secret the service checks and the bench signs with.
const APP_SECRET: &str = "bench-app-secret";
/// The business account every webhook is for.
const BUSINESS_ID: &str = "17841400000000000";

/// One backend's figures.
struct Figures {
    webhooks_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    ceiling_per_sec: f64,
    acknowledged: usize,
    failed: u64,
    verified: Result<(), String>,
}

fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let only: Option<String> = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    // reqwest is built with `rustls-no-provider` in this workspace.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "igrouter ingest benchmark: {seconds} s per backend, {CONNECTIONS} connections, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    println!(
        "| backend  | webhooks/s | p50 ms | p99 ms | ceiling rows/s | vs ceiling | stored once |"
    );
    println!(
        "|----------|-----------:|-------:|-------:|---------------:|-----------:|-------------|"
    );
    for backend in Backend::ALL {
        if only.as_deref().is_some_and(|name| name != backend.name()) {
            continue;
        }
        let duration = Duration::from_secs(seconds);
        match runtime.block_on(bench_backend(backend, duration)) {
            Some(figures) => print_row(backend, &figures),
            None => println!(
                "| {:<8} | skipped: server unreachable | | | | | |",
                backend.name()
            ),
        }
    }
}

fn print_row(backend: Backend, f: &Figures) {
    let verified = match &f.verified {
        Ok(()) if f.failed == 0 => format!("yes ({})", f.acknowledged),
        Ok(()) => format!("yes ({}; {} failed)", f.acknowledged, f.failed),
        Err(problem) => format!("NO: {problem}"),
    };
    println!(
        "| {:<8} | {:>10.0} | {:>6.1} | {:>6.1} | {:>14.0} | {:>10.2} | {verified} |",
        backend.name(),
        f.webhooks_per_sec,
        f.p50_ms,
        f.p99_ms,
        f.ceiling_per_sec,
        f.webhooks_per_sec / f.ceiling_per_sec,
    );
}

async fn bench_backend(backend: Backend, duration: Duration) -> Option<Figures> {
    let test = TestDb::new(backend).await?;
    let ddl = "CREATE TABLE bench_ceiling (id BIGINT PRIMARY KEY, v VARCHAR(64) NOT NULL)";
    test.db.bench_execute(ddl).await.unwrap();
    let config = Config::from_lookup(
        |name| match name {
            "DATABASE_URL" => Some(test.url.clone()),
            "BIND_ADDRESS" => Some("127.0.0.1:0".to_owned()),
            "INSTAGRAM_APP_SECRET" => Some(APP_SECRET.to_owned()),
            "LOG_LEVEL" => Some("warn".to_owned()),
            _ => None,
        },
        &Overrides::default(),
    )
    .expect("the bench configuration is valid");
    let account = seed_account(&test.db, &config).await;
    let pool = config.database.pool;
    let app = Application::build(config).await.unwrap();
    let address = format!("http://127.0.0.1:{}/webhooks/instagram", app.port());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));

    // The ceiling through a pool of the service's size, while the service idles.
    let ceiling_db = Database::connect(&DatabaseUrl::parse(&test.url).unwrap(), pool).unwrap();
    let ceiling_per_sec = ceiling(&ceiling_db, duration).await;

    let posted = post_webhooks(&address, duration).await;
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    let verified = verify(&test, &account.id, &posted.mids).await;

    let mut latencies = posted.latencies;
    latencies.sort_unstable_by(f64::total_cmp);
    Some(Figures {
        webhooks_per_sec: posted.mids.len() as f64 / posted.elapsed.as_secs_f64(),
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        ceiling_per_sec,
        acknowledged: posted.mids.len(),
        failed: posted.failed,
        verified,
    })
}

/// An account for [`BUSINESS_ID`] that forwards to a CRM (nothing listens there: deliveries
/// only queue; no worker runs yet).
async fn seed_account(db: &Database, config: &Config) -> Account {
    let cipher = AesGcmCipher::new(&config.credentials).unwrap();
    let id = app_http::random::account_id().unwrap();
    let now = SystemClock.now();
    let account = Account {
        instagram_account_id: InstagramId::parse("instagram_account_id", BUSINESS_ID).unwrap(),
        username: Username::parse("bench_shop").unwrap(),
        access_token: cipher
            .seal(&id, &SecretString::from("token".to_owned()))
            .unwrap(),
        webhook_secret: cipher
            .seal(&id, &generate_webhook_secret().unwrap())
            .unwrap(),
        crm_webhook_url: Some(
            WebhookUrl::parse("crm_webhook_url", "http://127.0.0.1:9/crm").unwrap(),
        ),
        token_invalid_since: None,
        send_rate_per_second: 100,
        created_at: now,
        updated_at: now,
        id,
    };
    db.create_account(&account).await.unwrap();
    account
}

/// Bare inserts per second from [`CONNECTIONS`] concurrent tasks.
async fn ceiling(db: &Database, duration: Duration) -> f64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let started = Instant::now();
    let deadline = started + duration;
    let rows = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (db, rows) = (db.clone(), Arc::clone(&rows));
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let id = i64::try_from(NEXT.fetch_add(1, Ordering::Relaxed)).unwrap();
                    db.bench_insert_pair(id).await.unwrap();
                    rows.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    rows.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// What the posting tasks saw.
struct Posted {
    /// The `mid`s the service acknowledged with `200`.
    mids: Vec<String>,
    /// Latency of each acknowledged post, in ms.
    latencies: Vec<f64>,
    /// Posts answered otherwise, or not at all.
    failed: u64,
    elapsed: Duration,
}

async fn post_webhooks(address: &str, duration: Duration) -> Posted {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()
        .unwrap();
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|connection| {
            let (client, address) = (client.clone(), address.to_owned());
            tokio::spawn(async move {
                let (mut mids, mut latencies, mut failed) = (Vec::new(), Vec::new(), 0_u64);
                let mut n = 0_u64;
                while Instant::now() < deadline {
                    n += 1;
                    let mid = format!("bench.{connection}.{n}");
                    let body = webhook_body(connection, &mid);
                    let signature = signature_header_value(APP_SECRET.as_bytes(), &body);
                    let sent = Instant::now();
                    let answer = client
                        .post(&address)
                        .header("content-type", "application/json")
                        .header("x-hub-signature-256", signature)
                        .body(body)
                        .send()
                        .await;
                    match answer {
                        Ok(response) if response.status() == 200 => {
                            let _ = response.bytes().await;
                            latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                            mids.push(mid);
                        }
                        _ => failed += 1,
                    }
                }
                (mids, latencies, failed)
            })
        })
        .collect();
    let mut posted = Posted {
        mids: Vec::new(),
        latencies: Vec::new(),
        failed: 0,
        elapsed: Duration::ZERO,
    };
    for task in tasks {
        let (mids, latencies, failed) = task.await.unwrap();
        posted.mids.extend(mids);
        posted.latencies.extend(latencies);
        posted.failed += failed;
    }
    posted.elapsed = started.elapsed();
    posted
}

/// A single-message body as Meta sends it, from customer `connection`.
fn webhook_body(connection: usize, mid: &str) -> Vec<u8> {
    let now = SystemClock.now().as_millis();
    format!(
        r#"{{"object":"instagram","entry":[{{"id":"{BUSINESS_ID}","time":{now},"messaging":[{{"sender":{{"id":"{}"}},"recipient":{{"id":"{BUSINESS_ID}"}},"timestamp":{now},"message":{{"mid":"{mid}","text":"hello from the benchmark"}}}}]}}]}}"#,
        9_000_000 + connection
    )
    .into_bytes()
}

/// Every acknowledged `mid` stored exactly once, with exactly one delivery each.
async fn verify(test: &TestDb, account: &AccountId, acknowledged: &[String]) -> Result<(), String> {
    let mut stored: HashMap<String, u32> = HashMap::new();
    let mut after = None;
    loop {
        let page = PageRequest::new(Some(200), after).unwrap();
        let page = test
            .db
            .history(account, None, &page)
            .await
            .map_err(|e| e.to_string())?;
        for message in page.items {
            let mid = message
                .instagram_message_id
                .map(|m| m.as_str().to_owned())
                .unwrap_or_default();
            *stored.entry(mid).or_default() += 1;
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    for mid in acknowledged {
        match stored.get(mid) {
            Some(1) => {}
            Some(n) => return Err(format!("{mid} stored {n} times")),
            None => return Err(format!("{mid} acknowledged but not stored")),
        }
    }
    let mut deliveries = 0_usize;
    let mut after = None;
    loop {
        let page = PageRequest::new(Some(200), after).unwrap();
        let page = test
            .db
            .list_deliveries(&DeliveryFilter::default(), &page)
            .await
            .map_err(|e| e.to_string())?;
        deliveries += page.items.len();
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    if deliveries != stored.len() {
        return Err(format!(
            "{deliveries} deliveries for {} messages",
            stored.len()
        ));
    }
    Ok(())
}

fn percentile(sorted: &[f64], quantile: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * quantile).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

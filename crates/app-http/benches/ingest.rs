//! `just bench-ingest`: webhooks per second through the real service, next to the backend's bare
//! insert ceiling measured in the same run.
//!
//! For every reachable backend (a fresh database each, as in the tests) it starts the service
//! with `Application::build` on a free port, with one account that forwards to a CRM (a fake in
//! this process that accepts every delivery at once, as a healthy CRM does), and posts
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

mod common;
#[expect(dead_code, reason = "this bench's CRM reads no request")]
mod fake_http;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use adapters_db::testing::TestDb;
use adapters_db::{Backend, Database, DatabaseUrl};
use app_http::Application;
use domain::ports::{DeliveryQueue, MessageStore};
use domain::{AccountId, DeliveryFilter, PageRequest};

use common::{Service, percentile, post_from_clients};

/// Concurrent connections posting webhooks, and concurrent writers of the ceiling.
const CONNECTIONS: usize = 64;
/// The business account every webhook is for.
const BUSINESS_ID: &str = "17841400000000000";

/// A CRM that accepts every delivery at once.
struct AcceptingCrm;

impl fake_http::Handler for AcceptingCrm {
    async fn answer(&self, _request: fake_http::Request) -> Vec<u8> {
        b"HTTP/1.1 204 No Content\r\n\r\n".to_vec()
    }
}

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
    let runtime = common::runtime();
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
    for backend in common::selected_backends() {
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
    let config = common::config(&test.url, &[]);
    // The delivery worker delivers during the run, each event once, as it would in production.
    let crm = fake_http::serve(Arc::new(AcceptingCrm)).await;
    let account = common::seed_account(
        &test.db,
        &config,
        BUSINESS_ID,
        "bench_shop",
        &format!("{}/crm", crm.url),
    )
    .await;
    let pool = config.database.pool;
    let service = Service::start(Application::build(config).await.unwrap());

    // The ceiling through a pool of the service's size, while the service idles.
    let ceiling_db = Database::connect(&DatabaseUrl::parse(&test.url).unwrap(), pool).unwrap();
    let ceiling_per_sec = ceiling(&ceiling_db, duration).await;

    let business_ids = [BUSINESS_ID.to_owned()];
    let posted = post_from_clients(
        &service.webhook_url,
        CONNECTIONS,
        duration,
        "bench",
        &business_ids,
    )
    .await;
    service.stop().await;
    let mids: Vec<String> = posted.acks.iter().map(|ack| ack.mid.clone()).collect();
    let verified = verify(&test, &account.id, &mids).await;

    let mut latencies: Vec<f64> = posted.acks.iter().map(common::Ack::latency_ms).collect();
    latencies.sort_unstable_by(f64::total_cmp);
    Some(Figures {
        webhooks_per_sec: mids.len() as f64 / posted.elapsed.as_secs_f64(),
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        ceiling_per_sec,
        acknowledged: mids.len(),
        failed: posted.failed,
        verified,
    })
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

//! `just bench-db`: how fast the storage layer stores inbound messages on each backend, next to
//! the backend's own ceiling measured the same way in the same run.
//!
//! For every reachable backend (a fresh database each, as in the tests):
//! - the ceiling: a bare single-row `INSERT` into a two-column table, one per transaction
//!   (autocommit), through the same driver and pool;
//! - `MessageStore::ingest` with one inbound message (plus the CRM delivery it causes) per
//!   transaction;
//! - the same batched, 100 messages per transaction;
//!
//! each with 1 and 8 concurrent writers for `BENCH_SECONDS` (default 3) seconds. Prints rows/s
//! and the ratio to the ceiling at the same concurrency. Target: ratio ≥ 0.67 for one message
//! per transaction, on every backend.

#![expect(
    clippy::print_stdout,
    clippy::unwrap_used,
    reason = "a bench binary prints and fails loudly"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use adapters_db::testing::TestDb;
use adapters_db::{Backend, Database};
use diesel_async::{
    AsyncConnection, AsyncMysqlConnection, AsyncPgConnection, SimpleAsyncConnection,
};
use domain::ports::{AccountStore, MessageStore};
use domain::{
    Account, AccountId, CrmDelivery, CrmEventType, Direction, EventDetails, EventId, EventKind,
    InboundRecord, InstagramId, InstagramMessageId, Message, MessageId, SealedSecret, Timestamp,
    Username, WebhookUrl,
};

#[derive(Clone, Copy)]
enum Workload {
    Ceiling,
    /// `per_tx` messages per transaction, each with the CRM delivery it causes when `delivery`.
    Ingest {
        per_tx: usize,
        delivery: bool,
    },
}

impl Workload {
    fn label(self) -> String {
        match self {
            Self::Ceiling => "bare INSERT (ceiling)".to_owned(),
            Self::Ingest { per_tx, delivery } => {
                let what = if delivery {
                    "message+delivery"
                } else {
                    "message"
                };
                format!("{per_tx} {what}/tx")
            }
        }
    }
}

fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let only: Option<String> = std::env::args().nth(1).filter(|arg| !arg.starts_with('-'));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "igrouter storage benchmark: {seconds} s per row, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    println!("| backend  | workload                  | writers | rows/s   | vs ceiling |");
    println!("|----------|---------------------------|--------:|---------:|-----------:|");
    for backend in Backend::ALL {
        if only.as_deref().is_some_and(|name| name != backend.name()) {
            continue;
        }
        runtime.block_on(bench_backend(backend, Duration::from_secs(seconds)));
    }
}

async fn bench_backend(backend: Backend, duration: Duration) {
    let Some(test) = TestDb::new(backend).await else {
        println!("| {backend:<8} | skipped: server unreachable |  |  |  |");
        return;
    };
    create_ceiling_table(&test).await;
    let account = account();
    test.db.create_account(&account).await.unwrap();
    let account = Arc::new(account);
    for writers in [1_usize, 8] {
        let ceiling = run(&test.db, &account, Workload::Ceiling, writers, duration).await;
        print_row(backend, Workload::Ceiling, writers, ceiling, None);
        let workloads = [
            Workload::Ingest {
                per_tx: 1,
                delivery: false,
            },
            Workload::Ingest {
                per_tx: 1,
                delivery: true,
            },
            Workload::Ingest {
                per_tx: 100,
                delivery: true,
            },
        ];
        for workload in workloads {
            let rate = run(&test.db, &account, workload, writers, duration).await;
            print_row(backend, workload, writers, rate, Some(rate / ceiling));
        }
    }
}

fn print_row(backend: Backend, workload: Workload, writers: usize, rate: f64, ratio: Option<f64>) {
    let ratio = ratio.map_or_else(String::new, |r| format!("{r:.2}"));
    println!(
        "| {:<8} | {:<25} | {writers:>7} | {rate:>8.0} | {ratio:>10} |",
        backend.name(),
        workload.label()
    );
}

/// Runs `workload` from `writers` concurrent tasks for `duration`; returns rows per second.
async fn run(
    db: &Database,
    account: &Arc<Account>,
    workload: Workload,
    writers: usize,
    duration: Duration,
) -> f64 {
    let rows = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..writers)
        .map(|writer| {
            let (db, account, rows) = (db.clone(), Arc::clone(account), Arc::clone(&rows));
            tokio::spawn(async move {
                let mut n: u64 = 0;
                while Instant::now() < deadline {
                    match workload {
                        Workload::Ceiling => {
                            db.bench_insert_pair(i64::try_from(unique()).unwrap())
                                .await
                                .unwrap();
                            n += 1;
                            rows.fetch_add(1, Ordering::Relaxed);
                        }
                        Workload::Ingest { per_tx, delivery } => {
                            let batch: Vec<InboundRecord> = (0..per_tx)
                                .map(|_| {
                                    n += 1;
                                    let mut record = record(
                                        &account,
                                        &format!("bench-{writer}-{n}-{}", unique()),
                                    );
                                    if !delivery {
                                        record.delivery = None;
                                    }
                                    record
                                })
                                .collect();
                            db.ingest(batch).await.unwrap();
                            rows.fetch_add(per_tx as u64, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    rows.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

async fn create_ceiling_table(test: &TestDb) {
    let ddl = "CREATE TABLE bench_ceiling (id BIGINT PRIMARY KEY, v VARCHAR(64) NOT NULL)";
    match test.db.backend() {
        Backend::Sqlite => test.db.bench_execute(ddl).await.unwrap(),
        Backend::Postgres => {
            let mut conn = AsyncPgConnection::establish(&test.url).await.unwrap();
            conn.batch_execute(ddl).await.unwrap();
        }
        Backend::Mysql => {
            let mut conn = AsyncMysqlConnection::establish(&test.url).await.unwrap();
            conn.batch_execute(ddl).await.unwrap();
        }
    }
}

fn unique() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn entropy() -> [u8; 12] {
    let n = unique();
    std::array::from_fn(|i| ((n >> ((i % 12) * 5)) & 31) as u8)
}

fn account() -> Account {
    Account {
        id: AccountId::from_entropy(entropy()),
        instagram_account_id: InstagramId::parse("instagram_account_id", "17841400000000000")
            .unwrap(),
        username: Username::parse("bench").unwrap(),
        access_token: SealedSecret::from_bytes(vec![1; 48]),
        webhook_secret: SealedSecret::from_bytes(vec![2; 60]),
        crm_webhook_url: Some(
            WebhookUrl::parse("crm_webhook_url", "https://crm.example/hook").unwrap(),
        ),
        token_invalid_since: None,
        send_rate_per_second: 100,
        created_at: Timestamp::from_millis(0),
        updated_at: Timestamp::from_millis(0),
    }
}

/// A typical inbound DM and the delivery it causes, as the webhook handler builds them.
fn record(account: &Account, mid: &str) -> InboundRecord {
    // Messages arrive over time, as in real traffic (the history index is ordered by time).
    let now = Timestamp::from_millis(1_763_202_600_000 + i64::try_from(unique()).unwrap());
    let customer = InstagramId::parse("sender_id", "1234567890").unwrap();
    let message = Message {
        id: MessageId::from_entropy(entropy()),
        account_id: Some(account.id.clone()),
        instagram_account_id: account.instagram_account_id.clone(),
        event_key: Message::event_key_for(
            EventKind::Message,
            Some(mid),
            customer.as_str(),
            now,
            "",
        ),
        direction: Direction::Inbound,
        kind: EventKind::Message,
        instagram_message_id: Some(InstagramMessageId::parse("mid", mid).unwrap()),
        participant_id: customer.clone(),
        sender_id: customer,
        recipient_id: account.instagram_account_id.clone(),
        text: Some("Hello! Do you ship to Lisbon? 🇵🇹".to_owned()),
        attachments: Vec::new(),
        details: EventDetails::default(),
        outbound_message_id: None,
        occurred_at: now,
        received_at: now,
    };
    let event_id = EventId::from_entropy(entropy());
    let payload = format!(
        r#"{{"event":"message.received","event_id":"{event_id}","message_id":"{mid}","message":"Hello! Do you ship to Lisbon?"}}"#
    );
    let delivery = CrmDelivery::new_pending(
        event_id,
        account.id.clone(),
        CrmEventType::MessageReceived,
        Some(message.id.clone()),
        message.event_key.clone(),
        payload,
        now,
    );
    InboundRecord {
        message,
        delivery: Some(delivery),
        auto_reply: None,
    }
}

//! What the service benchmarks (`ingest`, `delivery`) share: which backends to run, the service's
//! configuration and start, the seeded accounts, signed webhooks and percentiles.

use std::time::{Duration, Instant};

use adapters_db::{Backend, Database};
use adapters_instagram::signature_header_value;
use app_http::bootstrap::generate_webhook_secret;
use app_http::clock::SystemClock;
use app_http::config::Overrides;
use app_http::credentials::AesGcmCipher;
use app_http::{Application, Config};
use domain::ports::{AccountStore, Clock, CredentialCipher};
use domain::{Account, InstagramId, Username, WebhookUrl};
use secrecy::SecretString;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The app secret the service checks and the benches sign with.
pub(crate) const APP_SECRET: &str = "bench-app-secret";

/// The multi-threaded runtime a bench runs in, with rustls's `ring` provider installed (reqwest
/// is built with `rustls-no-provider` in this workspace).
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    let _ = rustls::crypto::ring::default_provider().install_default();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The backends to run: those named on the command line (`sqlite`, `postgres`, `mysql`), or all.
/// Flags (`--bench`, which cargo passes, and the bench's own) and other words are ignored.
pub(crate) fn selected_backends() -> Vec<Backend> {
    let named: Vec<String> = std::env::args().skip(1).collect();
    let chosen: Vec<Backend> = Backend::ALL
        .into_iter()
        .filter(|backend| named.iter().any(|arg| arg == backend.name()))
        .collect();
    if chosen.is_empty() {
        Backend::ALL.to_vec()
    } else {
        chosen
    }
}

/// The service's configuration on `database_url`: port 0, the bench's app secret, warnings only,
/// then `extra` (name, value) variables; every other variable at its default.
pub(crate) fn config(database_url: &str, extra: &[(&str, String)]) -> Config {
    Config::from_lookup(
        |name| match name {
            "DATABASE_URL" => Some(database_url.to_owned()),
            "BIND_ADDRESS" => Some("127.0.0.1:0".to_owned()),
            "INSTAGRAM_APP_SECRET" => Some(APP_SECRET.to_owned()),
            "LOG_LEVEL" => Some("warn".to_owned()),
            _ => extra
                .iter()
                .find(|(extra_name, _)| *extra_name == name)
                .map(|(_, value)| value.clone()),
        },
        &Overrides::default(),
    )
    .expect("the bench configuration is valid")
}

/// An account for Instagram business account `business_id` that forwards to `crm_url`.
pub(crate) async fn seed_account(
    db: &Database,
    config: &Config,
    business_id: &str,
    username: &str,
    crm_url: &str,
) -> Account {
    let cipher = AesGcmCipher::new(&config.credentials).unwrap();
    let id = app_http::random::account_id().unwrap();
    let now = SystemClock.now();
    let account = Account {
        instagram_account_id: InstagramId::parse("instagram_account_id", business_id).unwrap(),
        username: Username::parse(username).unwrap(),
        access_token: cipher
            .seal(&id, &SecretString::from("token".to_owned()))
            .unwrap(),
        webhook_secret: cipher
            .seal(&id, &generate_webhook_secret().unwrap())
            .unwrap(),
        crm_webhook_url: Some(WebhookUrl::parse("crm_webhook_url", crm_url).unwrap()),
        token_invalid_since: None,
        send_rate_per_second: 100,
        created_at: now,
        updated_at: now,
        id,
    };
    db.create_account(&account).await.unwrap();
    account
}

/// The service, serving in the background until [`Service::stop`].
pub(crate) struct Service {
    /// Where Meta's webhooks go.
    pub(crate) webhook_url: String,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Service {
    /// Serves `app` in the background.
    pub(crate) fn start(app: Application) -> Self {
        let webhook_url = format!("http://127.0.0.1:{}/webhooks/instagram", app.port());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        Self {
            webhook_url,
            stop,
            task,
        }
    }

    /// Stops the service gracefully and waits until it has.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap().unwrap();
    }
}

/// One webhook the service acknowledged with `200`.
pub(crate) struct Ack {
    /// The Instagram `mid` of its one message.
    pub(crate) mid: String,
    /// When it was posted.
    pub(crate) sent: Instant,
    /// When the `200` arrived.
    pub(crate) acked: Instant,
}

impl Ack {
    /// How long the service took to acknowledge it, in ms.
    pub(crate) fn latency_ms(&self) -> f64 {
        millis(self.acked - self.sent)
    }
}

/// Posts the signed single-message webhook `mid` from customer `sender` to business account
/// `business_id`: `Some` when the service answered `200`.
pub(crate) async fn post_webhook(
    client: &reqwest::Client,
    url: &str,
    business_id: &str,
    sender: usize,
    mid: String,
) -> Option<Ack> {
    let body = webhook_body(business_id, sender, &mid);
    let signature = signature_header_value(APP_SECRET.as_bytes(), &body);
    let sent = Instant::now();
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(body)
        .send()
        .await
        .ok()?;
    let acked = Instant::now();
    if response.status() != 200 {
        return None;
    }
    let _ = response.bytes().await;
    Some(Ack { mid, sent, acked })
}

/// A single-message body as Meta sends it, from customer `sender`.
fn webhook_body(business_id: &str, sender: usize, mid: &str) -> Vec<u8> {
    let now = SystemClock.now().as_millis();
    format!(
        r#"{{"object":"instagram","entry":[{{"id":"{business_id}","time":{now},"messaging":[{{"sender":{{"id":"{}"}},"recipient":{{"id":"{business_id}"}},"timestamp":{now},"message":{{"mid":"{mid}","text":"hello from the benchmark"}}}}]}}]}}"#,
        9_000_000 + sender
    )
    .into_bytes()
}

/// What [`post_from_clients`] saw.
pub(crate) struct Posted {
    /// The acknowledged webhooks.
    pub(crate) acks: Vec<Ack>,
    /// Posts answered otherwise, or not at all.
    pub(crate) failed: u64,
    /// From the first post to the last answer.
    pub(crate) elapsed: Duration,
}

/// Posts webhooks from `clients` concurrent connections (reqwest, HTTP/1.1 keep-alive), each
/// posting its next one as soon as the last is answered, for `duration`. Client `c`'s `n`th
/// webhook has `mid` `{tag}.{c}.{n}` and goes to `business_ids[(c + n) % len]`.
pub(crate) async fn post_from_clients(
    url: &str,
    clients: usize,
    duration: Duration,
    tag: &str,
    business_ids: &[String],
) -> Posted {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .unwrap();
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..clients)
        .map(|connection| {
            let (client, url, tag) = (client.clone(), url.to_owned(), tag.to_owned());
            let business_ids = business_ids.to_vec();
            tokio::spawn(async move {
                let (mut acks, mut failed) = (Vec::new(), 0_u64);
                let mut n = 0_usize;
                while Instant::now() < deadline {
                    n += 1;
                    let business_id = &business_ids[(connection + n) % business_ids.len()];
                    let mid = format!("{tag}.{connection}.{n}");
                    match post_webhook(&client, &url, business_id, connection, mid).await {
                        Some(ack) => acks.push(ack),
                        None => failed += 1,
                    }
                }
                (acks, failed)
            })
        })
        .collect();
    let mut posted = Posted {
        acks: Vec::new(),
        failed: 0,
        elapsed: Duration::ZERO,
    };
    for task in tasks {
        let (acks, failed) = task.await.unwrap();
        posted.acks.extend(acks);
        posted.failed += failed;
    }
    posted.elapsed = started.elapsed();
    posted
}

/// `duration` in milliseconds.
pub(crate) fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The `quantile` (0 to 1) of ascending `sorted`, nearest rank; NaN when empty.
pub(crate) fn percentile(sorted: &[f64], quantile: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * quantile).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

//! A running service for a test ([`TestApp`]), configurations built without touching the process
//! environment, captured logs, seeded accounts, and temporary directories.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use app_http::bootstrap::generate_webhook_secret;
use app_http::clock::SystemClock;
use app_http::config::Overrides;
use app_http::credentials::AesGcmCipher;
use app_http::{Application, Config};
use domain::ports::{AccountStore, Clock, CredentialCipher};
use domain::{Account, InstagramId, Username};
use secrecy::SecretString;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The service, serving on a free port until dropped or stopped.
pub(crate) struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub(crate) address: String,
    /// The webhook endpoint's counters of the running service.
    pub(crate) webhook_counters: std::sync::Arc<app_http::ingest::WebhookCounters>,
    /// The delivery worker's metrics of the running service.
    pub(crate) delivery_metrics: std::sync::Arc<app_http::workers::deliveries::DeliveryMetrics>,
    /// The send worker's metrics of the running service.
    pub(crate) send_metrics: std::sync::Arc<app_http::workers::sends::SendMetrics>,
    client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    /// Builds the service the way `main` does and serves it in the background.
    pub(crate) async fn spawn(config: Config) -> Self {
        capture_logs();
        install_crypto_provider();
        let app = Application::build(config)
            .await
            .expect("the service builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let webhook_counters = app.webhook_counters();
        let delivery_metrics = app.delivery_metrics();
        let send_metrics = app.send_metrics();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        Self {
            address,
            webhook_counters,
            delivery_metrics,
            send_metrics,
            client: reqwest::Client::new(),
            shutdown: Some(shutdown),
            server: Some(server),
        }
    }

    /// `GET path`.
    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("the service answers")
    }

    /// `GET path` with `Authorization: <authorization>` when given.
    pub(crate) async fn get_as(
        &self,
        path: &str,
        authorization: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self.client.get(format!("{}{path}", self.address));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        request.send().await.expect("the service answers")
    }

    /// `method path`.
    pub(crate) async fn request(&self, method: reqwest::Method, path: &str) -> reqwest::Response {
        self.client
            .request(method, format!("{}{path}", self.address))
            .send()
            .await
            .expect("the service answers")
    }

    /// `method path` with `Authorization: <authorization>` when given.
    pub(crate) async fn request_as(
        &self,
        method: reqwest::Method,
        path: &str,
        authorization: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.address));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        request.send().await.expect("the service answers")
    }

    /// Stops the service gracefully and waits until it has.
    pub(crate) async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        match self.server.take() {
            Some(server) => server.await?,
            None => Ok(()),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// A lookup that knows only `pairs`.
pub(crate) fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    move |name| {
        pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    }
}

/// A development configuration on `database_url`, listening on a free loopback port.
pub(crate) fn config(database_url: &str) -> Config {
    Config::from_lookup(
        vars(&[
            ("DATABASE_URL", database_url),
            ("BIND_ADDRESS", "127.0.0.1:0"),
        ]),
        &Overrides::default(),
    )
    .expect("the test configuration is valid")
}

/// `config` with `extra` variables set too.
pub(crate) fn config_with(database_url: &str, extra: &[(&str, &str)]) -> Config {
    let mut pairs = vec![
        ("DATABASE_URL", database_url),
        ("BIND_ADDRESS", "127.0.0.1:0"),
    ];
    pairs.extend_from_slice(extra);
    Config::from_lookup(vars(&pairs), &Overrides::default())
        .expect("the test configuration is valid")
}

/// A production configuration on `database_url`: every required secret set.
pub(crate) fn production_config(database_url: &str) -> Config {
    config_with(
        database_url,
        &[
            ("ENVIRONMENT", "production"),
            ("FACEBOOK_VERIFY_TOKEN", "verify-token"),
            ("INSTAGRAM_APP_SECRET", "app-secret"),
            ("CREDENTIALS_KEY", KEY_A),
            ("LOG_FORMAT", "pretty"),
        ],
    )
}

/// A credentials key: 32 bytes of 0x01.
pub(crate) const KEY_A: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
/// Another credentials key: 32 bytes of 0x02.
pub(crate) const KEY_B: &str = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";

/// Stores an account whose access token is `token`, sealed with `config`'s cipher.
pub(crate) async fn seed_account(
    store: &dyn AccountStore,
    config: &Config,
    instagram_id: &str,
    token: &str,
) -> Account {
    let cipher = AesGcmCipher::new(&config.credentials).unwrap();
    let id = app_http::random::account_id().unwrap();
    let now = SystemClock.now();
    let account = Account {
        instagram_account_id: InstagramId::parse("instagram_account_id", instagram_id).unwrap(),
        username: Username::parse(&format!("shop_{instagram_id}")).unwrap(),
        access_token: cipher
            .seal(&id, &SecretString::from(token.to_owned()))
            .unwrap(),
        webhook_secret: cipher
            .seal(&id, &generate_webhook_secret().unwrap())
            .unwrap(),
        crm_webhook_url: None,
        token_invalid_since: None,
        send_rate_per_second: 100,
        created_at: now,
        updated_at: now,
        id,
    };
    store.create_account(&account).await.unwrap();
    account
}

/// Installs rustls's `ring` provider once: reqwest (built with `rustls-no-provider` in this
/// workspace) panics on its first client without one.
pub(crate) fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // `Err` only means a provider is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Everything the services of this test binary logged so far (debug level and up), as text.
pub(crate) fn captured_logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap()).into_owned()
}

static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// Sends every log line of this process to [`LOGS`], once.
fn capture_logs() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("debug,hyper=info,hyper_util=info,reqwest=info,actix_server=info,actix_http=info,mio=info")
            .with_ansi(false)
            .with_writer(|| CaptureWriter)
            .try_init();
    });
}

struct CaptureWriter;

impl Write for CaptureWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A directory removed with this value.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "igrouter-it-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("temporary directory");
        Self(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Waits until `check` holds, for at most `limit`.
pub(crate) async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < limit {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    check().await
}

/// Waits (briefly) until the worker's metrics satisfy `check`: a task counts its attempt just
/// after writing it, so a test that saw the write may look a moment too early.
pub(crate) async fn counted(check: impl Fn() -> bool) -> bool {
    eventually(Duration::from_secs(5), || std::future::ready(check())).await
}

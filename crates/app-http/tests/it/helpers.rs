//! A running service for a test ([`TestApp`]), configurations built without touching the process
//! environment, and temporary directories.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use app_http::config::Overrides;
use app_http::{Application, Config};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The service, serving on a free port until dropped or stopped.
pub(crate) struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub(crate) address: String,
    client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    /// Builds the service the way `main` does and serves it in the background.
    pub(crate) async fn spawn(config: Config) -> Self {
        let app = Application::build(config)
            .await
            .expect("the service builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let (shutdown, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        Self {
            address,
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

    /// `method path`.
    pub(crate) async fn request(&self, method: reqwest::Method, path: &str) -> reqwest::Response {
        self.client
            .request(method, format!("{}{path}", self.address))
            .send()
            .await
            .expect("the service answers")
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

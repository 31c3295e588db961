//! The operator console (`/console`): every file it is made of is served with its content type and
//! the Content-Security-Policy, and none reaches outside the service; and the console works in a
//! real browser, Debian's Chromium driven through chromedriver (WebDriver): sign in, create an
//! account, see a received message in its conversation and reply, see a delivery fail and replay
//! it, edit an auto-reply rule and test a message against it, open the dashboard.
//!
//! Without `/usr/bin/chromium` and `/usr/bin/chromedriver` (`.ci/ensure-chromium` installs them)
//! the browser test prints `SKIPPED` and passes, unless `IGROUTER_TEST_ALL_BACKENDS=1`. With
//! `IGROUTER_CONSOLE_SCREENSHOTS=<dir>` it writes a PNG of each page there (docs/console/).

use std::net::TcpListener;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use adapters_db::Backend;
use adapters_db::testing::TestDb;
use app_http::api_keys;
use app_http::clock::SystemClock;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use futures::FutureExt;
use hyper_util::client::legacy::connect::HttpConnector;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{TempDir, TestApp, config, config_with};
use crate::send_api::accept_sends;
use crate::webhook_support::{FACEBOOK_SECRET, INSTAGRAM_SECRET, VERIFY_TOKEN, post_signed};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long the browser test waits for something to show before it fails.
const PATIENCE: Duration = Duration::from_secs(20);

/// The console's files on disk, as `/console/…` paths.
fn console_files() -> Vec<(String, PathBuf)> {
    fn walk(dir: &Path, root: &Path, into: &mut Vec<(String, PathBuf)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, into);
            } else {
                let relative = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                into.push((relative, path));
            }
        }
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("console");
    let mut files = Vec::new();
    walk(&root, &root, &mut files);
    files.sort();
    files
}

/// The content type a console file must be served with.
fn content_type(file: &str) -> &'static str {
    match file.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        other => panic!("a console file of an unexpected kind: {other:?}"),
    }
}

/// URLs a console file may name that the browser never fetches: the SVG namespace, and the
/// example a form shows as a placeholder.
const NOT_FETCHED: [&str; 2] = ["http://www.w3.org/2000/svg", "https://crm.example.com/"];

#[tokio::test]
async fn every_console_file_is_served_with_its_type_and_policy_and_nothing_external() {
    let Some(test) = TestDb::new(Backend::Sqlite).await else {
        return;
    };
    let app = TestApp::spawn(config(&test.url)).await;
    let files = console_files();
    assert!(files.iter().any(|(name, _)| name == "index.html"));
    let shell = std::fs::read(&files.iter().find(|(n, _)| n == "index.html").unwrap().1).unwrap();

    for page in ["/console", "/console/"] {
        let response = app.get(page).await;
        assert_eq!(response.status(), 200, "{page}");
        assert_console_headers(&response, "text/html; charset=utf-8");
        assert_eq!(response.bytes().await.unwrap(), shell, "{page} is the page");
        assert_head_like_get(&app, page, "text/html; charset=utf-8", shell.len()).await;
    }
    for (name, file) in &files {
        let response = app.get(&format!("/console/{name}")).await;
        assert_eq!(response.status(), 200, "{name}");
        assert_console_headers(&response, content_type(name));
        let etag = response.headers()["etag"].to_str().unwrap().to_owned();
        let bytes = std::fs::read(file).unwrap();
        assert_eq!(response.bytes().await.unwrap(), bytes, "{name} as on disk");
        assert_head_like_get(
            &app,
            &format!("/console/{name}"),
            content_type(name),
            bytes.len(),
        )
        .await;

        let revalidated = reqwest::Client::new()
            .get(format!("{}/console/{name}", app.address))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(revalidated.status(), 304, "{name} with its ETag");
        assert!(revalidated.bytes().await.unwrap().is_empty());

        assert_nothing_external(name, &String::from_utf8(bytes).unwrap());
    }
    for missing in ["/console/nope.js", "/console/js/", "/console/../Cargo.toml"] {
        assert_eq!(app.get(missing).await.status(), 404, "{missing}");
        let head = reqwest::Client::new()
            .head(format!("{}{missing}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), 404, "HEAD {missing}");
    }
}

/// `HEAD path` answers as `GET` does, the same headers and the length of the body, without it.
async fn assert_head_like_get(app: &TestApp, path: &str, content_type: &str, length: usize) {
    let response = reqwest::Client::new()
        .head(format!("{}{path}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "HEAD {path}");
    assert_console_headers(&response, content_type);
    assert!(response.headers().contains_key("etag"), "HEAD {path}");
    assert_eq!(
        response.headers()["content-length"].to_str().unwrap(),
        length.to_string(),
        "HEAD {path}"
    );
    assert!(response.bytes().await.unwrap().is_empty(), "HEAD {path}");
}

fn assert_console_headers(response: &reqwest::Response, content_type: &str) {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .unwrap_or_else(|| panic!("{} has no {name}", response.url()))
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(header("content-type"), content_type, "{}", response.url());
    let policy = header("content-security-policy");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(directive), "{policy} lacks {directive}");
    }
    assert!(!policy.contains("unsafe"), "{policy}");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("cache-control"), "no-cache");
}

/// No URL of another host, no protocol-relative URL, no module from elsewhere, no inline
/// script or style (which the policy would refuse anyway).
fn assert_nothing_external(name: &str, text: &str) {
    let mut rest = text;
    while let Some(at) = rest.find("http") {
        let url = &rest[at..];
        if url.starts_with("http://") || url.starts_with("https://") {
            assert!(
                NOT_FETCHED.iter().any(|allowed| url.starts_with(allowed)),
                "{name} names an external URL: {}",
                url.lines().next().unwrap_or_default()
            );
        }
        rest = &rest[at + 4..];
    }
    for forbidden in [
        "src=\"//",
        "href=\"//",
        "url(",
        "@import",
        "style=\"",
        "<script>",
    ] {
        assert!(!text.contains(forbidden), "{name} contains {forbidden}");
    }
    for (at, _) in text.match_indices(" from '") {
        let specifier = &text[at + 7..];
        assert!(
            specifier.starts_with("./") || specifier.starts_with("../"),
            "{name} imports from elsewhere: {}",
            specifier.lines().next().unwrap_or_default()
        );
    }
    assert!(!text.contains("import("), "{name} imports dynamically");
}

/// The form controls without a label, the buttons and links without a name, and a wrong
/// number of `h1`, on the page as drawn.
const UNNAMED_CONTROLS: &str = r"
    const visible = (el) => el.getClientRects().length > 0;
    const unnamed = [...document.querySelectorAll('input, select, textarea')]
        .filter((el) => visible(el) && el.labels.length === 0 && !el.getAttribute('aria-label'))
        .map((el) => `control ${el.name}`);
    for (const el of document.querySelectorAll('button, a[href]')) {
        if (visible(el) && !(el.getAttribute('aria-label') || el.textContent.trim())) {
            unnamed.push(`${el.tagName} ${el.outerHTML.slice(0, 60)}`);
        }
    }
    const headings = document.querySelectorAll('h1').length;
    if (headings !== 1) unnamed.push(`${headings} h1`);
    return unnamed;
";

/// chromedriver on a free port, stopped with this value.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// A headless Chromium session, with the flags this machine needs (docs/console.md).
    async fn session(&self, profile: &Path) -> Client {
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,1000",
            &format!("--user-data-dir={}", profile.display()),
        ];
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({"binary": CHROMIUM, "args": args}),
        );
        let start = Instant::now();
        loop {
            let mut builder = ClientBuilder::new(HttpConnector::new());
            match builder
                .capabilities(capabilities.clone())
                .connect(&self.url)
                .await
            {
                Ok(client) => return client,
                // chromedriver takes a moment to listen.
                Err(_) if start.elapsed() < PATIENCE => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => panic!("no WebDriver session: {error}"),
            }
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The browser with the test's helpers.
struct Browser {
    client: Client,
    screenshots: Option<PathBuf>,
}

impl Browser {
    fn css(selector: &str) -> Locator<'_> {
        Locator::Css(selector)
    }

    /// The first element matching `selector` whose text contains `text`, once there is one.
    async fn wait_for(&self, selector: &str, text: &str) -> Element {
        self.poll(selector, text, false).await
    }

    /// As `wait_for`, clicking the page's Refresh button between looks: for what a worker
    /// changes after the page was drawn.
    async fn refresh_until(&self, selector: &str, text: &str) -> Element {
        self.poll(selector, text, true).await
    }

    async fn poll(&self, selector: &str, text: &str, refresh: bool) -> Element {
        let start = Instant::now();
        loop {
            if let Some(found) = self.find_with(selector, text).await {
                return found;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "no {selector} with {text:?}; the page says:\n{}",
                self.page_text().await
            );
            tokio::time::sleep(Duration::from_millis(if refresh { 300 } else { 100 })).await;
            if refresh && let Some(button) = self.find_with("button", "Refresh").await {
                // The page may be redrawn under the click; the next look tells.
                let _ = button.click().await;
            }
        }
    }

    async fn find_with(&self, selector: &str, text: &str) -> Option<Element> {
        for element in self.client.find_all(Self::css(selector)).await.ok()? {
            if element.text().await.is_ok_and(|t| t.contains(text)) {
                return Some(element);
            }
        }
        None
    }

    /// Waits for the page heading `text` (the route has rendered).
    async fn wait_for_page(&self, text: &str) {
        self.wait_for("h1", text).await;
    }

    async fn page_text(&self) -> String {
        match self.client.find(Self::css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(error) => format!("(no body: {error})"),
        }
    }

    async fn fill(&self, selector: &str, text: &str) {
        let input = self.client.find(Self::css(selector)).await.unwrap();
        input.clear().await.unwrap();
        input.send_keys(text).await.unwrap();
    }

    async fn click(&self, selector: &str) {
        self.client
            .find(Self::css(selector))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    /// Submits the form `form` and waits for the notice that says it worked.
    async fn submit(&self, form: &str, notice: &str) {
        self.click(&format!("{form} button[type=submit]")).await;
        self.wait_for(".notice", notice).await;
    }

    async fn click_link(&self, text: &str) {
        self.wait_for("a", text).await.click().await.unwrap();
    }

    /// Writes `name.png` when screenshots are asked for.
    /// Checks the page a person reads with a screen reader or the keyboard alone (every form
    /// control has a label, every button and link a name, one `h1`), and writes `name.png` when
    /// screenshots are asked for.
    async fn screenshot(&self, name: &str) {
        let unnamed: Value = self.client.execute(UNNAMED_CONTROLS, vec![]).await.unwrap();
        assert_eq!(unnamed, json!([]), "{name}: controls without a name");
        let Some(dir) = &self.screenshots else {
            return;
        };
        // Let fonts and layout settle after the last change.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// The path part of the current hash route (`#/accounts/acc_…` → `/accounts/acc_…`).
    async fn route(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        url.fragment().unwrap_or_default().to_owned()
    }
}

/// Whether the browser test can run here; `None` after printing why not.
#[expect(
    clippy::print_stdout,
    reason = "the SKIPPED line is how a skipped test reports, as TestDb does"
)]
fn browser_available() -> Option<()> {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|path| !Path::new(path).exists())
        .collect();
    if missing.is_empty() {
        return Some(());
    }
    let reason = format!(
        "{} missing (.ci/ensure-chromium installs them)",
        missing.join(" and ")
    );
    assert!(
        !std::env::var("IGROUTER_TEST_ALL_BACKENDS").is_ok_and(|value| value == "1"),
        "the console's browser test is required (IGROUTER_TEST_ALL_BACKENDS=1): {reason}"
    );
    println!("SKIPPED: console browser test: {reason}");
    None
}

/// A text message from `customer` to `business`, stamped now.
fn text_message(business: &str, customer: &str, mid: &str, text: &str) -> Vec<u8> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    serde_json::to_vec(&json!({
        "object": "instagram",
        "entry": [{"id": business, "time": now, "messaging": [{
            "sender": {"id": customer}, "recipient": {"id": business}, "timestamp": now,
            "message": {"mid": mid, "text": text}
        }]}]
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_works_in_a_real_browser() {
    if browser_available().is_none() {
        return;
    }
    let Some(test) = TestDb::new(Backend::Sqlite).await else {
        return;
    };
    // The CRM refuses the first two attempts at the first and third received messages (the first
    // attempt and the schedule's one retry, so the deliveries die within a second) and accepts
    // everything else.
    let crm = MockServer::start().await;
    for refused in ["mid.console.1", "mid.console.3"] {
        Mock::given(method("POST"))
            .and(path("/crm"))
            .and(body_string_contains(refused))
            .respond_with(ResponseTemplate::new(503).set_body_string("down for maintenance"))
            .up_to_n_times(2)
            .with_priority(1)
            .mount(&crm)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/crm"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&crm)
        .await;
    let graph = MockServer::start().await;
    accept_sends(&graph).await;
    let graph_url = graph.uri();
    let app = TestApp::spawn(config_with(
        &test.url,
        &[
            ("FACEBOOK_VERIFY_TOKEN", VERIFY_TOKEN),
            ("INSTAGRAM_APP_SECRET", INSTAGRAM_SECRET),
            ("FACEBOOK_APP_SECRET", FACEBOOK_SECRET),
            ("CRM_RETRY_SCHEDULE", "200ms"),
            ("CRM_POLL_INTERVAL", "100ms"),
            ("GRAPH_API_BASE_URL", &graph_url),
        ],
    ))
    .await;
    let key = api_keys::create(
        &test.db,
        &test.db,
        &SystemClock,
        "operator".into(),
        Vec::new(),
    )
    .await
    .unwrap();

    let driver = Driver::start();
    let profile = TempDir::new();
    let browser = Browser {
        client: driver.session(profile.path()).await,
        screenshots: std::env::var_os("IGROUTER_CONSOLE_SCREENSHOTS").map(|dir| {
            let dir = PathBuf::from(dir);
            std::fs::create_dir_all(&dir).unwrap();
            dir
        }),
    };
    // Close the browser whatever happens, so no Chromium outlives a failed test.
    let outcome = AssertUnwindSafe(run_flow(&browser, &app, key.secret.expose_secret(), &crm))
        .catch_unwind()
        .await;
    let _ = browser.client.close().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// The operator's walk through the console.
async fn run_flow(browser: &Browser, app: &TestApp, key: &str, crm: &MockServer) {
    let business = "17841400000000042";
    let customer = "5550001";

    // Sign in: the console sends an unsigned visitor to the sign-in page.
    browser
        .client
        .goto(&format!("{}/console", app.address))
        .await
        .unwrap();
    browser.wait_for_page("Sign in").await;
    browser.screenshot("signin").await;
    browser.fill("#api-key", "not-a-key").await;
    browser.click("form button[type=submit]").await;
    browser.wait_for(".form-error", "refused").await;
    browser.fill("#api-key", key).await;
    browser.click("form button[type=submit]").await;
    browser.wait_for_page("Accounts").await;

    // Create an account; its generated webhook secret is shown once.
    browser.fill("[name=instagram_account_id]", business).await;
    browser.fill("[name=username]", "shop.test").await;
    browser
        .fill("[name=access_token]", "IGQVJ-test-token")
        .await;
    browser
        .fill("[name=crm_webhook_url]", &format!("{}/crm", crm.uri()))
        .await;
    browser.click("form button[type=submit]").await;
    browser.wait_for_page("Account shop.test").await;
    let secret = browser.wait_for("#generated-secret", "").await;
    assert_eq!(secret.text().await.unwrap().len(), 64, "a generated secret");
    let route = browser.route().await;
    let account = route.trim_start_matches("/accounts/").to_owned();
    assert!(account.starts_with("acc_"), "{route}");
    browser.screenshot("account").await;
    // A field error names its field: a URL without a scheme.
    browser.fill("[name=crm_webhook_url]", "not a url").await;
    browser
        .click("form[aria-labelledby=edit-account] button[type=submit]")
        .await;
    browser.wait_for(".field-error", "CRM webhook URL").await;

    // Meta posts a message; markup in a customer's text stays text.
    for (mid, text) in [
        ("mid.console.1", "Hello! Do you ship to Lisbon?"),
        ("mid.console.2", "<img src=x onerror=alert(1)> is just text"),
        ("mid.console.3", "Is the blue one in stock?"),
    ] {
        post_signed(app, &text_message(business, customer, mid, text)).await;
    }
    browser.click_link("Conversations").await;
    browser.wait_for_page("Conversations").await;
    browser
        .wait_for(".conversation", "Is the blue one in stock?")
        .await;
    browser.screenshot("conversations").await;
    browser.click_link(customer).await;
    browser
        .wait_for_page(&format!("Conversation with {customer}"))
        .await;
    browser
        .wait_for(".thread .text", "Do you ship to Lisbon?")
        .await;
    browser
        .wait_for(".thread .text", "<img src=x onerror=alert(1)>")
        .await;
    assert!(
        browser
            .client
            .find_all(Locator::Css(".thread img"))
            .await
            .unwrap()
            .is_empty(),
        "a message's markup is never parsed"
    );
    browser.fill("[name=message]", "Yes, in 2 days.").await;
    browser.submit("form.reply", "queued").await;
    browser
        .wait_for(".thread .outbound .text", "Yes, in 2 days.")
        .await;
    browser.screenshot("conversation").await;

    // The received message's delivery fails twice and dies; replay it.
    browser.click_link("Deliveries").await;
    browser.wait_for_page("Deliveries").await;
    let status = browser
        .client
        .find(Locator::Css("select[name=status]"))
        .await
        .unwrap();
    status.select_by_value("failed").await.unwrap();
    browser.click("form.filters button[type=submit]").await;
    browser
        .refresh_until("tr[data-status=failed]", "failed")
        .await;
    browser.screenshot("deliveries").await;
    browser.click("tr[data-status=failed] a").await;
    browser.wait_for("#delivery-status", "failed").await;
    browser.wait_for("td", "down for maintenance").await;
    browser.screenshot("delivery-failed").await;
    browser.click("#replay").await;
    browser.wait_for(".notice", "Replay queued").await;
    browser.refresh_until("#delivery-status", "delivered").await;
    browser.wait_for("td", "accepted").await;
    browser.screenshot("delivery").await;
    // The other failure goes with the bulk replay of the account's last day.
    browser.click_link("This account's deliveries").await;
    browser
        .refresh_until("tr[data-status=failed]", "failed")
        .await;
    browser
        .submit(
            "form[aria-labelledby=recover-title]",
            "1 failed delivery replayed",
        )
        .await;
    browser
        .client
        .goto(&format!(
            "{}/console#/deliveries?status=failed&account_id={account}",
            app.address
        ))
        .await
        .unwrap();
    browser
        .refresh_until("#no-deliveries", "No deliveries match")
        .await;

    // Rules: create one, edit it, test a message against it.
    browser
        .client
        .goto(&format!(
            "{}/console#/accounts/{account}/rules",
            app.address
        ))
        .await
        .unwrap();
    browser.wait_for_page("Auto-reply rules").await;
    browser.fill("#rule-form [name=pattern]", "price").await;
    browser
        .fill(
            "#rule-form [name=reply]",
            "Hi {username}! Prices: shop.example.com/p",
        )
        .await;
    browser.fill("#rule-form [name=priority]", "5").await;
    browser.submit("#rule-form", "Rule created").await;
    browser.wait_for("tbody th", "price").await;
    browser.click_link("Edit").await;
    browser.wait_for("#rule-title", "Edit rule").await;
    browser.fill("#rule-form [name=pattern]", "how much").await;
    browser.submit("#rule-form", "Rule saved").await;
    browser.wait_for("tbody th", "how much").await;
    browser
        .fill("#test-form [name=text]", "How much is the blue one?")
        .await;
    browser.fill("#test-form [name=username]", "anna.k").await;
    browser.click("#test-form button[type=submit]").await;
    browser.wait_for("#test-result", "Hi anna.k! Prices").await;
    browser.wait_for("tr.matched", "how much").await;
    browser.screenshot("rules").await;
    browser.fill("#test-form [name=text]", "price?").await;
    browser.click("#test-form button[type=submit]").await;
    browser.wait_for("#test-result", "No rule matches").await;

    // The dashboard: totals and charts, and what counts as an answer.
    browser.click_link("Dashboard").await;
    browser.wait_for_page("Dashboard").await;
    browser.wait_for(".tiles", "First response (median)").await;
    browser
        .wait_for("#first-response-hint", "auto-replies count as answers")
        .await;
    browser.screenshot("dashboard").await;
    // Durations are rounded before they are split into minutes and seconds (or hours and
    // minutes): the page's own module, as the page loaded it.
    let durations: Value = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
            import('/console/js/pages/dashboard.js')
                .then((page) => done([null, 0.4, 59.6, 90, 119.6, 3599.6, 7199, 5430]
                    .map(page.duration)))
                .catch((error) => done(String(error)));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        durations,
        json!([
            "—",
            "0 s",
            "1 min 0 s",
            "1 min 30 s",
            "2 min 0 s",
            "1 h 0 min",
            "2 h 0 min",
            "1 h 31 min"
        ])
    );

    // An address that is not valid percent-encoding names no page.
    browser
        .client
        .goto(&format!(
            "{}/console#/accounts/{account}/conversations/%E0",
            app.address
        ))
        .await
        .unwrap();
    browser.wait_for_page("Not found").await;

    // A phone's width: the conversation still reads and the reply form is reachable.
    browser.client.set_window_size(390, 844).await.unwrap();
    browser
        .client
        .goto(&format!(
            "{}/console#/accounts/{account}/conversations/{customer}",
            app.address
        ))
        .await
        .unwrap();
    browser.wait_for(".thread .text", "Yes, in 2 days.").await;
    browser.screenshot("conversation-phone").await;
    let too_wide: Value = browser
        .client
        .execute(
            "return [...document.querySelectorAll('body *')]
                .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
                .map((el) => `${el.tagName}.${el.className}: ${el.getBoundingClientRect().right}`);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(too_wide, json!([]), "nothing wider than a phone");
    browser.client.set_window_size(1280, 1000).await.unwrap();

    // Signing out forgets the key: the next page asks for it again.
    browser.click("#sign-out").await;
    browser.wait_for_page("Sign in").await;
    let stored: Value = browser
        .client
        .execute("return sessionStorage.getItem('igrouter.apiKey');", vec![])
        .await
        .unwrap();
    assert_eq!(stored, Value::Null);
}

//! `GET /metrics` on the real service: the exposition parses, the families are there and move
//! when a webhook, a CRM delivery and a send go through (real fakes for Meta and the CRM), the
//! queue gauges follow the rows in the database, and `METRICS_TOKEN` guards it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use app_http::clock::SystemClock;
use domain::ports::{Clock, OutboundQueue};
use domain::{InstagramId, OutboundContent, OutboundMessage};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::deliveries_api::queue;
use crate::helpers::{TestApp, config_with};
use crate::send_api::{Api, accepting_graph};
use crate::webhook_support::{
    CRM_URL, FACEBOOK_SECRET, INSTAGRAM_SECRET, VERIFY_TOKEN, post_signed, post_webhook,
    seed_account_with_crm,
};

backend_tests!(
    counters_move_with_webhooks_deliveries_sends_and_requests,
    queue_gauges_follow_the_rows_in_the_database,
);

/// One sample: its name, its labels and its value.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A parsed exposition.
#[derive(Debug)]
struct Exposition {
    samples: Vec<Sample>,
    /// Family name → its `# TYPE`.
    types: BTreeMap<String, String>,
}

impl Exposition {
    /// Parses the Prometheus text format strictly: every line is `# HELP`, `# TYPE`, or a
    /// sample `name{labels} value` of a family that has a type.
    fn parse(text: &str) -> Self {
        let mut samples = Vec::new();
        let mut types = BTreeMap::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
                types.insert(name.to_owned(), kind.to_owned());
                continue;
            }
            if line.starts_with("# HELP ") {
                continue;
            }
            assert!(!line.starts_with('#') && !line.is_empty(), "{line:?}");
            samples.push(parse_sample(line));
        }
        for sample in &samples {
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| {
                    let base = sample.name.strip_suffix(suffix)?;
                    (types.get(base).map(String::as_str) == Some("histogram")).then_some(base)
                })
                .unwrap_or(&sample.name);
            assert!(types.contains_key(family), "no # TYPE for {}", sample.name);
        }
        Self { samples, types }
    }

    /// The value of the one sample named `name` whose labels include `labels`.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let found: Vec<&Sample> = self
            .samples
            .iter()
            .filter(|sample| {
                sample.name == name
                    && labels.iter().all(|(key, value)| {
                        sample.labels.get(*key).map(String::as_str) == Some(value)
                    })
            })
            .collect();
        assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?}");
        found[0].value
    }

    /// Whether a sample named `name` with `labels` exists.
    fn has(&self, name: &str, labels: &[(&str, &str)]) -> bool {
        self.samples.iter().any(|sample| {
            sample.name == name
                && labels
                    .iter()
                    .all(|(key, value)| sample.labels.get(*key).map(String::as_str) == Some(value))
        })
    }
}

/// `name{key="value",…} number`.
fn parse_sample(line: &str) -> Sample {
    let (series, value) = line.rsplit_once(' ').unwrap();
    let value = match value {
        "+Inf" => f64::INFINITY,
        number => number.parse().unwrap_or_else(|_| panic!("{line}")),
    };
    let (name, labels) = match series.split_once('{') {
        None => (series, BTreeMap::new()),
        Some((name, rest)) => {
            let body = rest.strip_suffix('}').unwrap_or_else(|| panic!("{line}"));
            let mut labels = BTreeMap::new();
            for pair in body.split("\",").filter(|pair| !pair.is_empty()) {
                let (key, quoted) = pair.split_once("=\"").unwrap_or_else(|| panic!("{line}"));
                labels.insert(key.to_owned(), quoted.trim_end_matches('"').to_owned());
            }
            (name, labels)
        }
    };
    assert!(
        name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "{line}"
    );
    Sample {
        name: name.to_owned(),
        labels,
        value,
    }
}

/// `GET /metrics` with `authorization`; the answer must be `200` in the Prometheus text format.
async fn scrape_as(app: &TestApp, authorization: Option<&str>) -> Exposition {
    let response = app.get_as("/metrics", authorization).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert!(response.headers().get("ratelimit").is_none());
    Exposition::parse(&response.text().await.unwrap())
}

async fn scrape(app: &TestApp) -> Exposition {
    scrape_as(app, None).await
}

/// Scrapes until `check` holds, for at most 30 s (a loaded test machine is slow, not wrong).
async fn scrape_until(app: &TestApp, check: impl Fn(&Exposition) -> bool) -> Exposition {
    let start = Instant::now();
    loop {
        let metrics = scrape(app).await;
        if check(&metrics) {
            return metrics;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the metrics never got there: {:?}",
            metrics.samples
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A reaction of customer `555` to the message `mid`.
fn reaction_body(business: &str, mid: &str) -> Vec<u8> {
    format!(
        r#"{{"object":"instagram","entry":[{{"id":"{business}","time":1700000000002,"messaging":[{{"sender":{{"id":"555"}},"recipient":{{"id":"{business}"}},"timestamp":1700000000001,"reaction":{{"mid":"{mid}","action":"react","reaction":"love","emoji":"❤"}}}}]}}]}}"#
    )
    .into_bytes()
}

/// One text message from `sender` to `business`, with Meta's id `mid`.
fn text_body(business: &str, mid: &str) -> Vec<u8> {
    format!(
        r#"{{"object":"instagram","entry":[{{"id":"{business}","time":1700000000001,"messaging":[{{"sender":{{"id":"555"}},"recipient":{{"id":"{business}"}},"timestamp":1700000000000,"message":{{"mid":"{mid}","text":"hi"}}}}]}}]}}"#
    )
    .into_bytes()
}

async fn counters_move_with_webhooks_deliveries_sends_and_requests(test: TestDb) {
    let graph = accepting_graph().await;
    let crm = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&crm)
        .await;
    let graph_url = graph.uri();
    let config = config_with(
        &test.url,
        &[
            ("FACEBOOK_VERIFY_TOKEN", VERIFY_TOKEN),
            ("INSTAGRAM_APP_SECRET", INSTAGRAM_SECRET),
            ("FACEBOOK_APP_SECRET", FACEBOOK_SECRET),
            ("GRAPH_API_BASE_URL", &graph_url),
            ("CRM_POLL_INTERVAL", "100ms"),
        ],
    );
    let crm_url = format!("{}/crm", crm.uri());
    let account = seed_account_with_crm(&test.db, &config, "1234567890", Some(&crm_url)).await;
    let app = TestApp::spawn(config).await;
    let api = Api::new(&app, &test, Vec::new()).await;

    // The queue families are left out of a scrape whose database reading took over 2 s, as it
    // may while a loaded test machine starts: wait for a reading.
    let before = scrape_until(&app, |metrics| {
        metrics.types.contains_key("igrouter_queue_depth")
    })
    .await;
    for (family, kind) in [
        ("igrouter_build_info", "gauge"),
        ("igrouter_webhook_events_total", "counter"),
        ("igrouter_webhook_skipped_items_total", "counter"),
        ("igrouter_webhook_signature_rejections_total", "counter"),
        ("igrouter_crm_delivery_attempts_total", "counter"),
        ("igrouter_crm_delivery_attempts_in_flight", "gauge"),
        (
            "igrouter_crm_delivery_attempt_duration_seconds",
            "histogram",
        ),
        ("igrouter_send_attempts_total", "counter"),
        ("igrouter_send_graph_errors_total", "counter"),
        ("igrouter_queue_depth", "gauge"),
        ("igrouter_queue_due", "gauge"),
        ("igrouter_queue_oldest_due_age_seconds", "gauge"),
        ("igrouter_db_pool_connections", "gauge"),
        ("igrouter_db_pool_max_connections", "gauge"),
        ("igrouter_api_rate_limited_requests_total", "counter"),
        ("igrouter_http_request_duration_seconds", "histogram"),
    ] {
        assert_eq!(
            before.types.get(family).map(String::as_str),
            Some(kind),
            "{family}"
        );
    }
    assert_eq!(
        before.value(
            "igrouter_webhook_events_total",
            &[("kind", "message"), ("outcome", "stored")]
        ),
        0.0
    );
    // Every event kind with both outcomes, from the start: a bounded, fixed set of series.
    for kind in domain::EventKind::ALL {
        for outcome in ["stored", "duplicate"] {
            assert!(
                before.has(
                    "igrouter_webhook_events_total",
                    &[("kind", kind.as_str()), ("outcome", outcome)]
                ),
                "{kind:?} {outcome}"
            );
        }
    }
    assert!(before.has(
        "igrouter_webhook_skipped_items_total",
        &[("reason", "unknown_event")]
    ));
    let pool = match test.db.backend() {
        adapters_db::Backend::Sqlite => "write",
        adapters_db::Backend::Postgres | adapters_db::Backend::Mysql => "main",
    };
    assert!(before.value("igrouter_db_pool_max_connections", &[("pool", pool)]) >= 1.0);

    post_signed(&app, &text_body("1234567890", "m.metrics.1")).await;
    post_signed(&app, &text_body("1234567890", "m.metrics.1")).await;
    post_signed(&app, &reaction_body("1234567890", "m.metrics.1")).await;
    let refused = post_webhook(
        &app,
        text_body("1234567890", "m.metrics.2"),
        Some("sha256=00".to_owned()),
    )
    .await;
    assert_eq!(refused.status(), 401);
    api.send_text(&account, "5", "hello from the metrics test")
        .await;
    assert_eq!(app.get("/no/such/page").await.status(), 404);

    // The events' deliveries and the send's `outbound.sent` delivery reach the CRM.
    let after = scrape_until(&app, |metrics| {
        metrics.value(
            "igrouter_crm_delivery_attempts_total",
            &[("outcome", "delivered")],
        ) >= 3.0
            && metrics.value("igrouter_send_attempts_total", &[("outcome", "sent")]) >= 1.0
    })
    .await;
    let value = |name: &str, labels: &[(&str, &str)]| after.value(name, labels);
    let events = |kind: &str, outcome: &str| {
        value(
            "igrouter_webhook_events_total",
            &[("kind", kind), ("outcome", outcome)],
        )
    };
    assert_eq!(events("message", "stored"), 1.0);
    assert_eq!(events("message", "duplicate"), 1.0);
    assert_eq!(events("reaction", "stored"), 1.0);
    assert_eq!(events("reaction", "duplicate"), 0.0);
    assert_eq!(events("read", "stored"), 0.0);
    assert_eq!(
        value("igrouter_webhook_signature_rejections_total", &[]),
        1.0
    );
    assert_eq!(value("igrouter_webhook_deliveries_queued_total", &[]), 2.0);
    assert_eq!(
        value("igrouter_send_attempts_total", &[("outcome", "failed")]),
        0.0
    );
    let attempts = value("igrouter_crm_delivery_attempt_duration_seconds_count", &[]);
    assert!(attempts >= 2.0, "{attempts}");
    assert_eq!(
        value(
            "igrouter_crm_delivery_attempt_duration_seconds_bucket",
            &[("le", "+Inf")]
        ),
        attempts
    );
    assert!(value("igrouter_crm_delivery_attempt_duration_seconds_sum", &[]) > 0.0);

    // Requests by route pattern, never the raw path; every unknown path is one series.
    let requests = |route: &str, method: &str, status: &str| {
        value(
            "igrouter_http_request_duration_seconds_count",
            &[("route", route), ("method", method), ("status", status)],
        )
    };
    assert_eq!(requests("/webhooks/instagram", "POST", "200"), 3.0);
    assert_eq!(requests("/webhooks/instagram", "POST", "401"), 1.0);
    assert_eq!(requests("/api/v1/messages/send", "POST", "202"), 1.0);
    assert_eq!(requests("unmatched", "GET", "404"), 1.0);
    assert!(requests("/metrics", "GET", "200") >= 1.0);
    assert!(!after.samples.iter().any(|sample| {
        sample
            .labels
            .get("route")
            .is_some_and(|route| route.contains("no/such"))
    }));
    app.stop().await.unwrap();
}

async fn queue_gauges_follow_the_rows_in_the_database(test: TestDb) {
    // Workers that look for work once at start and then only when rung: rows written straight
    // to the database below stay where they are.
    let config = config_with(&test.url, &[("CRM_POLL_INTERVAL", "1h")]);
    let account = seed_account_with_crm(&test.db, &config, "1234567890", Some(CRM_URL)).await;
    let app = TestApp::spawn(config).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let now = SystemClock.now();
    queue(&test, &account, now.minus(Duration::from_secs(30))).await;
    queue(&test, &account, now.minus(Duration::from_secs(5))).await;
    queue(&test, &account, now.plus(Duration::from_secs(3600))).await;
    let later = OutboundMessage::new_pending(
        app_http::random::message_id().unwrap(),
        account.id.clone(),
        InstagramId::parse("recipient_id", "5").unwrap(),
        OutboundContent::text("later").unwrap(),
        None,
        now.plus(Duration::from_secs(3600)),
    );
    test.db.enqueue_outbound(&later).await.unwrap();

    let metrics = scrape(&app).await;
    let gauge = |name: &str, queue: &str| metrics.value(name, &[("queue", queue)]);
    assert_eq!(gauge("igrouter_queue_depth", "crm_deliveries"), 3.0);
    assert_eq!(gauge("igrouter_queue_due", "crm_deliveries"), 2.0);
    let age = gauge("igrouter_queue_oldest_due_age_seconds", "crm_deliveries");
    assert!((30.0..120.0).contains(&age), "{age}");
    assert_eq!(gauge("igrouter_queue_depth", "sends"), 1.0);
    assert_eq!(gauge("igrouter_queue_due", "sends"), 0.0);
    assert_eq!(gauge("igrouter_queue_oldest_due_age_seconds", "sends"), 0.0);
    app.stop().await.unwrap();
}

#[tokio::test]
async fn metrics_token_guards_the_endpoint() {
    let test = TestDb::new(adapters_db::Backend::Sqlite).await.unwrap();
    // With a limit no scraper could stay under: /metrics must not be subject to it.
    let config = config_with(
        &test.url,
        &[
            ("METRICS_TOKEN", "scrape-me-7f3a"),
            ("API_RATE_LIMIT", "1/h"),
        ],
    );
    let app = TestApp::spawn(config).await;

    for (case, authorization) in [
        ("missing", None),
        ("wrong", Some("Bearer scrape-me")),
        ("longer", Some("Bearer scrape-me-7f3a0")),
        ("other scheme", Some("Basic scrape-me-7f3a")),
    ] {
        let response = app.get_as("/metrics", authorization).await;
        assert_eq!(response.status(), 401, "{case}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer", "{case}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized", "{case}");
    }
    for _ in 0..3 {
        let metrics = scrape_as(&app, Some("Bearer scrape-me-7f3a")).await;
        assert_eq!(
            metrics.value("igrouter_api_rate_limited_requests_total", &[]),
            0.0
        );
    }

    // A scraper that asks for OpenMetrics gets it.
    let response = reqwest::Client::new()
        .get(format!("{}/metrics", app.address))
        .header("authorization", "Bearer scrape-me-7f3a")
        .header(
            "accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(
        text.contains("# TYPE igrouter_webhook_events counter\n"),
        "{text}"
    );
    assert!(
        text.contains("igrouter_webhook_events_total{kind=\"message\",outcome=\"stored\"} 0\n"),
        "{text}"
    );
}

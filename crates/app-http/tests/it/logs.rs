//! The production log, read from the real binary: JSON by default, one object per line, every
//! line of a request carrying its `request_id`, and a warning when `/metrics` is left open.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::cli::{
    http_get_with, igrouter, stderr_lines, wait_for_listening_logged, wait_with_timeout,
};
use crate::drain::signal;
use crate::helpers::{KEY_A, TempDir};

#[test]
fn production_logs_json_lines_with_request_ids() {
    let dir = TempDir::new();
    let mut child = igrouter(&dir)
        .env("ENVIRONMENT", "production")
        .env("FACEBOOK_VERIFY_TOKEN", "verify-token")
        .env("INSTAGRAM_APP_SECRET", "app-secret")
        .env("CREDENTIALS_KEY", KEY_A)
        .env("BIND_ADDRESS", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = stderr_lines(&mut child);
    let (address, mut log) = wait_for_listening_logged(&lines, &mut child);

    let answer = http_get_with(&address, "/no/such/page", "X-Request-Id: logs-test-1\r\n");
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("x-request-id: logs-test-1\r\n"),
        "{answer}"
    );
    // A handshake with the wrong token: a warning inside the request, then its answer line.
    let refused = http_get_with(
        &address,
        "/webhooks/instagram?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
        "X-Request-Id: logs-test-2\r\n",
    );
    assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
    signal(&child, "-TERM");
    assert_eq!(
        wait_with_timeout(&mut child, Duration::from_secs(35)),
        Some(0)
    );
    // The reader thread ends with the pipe; give it a moment to pass the last lines on.
    std::thread::sleep(Duration::from_millis(200));
    log.extend(lines.try_iter());

    let events: Vec<Value> = log
        .iter()
        .map(|line| {
            serde_json::from_str::<Value>(line)
                .ok()
                .filter(Value::is_object)
                .unwrap_or_else(|| panic!("not a JSON object: {line}"))
        })
        .collect();
    assert!(events.iter().all(|event| {
        event["timestamp"].is_string() && event["level"].is_string() && event["message"].is_string()
    }));
    let of_request = |id: &str| -> Vec<&Value> {
        events
            .iter()
            .filter(|event| event["request_id"] == id)
            .collect()
    };
    let first = of_request("logs-test-1");
    assert!(
        first
            .iter()
            .any(|event| event["message"] == "request answered" && event["http.status"] == 404),
        "{log:#?}"
    );
    let second = of_request("logs-test-2");
    assert!(
        second.iter().any(|event| event["level"] == "WARN"),
        "{log:#?}"
    );
    assert!(
        second
            .iter()
            .any(|event| event["message"] == "request answered"),
        "{log:#?}"
    );
    assert!(
        events.iter().any(|event| {
            event["level"] == "WARN"
                && event["message"]
                    .as_str()
                    .is_some_and(|message| message.starts_with("METRICS_TOKEN is not set"))
        }),
        "production without METRICS_TOKEN warns that /metrics is open: {log:#?}"
    );
}

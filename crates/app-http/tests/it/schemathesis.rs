//! schemathesis (PyPI) against the built `igrouter` binary on SQLite: requests generated from
//! the served `/openapi.json`, valid and not, and every answer checked against the document
//! (`--checks all`: no `5xx`, statuses, headers and bodies as documented, invalid input refused).
//!
//! CI installs schemathesis (`.ci/run`) and points `SCHEMATHESIS` at it. Elsewhere the test looks
//! for `schemathesis` in the venv CI uses, then on `PATH`; without it the test says `SKIPPED` and
//! passes, unless `IGROUTER_TEST_ALL_BACKENDS=1` (CI), where it fails.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::{Value, json};

use crate::cli::{igrouter, run, stderr_lines, wait_for_listening};
use crate::helpers::TempDir;

/// The version `.ci/run` installs; the command-line flags below are schemathesis 4's.
const PINNED: &str = "4.32.5";

/// Where `.ci/run` installs it when `SCHEMATHESIS` is not set.
const CI_VENV: &str = "/var/tmp/igrouter-venv/bin/schemathesis";

/// Examples per operation and phase: enough to cover every operation's parameters and bodies,
/// few enough that the run takes about half a minute on two cores.
const EXAMPLES: &str = "100";

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    let Some(schemathesis) = find_schemathesis() else {
        let message = format!(
            "schemathesis not found (set SCHEMATHESIS, or pip install schemathesis=={PINNED})"
        );
        assert!(
            std::env::var("IGROUTER_TEST_ALL_BACKENDS").as_deref() != Ok("1"),
            "{message}"
        );
        eprintln!("SKIPPED: {message}");
        return;
    };
    let dir = TempDir::new();
    let database_url = format!("sqlite://{}", dir.path().join("igrouter.db").display());
    let (code, stdout, stderr) = run(igrouter(&dir)
        .args(["api-keys", "create", "--name", "schemathesis"])
        .env("DATABASE_URL", &database_url));
    assert_eq!(code, 0, "{stderr}");
    let key = stdout.trim().to_owned();

    let mut server = igrouter(&dir)
        .env("DATABASE_URL", &database_url)
        .env("BIND_ADDRESS", "127.0.0.1:0")
        .env("LOG_FORMAT", "json")
        .env("LOG_LEVEL", "warn,app_http=info")
        // Far above what the run sends: schemathesis checks answers, not the rate limit.
        .env("API_RATE_LIMIT", "100000/s,burst=100000")
        // Nothing listens there: sends fail at once instead of waiting on a network this test
        // must not use.
        .env("GRAPH_API_BASE_URL", "http://127.0.0.1:9")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = stderr_lines(&mut server);
    let address = format!("http://{}", wait_for_listening(&lines, &mut server));
    seed(&address, &key).await;

    let started = Instant::now();
    let output = Command::new(&schemathesis)
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .args([
            "--config-file",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schemathesis.toml"),
            "run",
            &format!("{address}/openapi.json"),
            "--header",
            &format!("Authorization: Bearer {key}"),
            "--checks",
            "all",
            "--max-examples",
            EXAMPLES,
            "--seed",
            "20261125",
            "--workers",
            "2",
            // A send may wait up to 30 s (`Prefer: wait=30`); the default 10 s would cut it off.
            "--request-timeout",
            "35",
            "--no-color",
        ])
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let server_log: Vec<String> = lines.try_iter().collect();
    assert!(
        output.status.success(),
        "schemathesis failed ({:?}):\n{report}\nigrouter's log:\n{}",
        output.status,
        server_log.join("\n")
    );
    eprintln!(
        "schemathesis passed in {} s:\n{report}",
        started.elapsed().as_secs()
    );
}

/// The schemathesis to run: `SCHEMATHESIS`, the CI venv's, or one on `PATH`.
fn find_schemathesis() -> Option<PathBuf> {
    let candidates = std::env::var_os("SCHEMATHESIS")
        .map(PathBuf::from)
        .into_iter()
        .chain([PathBuf::from(CI_VENV), PathBuf::from("schemathesis")]);
    for candidate in candidates {
        let works = Command::new(&candidate)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if works {
            return Some(candidate);
        }
    }
    None
}

/// An account with a rule, so the listings have something to show and schemathesis ids to reuse.
async fn seed(address: &str, key: &str) {
    crate::helpers::install_crypto_provider();
    let client = reqwest::Client::new();
    let account: Value = client
        .post(format!("{address}/api/v1/accounts"))
        .bearer_auth(key)
        .json(&json!({
            "instagram_account_id": "17841400000000000",
            "username": "shop.official",
            "access_token": "IGQVJtoken",
            "crm_webhook_url": null,
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = account["id"].as_str().unwrap();
    let rule = client
        .post(format!("{address}/api/v1/accounts/{id}/rules"))
        .bearer_auth(key)
        .json(&json!({"match": "keyword", "pattern": "price", "reply": "Prices: {username}"}))
        .send()
        .await
        .unwrap();
    assert_eq!(rule.status(), 201);
}

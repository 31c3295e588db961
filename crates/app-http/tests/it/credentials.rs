//! Credentials at rest through the built binary and on every backend: the single-account
//! bootstrap, the wrong-key start-up check, and `igrouter credentials rotate`.

use std::process::{Command, Stdio};
use std::time::Duration;

use adapters_db::testing::TestDb;
use adapters_db::{Database, DatabaseUrl, PoolOptions, backend_tests};
use app_http::clock::SystemClock;
use app_http::credentials::{AesGcmCipher, rotate_all};
use domain::ports::{AccountStore, CipherError, CredentialCipher};
use domain::{Account, PageRequest};
use secrecy::ExposeSecret;

use crate::cli::{igrouter, run, stderr_lines, wait_for_listening_logged, wait_with_timeout};
use crate::helpers::{KEY_A, KEY_B, TempDir, config_with, seed_account};

backend_tests!(rotation_re_encrypts_every_account_under_the_new_key);

/// A sqlite database in `dir`, as the binary and the tests reach it.
fn database_url(dir: &TempDir) -> String {
    format!("sqlite://{}", dir.path().join("igrouter.db").display())
}

/// `igrouter serve` on a free port with `env` and debug logs: waits until it listens, then stops
/// it with SIGTERM and expects exit 0, and no secret of `env` in its output.
fn serve_once(dir: &TempDir, env: &[(&str, &str)]) {
    let mut child = serving(dir, env).env("LOG_LEVEL", "debug").spawn().unwrap();
    let lines = stderr_lines(&mut child);
    let (_, mut log) = wait_for_listening_logged(&lines, &mut child);
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(
        wait_with_timeout(&mut child, Duration::from_secs(35)),
        Some(0)
    );
    log.extend(lines.try_iter());
    assert!(
        log.iter().any(|line| line.contains("starting igrouter")),
        "the start-up log was read: {log:#?}"
    );
    for (name, value) in env {
        if matches!(
            *name,
            "INSTAGRAM_PAGE_ACCESS_TOKEN" | "CREDENTIALS_KEY" | "CREDENTIALS_KEY_PREVIOUS"
        ) {
            assert!(
                !log.iter().any(|line| line.contains(value)),
                "{name} leaked into the log: {log:#?}"
            );
        }
    }
}

fn serving(dir: &TempDir, env: &[(&str, &str)]) -> Command {
    let mut command = igrouter(dir);
    command
        .env("DATABASE_URL", database_url(dir))
        .env("BIND_ADDRESS", "127.0.0.1:0")
        .env("LOG_FORMAT", "json")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// Every account in the sqlite database of `dir`.
fn accounts_in(dir: &TempDir) -> Vec<Account> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let db = Database::connect(
            &DatabaseUrl::parse(&database_url(dir)).unwrap(),
            PoolOptions::default(),
        )
        .unwrap();
        db.list_accounts(None, &PageRequest::first())
            .await
            .unwrap()
            .items
    })
}

/// The plain access token of `account` under `key`.
fn token_of(account: &Account, key: &str) -> Result<String, CipherError> {
    let config = config_with("sqlite://unused.db", &[("CREDENTIALS_KEY", key)]);
    let cipher = AesGcmCipher::new(&config.credentials).unwrap();
    cipher
        .open(&account.id, &account.access_token)
        .map(|token| token.expose_secret().to_owned())
}

const BOOTSTRAP_ID: (&str, &str) = ("INSTAGRAM_BUSINESS_ACCOUNT_ID", "17841400000000001");

#[test]
fn the_bootstrap_account_is_created_once_and_its_token_updated() {
    let dir = TempDir::new();
    let first = [
        ("CREDENTIALS_KEY", KEY_A),
        BOOTSTRAP_ID,
        ("INSTAGRAM_PAGE_ACCESS_TOKEN", "IGQ-first-token"),
    ];

    serve_once(&dir, &first);
    serve_once(&dir, &first);

    let accounts = accounts_in(&dir);
    assert_eq!(accounts.len(), 1, "started twice, one account");
    let account = &accounts[0];
    assert_eq!(account.instagram_account_id.as_str(), "17841400000000001");
    assert_eq!(account.username.as_str(), "ig_17841400000000001");
    assert_eq!(account.crm_webhook_url, None);
    assert_eq!(token_of(account, KEY_A).unwrap(), "IGQ-first-token");
    assert_eq!(
        account.updated_at, account.created_at,
        "an unchanged token is not rewritten"
    );

    serve_once(
        &dir,
        &[
            ("CREDENTIALS_KEY", KEY_A),
            BOOTSTRAP_ID,
            ("INSTAGRAM_PAGE_ACCESS_TOKEN", "IGQ-second-token"),
        ],
    );

    let accounts = accounts_in(&dir);
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].id, account.id, "the same account");
    assert_eq!(accounts[0].webhook_secret, account.webhook_secret);
    assert_eq!(token_of(&accounts[0], KEY_A).unwrap(), "IGQ-second-token");
}

#[test]
fn serve_refuses_a_key_that_does_not_open_the_stored_credentials() {
    let dir = TempDir::new();
    serve_once(
        &dir,
        &[
            ("CREDENTIALS_KEY", KEY_A),
            BOOTSTRAP_ID,
            ("INSTAGRAM_PAGE_ACCESS_TOKEN", "IGQ-token"),
        ],
    );

    for env in [
        &[("CREDENTIALS_KEY", KEY_B)][..],
        // The bootstrap must not "repair" a wrong key by re-sealing the token under it.
        &[
            ("CREDENTIALS_KEY", KEY_B),
            BOOTSTRAP_ID,
            ("INSTAGRAM_PAGE_ACCESS_TOKEN", "IGQ-token"),
        ],
        // The development key is just another wrong key.
        &[],
    ] {
        let (code, stdout, stderr) = run(serving(&dir, env).stdout(Stdio::piped()));
        assert_eq!(code, 2, "{env:?}: {stderr}");
        assert_eq!(stdout, "");
        let last = stderr.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("igrouter: CREDENTIALS_KEY does not decrypt"),
            "{env:?}: {stderr}"
        );
        assert!(!stderr.contains("IGQ-token"), "{stderr}");
    }
    assert_eq!(token_of(&accounts_in(&dir)[0], KEY_A).unwrap(), "IGQ-token");

    serve_once(
        &dir,
        &[
            ("CREDENTIALS_KEY", KEY_B),
            ("CREDENTIALS_KEY_PREVIOUS", KEY_A),
        ],
    );
}

#[test]
fn credentials_rotate_moves_every_account_to_the_new_key() {
    let dir = TempDir::new();
    serve_once(
        &dir,
        &[
            ("CREDENTIALS_KEY", KEY_A),
            BOOTSTRAP_ID,
            ("INSTAGRAM_PAGE_ACCESS_TOKEN", "IGQ-token"),
        ],
    );

    let (code, stdout, stderr) = run(igrouter(&dir)
        .args(["credentials", "rotate"])
        .env("DATABASE_URL", database_url(&dir))
        .env("CREDENTIALS_KEY", KEY_B));
    assert_eq!(code, 2, "without the old key nothing opens: {stderr}");
    assert_eq!(stdout, "");
    assert!(stderr.contains("CREDENTIALS_KEY"), "{stderr}");

    let (code, stdout, stderr) = run(igrouter(&dir)
        .args(["credentials", "rotate"])
        .env("DATABASE_URL", database_url(&dir))
        .env("CREDENTIALS_KEY", KEY_B)
        .env("CREDENTIALS_KEY_PREVIOUS", KEY_A));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("rotated 1 account(s)"), "{stdout}");

    let account = &accounts_in(&dir)[0];
    assert_eq!(token_of(account, KEY_B).unwrap(), "IGQ-token");
    assert!(matches!(
        token_of(account, KEY_A),
        Err(CipherError::WrongKey)
    ));
    serve_once(&dir, &[("CREDENTIALS_KEY", KEY_B)]);
}

async fn rotation_re_encrypts_every_account_under_the_new_key(test: TestDb) {
    let old = config_with(&test.url, &[("CREDENTIALS_KEY", KEY_A)]);
    let mut seeded = Vec::new();
    // More than one page of the rotation's listing.
    for n in 0..60 {
        seeded.push(seed_account(&test.db, &old, &format!("40{n}"), &format!("token-{n}")).await);
    }
    let old_cipher = AesGcmCipher::new(&old.credentials).unwrap();
    let rotating = config_with(
        &test.url,
        &[
            ("CREDENTIALS_KEY", KEY_B),
            ("CREDENTIALS_KEY_PREVIOUS", KEY_A),
        ],
    );
    let rotating = AesGcmCipher::new(&rotating.credentials).unwrap();

    let rotated = rotate_all(&test.db, &rotating, &SystemClock).await.unwrap();

    assert_eq!(rotated, 60);
    let new_only = config_with(&test.url, &[("CREDENTIALS_KEY", KEY_B)]);
    let new_only = AesGcmCipher::new(&new_only.credentials).unwrap();
    for (n, before) in seeded.iter().enumerate() {
        let after = test.db.account(&before.id).await.unwrap().unwrap();
        let token = new_only.open(&after.id, &after.access_token).unwrap();
        assert_eq!(token.expose_secret(), format!("token-{n}"));
        let secret = new_only.open(&after.id, &after.webhook_secret).unwrap();
        let secret_before = old_cipher.open(&before.id, &before.webhook_secret).unwrap();
        assert_eq!(secret.expose_secret(), secret_before.expose_secret());
        assert!(old_cipher.open(&after.id, &after.access_token).is_err());
        assert_eq!(after.token_invalid_since, before.token_invalid_since);
    }
}

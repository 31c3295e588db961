//! The built `igrouter` binary: exit codes, configuration errors, `migrate`, and `serve` until a
//! signal. Each run gets an empty environment and a fresh working directory, so neither the
//! developer's variables nor a `.env` of the repository leak in.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use adapters_db::{Database, DatabaseUrl, PoolOptions};
use serde_json::Value;

use crate::helpers::TempDir;

/// `igrouter` with no environment, in `dir`.
pub(crate) fn igrouter(dir: &TempDir) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_igrouter"));
    command.env_clear().current_dir(dir.path());
    command
}

/// Runs to the end: exit code, stdout, stderr.
pub(crate) fn run(command: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("igrouter runs");
    (
        status.code().expect("igrouter exits, not killed"),
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

#[test]
fn version_and_help_exit_0() {
    let dir = TempDir::new();

    let (code, stdout, _) = run(igrouter(&dir).arg("--version"));
    assert_eq!(code, 0);
    assert_eq!(
        stdout.trim(),
        format!("igrouter {}", env!("CARGO_PKG_VERSION"))
    );

    let (code, stdout, _) = run(igrouter(&dir).arg("--help"));
    assert_eq!(code, 0);
    for word in ["serve", "migrate", "--database-url", "--environment"] {
        assert!(
            stdout.contains(word),
            "{word} missing from --help: {stdout}"
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    let dir = TempDir::new();
    for args in [
        &["frobnicate"][..],
        &["serve", "--bind", "nowhere"],
        &["--environment", "prod"],
    ] {
        let (code, _, stderr) = run(igrouter(&dir).args(args));
        assert_eq!(code, 2, "{args:?}: {stderr}");
    }
}

#[test]
fn production_without_secrets_exits_2_naming_each_on_one_line() {
    let dir = TempDir::new();

    let (code, stdout, stderr) = run(igrouter(&dir).env("ENVIRONMENT", "production"));

    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stdout, "");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    for name in [
        "FACEBOOK_VERIFY_TOKEN",
        "INSTAGRAM_APP_SECRET",
        "FACEBOOK_APP_SECRET",
        "CREDENTIALS_KEY",
    ] {
        assert!(stderr.contains(name), "{name} not named: {stderr}");
    }
    assert!(
        !dir.path().join("igrouter.db").exists(),
        "nothing is created before the configuration is valid"
    );
}

#[test]
fn an_unknown_database_scheme_exits_2_naming_the_variable() {
    let dir = TempDir::new();

    let (code, _, stderr) = run(igrouter(&dir)
        .arg("migrate")
        .env("DATABASE_URL", "redis://x"));

    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("DATABASE_URL"), "{stderr}");
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}

#[test]
fn dotenv_is_read_and_the_environment_wins() {
    let dir = TempDir::new();
    std::fs::write(
        dir.path().join(".env"),
        "# local settings\nDATABASE_URL=sqlite://from-dotenv.db\nENVIRONMENT=production\n",
    )
    .unwrap();

    let (code, _, stderr) = run(igrouter(&dir)
        .arg("migrate")
        .env("ENVIRONMENT", "development"));

    assert_eq!(code, 0, "{stderr}");
    assert!(dir.path().join("from-dotenv.db").exists());
}

#[test]
fn migrate_creates_the_schema_and_exits_0() {
    let dir = TempDir::new();
    let path = dir.path().join("igrouter.db");
    let url = format!("sqlite://{}", path.display());

    let (code, _, stderr) = run(igrouter(&dir).arg("migrate").env("DATABASE_URL", &url));
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = run(igrouter(&dir).args(["migrate", "--database-url", &url]));
    assert_eq!(code, 0, "migrating twice is fine: {stderr}");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let pending = runtime.block_on(async {
        let db =
            Database::connect(&DatabaseUrl::parse(&url).unwrap(), PoolOptions::default()).unwrap();
        db.run_migrations().await.unwrap()
    });
    assert!(pending.is_empty(), "igrouter migrate applied everything");
}

#[test]
fn an_unreachable_database_exits_1_with_a_clear_message() {
    let dir = TempDir::new();
    for command in ["migrate", "serve"] {
        let (code, _, stderr) = run(igrouter(&dir).arg(command).env(
            "DATABASE_URL",
            "postgres://postgres:hunter2@127.0.0.1:1/test",
        ));

        assert_eq!(code, 1, "{command}: {stderr}");
        let last = stderr.lines().last().unwrap_or_default();
        assert!(
            last.starts_with(
                "igrouter: could not migrate postgres://postgres:***@127.0.0.1:1/test"
            ),
            "{command}: {stderr}"
        );
        assert!(
            !stderr.contains("hunter2"),
            "the password is never printed: {stderr}"
        );
    }
}

#[test]
fn serve_answers_health_and_exits_0_on_sigterm() {
    serve_until("-TERM");
}

#[test]
fn serve_exits_0_on_sigint_too() {
    serve_until("-INT");
}

/// Starts `igrouter` (no subcommand: `serve` is the default) on a free port, checks `/health`,
/// sends `signal` and expects a clean exit.
fn serve_until(signal: &str) {
    let dir = TempDir::new();
    let mut child = igrouter(&dir)
        .env("BIND_ADDRESS", "127.0.0.1:0")
        .env("LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = stderr_lines(&mut child);
    let address = wait_for_listening(&lines, &mut child);

    let response = http_get(&address, "/health");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#""database":"ok""#), "{response}");
    assert!(
        dir.path().join("igrouter.db").exists(),
        "serve migrates the default sqlite file"
    );

    let killed = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = wait_with_timeout(&mut child, Duration::from_secs(35));
    let log: Vec<String> = lines.try_iter().collect();
    assert_eq!(status, Some(0), "log after the signal: {log:#?}");
    assert!(
        log.iter().any(|line| line.contains("shutting down")),
        "{log:#?}"
    );
}

/// Lines the child writes to stderr, as they come.
pub(crate) fn stderr_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let stderr = child.stderr.take().unwrap();
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

/// The address from the "listening" log line.
pub(crate) fn wait_for_listening(lines: &mpsc::Receiver<String>, child: &mut Child) -> String {
    wait_for_listening_logged(lines, child).0
}

/// The address from the "listening" log line, and every line logged until then.
pub(crate) fn wait_for_listening_logged(
    lines: &mpsc::Receiver<String>,
    child: &mut Child,
) -> (String, Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let Ok(line) = lines.recv_timeout(left) else {
            break;
        };
        if let Ok(event) = serde_json::from_str::<Value>(&line)
            && let Some(address) = event["address"].as_str()
            && event["message"]
                .as_str()
                .is_some_and(|message| message.starts_with("listening"))
        {
            return (address.to_owned(), seen);
        }
        seen.push(line);
    }
    let _ = child.kill();
    panic!("igrouter never said it was listening: {seen:#?}");
}

/// A plain HTTP/1.1 GET, so these tests need no async runtime.
pub(crate) fn http_get(address: &str, path: &str) -> String {
    http_get_with(address, path, "")
}

/// [`http_get`] with extra header lines (each ending in `\r\n`).
pub(crate) fn http_get_with(address: &str, path: &str, headers: &str) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\n{headers}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// The exit code, or `None` (after killing it) when it runs past `timeout`.
pub(crate) fn wait_with_timeout(child: &mut Child, timeout: Duration) -> Option<i32> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    None
}

#[test]
fn a_broken_dotenv_exits_2_without_echoing_the_line() {
    let dir = TempDir::new();
    std::fs::write(dir.path().join(".env"), "CREDENTIALS_KEY s3cr3t value\n").unwrap();

    let (code, _, stderr) = run(igrouter(&dir).arg("migrate"));

    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(".env") && stderr.contains("CREDENTIALS_KEY"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cr3t"), "{stderr}");
}

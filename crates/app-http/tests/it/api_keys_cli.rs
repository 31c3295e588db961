//! `igrouter api-keys create|list|revoke` through the built binary, against a running
//! `igrouter serve` on the same sqlite database.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::cli::{
    http_get_with, igrouter, run, stderr_lines, wait_for_listening, wait_with_timeout,
};
use crate::helpers::TempDir;

fn api_keys(dir: &TempDir, args: &[&str]) -> (i32, String, String) {
    run(igrouter(dir)
        .arg("api-keys")
        .args(args)
        .env("DATABASE_URL", database_url(dir)))
}

fn database_url(dir: &TempDir) -> String {
    format!("sqlite://{}", dir.path().join("igrouter.db").display())
}

fn get(address: &str, token: &str) -> String {
    http_get_with(
        address,
        "/api/v1/accounts",
        &format!("Authorization: Bearer {token}\r\n"),
    )
}

#[test]
fn keys_are_created_listed_used_and_revoked() {
    let dir = TempDir::new();

    let (code, stdout, stderr) = api_keys(
        &dir,
        &["create", "--name", "crm", "--account", "acc_aaaaaaaaaaaa"],
    );
    assert_eq!(code, 2, "an unknown account is a usage problem: {stderr}");
    assert_eq!(stdout, "");
    assert!(stderr.contains("acc_aaaaaaaaaaaa"), "{stderr}");

    let (code, stdout, stderr) = api_keys(&dir, &["create", "--name", "crm production"]);
    assert_eq!(code, 0, "{stderr}");
    let key = stdout.trim().to_owned();
    assert_eq!(
        stdout.lines().count(),
        1,
        "only the key goes to stdout: {stdout}"
    );
    assert!(key.starts_with("igr_") && key.len() == 47, "{key}");
    assert!(
        !stderr.contains(&key),
        "the key is printed once, on stdout: {stderr}"
    );

    let (code, table, stderr) = api_keys(&dir, &["list"]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    for column in [
        "ID",
        "NAME",
        "PREFIX",
        "SCOPE",
        "CREATED",
        "LAST USED",
        "REVOKED",
    ] {
        assert!(lines[0].contains(column), "{table}");
    }
    assert!(lines[1].contains("crm production"), "{table}");
    assert!(lines[1].contains(&key[..12]), "{table}");
    assert!(!table.contains(&key), "list never shows the key: {table}");
    let key_id = lines[1].split_whitespace().next().unwrap().to_owned();
    assert!(key_id.starts_with("key_"), "{table}");

    let mut server: Command = igrouter(&dir);
    server
        .env("DATABASE_URL", database_url(&dir))
        .env("BIND_ADDRESS", "127.0.0.1:0")
        .env("LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = server.spawn().unwrap();
    let lines = stderr_lines(&mut child);
    let address = wait_for_listening(&lines, &mut child);

    let response = get(&address, &key);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let response = get(&address, "some-other-token");
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("www-authenticate: bearer"),
        "{response}"
    );

    let (code, stdout, stderr) = api_keys(&dir, &["revoke", &key_id]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(&key_id), "{stdout}");
    let response = get(&address, &key);
    assert!(
        response.starts_with("HTTP/1.1 401"),
        "revoked, refused by the running server: {response}"
    );

    let (code, _, stderr) = api_keys(&dir, &["revoke", &key_id]);
    assert_eq!(code, 1, "already revoked: {stderr}");
    assert!(stderr.contains(&key_id), "{stderr}");
    let (code, _, stderr) = api_keys(&dir, &["revoke", "key_zzzzzzzzzzzz"]);
    assert_eq!(code, 1, "unknown: {stderr}");

    let (_, table, _) = api_keys(&dir, &["list"]);
    let row = table.lines().nth(1).unwrap();
    assert!(
        !row.split_whitespace().any(|cell| cell == "-"),
        "created, last used and revoked are all set: {table}"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(
        wait_with_timeout(&mut child, Duration::from_secs(35)),
        Some(0)
    );
    let log: Vec<String> = lines.try_iter().collect();
    assert!(
        !log.iter().any(|line| line.contains(&key)),
        "the key is never logged: {log:#?}"
    );
}

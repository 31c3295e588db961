//! `igrouter healthcheck`, the container health check: `0` against a running igrouter, `1` with
//! one clear stderr line against a closed port, a non-`200` answer or a server that never answers.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::cli::{igrouter, run, stderr_lines, wait_for_listening, wait_with_timeout};
use crate::helpers::TempDir;

#[test]
fn a_running_igrouter_is_healthy_by_url_and_by_bind_address() {
    let dir = TempDir::new();
    let mut server = igrouter(&dir)
        .env("BIND_ADDRESS", "127.0.0.1:0")
        .env("LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = stderr_lines(&mut server);
    let address = wait_for_listening(&lines, &mut server);
    let port = address.rsplit_once(':').unwrap().1;
    let probe_dir = TempDir::new();

    let (code, stdout, stderr) = run(igrouter(&probe_dir).args([
        "healthcheck",
        "--url",
        &format!("http://{address}/health"),
    ]));
    assert_eq!((code, stdout.as_str(), stderr.as_str()), (0, "", ""));

    // Without --url it probes BIND_ADDRESS, an unspecified address meaning loopback.
    let (code, _, stderr) = run(igrouter(&probe_dir)
        .arg("healthcheck")
        .env("BIND_ADDRESS", format!("0.0.0.0:{port}")));
    assert_eq!(code, 0, "{stderr}");

    let _ = server.kill();
    let _ = wait_with_timeout(&mut server, Duration::from_secs(10));
}

#[test]
fn a_closed_port_exits_1_with_one_line_naming_the_url() {
    let dir = TempDir::new();
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };

    let (code, stdout, stderr) = run(igrouter(&dir)
        .arg("healthcheck")
        .env("BIND_ADDRESS", format!("0.0.0.0:{port}")));

    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stdout, "");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "igrouter healthcheck: http://127.0.0.1:{port}/health: could not connect"
        )),
        "{stderr}"
    );
}

#[test]
fn a_503_exits_1_with_the_status() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let answering = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = [0_u8; 1024];
        let read = stream.read(&mut request).unwrap();
        stream
            .write_all(b"HTTP/1.0 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n")
            .unwrap();
        String::from_utf8_lossy(&request[..read]).into_owned()
    });
    let dir = TempDir::new();

    let (code, _, stderr) =
        run(igrouter(&dir).args(["healthcheck", "--url", &format!("http://{address}/health")]));

    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!("igrouter healthcheck: http://{address}/health: answered 503 Service Unavailable")
    );
    let request = answering.join().unwrap();
    assert!(request.starts_with("GET /health HTTP/1.0\r\n"), "{request}");
    assert!(
        request.contains(&format!("Host: {address}\r\n")),
        "{request}"
    );
}

#[test]
fn a_server_that_never_answers_times_out_with_exit_1() {
    // Accepted by the kernel's backlog, never read: the probe waits for an answer that never
    // comes.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let dir = TempDir::new();

    let started = Instant::now();
    let (code, _, stderr) = run(igrouter(&dir).args([
        "healthcheck",
        "--timeout",
        "300ms",
        "--url",
        &format!("http://{address}/health"),
    ]));

    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("no answer within 300 ms"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(listener);
}

#[test]
fn a_configuration_it_cannot_read_exits_1_not_2() {
    let dir = TempDir::new();

    let (code, _, stderr) = run(igrouter(&dir)
        .arg("healthcheck")
        .env("BIND_ADDRESS", "nowhere"));

    assert_eq!(
        code, 1,
        "docker reserves exit code 2 in a HEALTHCHECK: {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("BIND_ADDRESS"), "{stderr}");
}

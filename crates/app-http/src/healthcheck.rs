//! `igrouter healthcheck`: one `GET /health` to a running igrouter, for container health checks.
//!
//! The runtime image has no shell and no curl, so the binary probes the service itself. It exits
//! 0 when the service answers `200` and 1 otherwise (a `503` from a database that does not answer
//! included), with one line on stderr saying why. It never exits 2: Docker reserves that code in
//! a `HEALTHCHECK`, so a configuration it cannot read is a failed check too.
//!
//! The request is a blocking HTTP/1.0 `GET` over `std::net`: no async runtime, no TLS (the probe
//! runs next to the service, which serves plain HTTP) and no dependency beyond `url`.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use url::{Position, Url};

use crate::cli::{EXIT_FAILURE, HealthcheckArgs};
use crate::config::{Config, Overrides};

/// How long the probe waits when `--timeout` is not given: longer than the 3 s `/health` allows
/// its database ping, so a slow database shows as `503`, not as a probe timeout.
pub const DEFAULT_TIMEOUT: &str = "5s";

/// The path probed when no `--url` is given.
pub const HEALTH_PATH: &str = "/health";

/// Most bytes read while looking for the status line; `/health`'s whole answer is far smaller.
const MAX_STATUS_LINE_BYTES: usize = 8 * 1024;

/// Why a probe failed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The host name did not resolve to any address.
    #[error("{url}: the host does not resolve ({source})")]
    Resolve {
        /// The URL probed.
        url: Url,
        /// The resolver's error.
        #[source]
        source: io::Error,
    },
    /// No address accepted the connection (nothing listens, or a firewall refuses).
    #[error("{url}: could not connect ({source})")]
    Connect {
        /// The URL probed.
        url: Url,
        /// The last connection error.
        #[source]
        source: io::Error,
    },
    /// The connection or the answer took longer than the timeout.
    #[error("{url}: no answer within {} ms", timeout.as_millis())]
    Timeout {
        /// The URL probed.
        url: Url,
        /// The timeout that ran out.
        timeout: Duration,
    },
    /// The connection failed while the request was written or the answer read.
    #[error("{url}: the connection failed ({source})")]
    Io {
        /// The URL probed.
        url: Url,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The answer did not start with an HTTP status line.
    #[error("{url}: the answer is not HTTP")]
    NotHttp {
        /// The URL probed.
        url: Url,
    },
    /// The service answered with another status than `200`.
    #[error("{url}: answered {status_line}")]
    Status {
        /// The URL probed.
        url: Url,
        /// The HTTP status.
        status: u16,
        /// The status line after the version, e.g. `503 Service Unavailable`.
        status_line: String,
    },
}

/// Runs `igrouter healthcheck`: probes `--url`, or `/health` on the configured bind address, and
/// returns the exit code (0 healthy, 1 anything else), after one line on stderr when unhealthy.
pub fn run(args: &HealthcheckArgs, overrides: &Overrides) -> u8 {
    let url = match &args.url {
        Some(url) => Ok(url.clone()),
        None => Config::from_env(overrides)
            .map_err(|error| format!("{error} (or pass --url)"))
            .and_then(|config| {
                default_url(config.server.bind).map_err(|error| format!("BIND_ADDRESS: {error}"))
            }),
    };
    let url = match url {
        Ok(url) => url,
        Err(reason) => {
            eprintln!("igrouter healthcheck: {reason}");
            return EXIT_FAILURE;
        }
    };
    match probe(&url, args.timeout) {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("igrouter healthcheck: {error}");
            EXIT_FAILURE
        }
    }
}

/// `http://ADDR/health` for the address the service binds: an unspecified IP (`0.0.0.0`, `::`)
/// becomes the loopback address of its family, since the probe runs on the same host.
///
/// # Errors
/// Never in practice: a socket address always makes a valid URL (`SocketAddr`'s `Display`
/// brackets IPv6 addresses, as a URL authority needs).
pub fn default_url(bind: SocketAddr) -> Result<Url, url::ParseError> {
    let ip = match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    Url::parse(&format!(
        "http://{}{HEALTH_PATH}",
        SocketAddr::new(ip, bind.port())
    ))
}

/// Checks a `--url`: absolute `http://` with a host, no credentials and no fragment.
///
/// # Errors
/// A reason (lowercase) otherwise; `https` is refused because the probe speaks plain HTTP.
pub fn parse_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|error| format!("'{text}' is not a url ({error})"))?;
    if url.scheme() != "http" {
        return Err(format!(
            "'{text}' must be an http:// url (the probe speaks plain http, as igrouter serves)"
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("'{text}' has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err(format!("'{text}' must not carry credentials or a fragment"));
    }
    Ok(url)
}

/// One `GET url` within `timeout` (connection, request and status line together).
///
/// # Errors
/// A [`ProbeError`] saying what failed; `Ok` only for a `200` answer.
pub fn probe(url: &Url, timeout: Duration) -> Result<(), ProbeError> {
    let deadline = Instant::now() + timeout;
    let timed_out = || ProbeError::Timeout {
        url: url.clone(),
        timeout,
    };
    let addresses = url
        .socket_addrs(|| None)
        .map_err(|source| ProbeError::Resolve {
            url: url.clone(),
            source,
        })?;
    let mut stream = connect(&addresses, deadline).map_err(|error| match error.kind() {
        io::ErrorKind::TimedOut => timed_out(),
        _ => ProbeError::Connect {
            url: url.clone(),
            source: error,
        },
    })?;
    let io_error = |error: io::Error| match error.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => timed_out(),
        _ => ProbeError::Io {
            url: url.clone(),
            source: error,
        },
    };

    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: igrouter-healthcheck\r\n\
         Connection: close\r\n\r\n",
        path = &url[Position::BeforePath..Position::AfterQuery],
        host = &url[Position::BeforeHost..Position::BeforePath],
    );
    stream
        .set_write_timeout(Some(remaining(deadline).ok_or_else(timed_out)?))
        .and_then(|()| stream.write_all(request.as_bytes()))
        .map_err(io_error)?;

    let line = read_status_line(&mut stream, deadline).map_err(io_error)?;
    let Some((status, status_line)) = parse_status_line(&line) else {
        return Err(ProbeError::NotHttp { url: url.clone() });
    };
    if status == 200 {
        Ok(())
    } else {
        Err(ProbeError::Status {
            url: url.clone(),
            status,
            status_line,
        })
    }
}

/// The first address that accepts a connection before `deadline`, else the last error.
fn connect(addresses: &[SocketAddr], deadline: Instant) -> io::Result<TcpStream> {
    let mut last_error = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
    for address in addresses {
        let Some(left) = remaining(deadline) else {
            return Err(io::ErrorKind::TimedOut.into());
        };
        match TcpStream::connect_timeout(address, left) {
            Ok(stream) => return Ok(stream),
            Err(error) => last_error = error,
        }
    }
    Err(last_error)
}

/// Reads until the first line ends, the peer closes, or [`MAX_STATUS_LINE_BYTES`]: the status is
/// all the probe needs, so it never waits for the rest of the body.
fn read_status_line(stream: &mut TcpStream, deadline: Instant) -> io::Result<Vec<u8>> {
    let mut answer = Vec::new();
    let mut chunk = [0_u8; 1024];
    while !answer.contains(&b'\n') && answer.len() < MAX_STATUS_LINE_BYTES {
        let left = remaining(deadline).ok_or(io::ErrorKind::TimedOut)?;
        stream.set_read_timeout(Some(left))?;
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(read) => answer.extend_from_slice(&chunk[..read]),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(answer)
}

/// `HTTP/1.x NNN reason` → (`NNN`, `NNN reason`).
fn parse_status_line(answer: &[u8]) -> Option<(u16, String)> {
    let end = answer.iter().position(|&byte| byte == b'\n')?;
    let line = std::str::from_utf8(&answer[..end]).ok()?.trim_end();
    let rest = line.strip_prefix("HTTP/")?.split_once(' ')?.1.trim();
    let code = rest.get(..3)?;
    if !code.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    Some((code.parse().ok()?, rest.to_owned()))
}

/// Time left before `deadline`; `None` once it has passed.
fn remaining(deadline: Instant) -> Option<Duration> {
    deadline
        .checked_duration_since(Instant::now())
        .filter(|left| !left.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_url_is_health_on_the_bind_address_with_loopback_for_any() {
        let url = |bind: &str| default_url(bind.parse().unwrap()).unwrap().to_string();
        assert_eq!(url("0.0.0.0:8000"), "http://127.0.0.1:8000/health");
        assert_eq!(url("[::]:9000"), "http://[::1]:9000/health");
        assert_eq!(url("10.0.0.5:8080"), "http://10.0.0.5:8080/health");
        assert_eq!(url("[fd00::1]:80"), "http://[fd00::1]/health");
    }

    #[test]
    fn only_plain_http_urls_with_a_host_are_accepted() {
        assert!(parse_url("http://127.0.0.1:8000/health").is_ok());
        assert!(parse_url("http://localhost/health?deep=1").is_ok());
        for bad in [
            "https://127.0.0.1/health",
            "127.0.0.1:8000",
            "http://user:pw@127.0.0.1/health",
            "http://127.0.0.1/health#x",
            "file:///etc/passwd",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn status_lines_parse() {
        assert_eq!(
            parse_status_line(b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n"),
            Some((200, "200 OK".to_owned()))
        );
        assert_eq!(
            parse_status_line(b"HTTP/1.1 503 Service Unavailable\r\n"),
            Some((503, "503 Service Unavailable".to_owned()))
        );
        assert_eq!(
            parse_status_line(b"HTTP/1.1 204\n"),
            Some((204, "204".to_owned()))
        );
        for bad in [
            &b"SSH-2.0-OpenSSH\r\n"[..],
            b"HTTP/1.1 2x0 OK\r\n",
            b"HTTP/1.1 200 OK",
        ] {
            assert_eq!(parse_status_line(bad), None);
        }
    }
}

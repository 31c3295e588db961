//! Where a CRM webhook URL may point: the one rule behind `ALLOW_PRIVATE_WEBHOOK_URLS`
//! (contract §1), checked when an account's URL is set (`app-http`) and again by
//! [`HttpCrmNotifier`](crate::HttpCrmNotifier) on every connection, since DNS can change after the
//! URL was accepted.
//!
//! [`is_forbidden`] classifies one address; [`check_destination`] resolves a URL's host (an IP
//! literal needs no lookup) with a short timeout and refuses it when any address it resolves to is
//! forbidden; [`resolve_public`] is the same lookup for a bare host name, for a resolver that
//! hands the addresses it checked straight to the connection. Refusing on *any* address, not only
//! the first, matters: a client connects to whichever address works, so one private record among
//! public ones is enough to reach the inside.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use domain::WebhookUrl;

/// How long a CRM host may take to resolve before it is refused.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(2);

/// Which destinations this deployment accepts for CRM webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DestinationPolicy {
    /// Any address: development, or `ALLOW_PRIVATE_WEBHOOK_URLS=true`. Nothing is resolved.
    AnyAddress,
    /// Only addresses on the public internet (production's default).
    PublicOnly,
}

/// Why a CRM webhook URL's destination was refused. The messages are safe to show the client:
/// they never contain an address the host resolved to (that would map internal DNS for them).
#[derive(Debug, thiserror::Error)]
pub enum DestinationError {
    /// The host is, or resolves to, an address that is not on the public internet.
    #[error("must not point to a private, loopback, link-local or otherwise non-public address")]
    Forbidden {
        /// The offending address, for the log.
        address: IpAddr,
    },
    /// The host does not resolve.
    #[error("host could not be resolved")]
    Unresolvable(#[source] std::io::Error),
    /// The host did not resolve within [`RESOLVE_TIMEOUT`].
    #[error("host did not resolve in time")]
    Timeout,
    /// The URL stored is no longer an http(s) URL with a host (cannot happen for a parsed
    /// [`WebhookUrl`], kept so the check fails closed).
    #[error("must be an http or https URL with a host")]
    NoHost,
}

/// Checks that `url` may receive deliveries under `policy` and returns the addresses checked, so
/// a caller about to connect can pin them (no second lookup for DNS rebinding to exploit). Under
/// [`DestinationPolicy::AnyAddress`] nothing is resolved and the list is empty.
///
/// # Errors
/// [`DestinationError`] when the host is or resolves to a forbidden address, does not resolve, or
/// takes longer than [`RESOLVE_TIMEOUT`].
pub async fn check_destination(
    url: &WebhookUrl,
    policy: DestinationPolicy,
) -> Result<Vec<SocketAddr>, DestinationError> {
    if policy == DestinationPolicy::AnyAddress {
        return Ok(Vec::new());
    }
    let parsed = url::Url::parse(url.as_str()).map_err(|_| DestinationError::NoHost)?;
    let port = parsed
        .port_or_known_default()
        .ok_or(DestinationError::NoHost)?;
    let addresses = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        Some(url::Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        Some(url::Host::Domain(domain)) => return resolve_public(domain, port).await,
        None => return Err(DestinationError::NoHost),
    };
    refuse_forbidden(&addresses)?;
    Ok(addresses)
}

/// Resolves the host name `host` (not an IP literal) with the system resolver, bounded by
/// [`RESOLVE_TIMEOUT`], and returns its addresses with `port` when every one of them is public.
///
/// # Errors
/// [`DestinationError::Forbidden`] when any address is forbidden;
/// [`DestinationError::Unresolvable`] or [`DestinationError::Timeout`] when the name does not
/// resolve, or not in time.
pub async fn resolve_public(host: &str, port: u16) -> Result<Vec<SocketAddr>, DestinationError> {
    let addresses = resolve(host.to_owned(), port).await?;
    refuse_forbidden(&addresses)?;
    Ok(addresses)
}

/// True when `ip` is not a public internet address: unspecified, loopback, private (RFC 1918),
/// shared/CGNAT (100.64/10), link-local, multicast, broadcast, documentation, benchmarking or
/// reserved ranges, IPv6 unique-local (fc00::/7), site-local, discard-only, and IPv4 addresses
/// embedded in IPv6 (mapped, compatible, NAT64, 6to4) whose IPv4 part is any of those.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_forbidden_v4(ip),
        IpAddr::V6(ip) => is_forbidden_v6(ip),
    }
}

/// IPv4 ranges that are not the public internet (IANA special-purpose registry).
const FORBIDDEN_V4: [(Ipv4Addr, u8); 15] = [
    (Ipv4Addr::new(0, 0, 0, 0), 8),       // "this network", unspecified
    (Ipv4Addr::new(10, 0, 0, 0), 8),      // private
    (Ipv4Addr::new(100, 64, 0, 0), 10),   // shared address space (CGNAT)
    (Ipv4Addr::new(127, 0, 0, 0), 8),     // loopback
    (Ipv4Addr::new(169, 254, 0, 0), 16),  // link-local, cloud metadata services
    (Ipv4Addr::new(172, 16, 0, 0), 12),   // private
    (Ipv4Addr::new(192, 0, 0, 0), 24),    // IETF protocol assignments
    (Ipv4Addr::new(192, 0, 2, 0), 24),    // documentation
    (Ipv4Addr::new(192, 88, 99, 0), 24),  // deprecated 6to4 relay anycast
    (Ipv4Addr::new(192, 168, 0, 0), 16),  // private
    (Ipv4Addr::new(198, 18, 0, 0), 15),   // benchmarking
    (Ipv4Addr::new(198, 51, 100, 0), 24), // documentation
    (Ipv4Addr::new(203, 0, 113, 0), 24),  // documentation
    (Ipv4Addr::new(224, 0, 0, 0), 4),     // multicast
    (Ipv4Addr::new(240, 0, 0, 0), 4),     // reserved, and 255.255.255.255 broadcast
];

/// IPv6 ranges that are not the public internet, other than those embedding an IPv4 address.
const FORBIDDEN_V6: [(Ipv6Addr, u8); 7] = [
    (Ipv6Addr::new(0x0064, 0xff9b, 1, 0, 0, 0, 0, 0), 48), // local-use NAT64
    (Ipv6Addr::new(0x0100, 0, 0, 0, 0, 0, 0, 0), 64),      // discard-only
    (Ipv6Addr::new(0x2001, 0x0db8, 0, 0, 0, 0, 0, 0), 32), // documentation
    (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7),       // unique local
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10),      // link-local
    (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10),      // site-local (deprecated)
    (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8),       // multicast
];

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    let bits = u32::from(ip);
    FORBIDDEN_V4.iter().any(|(network, prefix)| {
        let mask = u32::MAX.checked_shl(32 - u32::from(*prefix)).unwrap_or(0);
        bits & mask == u32::from(*network) & mask
    })
}

fn is_forbidden_v6(ip: Ipv6Addr) -> bool {
    if let Some(embedded) = embedded_v4(ip) {
        return embedded.is_none_or(is_forbidden_v4);
    }
    let bits = u128::from(ip);
    FORBIDDEN_V6.iter().any(|(network, prefix)| {
        let mask = u128::MAX.checked_shl(128 - u32::from(*prefix)).unwrap_or(0);
        bits & mask == u128::from(*network) & mask
    })
}

/// For the IPv6 ranges that carry an IPv4 address, `Some(that address)`; `Some(None)` for
/// `::/96` (unspecified, loopback and the deprecated IPv4-compatible form, all refused); `None`
/// for every other address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Option<Ipv4Addr>> {
    let octets = ip.octets();
    let last_32 = Ipv4Addr::new(octets[12], octets[13], octets[14], octets[15]);
    match ip.segments() {
        // ::/96: ::, ::1 and IPv4-compatible addresses; none is a public destination.
        [0, 0, 0, 0, 0, 0, _, _] => Some(None),
        // ::ffff:0:0/96, IPv4-mapped: a dual-stack socket connects to the IPv4 address.
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(Some(last_32)),
        // 64:ff9b::/96, the well-known NAT64 prefix: the translator connects to the IPv4 address.
        [0x0064, 0xff9b, 0, 0, 0, 0, _, _] => Some(Some(last_32)),
        // 2002::/16, 6to4: the IPv4 address follows the prefix.
        [0x2002, ..] => Some(Some(Ipv4Addr::new(
            octets[2], octets[3], octets[4], octets[5],
        ))),
        _ => None,
    }
}

fn refuse_forbidden(addresses: &[SocketAddr]) -> Result<(), DestinationError> {
    match addresses.iter().find(|address| is_forbidden(address.ip())) {
        Some(bad) => Err(DestinationError::Forbidden { address: bad.ip() }),
        None => Ok(()),
    }
}

/// Resolves `host` on the blocking pool (getaddrinfo blocks), bounded by [`RESOLVE_TIMEOUT`].
async fn resolve(host: String, port: u16) -> Result<Vec<SocketAddr>, DestinationError> {
    let lookup = tokio::task::spawn_blocking(move || {
        (host.as_str(), port)
            .to_socket_addrs()
            .map(Iterator::collect::<Vec<_>>)
    });
    let addresses = match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
        Err(_) => return Err(DestinationError::Timeout),
        Ok(Err(join)) => return Err(DestinationError::Unresolvable(std::io::Error::other(join))),
        Ok(Ok(result)) => result.map_err(DestinationError::Unresolvable)?,
    };
    if addresses.is_empty() {
        return Err(DestinationError::Unresolvable(std::io::Error::other(
            "no address",
        )));
    }
    Ok(addresses)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forbidden(text: &str) -> bool {
        is_forbidden(text.parse().unwrap())
    }

    #[test]
    fn non_public_ipv4_addresses_are_forbidden() {
        for ip in [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "100.64.0.1",
            "100.127.255.255",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(forbidden(ip), "{ip} must be forbidden");
        }
    }

    #[test]
    fn public_ipv4_addresses_are_allowed_up_to_the_range_edges() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.1",
            "169.253.255.255",
            "169.255.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.1",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
        ] {
            assert!(!forbidden(ip), "{ip} must be allowed");
        }
    }

    #[test]
    fn non_public_ipv6_addresses_are_forbidden() {
        for ip in [
            "::",
            "::1",
            "::127.0.0.1",
            "::8.8.8.8",
            "fc00::1",
            "fd12:3456:789a::1",
            "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "ff0e::1",
            "2001:db8::1",
            "100::1",
            "64:ff9b:1::1",
        ] {
            assert!(forbidden(ip), "{ip} must be forbidden");
        }
    }

    #[test]
    fn ipv4_embedded_in_ipv6_is_judged_by_its_ipv4_part() {
        for ip in [
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:100.64.0.1",
            "::ffff:0.0.0.0",
            "64:ff9b::10.0.0.1",
            "64:ff9b::7f00:1",
            "2002:c0a8:0101::1",
            "2002:7f00:0001::",
        ] {
            assert!(forbidden(ip), "{ip} must be forbidden");
        }
        for ip in ["::ffff:8.8.8.8", "64:ff9b::1.1.1.1", "2002:0808:0808::1"] {
            assert!(!forbidden(ip), "{ip} must be allowed");
        }
    }

    #[test]
    fn public_ipv6_addresses_are_allowed() {
        for ip in [
            "2001:4860:4860::8888",
            "2606:4700:4700::1111",
            "2a00:1450:4001::1",
            "fbff::1",
            "fe00::1",
        ] {
            assert!(!forbidden(ip), "{ip} must be allowed");
        }
    }

    fn url(text: &str) -> WebhookUrl {
        WebhookUrl::parse("crm_webhook_url", text).unwrap()
    }

    #[tokio::test]
    async fn literal_addresses_are_checked_without_a_lookup() {
        for text in [
            "http://127.0.0.1/hook",
            "http://10.0.0.1:8080/hook",
            "https://169.254.169.254/latest/meta-data",
            "http://[::1]/hook",
            "http://[::ffff:192.168.0.1]/hook",
            "http://[fd00::5]/hook",
            // The URL parser reads these as IPv4 addresses: 127.0.0.1 and 10.0.0.1.
            "http://2130706433/hook",
            "http://0x0a.0.0.1/hook",
            "http://0/hook",
        ] {
            let error = check_destination(&url(text), DestinationPolicy::PublicOnly)
                .await
                .expect_err(text);
            assert!(
                matches!(error, DestinationError::Forbidden { .. }),
                "{text}: {error:?}"
            );
        }
        let checked = check_destination(
            &url("https://93.184.215.14/hook"),
            DestinationPolicy::PublicOnly,
        )
        .await
        .unwrap();
        assert_eq!(checked, vec!["93.184.215.14:443".parse().unwrap()]);
    }

    #[tokio::test]
    async fn localhost_is_refused_after_resolving_it_locally() {
        let error = check_destination(
            &url("http://localhost:9000/hook"),
            DestinationPolicy::PublicOnly,
        )
        .await
        .unwrap_err();
        // /etc/hosts answers `localhost`; no query leaves the machine.
        assert!(
            matches!(error, DestinationError::Forbidden { .. }),
            "{error:?}"
        );
        let error = resolve_public("localhost", 0).await.unwrap_err();
        assert!(
            matches!(error, DestinationError::Forbidden { .. }),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn any_address_resolves_nothing() {
        for text in ["http://127.0.0.1/", "http://localhost/", "http://10.0.0.1/"] {
            let checked = check_destination(&url(text), DestinationPolicy::AnyAddress)
                .await
                .unwrap();
            assert!(checked.is_empty());
        }
    }

    #[test]
    fn error_messages_never_name_the_address() {
        let error = DestinationError::Forbidden {
            address: "10.1.2.3".parse().unwrap(),
        };
        assert!(!error.to_string().contains("10.1.2.3"));
    }
}

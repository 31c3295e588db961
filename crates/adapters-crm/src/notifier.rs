//! [`HttpCrmNotifier`]: the `CrmNotifier` port over reqwest. One attempt per call: post the stored
//! body, signed for this attempt, to the account's CRM URL and report whatever came back.

use std::error::Error as _;
use std::fmt;
use std::sync::Once;
use std::time::Duration;

use async_trait::async_trait;
use domain::ports::{CrmAttemptError, CrmNotifier, CrmRequest, CrmResponse};
use domain::request_id::REQUEST_ID_HEADER;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::{Response, Url, redirect};
use secrecy::ExposeSecret;

use crate::destination::{DestinationError, DestinationPolicy, check_destination, resolve_public};
use crate::response::{MAX_BODY_READ, excerpt, retry_after};
use crate::signature::sign;

/// Delivers signed events to any account's CRM over one pooled HTTP client.
///
/// Cheap to clone (the pool is shared). Holds no secret: each account's webhook secret comes with
/// its [`CrmRequest`]. Redirects are not followed: a `3xx` is the CRM's answer, a failed attempt
/// like any non-2xx, because following it would post the signed body to wherever the `Location`
/// points, past the destination check.
///
/// Under [`DestinationPolicy::PublicOnly`] an IP-literal host is checked before connecting and a
/// host name is resolved by the client's own resolver, which refuses the name when any address
/// is forbidden and otherwise hands exactly those addresses to the connection: the address
/// checked is the address connected to, leaving no window for a DNS rebinding. Proxies from the
/// environment (`HTTPS_PROXY`, …) are ignored under that policy, since through a proxy the check
/// would only ever see the proxy's address.
#[derive(Clone)]
pub struct HttpCrmNotifier {
    http: reqwest::Client,
    destinations: DestinationPolicy,
    timeout: Duration,
}

/// Why an [`HttpCrmNotifier`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CrmClientError {
    /// A zero timeout would fail every attempt before it starts.
    #[error("the crm http timeout must be greater than zero")]
    ZeroTimeout,
    /// reqwest refused the configuration (its TLS backend could not start).
    #[error("building the crm http client failed")]
    Build(#[source] reqwest::Error),
}

impl HttpCrmNotifier {
    /// A notifier whose every attempt, connecting and reading the answer included, ends after
    /// `timeout` (`HTTP_TIMEOUT`), and which posts only where `destinations` allows.
    ///
    /// Installs rustls's `ring` crypto provider as the process default the first time it runs
    /// (a provider installed earlier by someone else is kept).
    ///
    /// # Errors
    /// [`CrmClientError::ZeroTimeout`] for a zero timeout, [`CrmClientError::Build`] when reqwest
    /// cannot build the client.
    pub fn new(timeout: Duration, destinations: DestinationPolicy) -> Result<Self, CrmClientError> {
        if timeout.is_zero() {
            return Err(CrmClientError::ZeroTimeout);
        }
        install_crypto_provider();
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("igrouter/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .redirect(redirect::Policy::none());
        if destinations == DestinationPolicy::PublicOnly {
            builder = builder.dns_resolver(PublicOnlyResolver).no_proxy();
        }
        let http = builder.build().map_err(CrmClientError::Build)?;
        Ok(Self {
            http,
            destinations,
            timeout,
        })
    }

    /// The per-attempt timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The destinations this notifier posts to.
    pub fn destinations(&self) -> DestinationPolicy {
        self.destinations
    }
}

impl fmt::Debug for HttpCrmNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpCrmNotifier")
            .field("destinations", &self.destinations)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl CrmNotifier for HttpCrmNotifier {
    async fn deliver(&self, request: &CrmRequest) -> Result<CrmResponse, CrmAttemptError> {
        // A stored WebhookUrl always parses; failing closed keeps a bad row from going anywhere.
        let url = Url::parse(request.url.as_str()).map_err(|_| {
            CrmAttemptError::RefusedDestination(DestinationError::NoHost.to_string())
        })?;
        let literal_ip = matches!(url.host(), Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)));
        if self.destinations == DestinationPolicy::PublicOnly && literal_ip {
            // An IP literal never reaches the resolver, so it is checked here; nothing to resolve
            // means nothing can change between this check and the connection.
            check_destination(&request.url, self.destinations)
                .await
                .map_err(|refused| destination_error(&refused))?;
        }
        let signature = sign(
            request.secret.expose_secret().as_bytes(),
            &request.event_id,
            request.sent_at.as_secs(),
            request.payload.as_bytes(),
        );
        let mut post = self
            .http
            .post(url)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(request.payload.clone());
        for (name, value) in signature.pairs() {
            post = post.header(name, value);
        }
        // A `RequestId` is visible ASCII, always a valid header value.
        if let Some(value) = request
            .request_id
            .as_ref()
            .and_then(|id| HeaderValue::from_str(id.as_str()).ok())
        {
            post = post.header(REQUEST_ID_HEADER, value);
        }
        let response = post.send().await.map_err(transport_error)?;
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers(), request.sent_at);
        let body = read_prefix(response).await;
        Ok(CrmResponse {
            status,
            excerpt: excerpt(&body),
            retry_after,
        })
    }
}

/// Resolves CRM host names for [`DestinationPolicy::PublicOnly`]: the lookup of
/// [`resolve_public`], whose addresses are the only ones the connection may use.
struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // Port 0: reqwest puts the URL's port (or the scheme's) on every address.
            let addresses = resolve_public(&host, 0).await.inspect_err(|error| {
                if let DestinationError::Forbidden { address } = error {
                    tracing::debug!(crm.address = %address, "crm host resolves to a non-public address");
                }
            })?;
            let addresses: Addrs = Box::new(addresses.into_iter());
            Ok(addresses)
        })
    }
}

/// Longest `Connection` message kept; reqwest's chains are short, a TLS error can be long.
const MAX_ERROR_CHARS: usize = 300;

/// The attempt error for a request that got no answer.
///
/// A refusal by [`PublicOnlyResolver`] comes back buried in reqwest's connect error and is dug
/// out here; a name that does not resolve is a connection failure like any other, only a
/// forbidden address is a refused destination. The URL is dropped from the error first: it is
/// the account's, and may carry a token in its query.
fn transport_error(error: reqwest::Error) -> CrmAttemptError {
    let error = error.without_url();
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<DestinationError>() {
            return destination_error(refused);
        }
        source = cause.source();
    }
    if error.is_timeout() {
        return CrmAttemptError::Timeout;
    }
    CrmAttemptError::Connection(error_chain(&error))
}

/// The messages of [`DestinationError`] never name the address, so they are safe to record.
fn destination_error(error: &DestinationError) -> CrmAttemptError {
    match error {
        DestinationError::Forbidden { .. } | DestinationError::NoHost => {
            CrmAttemptError::RefusedDestination(error.to_string())
        }
        DestinationError::Unresolvable(_) | DestinationError::Timeout => {
            CrmAttemptError::Connection(error.to_string())
        }
    }
}

/// `error` and its causes, `: `-separated, cut to [`MAX_ERROR_CHARS`] characters.
fn error_chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    match text.char_indices().nth(MAX_ERROR_CHARS) {
        Some((cut, _)) => text[..cut].to_owned(),
        None => text,
    }
}

/// The answer body up to [`MAX_BODY_READ`] bytes. The status is the answer; a body that breaks
/// off or outlasts the timeout only shortens the excerpt, so a read error ends the read quietly.
async fn read_prefix(mut response: Response) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < MAX_BODY_READ {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_BODY_READ - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    body
}

/// Installs rustls's `ring` provider once per process. reqwest built with `rustls-no-provider`
/// panics on its first TLS client without a process-wide provider; when another part of the
/// process installed one already, that one is kept.
fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // `Err` only means a provider was already installed, which is all we need.
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_destination_never_names_the_address() {
        let error = destination_error(&DestinationError::Forbidden {
            address: "10.1.2.3".parse().unwrap(),
        });
        let CrmAttemptError::RefusedDestination(message) = error else {
            panic!("{error:?}");
        };
        assert!(!message.contains("10.1.2.3"), "{message}");
    }

    #[test]
    fn a_name_that_does_not_resolve_is_a_connection_failure() {
        let error = destination_error(&DestinationError::Timeout);
        assert!(matches!(error, CrmAttemptError::Connection(_)), "{error:?}");
    }

    #[test]
    fn zero_timeout_is_refused() {
        let error =
            HttpCrmNotifier::new(Duration::ZERO, DestinationPolicy::AnyAddress).unwrap_err();
        assert!(matches!(error, CrmClientError::ZeroTimeout), "{error:?}");
    }
}

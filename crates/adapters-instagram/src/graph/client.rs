//! [`GraphClient`]: one reqwest client for every account, the two Graph calls the service makes,
//! and the shared request path that reads the answer and hands failures to `classify.rs`.

use std::fmt;
use std::sync::Once;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use domain::ports::{InstagramClient, InstagramError, Profile, SentMessage};
use domain::request_id::REQUEST_ID_HEADER;
use domain::{InstagramId, InstagramMessageId, OutboundContent, RequestId};
use reqwest::header::{ACCEPT, HeaderMap, HeaderValue};
use reqwest::{RequestBuilder, StatusCode, Url, redirect};
use secrecy::{ExposeSecret, SecretString};

use super::classify::{self, Call};
use super::error::GraphClientError;
use super::wire::{GraphError, ProfileResponse, SendRequest, SendResponse};

/// Calls Meta's Graph API for any account; the account's token comes with each call.
///
/// Cheap to clone (one shared connection pool). Holds no token, so its `Debug` shows only the
/// base URL, version and timeout.
#[derive(Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    /// `{base}/{version}`, checked to take further path segments.
    version_url: Url,
    /// `{base}/{version}/me/messages`.
    messages_url: Url,
    timeout: Duration,
}

/// Largest answer body read; Graph answers are a few hundred bytes, and a runaway body must not
/// fill memory before the timeout ends it.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Share of `HTTP_TIMEOUT` allowed for connecting. Slightly shorter than the total timeout so a
/// host that never accepts the connection reports a connect error (nothing sent, retryable)
/// instead of racing the total timeout (which, for a send, means "outcome unknown").
const CONNECT_SHARE: f64 = 0.9;

impl GraphClient {
    /// A client for `base_url` (`GRAPH_API_BASE_URL`, e.g. `https://graph.instagram.com`),
    /// `version` (`GRAPH_API_VERSION`, e.g. `v21.0`) and `timeout` (`HTTP_TIMEOUT`, per call,
    /// connecting included).
    ///
    /// Installs rustls's `ring` crypto provider as the process default the first time it runs
    /// (a provider installed earlier by someone else is kept). Redirects are not followed: the
    /// Graph API does not redirect, and following one could carry a send or a token elsewhere.
    ///
    /// # Errors
    /// [`GraphClientError`] for a base URL that is not absolute `http`/`https` without query,
    /// fragment or credentials, a version that is not one path segment, a zero timeout, or a
    /// client reqwest cannot build.
    pub fn new(base_url: &str, version: &str, timeout: Duration) -> Result<Self, GraphClientError> {
        if timeout.is_zero() {
            return Err(GraphClientError::ZeroTimeout);
        }
        let version_url = version_url(base_url, version)?;
        let mut messages_url = version_url.clone();
        messages_url
            .path_segments_mut()
            .map_err(|()| invalid_base(base_url, "cannot take a path"))?
            .extend(["me", "messages"]);

        install_crypto_provider();
        let http = reqwest::Client::builder()
            .user_agent(concat!("igrouter/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .connect_timeout(timeout.mul_f64(CONNECT_SHARE))
            .redirect(redirect::Policy::none())
            .build()
            .map_err(GraphClientError::Build)?;
        Ok(Self {
            http,
            version_url,
            messages_url,
            timeout,
        })
    }

    /// The per-call timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `GET {base}/{version}/{user}?fields=username,name`.
    fn profile_url(&self, user: &InstagramId) -> Result<Url, InstagramError> {
        let mut url = self.version_url.clone();
        // `new` checked that the URL takes segments; `push` percent-encodes `/`, `?` and `#`.
        url.path_segments_mut()
            .map_err(|()| InstagramError::Permanent {
                code: 0,
                subcode: None,
                message: "graph api base url cannot take a path".to_owned(),
            })?
            .push(user.as_str());
        url.set_query(Some("fields=username,name"));
        Ok(url)
    }

    /// Sends `request` with `token` and returns the status and body of a successful answer;
    /// every failure comes back classified.
    async fn execute(
        &self,
        call: Call,
        request: RequestBuilder,
        token: &SecretString,
    ) -> Result<Answer, InstagramError> {
        let secret = token.expose_secret();
        let started = Instant::now();
        let result = self.exchange(request.bearer_auth(secret)).await;
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let answer = match result {
            Ok(answer) => answer,
            Err(Exchange::NoAnswer(error)) => {
                tracing::debug!(
                    graph.call = call.name(),
                    duration_ms,
                    timeout = error.is_timeout(),
                    connect = error.is_connect(),
                    "graph api call got no answer"
                );
                return Err(classify::transport_error(
                    call,
                    &error,
                    self.timeout,
                    secret,
                ));
            }
            Err(Exchange::BodyLost {
                status,
                headers,
                error,
            }) => {
                tracing::debug!(
                    graph.call = call.name(),
                    http.status = status.as_u16(),
                    duration_ms,
                    "graph api answer body was lost"
                );
                if status.is_success() {
                    return Err(classify::transport_error(
                        call,
                        &error,
                        self.timeout,
                        secret,
                    ));
                }
                return Err(classify::response_error(status, &headers, &[], secret));
            }
        };
        tracing::debug!(
            graph.call = call.name(),
            http.status = answer.status.as_u16(),
            duration_ms,
            "graph api answered"
        );
        let reports_error = !answer.status.is_success()
            || GraphError::from_body(&answer.body).is_some_and(|error| error.code.is_some());
        if reports_error {
            return Err(classify::response_error(
                answer.status,
                &answer.headers,
                &answer.body,
                secret,
            ));
        }
        Ok(answer)
    }

    /// One HTTP exchange, the body read up to [`MAX_BODY_BYTES`] (the rest is ignored).
    async fn exchange(&self, request: RequestBuilder) -> Result<Answer, Exchange> {
        let mut response = request
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .send()
            .await
            .map_err(Exchange::NoAnswer)?;
        let status = response.status();
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = MAX_BODY_BYTES.saturating_sub(body.len());
                    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    if body.len() >= MAX_BODY_BYTES {
                        break;
                    }
                }
                Ok(None) => break,
                Err(error) => {
                    return Err(Exchange::BodyLost {
                        status,
                        headers: response.headers().clone(),
                        error,
                    });
                }
            }
        }
        Ok(Answer {
            status,
            headers: response.headers().clone(),
            body,
        })
    }
}

impl fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphClient")
            .field("version_url", &self.version_url.as_str())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl InstagramClient for GraphClient {
    async fn send_message(
        &self,
        token: &SecretString,
        recipient: &InstagramId,
        content: &OutboundContent,
        request_id: Option<&RequestId>,
    ) -> Result<SentMessage, InstagramError> {
        let request = with_request_id(
            self.http
                .post(self.messages_url.clone())
                .json(&SendRequest::new(recipient, content)),
            request_id,
        );
        let answer = self.execute(Call::Send, request, token).await?;
        // Meta said yes (2xx) but we cannot tell which message it made: it may well have been
        // delivered, so this is not a failure to retry.
        let message_id = serde_json::from_slice::<SendResponse>(&answer.body)
            .ok()
            .and_then(|sent| sent.message_id)
            .and_then(|id| InstagramMessageId::parse("message_id", &id).ok());
        match message_id {
            Some(instagram_message_id) => Ok(SentMessage {
                instagram_message_id,
            }),
            None => Err(InstagramError::OutcomeUnknown {
                message: format!(
                    "graph api answered http {} without a usable message_id; \
                     meta may have sent the message",
                    answer.status.as_u16()
                ),
            }),
        }
    }

    async fn profile(
        &self,
        token: &SecretString,
        user: &InstagramId,
        request_id: Option<&RequestId>,
    ) -> Result<Profile, InstagramError> {
        let request = with_request_id(self.http.get(self.profile_url(user)?), request_id);
        let answer = self.execute(Call::Profile, request, token).await?;
        let profile = serde_json::from_slice::<ProfileResponse>(&answer.body).map_err(|_| {
            InstagramError::Retryable {
                code: None,
                message: format!(
                    "graph api answered http {} with a body that is not a profile",
                    answer.status.as_u16()
                ),
                retry_after: None,
            }
        })?;
        Ok(Profile {
            username: profile.username.filter(|name| !name.is_empty()),
            name: profile.name.filter(|name| !name.is_empty()),
        })
    }
}

/// `request` with `X-Request-Id: request_id` when there is one.
fn with_request_id(request: RequestBuilder, request_id: Option<&RequestId>) -> RequestBuilder {
    // A `RequestId` is visible ASCII, always a valid header value.
    match request_id.and_then(|id| HeaderValue::from_str(id.as_str()).ok()) {
        Some(value) => request.header(REQUEST_ID_HEADER, value),
        None => request,
    }
}

/// A successful exchange: any status, with the body read.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// How an exchange failed before a whole answer was read.
enum Exchange {
    /// No status line came back (connect failure, timeout, reset).
    NoAnswer(reqwest::Error),
    /// The status came back but the body did not.
    BodyLost {
        status: StatusCode,
        headers: HeaderMap,
        error: reqwest::Error,
    },
}

/// Installs rustls's `ring` provider once per process. reqwest built with
/// `rustls-no-provider` panics on its first TLS client without a process-wide provider; when
/// another part of the process installed one already, that one is kept.
fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // `Err` only means a provider was already installed, which is all we need.
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
    });
}

/// `{base_url}/{version}` after checking both.
fn version_url(base_url: &str, version: &str) -> Result<Url, GraphClientError> {
    let valid_version = !version.is_empty()
        && version != "."
        && version != ".."
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if !valid_version {
        return Err(GraphClientError::InvalidVersion {
            version: version.to_owned(),
        });
    }
    let mut url =
        Url::parse(base_url).map_err(|_| invalid_base(base_url, "not an absolute url"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid_base(base_url, "the scheme must be http or https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid_base(
            base_url,
            "credentials do not belong in the url",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid_base(base_url, "a query or fragment is not allowed"));
    }
    url.path_segments_mut()
        .map_err(|()| invalid_base(base_url, "cannot take a path"))?
        .pop_if_empty()
        .push(version);
    Ok(url)
}

/// An `InvalidBaseUrl` error that never repeats a password or user name from the URL.
fn invalid_base(base_url: &str, reason: &'static str) -> GraphClientError {
    let url = match Url::parse(base_url) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            // Both setters only fail on URLs that cannot have credentials at all.
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        _ => base_url.to_owned(),
    };
    GraphClientError::InvalidBaseUrl { url, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(base: &str, version: &str) -> Result<String, GraphClientError> {
        version_url(base, version).map(|url| url.to_string())
    }

    #[test]
    fn base_url_and_version_join_into_one_prefix() {
        assert_eq!(
            url("https://graph.instagram.com", "v21.0").unwrap(),
            "https://graph.instagram.com/v21.0"
        );
        assert_eq!(
            url("http://127.0.0.1:9/fake/", "v21.0").unwrap(),
            "http://127.0.0.1:9/fake/v21.0"
        );
    }

    #[test]
    fn bad_configuration_is_refused() {
        for (base, version) in [
            ("graph.instagram.com", "v21.0"),
            ("ftp://graph.instagram.com", "v21.0"),
            ("https://graph.instagram.com?x=1", "v21.0"),
            ("https://graph.instagram.com", ""),
            ("https://graph.instagram.com", "v21.0/me"),
            ("https://graph.instagram.com", ".."),
        ] {
            assert!(url(base, version).is_err(), "{base} {version}");
        }
        let error = url("https://user:hunter2@graph.instagram.com", "v21.0").unwrap_err();
        assert!(!error.to_string().contains("hunter2"), "{error}");
        assert!(matches!(
            GraphClient::new("https://graph.instagram.com", "v21.0", Duration::ZERO),
            Err(GraphClientError::ZeroTimeout)
        ));
    }

    #[test]
    fn profile_urls_encode_the_user_id() {
        let client = GraphClient::new(
            "https://graph.instagram.com",
            "v21.0",
            Duration::from_secs(1),
        )
        .unwrap();
        let user = InstagramId::parse("user", "a/b?c").unwrap();
        assert_eq!(
            client.profile_url(&user).unwrap().as_str(),
            "https://graph.instagram.com/v21.0/a%2Fb%3Fc?fields=username,name"
        );
        assert_eq!(
            client.messages_url.as_str(),
            "https://graph.instagram.com/v21.0/me/messages"
        );
    }
}

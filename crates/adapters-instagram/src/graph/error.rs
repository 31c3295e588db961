//! What can go wrong when a [`GraphClient`](super::GraphClient) is built (configuration only;
//! call failures are `domain::ports::InstagramError`).

/// A [`GraphClient`](super::GraphClient) could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum GraphClientError {
    /// `GRAPH_API_BASE_URL` is not an absolute `http`/`https` URL usable as a path prefix.
    #[error("graph api base url {url:?} is invalid: {reason}")]
    InvalidBaseUrl {
        /// The URL as given, without any user name or password it carried.
        url: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// `GRAPH_API_VERSION` is not a single path segment such as `v21.0`.
    #[error("graph api version {version:?} is invalid: must be one path segment like v21.0")]
    InvalidVersion {
        /// The version as given.
        version: String,
    },
    /// `HTTP_TIMEOUT` is zero, which would fail every call.
    #[error("http timeout must be greater than zero")]
    ZeroTimeout,
    /// reqwest refused the client configuration (e.g. no TLS provider could be set up).
    #[error("building the graph api http client failed")]
    Build(#[source] reqwest::Error),
}

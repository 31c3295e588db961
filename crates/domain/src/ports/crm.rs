//! The CRM's webhook endpoint, as the domain needs it.

use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;

use crate::{EventId, RequestId, Timestamp, WebhookUrl};

/// One signed delivery attempt to make.
#[derive(Debug, Clone)]
pub struct CrmRequest {
    /// Where to post.
    pub url: WebhookUrl,
    /// The account's webhook secret (signs the body).
    pub secret: SecretString,
    /// The event id (`webhook-id`).
    pub event_id: EventId,
    /// The exact body.
    pub payload: String,
    /// This attempt's time (`webhook-timestamp`).
    pub sent_at: Timestamp,
    /// The request that caused the delivery (`X-Request-Id`), the same on every attempt.
    pub request_id: Option<RequestId>,
}

/// The CRM answered (any status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrmResponse {
    /// HTTP status.
    pub status: u16,
    /// The first bytes of the body, for the attempt log.
    pub excerpt: String,
    /// `Retry-After`, when sent.
    pub retry_after: Option<Duration>,
}

/// The CRM did not answer.
#[derive(Debug, thiserror::Error)]
pub enum CrmAttemptError {
    /// No answer within the timeout.
    #[error("timed out")]
    Timeout,
    /// Could not connect or the connection broke.
    #[error("connection failed: {0}")]
    Connection(String),
    /// The URL resolves to an address deliveries may not go to (private, loopback, link-local).
    #[error("refused destination: {0}")]
    RefusedDestination(String),
}

/// Posts signed events to a CRM.
#[async_trait]
pub trait CrmNotifier: Send + Sync {
    /// Makes one attempt.
    ///
    /// # Errors
    /// MUST return `CrmAttemptError` only when no HTTP response was received; any response,
    /// 2xx or not, is `Ok`.
    async fn deliver(&self, request: &CrmRequest) -> Result<CrmResponse, CrmAttemptError>;
}

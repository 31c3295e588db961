//! The Graph API, as the domain needs it.

use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;

use crate::{InstagramId, InstagramMessageId, OutboundContent, RequestId};

/// Meta accepted a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// Meta's id for the message.
    pub instagram_message_id: InstagramMessageId,
}

/// Public profile fields of an Instagram user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The username, when Meta shares it.
    pub username: Option<String>,
    /// The display name, when Meta shares it.
    pub name: Option<String>,
}

/// How a Graph API call failed, classified for the retry decision (contract §2).
#[derive(Debug, thiserror::Error)]
pub enum InstagramError {
    /// Worth retrying: network error before the request was sent, HTTP 5xx, throttling codes.
    #[error("retryable graph api error: {message}")]
    Retryable {
        /// Graph error code, if any.
        code: Option<i64>,
        /// What Meta or the network said.
        message: String,
        /// A back-off Meta asked for.
        retry_after: Option<Duration>,
    },
    /// The access token is invalid or expired (code 190).
    #[error("access token rejected: {message}")]
    TokenInvalid {
        /// What Meta said.
        message: String,
    },
    /// Meta refused the request for good (codes 10, 100, 200, 551, …).
    #[error("graph api error {code}: {message}")]
    Permanent {
        /// Graph error code.
        code: i64,
        /// Graph error subcode.
        subcode: Option<i64>,
        /// What Meta said.
        message: String,
    },
    /// The request may have reached Meta but no answer came (timeout after sending): resending
    /// could deliver the DM twice.
    #[error("outcome unknown: {message}")]
    OutcomeUnknown {
        /// What happened.
        message: String,
    },
}

/// Calls the Graph API on behalf of an account.
#[async_trait]
pub trait InstagramClient: Send + Sync {
    /// Sends `content` to `recipient` with the account's token; `request_id`, the request that
    /// queued the message, goes along as `X-Request-Id`.
    ///
    /// # Errors
    /// MUST classify every failure as one `InstagramError` variant as contract §2 lists.
    async fn send_message(
        &self,
        token: &SecretString,
        recipient: &InstagramId,
        content: &OutboundContent,
        request_id: Option<&RequestId>,
    ) -> Result<SentMessage, InstagramError>;

    /// Reads a user's public profile; `request_id`, the request that queued the send the
    /// profile is read for, goes along as `X-Request-Id`.
    ///
    /// # Errors
    /// As [`InstagramClient::send_message`].
    async fn profile(
        &self,
        token: &SecretString,
        user: &InstagramId,
        request_id: Option<&RequestId>,
    ) -> Result<Profile, InstagramError>;
}

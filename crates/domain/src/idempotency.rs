//! Idempotency records for the send API (IETF Idempotency-Key draft).

use crate::{AccountId, MessageId, Timestamp, ValidationError};

/// A client-chosen idempotency key: 1 to 255 printable ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Longest key accepted.
    pub const MAX_LEN: usize = 255;

    /// Checks the key's shape.
    ///
    /// # Errors
    /// A [`ValidationError`] for `idempotency_key` when empty, too long or not printable ASCII.
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        if value.is_empty() || value.len() > Self::MAX_LEN {
            return Err(ValidationError::new(
                "idempotency_key",
                "must be 1 to 255 characters",
            ));
        }
        if !value.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
            return Err(ValidationError::new(
                "idempotency_key",
                "must be printable ASCII",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether the request that took a key has finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyState {
    /// The first request is still being processed.
    InProgress,
    /// The first request finished with this response, replayed to repeats.
    Completed {
        /// HTTP status of the original response.
        status: u16,
        /// Body of the original response.
        body: String,
    },
}

/// One idempotency key in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// Keys are scoped per account.
    pub account_id: AccountId,
    /// The key.
    pub key: IdempotencyKey,
    /// A digest of the request body: the same key with another body is refused.
    pub fingerprint: String,
    /// The message the request created, once known.
    pub message_id: Option<MessageId>,
    /// Processing state.
    pub state: IdempotencyState,
    /// When the key was first used.
    pub created_at: Timestamp,
    /// When it may be forgotten (at least 24 h after creation).
    pub expires_at: Timestamp,
}

/// What taking a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// The key was new and is now held by this request.
    Started,
    /// The key was already taken; here is its record.
    Existing(IdempotencyRecord),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_bounded_printable_ascii() {
        assert!(IdempotencyKey::parse("order-42 retry").is_ok());
        assert_eq!(
            IdempotencyKey::parse("").unwrap_err().field,
            "idempotency_key"
        );
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
        assert!(IdempotencyKey::parse("ключ").is_err());
    }
}

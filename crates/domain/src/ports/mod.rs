//! The ports: traits the domain needs the outside world to implement.
//!
//! Each is named for the role it plays. Every method's `# Errors` section states what an
//! implementation MUST return; `adapters-db`'s conformance suite checks exactly those lines on
//! every backend. Methods that look a row up return `Ok(None)` when it does not exist, so "not
//! found" never looks like "database down".

mod accounts;
mod api_keys;
mod cipher;
mod clock;
mod crm;
mod deliveries;
mod health;
mod idempotency;
mod instagram;
mod messages;
mod outbound;
mod pacing;
mod queues;
mod rules;
mod stats;

pub use accounts::{AccountStore, AccountStoreError};
pub use api_keys::ApiKeyStore;
pub use cipher::{CipherError, CredentialCipher};
pub use clock::Clock;
pub use crm::{CrmAttemptError, CrmNotifier, CrmRequest, CrmResponse};
pub use deliveries::{AttemptRecord, DeliveryQueue, DeliveryQueueError, DeliveryWithAttempts};
pub use health::HealthCheck;
pub use idempotency::IdempotencyStore;
pub use instagram::{InstagramClient, InstagramError, Profile, SentMessage};
pub use messages::MessageStore;
pub use outbound::{OutboundQueue, OutboundQueueError};
pub use pacing::SendPacing;
pub use queues::{QueueDepth, QueueDepths, QueueStats};
pub use rules::{ReplyRuleStore, RuleStoreError};
pub use stats::StatsStore;

/// A boxed error from an adapter's driver, kept as the `source` of a typed error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A failure of the storage backend itself, shared by every store port.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached: connection refused or lost, pool exhausted, timeout.
    /// Callers answer `503` so the client (Meta, the CRM) retries later.
    #[error("database unavailable")]
    Unavailable(#[source] BoxError),
    /// A stored row could not be read back as a domain value (a bug or a hand edit).
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// Any other database error.
    #[error("database error")]
    Backend(#[source] BoxError),
}

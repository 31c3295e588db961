//! Randomness for secrets and ids, from the operating system's CSPRNG (`ring::rand`).

use domain::id::ID_SUFFIX_LEN;
use domain::{AccountId, ApiKeyId, EventId, MessageId, RuleId};
use ring::rand::{SecureRandom, SystemRandom};

/// The operating system could not provide random bytes.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the operating system's random number generator failed")]
pub struct RandomUnavailable;

/// `N` random bytes.
///
/// # Errors
/// [`RandomUnavailable`] when the system generator fails.
pub fn bytes<const N: usize>() -> Result<[u8; N], RandomUnavailable> {
    let mut bytes = [0_u8; N];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| RandomUnavailable)?;
    Ok(bytes)
}

/// A new random account id.
///
/// # Errors
/// [`RandomUnavailable`] when the system generator fails.
pub fn account_id() -> Result<AccountId, RandomUnavailable> {
    bytes::<ID_SUFFIX_LEN>().map(AccountId::from_entropy)
}

/// A new random API key id.
///
/// # Errors
/// [`RandomUnavailable`] when the system generator fails.
pub fn api_key_id() -> Result<ApiKeyId, RandomUnavailable> {
    bytes::<ID_SUFFIX_LEN>().map(ApiKeyId::from_entropy)
}

/// A new random message id.
///
/// # Errors
/// [`RandomUnavailable`] when the system generator fails.
pub fn message_id() -> Result<MessageId, RandomUnavailable> {
    bytes::<ID_SUFFIX_LEN>().map(MessageId::from_entropy)
}

/// A new random CRM event id (a delivery's id and `webhook-id`).
///
/// # Errors
/// [`RandomUnavailable`] when the system generator fails.
pub fn event_id() -> Result<EventId, RandomUnavailable> {
    bytes::<ID_SUFFIX_LEN>().map(EventId::from_entropy)
}

/// A new random auto-reply rule id.
///
/// # Errors
/// [`RandomUnavailable`] when the system generator fails.
pub fn rule_id() -> Result<RuleId, RandomUnavailable> {
    bytes::<ID_SUFFIX_LEN>().map(RuleId::from_entropy)
}

//! The per-account send pace: the token bucket of contract §2, shared by every instance.

use std::time::Duration;

use async_trait::async_trait;

use super::StoreError;
use crate::{AccountId, Timestamp};

/// Spaces each account's Graph API sends, across every instance on the database.
///
/// A generic cell rate algorithm (a token bucket kept as one time per account): sends are spaced
/// `spacing` apart on average, and up to `burst` may go back to back after a quiet spell.
#[async_trait]
pub trait SendPacing: Send + Sync {
    /// Reserves one send of `account` and returns when it may start (`now` or later). Every
    /// reservation, from any instance, moves the account's pace on by `spacing`.
    ///
    /// # Errors
    /// `Unavailable`/`Backend` for backend failures. An unknown account is not an error: its
    /// send may start `now` (and will fail for want of the account).
    async fn reserve_send_slot(
        &self,
        account: &AccountId,
        now: Timestamp,
        spacing: Duration,
        burst: u32,
    ) -> Result<Timestamp, StoreError>;

    /// No send of `account` reserved from now on starts before `until` (Meta throttled it);
    /// other accounts are not affected.
    ///
    /// # Errors
    /// `Unavailable`/`Backend` for backend failures.
    async fn hold_sends(&self, account: &AccountId, until: Timestamp) -> Result<(), StoreError>;
}

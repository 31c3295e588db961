//! An account's activity over a range of days, computed by the storage (`GET .../stats`).

use async_trait::async_trait;

use super::StoreError;
use crate::AccountId;
use crate::stats::{AccountStats, StatsRange};

/// Computes [`AccountStats`] where the data is: counts, day buckets and percentiles are
/// aggregated by the storage itself, so a long range never loads its rows into the service.
#[async_trait]
pub trait StatsStore: Send + Sync {
    /// `account`'s stats over `range`, with the definitions of `domain::stats` (docs/api.md has
    /// them in full). `days` has one entry per day of the range, in order, zeros included. An
    /// account that does not exist has no activity: its stats are all zeros (callers check
    /// that the account exists first).
    ///
    /// # Errors
    /// MUST return `StoreError::Unavailable` when the backend cannot be reached, `Corrupt` when
    /// the backend answers a value that cannot be a count (negative) or a day outside the
    /// range, `Backend` for other backend failures.
    async fn account_stats(
        &self,
        account: &AccountId,
        range: &StatsRange,
    ) -> Result<AccountStats, StoreError>;
}

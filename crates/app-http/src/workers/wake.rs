//! [`Wake`]: how a request that just committed queue work tells this instance's worker to look
//! now instead of at its next poll, and for which accounts.

use std::collections::HashSet;
use std::mem;
use std::sync::{Arc, Mutex, PoisonError};

use domain::AccountId;
use tokio::sync::Notify;

/// A doorbell for one worker. Ringing it after a commit makes the worker claim at once; rings
/// while the worker is busy are remembered (one pending wake-up, and every account rung for), so
/// none is lost. Work written by other instances is found by the worker's polling instead.
///
/// A ring names the accounts whose work was queued, so that the worker can let a ring pass when
/// all of them are at their bound of work under way: a claim then would only scan their backlog
/// to return nothing (their work is claimed as soon as one of them has room).
#[derive(Debug, Clone, Default)]
pub struct Wake(Arc<Doorbell>);

#[derive(Debug, Default)]
struct Doorbell {
    notify: Notify,
    /// The accounts rung for since the worker last took them.
    rung: Mutex<HashSet<AccountId>>,
}

impl Wake {
    /// A new doorbell nobody has rung.
    pub fn new() -> Self {
        Self::default()
    }

    /// Tells the worker that work of `accounts` is due now (nothing when there is none).
    pub fn ring_for<'a>(&self, accounts: impl IntoIterator<Item = &'a AccountId>) {
        let mut rung = self.pending();
        let mut any = false;
        for account in accounts {
            rung.insert(account.clone());
            any = true;
        }
        drop(rung);
        if any {
            self.0.notify.notify_one();
        }
    }

    /// Completes at the next ring (or at once when a ring is pending) with the accounts rung for
    /// since the last call; none when an earlier wake-up already took them.
    pub(crate) async fn rung(&self) -> HashSet<AccountId> {
        self.0.notify.notified().await;
        mem::take(&mut *self.pending())
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashSet<AccountId>> {
        self.0.rung.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn account(n: u8) -> AccountId {
        AccountId::from_entropy([n; domain::id::ID_SUFFIX_LEN])
    }

    #[tokio::test]
    async fn rings_while_nobody_listens_add_up() {
        let wake = Wake::new();
        wake.ring_for([&account(1)]);
        wake.ring_for([&account(2), &account(1)]);
        assert_eq!(wake.rung().await, HashSet::from([account(1), account(2)]));
        // One wake-up for both rings.
        let again = tokio::time::timeout(Duration::from_millis(20), wake.rung()).await;
        assert!(again.is_err());
    }

    #[tokio::test]
    async fn a_ring_whose_accounts_were_taken_early_wakes_for_nothing() {
        let wake = Wake::new();
        wake.ring_for([&account(1)]);
        let first = wake.rung().await;
        // Rung while the worker was between its wake-up and taking the accounts.
        wake.ring_for([&account(2)]);
        assert_eq!(mem::take(&mut *wake.pending()), HashSet::from([account(2)]));
        assert_eq!(first, HashSet::from([account(1)]));
        assert!(wake.rung().await.is_empty());
    }

    #[tokio::test]
    async fn a_ring_for_no_account_wakes_nobody() {
        let wake = Wake::new();
        wake.ring_for([]);
        let woken = tokio::time::timeout(Duration::from_millis(20), wake.rung()).await;
        assert!(woken.is_err());
    }
}

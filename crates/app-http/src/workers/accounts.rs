//! The accounts a claimed batch belongs to, read once per batch by either worker.

use std::collections::{HashMap, HashSet};

use domain::ports::AccountStore;
use domain::{Account, AccountId};

/// An account as a worker found it when it claimed work for it.
#[derive(Debug, Clone)]
pub(crate) enum AccountLookup {
    /// The account, with its credentials and settings.
    Found(Box<Account>),
    /// The account is gone: deleting an account deletes its queued work, and this claim raced
    /// the delete. Recording the result finds nothing, which ends it.
    Gone,
    /// The account could not be read (the database failed): the work fails this time and is
    /// retried on its schedule.
    Unreadable,
}

/// Reads each distinct account of `ids` once; `worker` names the worker in the log.
pub(crate) async fn read_accounts<'a>(
    store: &dyn AccountStore,
    ids: impl IntoIterator<Item = &'a AccountId>,
    worker: &'static str,
) -> HashMap<AccountId, AccountLookup> {
    let distinct: HashSet<&AccountId> = ids.into_iter().collect();
    let mut found = HashMap::with_capacity(distinct.len());
    for id in distinct {
        let lookup = match store.account(id).await {
            Ok(Some(account)) => AccountLookup::Found(Box::new(account)),
            Ok(None) => AccountLookup::Gone,
            Err(error) => {
                tracing::warn!(worker, account.id = %id, error = %error, "could not read the account of claimed work");
                AccountLookup::Unreadable
            }
        };
        found.insert(id.clone(), lookup);
    }
    found
}

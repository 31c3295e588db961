//! [`Pump`]: the loop both queue workers share. It claims due work when rung, on a poll, and
//! when a finished task leaves room behind a claim that left work; runs each claimed item as its own task;
//! bounds how many items are claimed and not finished, in all and per account; and, when told
//! to stop, lets the tasks under way finish for a while.
//!
//! An account at its bound is left out of the next claim (the queues' `skip_accounts`), so one
//! slow account holds at most `per_account + batch` of the slots and never stalls the others.
//! Leaving accounts out costs the database a scan of their due rows, so the pump does not claim
//! again for them until one has room: rings for accounts all at their bound, and tasks ending
//! while every account a short claim left out is still at its bound, start no claim ([`Left`]).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use domain::AccountId;
use tokio::sync::{Semaphore, SemaphorePermit, watch};
use tokio::task::JoinSet;
use tokio::time::{MissedTickBehavior, interval};

use super::Wake;

/// One claimed item's work, ready to run.
pub(crate) type Task = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// What a queue worker does with its queue: claim, then turn claimed items into tasks.
pub(crate) trait Job: Send + Sync + 'static {
    /// What a claim returns.
    type Item: Send + 'static;

    /// The worker's name in logs (`"delivery"`, `"send"`).
    const NAME: &'static str;

    /// Claims up to `limit` due items, none of `skip_accounts`.
    ///
    /// # Errors
    /// A message for the log; the pump tries again at the next poll.
    fn claim(
        &self,
        limit: u32,
        skip_accounts: Vec<AccountId>,
    ) -> impl Future<Output = Result<Vec<Self::Item>, String>> + Send;

    /// The account an item belongs to.
    fn account(item: &Self::Item) -> &AccountId;

    /// The tasks for a claimed batch, in any order (a job may read what the batch shares once).
    fn tasks(&self, items: Vec<Self::Item>) -> impl Future<Output = Vec<(AccountId, Task)>> + Send;
}

/// How a pump paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PumpSettings {
    /// Most items claimed and not finished at once, per instance.
    pub(crate) concurrency: usize,
    /// Most tasks running at once for one account.
    pub(crate) per_account: usize,
    /// Most items taken by one claim.
    pub(crate) batch: u32,
    /// How often to look for due work when nothing rang.
    pub(crate) poll_interval: Duration,
}

impl PumpSettings {
    /// Settings from the configured bounds: the batch is at most 64 and never above the total.
    pub(crate) fn new(concurrency: usize, per_account: usize, poll_interval: Duration) -> Self {
        let concurrency = concurrency.max(1);
        Self {
            concurrency,
            per_account: per_account.clamp(1, concurrency),
            batch: u32::try_from(concurrency.min(64)).unwrap_or(64),
            poll_interval,
        }
    }

    /// How many tasks of one account may run before a claimed item of that account gets its
    /// turn, at most: the rest of its claim, in rounds of `per_account`. A lease must cover that
    /// many attempts plus the item's own.
    pub(crate) fn turns_ahead(&self) -> u32 {
        let batch = usize::try_from(self.batch).unwrap_or(64);
        u32::try_from(batch.div_ceil(self.per_account)).unwrap_or(u32::MAX)
    }
}

/// Runs a [`Job`] until stopped.
pub(crate) struct Pump<J: Job> {
    job: J,
    wake: Wake,
    settings: PumpSettings,
    slots: Arc<Slots>,
}

impl<J: Job> Pump<J> {
    /// A pump for `job`, woken by `wake`.
    pub(crate) fn new(job: J, wake: Wake, settings: PumpSettings) -> Self {
        Self {
            job,
            wake,
            slots: Arc::new(Slots::new(settings.per_account)),
            settings,
        }
    }

    /// Works until `stop` turns true (or its sender is dropped), then lets the tasks under way
    /// finish, for at most `drain`. Tasks cut off then are taken up again by whichever worker
    /// claims their items once the claims expire.
    pub(crate) async fn run(self, mut stop: watch::Receiver<bool>, drain: Duration) {
        let mut tasks = JoinSet::new();
        let mut poll = interval(self.settings.poll_interval);
        poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // Look at once: work may have been left by a previous run.
        let mut look = true;
        let mut left = Left::Nothing;
        loop {
            if *stop.borrow() {
                break;
            }
            if look {
                left = self.claim_and_start(&mut tasks).await;
                look = false;
            }
            tokio::select! {
                changed = stop.changed() => if changed.is_err() { break },
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {
                    look = left.claim_when_a_task_ends(&self.slots);
                }
                rung = self.wake.rung() => look = left.claim_when_rung(rung, &self.slots),
                _ = poll.tick() => look = true,
            }
        }
        if tasks.is_empty() {
            return;
        }
        tracing::info!(
            worker = J::NAME,
            tasks = tasks.len(),
            "worker stopping: finishing the work under way"
        );
        let drained =
            tokio::time::timeout(drain, async { while tasks.join_next().await.is_some() {} }).await;
        if drained.is_err() {
            tracing::warn!(
                worker = J::NAME,
                tasks = tasks.len(),
                "work still running at shutdown was cut off; it is taken up again when its claims expire"
            );
            tasks.abort_all();
        }
    }

    /// Claims what fits and starts a task for each item. Returns what due work the claim may
    /// have left behind.
    async fn claim_and_start(&self, tasks: &mut JoinSet<()>) -> Left {
        // Finished tasks stay in the set until joined; count only those still running, or a
        // burst that just ended would leave room for one claim per loop turn.
        while tasks.try_join_next().is_some() {}
        let room = self.settings.concurrency.saturating_sub(tasks.len());
        let limit = u32::try_from(room)
            .unwrap_or(u32::MAX)
            .min(self.settings.batch);
        if limit == 0 {
            return Left::More;
        }
        let busy = self.slots.busy_accounts();
        let claimed = match self.job.claim(limit, busy.clone()).await {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(worker = J::NAME, error = %error, "could not claim work; will try again when a task ends or at the next poll");
                // Whatever was rung for or left behind is still due.
                return Left::More;
            }
        };
        let left = if claimed.len() == usize::try_from(limit).unwrap_or(usize::MAX) {
            Left::More
        } else if busy.is_empty() {
            Left::Nothing
        } else {
            // A short claim took every due item but those of the accounts it left out.
            Left::OfBusy(busy.into_iter().collect())
        };
        // Count every item before any task runs, so the next claim already sees them.
        let mut places: HashMap<AccountId, Vec<Slot>> = HashMap::new();
        for item in &claimed {
            let account = J::account(item);
            let slot = self.slots.take(account);
            places.entry(account.clone()).or_default().push(slot);
        }
        for (account, task) in self.job.tasks(claimed).await {
            let slot = places
                .get_mut(&account)
                .and_then(Vec::pop)
                .unwrap_or_else(|| self.slots.take(&account));
            tasks.spawn(async move {
                let _turn = slot.wait().await;
                task.await;
            });
        }
        // Slots left over belong to items the job made no task for; dropping them frees them.
        left
    }
}

/// What due work the last claim may have left behind, and so when to claim again (besides the
/// poll, which always claims).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Left {
    /// Nothing known: claim again when rung.
    Nothing,
    /// Maybe anything: the claim was full, there was no room to claim, or it failed.
    More,
    /// The work of these accounts, left out because they were at their bound.
    OfBusy(HashSet<AccountId>),
}

impl Left {
    /// Whether to claim now that a task ended: when more may be due, or when an account whose
    /// work was left out has room again. Not while they are all still at their bound: with a
    /// long backlog of one slow account, every such claim would scan that backlog for nothing.
    fn claim_when_a_task_ends(&self, slots: &Slots) -> bool {
        match self {
            Self::Nothing => false,
            Self::More => true,
            Self::OfBusy(accounts) => accounts.iter().any(|account| !slots.is_busy(account)),
        }
    }

    /// Whether to claim now that a request rang for `rung`: unless every account it rang for
    /// is at its bound; their work is then remembered, to be claimed when they have room.
    fn claim_when_rung(&mut self, accounts: HashSet<AccountId>, slots: &Slots) -> bool {
        if accounts.is_empty() {
            return false;
        }
        if accounts.iter().any(|account| !slots.is_busy(account)) {
            return true;
        }
        match self {
            Self::Nothing => *self = Self::OfBusy(accounts),
            Self::OfBusy(waiting) => waiting.extend(accounts),
            Self::More => {}
        }
        false
    }
}

/// Per-account slots of this instance: how many of an account's items are claimed and not
/// finished, and the semaphore their tasks take turns on.
struct Slots {
    per_account: usize,
    accounts: Mutex<HashMap<AccountId, AccountSlots>>,
}

struct AccountSlots {
    claimed: usize,
    turns: Arc<Semaphore>,
}

/// One claimed item's place: holds the account's count until dropped, also when the task
/// panics, so the account is never left looking busy.
struct Slot {
    slots: Arc<Slots>,
    account: AccountId,
    turns: Arc<Semaphore>,
}

impl Slots {
    fn new(per_account: usize) -> Self {
        Self {
            per_account,
            accounts: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `account` has `per_account` or more items claimed.
    fn is_busy(&self, account: &AccountId) -> bool {
        let accounts = self.accounts.lock().unwrap_or_else(PoisonError::into_inner);
        accounts
            .get(account)
            .is_some_and(|slots| slots.claimed >= self.per_account)
    }

    /// Accounts with `per_account` or more items claimed: left out of the next claim.
    fn busy_accounts(&self) -> Vec<AccountId> {
        let accounts = self.accounts.lock().unwrap_or_else(PoisonError::into_inner);
        accounts
            .iter()
            .filter(|(_, slots)| slots.claimed >= self.per_account)
            .map(|(id, _)| id.clone())
            .collect()
    }

    fn take(self: &Arc<Self>, account: &AccountId) -> Slot {
        let mut accounts = self.accounts.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = accounts
            .entry(account.clone())
            .or_insert_with(|| AccountSlots {
                claimed: 0,
                turns: Arc::new(Semaphore::new(self.per_account)),
            });
        entry.claimed += 1;
        Slot {
            slots: Arc::clone(self),
            account: account.clone(),
            turns: Arc::clone(&entry.turns),
        }
    }
}

impl Slot {
    /// Waits for the account's turn; the permit ends the turn when dropped.
    async fn wait(&self) -> Option<SemaphorePermit<'_>> {
        // `acquire` fails only on a closed semaphore, which is never closed: go ahead then.
        self.turns.acquire().await.ok()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut accounts = self
            .slots
            .accounts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = accounts.get_mut(&self.account) {
            entry.claimed = entry.claimed.saturating_sub(1);
            if entry.claimed == 0 {
                accounts.remove(&self.account);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(n: u8) -> AccountId {
        AccountId::from_entropy([n; domain::id::ID_SUFFIX_LEN])
    }

    #[tokio::test]
    async fn an_account_at_its_bound_is_busy_until_a_slot_is_dropped() {
        let slots = Arc::new(Slots::new(2));
        let first = slots.take(&account(1));
        let _second = slots.take(&account(1));
        let _other = slots.take(&account(2));
        assert_eq!(slots.busy_accounts(), vec![account(1)]);
        let turn = first.wait().await;
        assert!(turn.is_some());
        drop(turn);
        drop(first);
        assert!(slots.busy_accounts().is_empty());
    }

    #[test]
    fn a_short_claim_that_left_busy_accounts_out_waits_for_one_to_have_room() {
        let slots = Arc::new(Slots::new(1));
        let busy = slots.take(&account(1));
        let left = Left::OfBusy(HashSet::from([account(1)]));
        assert!(!left.claim_when_a_task_ends(&slots));
        drop(busy);
        assert!(left.claim_when_a_task_ends(&slots));
        assert!(Left::More.claim_when_a_task_ends(&slots));
        assert!(!Left::Nothing.claim_when_a_task_ends(&slots));
    }

    #[test]
    fn rings_for_busy_accounts_are_remembered_until_they_have_room() {
        let slots = Arc::new(Slots::new(1));
        let busy = slots.take(&account(1));
        let mut left = Left::Nothing;
        assert!(!left.claim_when_rung(HashSet::from([account(1)]), &slots));
        assert_eq!(left, Left::OfBusy(HashSet::from([account(1)])));
        assert!(!left.claim_when_a_task_ends(&slots));
        // Another account's work is claimed at once.
        assert!(left.claim_when_rung(HashSet::from([account(2)]), &slots));
        assert!(!left.claim_when_rung(HashSet::new(), &slots));
        drop(busy);
        assert!(left.claim_when_a_task_ends(&slots));
    }

    #[test]
    fn settings_bound_the_batch_and_count_the_turns_ahead() {
        let settings = PumpSettings::new(128, 16, Duration::from_secs(1));
        assert_eq!((settings.batch, settings.turns_ahead()), (64, 4));
        let small = PumpSettings::new(4, 16, Duration::from_secs(1));
        assert_eq!(
            (small.batch, small.per_account, small.turns_ahead()),
            (4, 4, 1)
        );
    }
}

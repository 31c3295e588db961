//! The CRM delivery worker: claims due deliveries from the outbox and posts them, signed, to each
//! account's CRM, at least once.
//!
//! It wakes when this instance commits deliveries ([`Wake`]) and polls as a fallback, for work
//! other instances wrote and for retries coming due. Claims go through the database
//! (`DeliveryQueue::claim_due_deliveries`), so several instances never attempt one delivery at
//! once; a claim is a lease, and the work of a worker that died comes back when it expires.
//!
//! Concurrency is bounded twice: at most `concurrency` claimed deliveries per instance, and at
//! most `per_account` attempts at once per account (its CRM endpoint). An account at its bound is
//! left out of further claims, so a slow or dead CRM holds at most `per_account + batch` of the
//! instance's slots and never stalls other accounts.

mod attempt;
mod metrics;
mod schedule;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use domain::ports::{AccountStore, Clock, CredentialCipher, CrmNotifier, DeliveryQueue};
use domain::{AccountId, CrmDelivery};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::{MissedTickBehavior, interval};

pub use metrics::{DeliveryMetrics, DeliveryMetricsSnapshot, LATENCY_BUCKETS_MS};

use self::attempt::{AttemptContext, Recipient};
use super::Wake;
use crate::config::CrmConfig;

/// Part of a lease left for writing an attempt's result after the attempt's own timeout.
const RECORD_MARGIN: Duration = Duration::from_secs(5);

/// How the delivery worker paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliverySettings {
    /// Most deliveries claimed and not finished at once, per instance.
    pub concurrency: usize,
    /// Most attempts at once to one account's CRM.
    pub per_account: usize,
    /// Most deliveries taken by one claim.
    pub batch: u32,
    /// How often to look for due work when nothing rang (retries coming due, other instances'
    /// work).
    pub poll_interval: Duration,
    /// How long a claim holds: past it, another worker may take the delivery over. Covers the
    /// wait for a per-account slot plus one attempt (see [`DeliverySettings::from_config`]).
    pub lease: Duration,
}

impl DeliverySettings {
    /// The settings for `crm` (`HTTP_TIMEOUT`, and the concurrency settings).
    ///
    /// A claimed delivery may wait for its account's slot behind at most `batch` others of the
    /// same claim, i.e. `batch / per_account` attempts, each at most `HTTP_TIMEOUT`; the lease
    /// covers that, its own attempt, and [`RECORD_MARGIN`] for recording the result. A lease too short
    /// would let a second worker start the same attempt while the first still runs.
    pub fn from_config(crm: &CrmConfig) -> Self {
        let concurrency = crm.delivery_concurrency.max(1);
        let per_account = crm.delivery_concurrency_per_account.clamp(1, concurrency);
        let batch = u32::try_from(concurrency.min(64)).unwrap_or(64);
        let rounds = u32::try_from(usize::try_from(batch).unwrap_or(64).div_ceil(per_account))
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        Self {
            concurrency,
            per_account,
            batch,
            poll_interval: crm.delivery_poll_interval,
            lease: crm
                .http_timeout
                .saturating_mul(rounds)
                .saturating_add(RECORD_MARGIN),
        }
    }
}

/// The delivery worker of one instance.
pub(crate) struct DeliveryWorker {
    context: Arc<AttemptContext>,
    accounts: Arc<dyn AccountStore>,
    wake: Wake,
    settings: DeliverySettings,
    slots: Arc<Slots>,
}

/// The ports the worker drives.
pub(crate) struct DeliveryPorts {
    pub(crate) queue: Arc<dyn DeliveryQueue>,
    pub(crate) accounts: Arc<dyn AccountStore>,
    pub(crate) cipher: Arc<dyn CredentialCipher>,
    pub(crate) notifier: Arc<dyn CrmNotifier>,
    pub(crate) clock: Arc<dyn Clock>,
}

impl DeliveryWorker {
    /// A worker over `ports`, woken by `wake`, retrying on `crm.retry_schedule`, counting into
    /// `metrics`.
    pub(crate) fn new(
        ports: DeliveryPorts,
        crm: &CrmConfig,
        wake: Wake,
        metrics: Arc<DeliveryMetrics>,
    ) -> Self {
        let settings = DeliverySettings::from_config(crm);
        Self {
            context: Arc::new(AttemptContext {
                queue: ports.queue,
                cipher: ports.cipher,
                notifier: ports.notifier,
                clock: ports.clock,
                schedule: crm.retry_schedule.clone(),
                metrics,
            }),
            accounts: ports.accounts,
            wake,
            settings,
            slots: Arc::new(Slots::new(settings.per_account)),
        }
    }

    /// Delivers until `stop` turns true (or its sender is dropped), then lets the attempts under
    /// way finish, for at most `drain`. Attempts cut off then are retried by whichever worker
    /// claims them once their lease expires.
    pub(crate) async fn run(self, mut stop: watch::Receiver<bool>, drain: Duration) {
        let mut tasks = JoinSet::new();
        let mut poll = interval(self.settings.poll_interval);
        poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // Look at once: work may have been left by a previous run.
        let mut look = true;
        // The last claim may have left due work behind (it was full, or there was no room).
        let mut backlog = false;
        loop {
            if *stop.borrow() {
                break;
            }
            if look {
                backlog = self.claim_and_start(&mut tasks).await;
                look = false;
            }
            tokio::select! {
                changed = stop.changed() => if changed.is_err() { break },
                Some(_) = tasks.join_next(), if !tasks.is_empty() => look = backlog,
                () = self.wake.rung() => look = true,
                _ = poll.tick() => look = true,
            }
        }
        if !tasks.is_empty() {
            tracing::info!(
                attempts = tasks.len(),
                "delivery worker stopping: finishing attempts under way"
            );
            if tokio::time::timeout(drain, async { while tasks.join_next().await.is_some() {} })
                .await
                .is_err()
            {
                tracing::warn!(
                    attempts = tasks.len(),
                    "delivery attempts still running at shutdown were cut off; they will be retried when their claims expire"
                );
                tasks.abort_all();
            }
        }
    }

    /// Claims what fits and starts an attempt for each. Returns whether due work may remain
    /// (the claim was full or there was no room to claim).
    async fn claim_and_start(&self, tasks: &mut JoinSet<()>) -> bool {
        let room = self.settings.concurrency.saturating_sub(tasks.len());
        let limit = u32::try_from(room)
            .unwrap_or(u32::MAX)
            .min(self.settings.batch);
        if limit == 0 {
            return true;
        }
        let now = self.context.clock.now();
        let busy = self.slots.busy_accounts();
        let claimed = match self
            .context
            .queue
            .claim_due_deliveries(now, limit, self.settings.lease, &busy)
            .await
        {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(error = %error, "could not claim crm deliveries; will try again at the next poll");
                return false;
            }
        };
        let full = claimed.len() == usize::try_from(limit).unwrap_or(usize::MAX);
        let recipients = self.recipients(&claimed).await;
        for delivery in claimed {
            let recipient = recipients
                .get(&delivery.account_id)
                .cloned()
                .unwrap_or(Recipient::Unreadable);
            let slot = self.slots.take(&delivery.account_id);
            let context = Arc::clone(&self.context);
            tasks.spawn(async move {
                let _permit = slot.wait().await;
                context.metrics.started();
                attempt::attempt(&context, delivery, recipient).await;
                context.metrics.ended();
            });
        }
        full
    }

    /// The accounts of `claimed`, each read once.
    async fn recipients(&self, claimed: &[CrmDelivery]) -> HashMap<AccountId, Recipient> {
        let ids: HashSet<&AccountId> = claimed.iter().map(|d| &d.account_id).collect();
        let mut found = HashMap::with_capacity(ids.len());
        for id in ids {
            let recipient = match self.accounts.account(id).await {
                Ok(Some(account)) => Recipient::Account(Box::new(account)),
                Ok(None) => Recipient::Gone,
                Err(error) => {
                    tracing::warn!(account.id = %id, error = %error, "could not read the account of a crm delivery");
                    Recipient::Unreadable
                }
            };
            found.insert(id.clone(), recipient);
        }
        found
    }
}

/// Per-account attempt slots of this instance: how many of an account's deliveries are claimed
/// and not finished, and the semaphore their attempts take turns on.
struct Slots {
    per_account: usize,
    accounts: Mutex<HashMap<AccountId, AccountSlots>>,
}

struct AccountSlots {
    claimed: usize,
    turns: Arc<Semaphore>,
}

/// One claimed delivery's place: holds the account's count up until dropped, also when the
/// attempt panics, so the account is never left looking busy.
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

    /// Accounts with `per_account` or more deliveries claimed: left out of the next claim.
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
    async fn wait(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
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
        let permit_a = first.wait().await;
        assert!(permit_a.is_some());
        drop(permit_a);
        drop(first);
        assert!(slots.busy_accounts().is_empty());
    }

    #[test]
    fn the_lease_covers_the_wait_for_a_slot_and_the_attempt() {
        let crm = CrmConfig {
            retry_schedule: domain::RetrySchedule::parse("X", "5s").unwrap(),
            http_timeout: Duration::from_secs(15),
            allow_private_webhook_urls: true,
            delivery_concurrency: 128,
            delivery_concurrency_per_account: 16,
            delivery_poll_interval: Duration::from_secs(1),
        };
        let settings = DeliverySettings::from_config(&crm);
        assert_eq!(settings.batch, 64);
        // 64 / 16 = 4 turns ahead at most, plus its own, plus the margin.
        assert_eq!(settings.lease, Duration::from_secs(5 * 15 + 5));
    }
}

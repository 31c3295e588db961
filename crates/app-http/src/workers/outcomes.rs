//! [`SendOutcomes`]: how the send worker tells a request waiting on `Prefer: wait=N` that the
//! message it queued has a new outcome, so the request reads the row once instead of polling.
//!
//! The registry only holds messages somebody waits for, and forgets each as soon as its last
//! waiter leaves (answered, timed out, or the client went away). A publish for a message nobody
//! waits for costs one map lookup. Outcomes recorded by another instance's worker are not
//! published here: a waiting request reads the row once more at its deadline for those.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use domain::MessageId;
use tokio::sync::watch;

/// Waiters per outbound message, shared by the send worker (publishes) and the send handler
/// (waits).
#[derive(Debug, Clone, Default)]
pub struct SendOutcomes(Arc<Mutex<HashMap<MessageId, Entry>>>);

/// One waited-for message: a counter bumped by each publish, and how many wait on it.
#[derive(Debug)]
struct Entry {
    publishes: watch::Sender<u64>,
    waiters: usize,
}

/// A subscription to one message's outcomes; unsubscribes when dropped.
#[derive(Debug)]
pub struct OutcomeWaiter {
    outcomes: SendOutcomes,
    id: MessageId,
    publishes: watch::Receiver<u64>,
}

impl SendOutcomes {
    /// A registry nobody waits on.
    pub fn new() -> Self {
        Self::default()
    }

    /// Tells whoever waits for `id` that its row changed (the send worker calls it after
    /// `finish_outbound`). Does nothing when nobody waits.
    pub fn publish(&self, id: &MessageId) {
        if let Some(entry) = self.lock().get(id) {
            entry
                .publishes
                .send_modify(|count| *count = count.wrapping_add(1));
        }
    }

    /// Starts waiting for `id`'s outcomes. Subscribe before the message can be finished (before
    /// it is queued), so no publish falls between the two.
    pub fn subscribe(&self, id: &MessageId) -> OutcomeWaiter {
        let mut entries = self.lock();
        let entry = entries.entry(id.clone()).or_insert_with(|| Entry {
            publishes: watch::channel(0).0,
            waiters: 0,
        });
        entry.waiters += 1;
        OutcomeWaiter {
            outcomes: self.clone(),
            id: id.clone(),
            publishes: entry.publishes.subscribe(),
        }
    }

    /// How many messages somebody waits for.
    pub fn waited_for(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<MessageId, Entry>> {
        // The map stays consistent even if a holder panicked: every change is one statement.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl OutcomeWaiter {
    /// The message this waiter waits for.
    pub fn id(&self) -> &MessageId {
        &self.id
    }

    /// Completes at the first publish for the message since the subscription or since the
    /// previous call completed; a publish made while nobody was polling is not lost.
    pub async fn published(&mut self) {
        if self.publishes.changed().await.is_err() {
            // The sender lives in the registry as long as this waiter does, so this cannot
            // happen; never completing is the safe answer (the caller has a deadline).
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for OutcomeWaiter {
    fn drop(&mut self) {
        let mut entries = self.outcomes.lock();
        if let Some(entry) = entries.get_mut(&self.id) {
            entry.waiters = entry.waiters.saturating_sub(1);
            if entry.waiters == 0 {
                entries.remove(&self.id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::timeout;

    use super::*;

    fn id(n: u8) -> MessageId {
        MessageId::from_entropy([n; 12])
    }

    async fn is_published(waiter: &mut OutcomeWaiter) -> bool {
        timeout(Duration::from_millis(50), waiter.published())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn a_publish_wakes_the_waiters_of_that_message_only() {
        let outcomes = SendOutcomes::new();
        let mut first = outcomes.subscribe(&id(1));
        let mut second = outcomes.subscribe(&id(1));
        let mut other = outcomes.subscribe(&id(2));

        outcomes.publish(&id(1));

        assert!(is_published(&mut first).await);
        assert!(is_published(&mut second).await);
        assert!(!is_published(&mut other).await);
        assert!(!is_published(&mut first).await, "one publish wakes once");
    }

    #[tokio::test]
    async fn a_publish_while_nobody_polls_is_kept_for_the_next_wait() {
        let outcomes = SendOutcomes::new();
        let mut waiter = outcomes.subscribe(&id(1));
        outcomes.publish(&id(1));
        outcomes.publish(&id(1));

        assert!(is_published(&mut waiter).await);
        assert!(!is_published(&mut waiter).await, "publishes coalesce");
    }

    #[tokio::test]
    async fn a_waiter_blocked_in_published_is_woken() {
        let outcomes = SendOutcomes::new();
        let mut waiter = outcomes.subscribe(&id(1));
        let publisher = outcomes.clone();
        let wait = tokio::spawn(async move {
            waiter.published().await;
        });
        tokio::time::sleep(Duration::from_millis(20)).await;

        publisher.publish(&id(1));

        timeout(Duration::from_secs(5), wait)
            .await
            .expect("woken")
            .unwrap();
    }

    #[tokio::test]
    async fn publishes_before_subscribing_are_not_seen() {
        let outcomes = SendOutcomes::new();
        outcomes.publish(&id(1));
        assert_eq!(outcomes.waited_for(), 0, "a publish registers nothing");

        let mut waiter = outcomes.subscribe(&id(1));

        assert!(!is_published(&mut waiter).await);
    }

    #[test]
    fn entries_go_when_their_last_waiter_leaves() {
        let outcomes = SendOutcomes::new();
        let first = outcomes.subscribe(&id(1));
        let second = outcomes.subscribe(&id(1));
        let other = outcomes.subscribe(&id(2));
        assert_eq!(outcomes.waited_for(), 2);
        assert_eq!(first.id(), &id(1));

        drop(first);
        assert_eq!(outcomes.waited_for(), 2);
        drop(second);
        assert_eq!(outcomes.waited_for(), 1);
        drop(other);
        assert_eq!(outcomes.waited_for(), 0);
    }
}

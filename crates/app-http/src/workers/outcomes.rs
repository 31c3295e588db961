//! [`SendOutcomes`]: how the send worker tells a request waiting on `Prefer: wait=N` that the
//! message it queued has a new outcome, so the request reads the row once instead of polling.
//!
//! The registry only holds messages somebody waits for, and forgets each as soon as its last
//! waiter leaves (answered, timed out, or the client went away). A publish for a message nobody
//! waits for costs one map lookup. Outcomes recorded by another instance's worker are not
//! published here: a waiting request reads the row once more at its deadline for those.
//!
//! At shutdown the send worker, once its last call has finished, closes the registry: nothing
//! more will be published, so every wait ends at once (the request answers with what the row
//! says) instead of holding the shutdown up until its deadline.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use domain::MessageId;
use tokio::sync::watch;

/// Waiters per outbound message, shared by the send worker (publishes) and the send handler
/// (waits).
#[derive(Debug, Clone)]
pub struct SendOutcomes {
    entries: Arc<Mutex<HashMap<MessageId, Entry>>>,
    /// Turns true when the send worker has stopped: nothing is published any more.
    closed: Arc<watch::Sender<bool>>,
}

impl Default for SendOutcomes {
    fn default() -> Self {
        Self {
            entries: Arc::default(),
            closed: Arc::new(watch::channel(false).0),
        }
    }
}

/// What ended a wait in [`OutcomeWaiter::published`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Word {
    /// The message's row changed: read it.
    Published,
    /// The send worker has stopped (shutdown): nothing more will be published; read the row
    /// once and answer.
    Closed,
}

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
    closed: watch::Receiver<bool>,
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
            closed: self.closed.subscribe(),
        }
    }

    /// Ends every wait, now and later: the send worker has stopped and publishes nothing more.
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    /// How many messages somebody waits for.
    pub fn waited_for(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<MessageId, Entry>> {
        // The map stays consistent even if a holder panicked: every change is one statement.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl OutcomeWaiter {
    /// The message this waiter waits for.
    pub fn id(&self) -> &MessageId {
        &self.id
    }

    /// Completes at the first publish for the message since the subscription or since the
    /// previous call completed (a publish made while nobody was polling is not lost), or at once
    /// when the registry is closed.
    pub async fn published(&mut self) -> Word {
        let closed = *self.closed.borrow();
        if closed {
            return Word::Closed;
        }
        tokio::select! {
            changed = self.publishes.changed() => {
                if changed.is_err() {
                    // The sender lives in the registry as long as this waiter does, so this
                    // cannot happen; never completing is the safe answer (the caller has a
                    // deadline).
                    std::future::pending::<()>().await;
                }
                Word::Published
            }
            // An error means the registry is gone, which also means nothing more is published.
            // The guard `wait_for` returns is dropped inside, as it is not `Send`.
            () = async { drop(self.closed.wait_for(|closed| *closed).await) } => Word::Closed,
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

    #[tokio::test]
    async fn closing_ends_every_wait_now_and_later() {
        let outcomes = SendOutcomes::new();
        let mut waiter = outcomes.subscribe(&id(1));
        let closer = outcomes.clone();
        let wait = tokio::spawn(async move { waiter.published().await });
        tokio::time::sleep(Duration::from_millis(20)).await;

        closer.close();

        let word = timeout(Duration::from_secs(5), wait).await.expect("woken");
        assert_eq!(word.unwrap(), Word::Closed);
        let mut later = outcomes.subscribe(&id(2));
        assert_eq!(later.published().await, Word::Closed);
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

//! [`SendOutcomes`]: how the send worker tells a request waiting on `Prefer: wait=N` that the
//! message it queued has a new outcome, so the request reads the row once instead of polling.
//!
//! The registry only holds messages somebody waits for, and forgets each as soon as its last
//! waiter leaves (answered, timed out, or the client went away). A publish for a message nobody
//! waits for costs one map lookup. Outcomes recorded by another instance's worker are not
//! published here: a waiting request reads the row once more at its deadline for those.
//!
//! Shutdown happens in two steps, so no wait outlives the server's own drain:
//! - when the stop signal fires, the registry is *stopping*: no new send will be started, so a
//!   wait for a message no worker of this instance has claimed ends at once (the request reads
//!   the row and answers `202`); a wait for a message claimed here (its call under way, or
//!   waiting for its account's turn, [`SendOutcomes::started`]) goes on for its outcome;
//! - once the send worker has drained, the registry is *closed*: nothing more will be
//!   published, so every wait still open ends at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use domain::MessageId;
use tokio::sync::watch;

/// Waiters per outbound message, shared by the send worker (publishes) and the send handler
/// (waits).
#[derive(Debug, Clone)]
pub struct SendOutcomes {
    entries: Arc<Mutex<HashMap<MessageId, Entry>>>,
    /// Messages this instance's send worker has claimed and not finished, with how many times
    /// (a claim taken over after its lease may overlap the first one's end).
    in_flight: Arc<Mutex<HashMap<MessageId, usize>>>,
    /// Where shutdown is.
    phase: Arc<watch::Sender<Phase>>,
}

impl Default for SendOutcomes {
    fn default() -> Self {
        Self {
            entries: Arc::default(),
            in_flight: Arc::default(),
            phase: Arc::new(watch::channel(Phase::Running).0),
        }
    }
}

/// Where the registry is in the service's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// Sends are claimed and started.
    Running,
    /// The stop signal fired: nothing new is started; the sends claimed go on.
    Stopping,
    /// The send worker has stopped: nothing is published any more.
    Closed,
}

/// What ended a wait in [`OutcomeWaiter::published`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Word {
    /// The message's row changed: read it.
    Published,
    /// Nothing more will be published for the message: the service is stopping and no worker
    /// of this instance has it, or the send worker has stopped. Read the row once and answer.
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
    phase: watch::Receiver<Phase>,
}

/// A message the send worker has claimed, from the claim until its task ends (finished,
/// handed back, or cut off at shutdown); see [`SendOutcomes::started`].
#[derive(Debug)]
pub struct InFlight {
    outcomes: SendOutcomes,
    id: MessageId,
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
            phase: self.phase.subscribe(),
        }
    }

    /// Marks `id` as claimed by this instance's send worker until the returned guard is
    /// dropped: while it is held, a wait for the message goes on after the stop signal.
    pub fn started(&self, id: &MessageId) -> InFlight {
        *self.in_flight().entry(id.clone()).or_insert(0) += 1;
        InFlight {
            outcomes: self.clone(),
            id: id.clone(),
        }
    }

    /// The stop signal fired: ends the waits for messages no worker of this instance has, now
    /// and later; the others go on until their outcome or [`Self::close`].
    pub fn stopping(&self) {
        self.phase.send_if_modified(|phase| {
            let changed = *phase == Phase::Running;
            if changed {
                *phase = Phase::Stopping;
            }
            changed
        });
    }

    /// Ends every wait, now and later: the send worker has stopped and publishes nothing more.
    pub fn close(&self) {
        self.phase.send_replace(Phase::Closed);
    }

    /// How many messages somebody waits for.
    pub fn waited_for(&self) -> usize {
        self.lock().len()
    }

    fn is_in_flight(&self, id: &MessageId) -> bool {
        self.in_flight().contains_key(id)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<MessageId, Entry>> {
        // The map stays consistent even if a holder panicked: every change is one statement.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashMap<MessageId, usize>> {
        // As above: every change is one statement.
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        {
            let mut in_flight = self.outcomes.in_flight();
            if let Some(count) = in_flight.get_mut(&self.id) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    in_flight.remove(&self.id);
                }
            }
        }
        // While stopping, a waiter that went on waiting because the message was claimed must
        // hear that it no longer is (a retry handed it back, or it was cut off), or it would wait
        // for the close; it reads the row once more and then ends.
        if *self.outcomes.phase.borrow() != Phase::Running {
            self.outcomes.publish(&self.id);
        }
    }
}

impl OutcomeWaiter {
    /// The message this waiter waits for.
    pub fn id(&self) -> &MessageId {
        &self.id
    }

    /// Completes at the first publish for the message since the subscription or since the
    /// previous call completed (a publish made while nobody was polling is not lost); at once
    /// when the registry is closed, or stopping and the message is not claimed here.
    pub async fn published(&mut self) -> Word {
        loop {
            let phase = *self.phase.borrow_and_update();
            let over = match phase {
                Phase::Running => false,
                Phase::Stopping => !self.outcomes.is_in_flight(&self.id),
                Phase::Closed => true,
            };
            if over {
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
                    return Word::Published;
                }
                changed = self.phase.changed() => {
                    // An error means the registry is gone: nothing more is published.
                    if changed.is_err() {
                        return Word::Closed;
                    }
                }
            }
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

    #[tokio::test]
    async fn stopping_ends_the_waits_for_messages_not_claimed_here_only() {
        let outcomes = SendOutcomes::new();
        let claimed = outcomes.started(&id(1));
        let mut sending = outcomes.subscribe(&id(1));
        let mut untouched = outcomes.subscribe(&id(2));
        let untouched_wait = tokio::spawn(async move { untouched.published().await });
        tokio::time::sleep(Duration::from_millis(20)).await;

        outcomes.stopping();

        let word = timeout(Duration::from_secs(5), untouched_wait)
            .await
            .expect("ended at the stop signal");
        assert_eq!(word.unwrap(), Word::Closed);
        assert!(
            !is_published(&mut sending).await,
            "a claimed message's wait goes on"
        );
        let mut later = outcomes.subscribe(&id(3));
        assert_eq!(later.published().await, Word::Closed);

        // Its outcome still reaches it.
        outcomes.publish(&id(1));
        assert_eq!(sending.published().await, Word::Published);
        // Handed back for a retry: a waiter blocked when the claim ends is woken, and ends.
        let blocked = tokio::spawn(async move { (sending.published().await, sending) });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(claimed);
        let (word, mut sending) = timeout(Duration::from_secs(5), blocked)
            .await
            .expect("woken when the claim ended")
            .unwrap();
        assert_eq!(word, Word::Published, "one more read of the row");
        assert_eq!(sending.published().await, Word::Closed);
    }

    #[tokio::test]
    async fn a_claimed_message_wait_ends_at_the_close() {
        let outcomes = SendOutcomes::new();
        let _claimed = outcomes.started(&id(1));
        let mut waiter = outcomes.subscribe(&id(1));
        outcomes.stopping();
        let closer = outcomes.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            closer.close();
        });

        let word = timeout(Duration::from_secs(5), waiter.published()).await;

        assert_eq!(word.expect("ended at the close"), Word::Closed);
    }

    #[test]
    fn claims_are_counted_and_forgotten_when_their_guards_go() {
        let outcomes = SendOutcomes::new();
        let first = outcomes.started(&id(1));
        let second = outcomes.started(&id(1));
        drop(first);
        assert!(outcomes.is_in_flight(&id(1)));
        drop(second);
        assert!(!outcomes.is_in_flight(&id(1)));
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

//! `Prefer: wait=N`: waiting for a queued message to become `sent` or `failed` without polling
//! the database.
//!
//! The request subscribes to [`SendOutcomes`](crate::workers::SendOutcomes) before it queues
//! the message. Each publish by this instance's send worker costs one read of the row; the
//! deadline costs one more, which also catches outcomes recorded by another instance's worker
//! (those are not published here). Nothing happening costs one read in all. When the send
//! worker has stopped at shutdown, the wait ends at once with that one read.

use std::future::Future;
use std::time::Duration;

use domain::OutboundMessage;
use domain::ports::OutboundQueueError;
use tokio::time::{Instant, timeout_at};

use crate::workers::{OutcomeWaiter, Word};

/// The message as `read` returns it once it is final, if that happens within `wait`; `None`
/// when it is still pending or sending at the deadline (or gone).
///
/// # Errors
/// The first error of `read`.
pub(super) async fn final_state<F, Fut>(
    waiter: &mut OutcomeWaiter,
    wait: Duration,
    read: F,
) -> Result<Option<OutboundMessage>, OutboundQueueError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Option<OutboundMessage>, OutboundQueueError>>,
{
    let deadline = Instant::now() + wait;
    // At shutdown (`Word::Closed`) the wait ends early with one last read: nothing more comes.
    while let Ok(Word::Published) = timeout_at(deadline, waiter.published()).await {
        // A publish may announce a retry (pending again): keep waiting then.
        if let Some(done) = read().await?.filter(|message| message.status.is_final()) {
            return Ok(Some(done));
        }
    }
    Ok(read().await?.filter(|message| message.status.is_final()))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use domain::{
        AccountId, InstagramId, InstagramMessageId, MessageId, OutboundContent, OutboundStatus,
        Timestamp,
    };

    use super::*;
    use crate::workers::SendOutcomes;

    /// A message row that tests change, and counts how often it is read.
    #[derive(Clone)]
    struct Row {
        message: Arc<Mutex<OutboundMessage>>,
        reads: Arc<AtomicUsize>,
    }

    impl Row {
        fn new() -> Self {
            let message = OutboundMessage::new_pending(
                MessageId::from_entropy([7; 12]),
                AccountId::from_entropy([1; 12]),
                InstagramId::parse("recipient_id", "5").unwrap(),
                OutboundContent::text("hi").unwrap(),
                None,
                Timestamp::from_millis(1),
            );
            Self {
                message: Arc::new(Mutex::new(message)),
                reads: Arc::new(AtomicUsize::new(0)),
            }
        }

        fn id(&self) -> MessageId {
            self.message.lock().unwrap().id.clone()
        }

        fn set(&self, status: OutboundStatus) {
            let mut message = self.message.lock().unwrap();
            message.status = status;
            if status == OutboundStatus::Sent {
                message.instagram_message_id =
                    Some(InstagramMessageId::parse("mid", "m.1").unwrap());
            }
        }

        async fn read(&self) -> Result<Option<OutboundMessage>, OutboundQueueError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            Ok(Some(self.message.lock().unwrap().clone()))
        }

        fn reads(&self) -> usize {
            self.reads.load(Ordering::SeqCst)
        }
    }

    #[tokio::test]
    async fn a_published_outcome_ends_the_wait_at_once() {
        let outcomes = SendOutcomes::new();
        let row = Row::new();
        let mut waiter = outcomes.subscribe(&row.id());
        let worker = {
            let (outcomes, row) = (outcomes.clone(), row.clone());
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(30)).await;
                // A retry first (published, still not final), then the send.
                row.set(OutboundStatus::Pending);
                outcomes.publish(&row.id());
                tokio::time::sleep(Duration::from_millis(30)).await;
                row.set(OutboundStatus::Sent);
                outcomes.publish(&row.id());
            })
        };
        let started = std::time::Instant::now();

        let done = final_state(&mut waiter, Duration::from_secs(20), || row.read())
            .await
            .unwrap();

        assert_eq!(done.unwrap().status, OutboundStatus::Sent);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "woken, not timed out"
        );
        assert_eq!(row.reads(), 2, "one read per publish, no polling");
        worker.await.unwrap();
    }

    #[tokio::test]
    async fn nothing_happening_costs_one_read_at_the_deadline() {
        let outcomes = SendOutcomes::new();
        let row = Row::new();
        let mut waiter = outcomes.subscribe(&row.id());
        let started = std::time::Instant::now();

        let done = final_state(&mut waiter, Duration::from_millis(200), || row.read())
            .await
            .unwrap();

        assert_eq!(done, None);
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert_eq!(row.reads(), 1);
    }

    #[tokio::test]
    async fn an_outcome_recorded_elsewhere_is_seen_at_the_deadline() {
        let outcomes = SendOutcomes::new();
        let row = Row::new();
        let mut waiter = outcomes.subscribe(&row.id());
        // Another instance's worker finishes it: nothing is published here.
        row.set(OutboundStatus::Failed);

        let done = final_state(&mut waiter, Duration::from_millis(50), || row.read())
            .await
            .unwrap();

        assert_eq!(done.unwrap().status, OutboundStatus::Failed);
        assert_eq!(row.reads(), 1);
    }

    #[tokio::test]
    async fn a_stopped_send_worker_ends_the_wait_with_one_read() {
        let outcomes = SendOutcomes::new();
        let row = Row::new();
        let mut waiter = outcomes.subscribe(&row.id());
        let closer = outcomes.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(30)).await;
            closer.close();
        });
        let started = std::time::Instant::now();

        let done = final_state(&mut waiter, Duration::from_secs(20), || row.read())
            .await
            .unwrap();

        assert_eq!(done, None, "still pending: answered 202");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(row.reads(), 1);
    }
}

//! [`Recorder`]: writes attempt results in batches. Attempts of one claim tend to finish
//! together; writing their results in one transaction, not one each, leaves the database (on
//! SQLite, its one writer) to the webhooks. Nothing waits to fill a batch: a result arriving
//! alone is written at once, results arriving while a batch is written go in the next.

use std::sync::Arc;

use domain::Timestamp;
use domain::ports::{AttemptRecord, Clock, DeliveryQueue, DeliveryQueueError, StoreError};
use tokio::sync::{mpsc, oneshot};

/// Pauses between tries to write a batch when the database fails: a result not written leaves
/// its delivery claimed until the lease runs out, and then attempted again.
const RETRY_PAUSES: [std::time::Duration; 2] = [
    std::time::Duration::from_millis(250),
    std::time::Duration::from_secs(1),
];

/// Most results written in one transaction.
const MAX_BATCH: usize = 128;

type Reply = oneshot::Sender<Result<(), DeliveryQueueError>>;

/// Hands results to the batching loop; cheap to clone.
#[derive(Clone)]
pub(crate) struct Recorder {
    sender: mpsc::UnboundedSender<(AttemptRecord, Reply)>,
}

/// The loop that writes what [`Recorder`]s hand it; ends when every `Recorder` is dropped.
pub(crate) struct RecorderLoop {
    receiver: mpsc::UnboundedReceiver<(AttemptRecord, Reply)>,
    queue: Arc<dyn DeliveryQueue>,
    clock: Arc<dyn Clock>,
}

impl Recorder {
    /// A recorder writing to `queue`, and the loop to run for it.
    pub(crate) fn new(
        queue: Arc<dyn DeliveryQueue>,
        clock: Arc<dyn Clock>,
    ) -> (Self, RecorderLoop) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (
            Self { sender },
            RecorderLoop {
                receiver,
                queue,
                clock,
            },
        )
    }

    /// Writes one result (in a batch with others) and says how it went, as
    /// `DeliveryQueue::record_delivery_attempt` would.
    pub(crate) async fn record(&self, record: AttemptRecord) -> Result<(), DeliveryQueueError> {
        let (reply, answer) = oneshot::channel();
        if self.sender.send((record, reply)).is_err() {
            return Err(stopped());
        }
        answer.await.unwrap_or_else(|_| Err(stopped()))
    }
}

impl RecorderLoop {
    /// Writes batches until every [`Recorder`] is gone.
    pub(crate) async fn run(mut self) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while let Some(first) = self.receiver.recv().await {
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match self.receiver.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            let (records, replies): (Vec<AttemptRecord>, Vec<Reply>) = batch.drain(..).unzip();
            self.write(&records, replies, self.clock.now()).await;
        }
    }

    async fn write(&self, records: &[AttemptRecord], replies: Vec<Reply>, now: Timestamp) {
        let mut pauses = RETRY_PAUSES.iter();
        let written = loop {
            match (
                self.queue.record_delivery_attempts(records, now).await,
                pauses.next(),
            ) {
                (Err(error), Some(pause)) => {
                    tracing::warn!(error = %error, results = records.len(), "could not record crm delivery results; trying again");
                    tokio::time::sleep(*pause).await;
                }
                (written, _) => break written,
            }
        };
        match written {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(outcome);
                }
            }
            Err(error) => {
                let reason = error.to_string();
                for reply in replies {
                    let _ = reply.send(Err(DeliveryQueueError::Store(StoreError::Unavailable(
                        reason.clone().into(),
                    ))));
                }
            }
        }
    }
}

fn stopped() -> DeliveryQueueError {
    DeliveryQueueError::Store(StoreError::Unavailable(
        "the delivery recorder has stopped".into(),
    ))
}

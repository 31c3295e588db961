//! How full the two outboxes are, for monitoring: a few counts an operator alerts on.

use async_trait::async_trait;

use super::StoreError;
use crate::Timestamp;

/// Reads the size of the CRM delivery outbox and of the send queue.
///
/// Meant to be called on every metrics scrape, so an implementation MUST answer from indexes
/// (a count over the queue's due-time index, its minimum) and never scan finished rows.
#[async_trait]
pub trait QueueStats: Send + Sync {
    /// Both queues as they are at `now`.
    ///
    /// # Errors
    /// MUST return `StoreError::Unavailable` when the backend cannot be reached, `Backend` for
    /// other backend failures.
    async fn queue_depths(&self, now: Timestamp) -> Result<QueueDepths, StoreError>;
}

/// Both queues at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepths {
    /// CRM deliveries (`pending` and `delivering`).
    pub deliveries: QueueDepth,
    /// Outbound messages (`pending` and `sending`).
    pub sends: QueueDepth,
}

/// One queue at one moment. Only unfinished rows count: a delivered, failed or sent row has
/// left its queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Unfinished rows: waiting for their first attempt or a retry, or under way.
    pub unfinished: u64,
    /// Of those, the rows due now: waiting for a worker (including rows whose claim expired).
    /// Rows under way and retries scheduled for later are not due.
    pub due: u64,
    /// When the row that has been due longest became due; `None` when no row is due.
    pub oldest_due_at: Option<Timestamp>,
}

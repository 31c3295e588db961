//! The CRM delivery outbox.

use std::time::Duration;

use async_trait::async_trait;

use super::StoreError;
use crate::{
    AccountId, CrmDelivery, DeliveryAttempt, DeliveryFilter, DeliveryNext, EventId, Page,
    PageRequest, Timestamp,
};

/// Why a delivery operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryQueueError {
    /// No delivery has this id.
    #[error("delivery not found")]
    NotFound,
    /// Only failed deliveries can be replayed.
    #[error("delivery is not failed")]
    NotFailed,
    /// The claim on the delivery expired and another worker took it over; this worker's result
    /// is discarded.
    #[error("delivery claim was lost")]
    ClaimLost,
    /// The backend failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A delivery with its attempts, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryWithAttempts {
    /// The delivery.
    pub delivery: CrmDelivery,
    /// Every attempt made.
    pub attempts: Vec<DeliveryAttempt>,
}

/// One attempt's result, as [`DeliveryQueue::record_delivery_attempts`] takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    /// The delivery.
    pub id: EventId,
    /// The attempt made.
    pub attempt: DeliveryAttempt,
    /// What happens next.
    pub next: DeliveryNext,
}

/// Work queue of CRM deliveries, safe with several service instances on one database.
#[async_trait]
pub trait DeliveryQueue: Send + Sync {
    /// Claims up to `limit` deliveries due at `now` (pending ones whose time has come, and
    /// delivering ones whose claim expired), oldest due first. Each claimed delivery becomes
    /// `delivering`, its `attempts` grows by one, and it stays claimed until `now + lease`.
    /// Deliveries of the accounts in `skip_accounts` are left alone (a worker whose connections
    /// to their CRMs are all busy leaves their work to later or to other instances).
    ///
    /// # Errors
    /// MUST never return a delivery that another concurrent claim also returned; `Store` for
    /// backend failures.
    async fn claim_due_deliveries(
        &self,
        now: Timestamp,
        limit: u32,
        lease: Duration,
        skip_accounts: &[AccountId],
    ) -> Result<Vec<CrmDelivery>, DeliveryQueueError>;

    /// Records the attempt a claim made and what happens next.
    ///
    /// # Errors
    /// MUST return `NotFound` when the delivery does not exist, and `ClaimLost` when it is no
    /// longer `delivering` with `attempts == attempt.number` (another worker took it over).
    async fn record_delivery_attempt(
        &self,
        id: &EventId,
        attempt: &DeliveryAttempt,
        next: DeliveryNext,
        now: Timestamp,
    ) -> Result<(), DeliveryQueueError>;

    /// Records several attempts' results in one transaction, each exactly as
    /// [`DeliveryQueue::record_delivery_attempt`] would; one result per record, in order.
    ///
    /// # Errors
    /// Per record: `NotFound` and `ClaimLost` as for one attempt (the others are still
    /// written). The whole call fails with `Store` for backend failures, and nothing is written.
    async fn record_delivery_attempts(
        &self,
        records: &[AttemptRecord],
        now: Timestamp,
    ) -> Result<Vec<Result<(), DeliveryQueueError>>, DeliveryQueueError>;

    /// A delivery with its attempts.
    ///
    /// # Errors
    /// MUST return `Ok(None)` when there is none; `Store` for backend failures.
    async fn delivery(
        &self,
        id: &EventId,
    ) -> Result<Option<DeliveryWithAttempts>, DeliveryQueueError>;

    /// Deliveries matching `filter`, newest first.
    ///
    /// # Errors
    /// `Store` for backend failures.
    async fn list_deliveries(
        &self,
        filter: &DeliveryFilter,
        page: &PageRequest,
    ) -> Result<Page<CrmDelivery>, DeliveryQueueError>;

    /// Makes a failed delivery pending again, due now, and returns it.
    ///
    /// # Errors
    /// MUST return `NotFound` when it does not exist and `NotFailed` when it is not `failed`.
    async fn retry_delivery(
        &self,
        id: &EventId,
        now: Timestamp,
    ) -> Result<CrmDelivery, DeliveryQueueError>;

    /// Makes every failed delivery of `account` created in `[since, until)` pending again, due
    /// now. Returns how many.
    ///
    /// # Errors
    /// `Store` for backend failures.
    async fn recover_deliveries(
        &self,
        account: &AccountId,
        since: Timestamp,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<u64, DeliveryQueueError>;
}

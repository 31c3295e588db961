//! Counters of what the send worker did, ready to be exported as Prometheus metrics (issue 9)
//! without changing the code that counts.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::PoisonError;
use std::sync::atomic::{AtomicU64, Ordering};

/// Send outcomes and Graph API error codes since the service started.
#[derive(Debug, Default)]
pub struct SendMetrics {
    sent: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
    outcome_unknown: AtomicU64,
    postponed: AtomicU64,
    claim_lost: AtomicU64,
    record_failed: AtomicU64,
    error_codes: Mutex<BTreeMap<i64, u64>>,
}

/// A copy of the metrics at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendMetricsSnapshot {
    /// Sends Meta accepted.
    pub sent: u64,
    /// Failed attempts with another attempt scheduled.
    pub retried: u64,
    /// Messages given up (permanent error, or retries used up), unknown outcomes included.
    pub failed: u64,
    /// Of `failed`: sends whose outcome is unknown (timeout after the request was written).
    pub outcome_unknown: u64,
    /// Claimed messages handed back untried (the account's pace was held too long).
    pub postponed: u64,
    /// Results dropped because the claim had expired and another worker took the message over.
    pub claim_lost: u64,
    /// Results that could not be written; the lease brings the message back.
    pub record_failed: u64,
    /// Graph API error codes seen, with their counts.
    pub error_codes: BTreeMap<i64, u64>,
}

/// How a send attempt ended, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SendOutcome {
    Sent,
    Retried,
    Failed,
    OutcomeUnknown,
    Postponed,
    ClaimLost,
    RecordFailed,
}

impl SendMetrics {
    /// Counts one attempt that ended as `outcome`, with Meta's error code when there was one.
    pub(crate) fn record(&self, outcome: SendOutcome, error_code: Option<i64>) {
        let counter = match outcome {
            SendOutcome::Sent => &self.sent,
            SendOutcome::Retried => &self.retried,
            SendOutcome::Failed => &self.failed,
            SendOutcome::OutcomeUnknown => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                &self.outcome_unknown
            }
            SendOutcome::Postponed => &self.postponed,
            SendOutcome::ClaimLost => &self.claim_lost,
            SendOutcome::RecordFailed => &self.record_failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if let Some(code) = error_code {
            let mut codes = self
                .error_codes
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            *codes.entry(code).or_default() += 1;
        }
    }

    /// The metrics now.
    pub fn snapshot(&self) -> SendMetricsSnapshot {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        SendMetricsSnapshot {
            sent: load(&self.sent),
            retried: load(&self.retried),
            failed: load(&self.failed),
            outcome_unknown: load(&self.outcome_unknown),
            postponed: load(&self.postponed),
            claim_lost: load(&self.claim_lost),
            record_failed: load(&self.record_failed),
            error_codes: self
                .error_codes
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_outcomes_and_error_codes() {
        let metrics = SendMetrics::default();
        metrics.record(SendOutcome::Sent, None);
        metrics.record(SendOutcome::Retried, Some(613));
        metrics.record(SendOutcome::Retried, Some(613));
        metrics.record(SendOutcome::OutcomeUnknown, None);
        metrics.record(SendOutcome::Failed, Some(10));
        let snapshot = metrics.snapshot();
        assert_eq!(snapshot.sent, 1);
        assert_eq!(snapshot.retried, 2);
        assert_eq!((snapshot.failed, snapshot.outcome_unknown), (2, 1));
        assert_eq!(snapshot.error_codes, BTreeMap::from([(10, 1), (613, 2)]));
    }
}

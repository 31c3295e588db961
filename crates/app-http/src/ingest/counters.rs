//! Counters of what the webhook endpoint did with the items Meta sent, ready to be exported as
//! Prometheus metrics (issue 9) without changing the code that counts.

use std::sync::atomic::{AtomicU64, Ordering};

/// The skip reasons `adapters_instagram::SkipReason::code` returns, in a fixed order.
pub const SKIP_CODES: [&str; 8] = [
    "unsupported_object",
    "malformed_entry",
    "malformed_item",
    "missing_field",
    "invalid_field",
    "unknown_event",
    "unsupported_change",
    "standby",
];

/// Webhook items by outcome, since the service started. Shared by every worker.
#[derive(Debug, Default)]
pub struct WebhookCounters {
    stored: AtomicU64,
    duplicates: AtomicU64,
    deliveries_queued: AtomicU64,
    unknown_account: AtomicU64,
    signature_rejected: AtomicU64,
    skipped: [AtomicU64; SKIP_CODES.len()],
    skipped_other: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountersSnapshot {
    /// Events stored for the first time.
    pub stored: u64,
    /// Events already stored (Meta's redeliveries, or the same item twice in a body).
    pub duplicates: u64,
    /// CRM deliveries queued by stored events.
    pub deliveries_queued: u64,
    /// Events for a business account the service does not know (stored, not forwarded).
    pub unknown_account: u64,
    /// Posts refused for a missing or wrong signature.
    pub signature_rejected: u64,
    /// Skipped items by `SkipReason::code`, in [`SKIP_CODES`] order, then any other code.
    pub skipped: Vec<(&'static str, u64)>,
}

impl WebhookCounters {
    /// Counts the outcome of one committed body.
    pub fn add_ingested(&self, stored: u64, duplicates: u64, deliveries: u64) {
        self.stored.fetch_add(stored, Ordering::Relaxed);
        self.duplicates.fetch_add(duplicates, Ordering::Relaxed);
        self.deliveries_queued
            .fetch_add(deliveries, Ordering::Relaxed);
    }

    /// Counts events routed to no known account.
    pub fn add_unknown_account(&self, events: u64) {
        self.unknown_account.fetch_add(events, Ordering::Relaxed);
    }

    /// Counts one post refused for its signature.
    pub fn add_signature_rejected(&self) {
        self.signature_rejected.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one skipped item by its reason code.
    pub fn add_skipped(&self, code: &str) {
        match SKIP_CODES.iter().position(|known| *known == code) {
            Some(index) => self.skipped[index].fetch_add(1, Ordering::Relaxed),
            None => self.skipped_other.fetch_add(1, Ordering::Relaxed),
        };
    }

    /// The counters now.
    pub fn snapshot(&self) -> CountersSnapshot {
        let mut skipped: Vec<(&'static str, u64)> = SKIP_CODES
            .iter()
            .zip(&self.skipped)
            .map(|(code, count)| (*code, count.load(Ordering::Relaxed)))
            .collect();
        skipped.push(("other", self.skipped_other.load(Ordering::Relaxed)));
        CountersSnapshot {
            stored: self.stored.load(Ordering::Relaxed),
            duplicates: self.duplicates.load(Ordering::Relaxed),
            deliveries_queued: self.deliveries_queued.load(Ordering::Relaxed),
            unknown_account: self.unknown_account.load(Ordering::Relaxed),
            signature_rejected: self.signature_rejected.load(Ordering::Relaxed),
            skipped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_outcome_and_skip_code() {
        let counters = WebhookCounters::default();
        counters.add_ingested(3, 1, 2);
        counters.add_unknown_account(2);
        counters.add_signature_rejected();
        counters.add_skipped("standby");
        counters.add_skipped("standby");
        counters.add_skipped("something_new");
        let snapshot = counters.snapshot();
        assert_eq!(
            (
                snapshot.stored,
                snapshot.duplicates,
                snapshot.deliveries_queued
            ),
            (3, 1, 2)
        );
        assert_eq!(snapshot.unknown_account, 2);
        assert_eq!(snapshot.signature_rejected, 1);
        assert!(snapshot.skipped.contains(&("standby", 2)));
        assert!(snapshot.skipped.contains(&("other", 1)));
        assert!(snapshot.skipped.contains(&("missing_field", 0)));
    }
}

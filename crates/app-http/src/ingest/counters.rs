//! Counters of what the webhook endpoint did with the items Meta sent, exported by `GET /metrics`:
//! events by kind and outcome, skipped items by reason, refused posts.

use std::sync::atomic::{AtomicU64, Ordering};

use domain::{EventKind, IngestResult};

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

/// The outcomes an event is counted under, in [`EventCounts`] order.
pub const EVENT_OUTCOMES: [&str; 2] = ["stored", "duplicate"];

/// Webhook items by outcome, since the service started. Shared by every worker.
#[derive(Debug, Default)]
pub struct WebhookCounters {
    /// Per `EventKind::ALL` index: stored, duplicate.
    events: [[AtomicU64; 2]; EventKind::ALL.len()],
    deliveries_queued: AtomicU64,
    unknown_account: AtomicU64,
    signature_rejected: AtomicU64,
    skipped: [AtomicU64; SKIP_CODES.len()],
    skipped_other: AtomicU64,
}

/// One event kind's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventCounts {
    /// The kind's name (`EventKind::as_str`).
    pub kind: &'static str,
    /// Stored for the first time.
    pub stored: u64,
    /// Already stored.
    pub duplicates: u64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountersSnapshot {
    /// Events stored for the first time, of every kind.
    pub stored: u64,
    /// Events already stored (Meta's redeliveries, or the same item twice in a body), of every
    /// kind.
    pub duplicates: u64,
    /// Events by kind, every kind of `EventKind::ALL` in its order.
    pub events: Vec<EventCounts>,
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
    /// Counts one committed event of `kind`.
    pub fn add_event(&self, kind: EventKind, result: IngestResult) {
        let outcome = match result {
            IngestResult::Stored => 0,
            IngestResult::Duplicate => 1,
        };
        if let Some(counts) = EventKind::ALL
            .iter()
            .position(|known| *known == kind)
            .and_then(|index| self.events.get(index))
        {
            counts[outcome].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts the CRM deliveries a committed body queued.
    pub fn add_deliveries_queued(&self, deliveries: u64) {
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
        let events: Vec<EventCounts> = EventKind::ALL
            .iter()
            .zip(&self.events)
            .map(|(kind, [stored, duplicates])| EventCounts {
                kind: kind.as_str(),
                stored: stored.load(Ordering::Relaxed),
                duplicates: duplicates.load(Ordering::Relaxed),
            })
            .collect();
        CountersSnapshot {
            stored: events.iter().map(|counts| counts.stored).sum(),
            duplicates: events.iter().map(|counts| counts.duplicates).sum(),
            events,
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
        counters.add_event(EventKind::Message, IngestResult::Stored);
        counters.add_event(EventKind::Message, IngestResult::Stored);
        counters.add_event(EventKind::Reaction, IngestResult::Stored);
        counters.add_event(EventKind::Message, IngestResult::Duplicate);
        counters.add_deliveries_queued(2);
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
        assert_eq!(snapshot.events.len(), EventKind::ALL.len());
        assert_eq!(
            snapshot.events[0],
            EventCounts {
                kind: "message",
                stored: 2,
                duplicates: 1
            }
        );
        assert!(snapshot.events.contains(&EventCounts {
            kind: "reaction",
            stored: 1,
            duplicates: 0
        }));
        assert_eq!(snapshot.unknown_account, 2);
        assert_eq!(snapshot.signature_rejected, 1);
        assert!(snapshot.skipped.contains(&("standby", 2)));
        assert!(snapshot.skipped.contains(&("other", 1)));
        assert!(snapshot.skipped.contains(&("missing_field", 0)));
    }
}

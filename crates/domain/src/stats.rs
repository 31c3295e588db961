//! An account's activity over a range of UTC days: messages each way, auto-replies, CRM
//! deliveries, and how fast the business answers a new conversation (`StatsStore`).
//!
//! The definitions (what counts as a message in or out, when a conversation is new, how the
//! percentiles are interpolated) are the API's and are written down in docs/api.md; the storage
//! adapter computes them in the database.

use chrono::{Days, NaiveDate};

use crate::{AccountId, Timestamp, ValidationError};

/// The longest range a stats query may cover, in days (both ends included): a leap year.
pub const MAX_STATS_DAYS: u32 = 366;

/// The days a stats query covers when it names no `from`: `to` and the 29 days before it.
pub const DEFAULT_STATS_DAYS: u32 = 30;

/// Milliseconds in a UTC day (no leap seconds in epoch time).
pub const DAY_MILLIS: i64 = 86_400_000;

/// How long a customer's conversation with the business stays open: an inbound message with no
/// message in either direction in this many milliseconds before it starts a new conversation.
pub const CONVERSATION_GAP_MILLIS: i64 = DAY_MILLIS;

/// A range of whole UTC days, both ends included, at most [`MAX_STATS_DAYS`] long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsRange {
    from: NaiveDate,
    to: NaiveDate,
}

impl StatsRange {
    /// The days `from` to `to`, both included.
    ///
    /// # Errors
    /// A [`ValidationError`] naming `from` when `from` is after `to` or the range is longer
    /// than [`MAX_STATS_DAYS`] days.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, ValidationError> {
        if from > to {
            return Err(ValidationError::new("from", "must not be after to"));
        }
        let days = to.signed_duration_since(from).num_days().saturating_add(1);
        if days > i64::from(MAX_STATS_DAYS) {
            return Err(ValidationError::new(
                "from",
                format!("the range may cover at most {MAX_STATS_DAYS} days"),
            ));
        }
        Ok(Self { from, to })
    }

    /// The range a query asks for, with its defaults: `to` is `today` when absent, `from` is
    /// [`DEFAULT_STATS_DAYS`] days up to `to` when absent.
    ///
    /// # Errors
    /// As [`StatsRange::new`].
    pub fn with_defaults(
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        today: NaiveDate,
    ) -> Result<Self, ValidationError> {
        let to = to.unwrap_or(today);
        let from = from.unwrap_or_else(|| {
            to.checked_sub_days(Days::new(u64::from(DEFAULT_STATS_DAYS - 1)))
                .unwrap_or(NaiveDate::MIN)
        });
        Self::new(from, to)
    }

    /// The first day.
    pub const fn from(&self) -> NaiveDate {
        self.from
    }

    /// The last day (included).
    pub const fn to(&self) -> NaiveDate {
        self.to
    }

    /// How many days the range covers (at least 1).
    pub fn days(&self) -> u32 {
        let days = self.to.signed_duration_since(self.from).num_days();
        u32::try_from(days).map_or(MAX_STATS_DAYS, |days| days.saturating_add(1))
    }

    /// Midnight UTC at the start of the first day.
    pub fn start(&self) -> Timestamp {
        midnight(self.from)
    }

    /// Midnight UTC at the end of the last day: the first instant after the range.
    pub fn end(&self) -> Timestamp {
        Timestamp::from_millis(
            self.start()
                .as_millis()
                .saturating_add(i64::from(self.days()).saturating_mul(DAY_MILLIS)),
        )
    }

    /// Every day of the range, in order.
    pub fn dates(&self) -> impl Iterator<Item = NaiveDate> + use<> {
        let from = self.from;
        (0..u64::from(self.days())).filter_map(move |n| from.checked_add_days(Days::new(n)))
    }
}

/// Parses a `YYYY-MM-DD` day, exactly that form (four-digit year, two-digit month and day).
///
/// # Errors
/// A [`ValidationError`] naming `field` for anything else, or a day that does not exist.
pub fn parse_day(field: &'static str, text: &str) -> Result<NaiveDate, ValidationError> {
    let bad = || ValidationError::new(field, "must be a date written YYYY-MM-DD");
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes.iter().enumerate().all(|(index, byte)| match index {
            4 | 7 => *byte == b'-',
            _ => byte.is_ascii_digit(),
        });
    if !shaped {
        return Err(bad());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| bad())
}

/// The UTC day `at` falls on; `None` outside chrono's range of dates.
pub fn utc_day(at: Timestamp) -> Option<NaiveDate> {
    at.to_datetime().map(|at| at.date_naive())
}

/// Midnight UTC at the start of `date`.
pub fn midnight(date: NaiveDate) -> Timestamp {
    Timestamp::from_millis(
        date.and_time(chrono::NaiveTime::MIN)
            .and_utc()
            .timestamp_millis(),
    )
}

/// One UTC day's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DailyCounts {
    /// Messages the account's customers sent (not reactions, reads, edits, deletions,
    /// postbacks or referrals), by Meta's time.
    pub messages_in: u64,
    /// Messages the business sent: igrouter's sends that reached `sent` (API sends and
    /// auto-replies), by the time they were sent, and messages sent from elsewhere (echoes that
    /// are not echoes of igrouter's own sends), by Meta's time.
    pub messages_out: u64,
    /// Of igrouter's sends, those an auto-reply rule queued.
    pub auto_replies: u64,
    /// CRM deliveries queued that day that the CRM accepted.
    pub deliveries_ok: u64,
    /// CRM deliveries queued that day that failed (every scheduled attempt failed).
    pub deliveries_failed: u64,
}

impl DailyCounts {
    /// The two days' counts added up.
    #[must_use]
    pub fn plus(self, other: Self) -> Self {
        Self {
            messages_in: self.messages_in.saturating_add(other.messages_in),
            messages_out: self.messages_out.saturating_add(other.messages_out),
            auto_replies: self.auto_replies.saturating_add(other.auto_replies),
            deliveries_ok: self.deliveries_ok.saturating_add(other.deliveries_ok),
            deliveries_failed: self
                .deliveries_failed
                .saturating_add(other.deliveries_failed),
        }
    }

    /// `deliveries_ok / (deliveries_ok + deliveries_failed)`; `None` when no delivery finished.
    #[expect(
        clippy::cast_precision_loss,
        reason = "a ratio of counts far below 2^52 needs no more precision"
    )]
    pub fn delivery_success_rate(&self) -> Option<f64> {
        let finished = self.deliveries_ok.saturating_add(self.deliveries_failed);
        (finished > 0).then(|| self.deliveries_ok as f64 / finished as f64)
    }
}

/// How fast the business answered the conversations customers started in the range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FirstResponse {
    /// Conversations customers started in the range.
    pub conversations: u64,
    /// Of those, the ones the business answered (at any time, also after the range).
    pub answered: u64,
    /// The median time to the answer, in tenths of a millisecond (interpolated between the two
    /// middle values); `None` when none was answered.
    pub p50_tenth_millis: Option<i64>,
    /// The 90th percentile, interpolated likewise; `None` when none was answered.
    pub p90_tenth_millis: Option<i64>,
}

impl FirstResponse {
    /// The median in seconds.
    pub fn p50_seconds(&self) -> Option<f64> {
        self.p50_tenth_millis.map(tenth_millis_to_seconds)
    }

    /// The 90th percentile in seconds.
    pub fn p90_seconds(&self) -> Option<f64> {
        self.p90_tenth_millis.map(tenth_millis_to_seconds)
    }
}

#[expect(
    clippy::cast_precision_loss,
    reason = "response times are far below 2^52 tenths of a millisecond (14,000 years)"
)]
fn tenth_millis_to_seconds(value: i64) -> f64 {
    value as f64 / 10_000.0
}

/// One account's stats over a range.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountStats {
    /// The account.
    pub account_id: AccountId,
    /// The days covered.
    pub range: StatsRange,
    /// One entry per day of the range, in order, days without activity included (all zeros).
    pub days: Vec<(NaiveDate, DailyCounts)>,
    /// First-response times of the conversations started in the range.
    pub first_response: FirstResponse,
}

impl AccountStats {
    /// The days' counts added up.
    pub fn totals(&self) -> DailyCounts {
        self.days
            .iter()
            .fold(DailyCounts::default(), |sum, (_, day)| sum.plus(*day))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        parse_day("from", text).unwrap()
    }

    #[test]
    fn days_are_parsed_strictly() {
        assert_eq!(
            day("2026-11-01"),
            NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
        );
        for bad in [
            "2026-11-1",
            "2026-13-01",
            "2026-02-29",
            "+2026-11-01",
            "2026/11/01",
            "",
            "2026-11-01T00:00:00Z",
        ] {
            assert_eq!(parse_day("to", bad).unwrap_err().field, "to", "{bad}");
        }
        assert!(parse_day("to", "2028-02-29").is_ok());
    }

    #[test]
    fn a_range_covers_whole_utc_days() {
        let range = StatsRange::new(day("2026-11-01"), day("2026-11-03")).unwrap();
        assert_eq!(range.days(), 3);
        assert_eq!(range.start().to_rfc3339(), "2026-11-01T00:00:00Z");
        assert_eq!(range.end().to_rfc3339(), "2026-11-04T00:00:00Z");
        let dates: Vec<_> = range.dates().map(|d| d.to_string()).collect();
        assert_eq!(dates, ["2026-11-01", "2026-11-02", "2026-11-03"]);
    }

    #[test]
    fn defaults_are_the_30_days_up_to_today() {
        let today = day("2026-11-25");
        let range = StatsRange::with_defaults(None, None, today).unwrap();
        assert_eq!((range.from(), range.to()), (day("2026-10-27"), today));
        assert_eq!(range.days(), 30);
        let range = StatsRange::with_defaults(None, Some(day("2026-11-10")), today).unwrap();
        assert_eq!(range.from(), day("2026-10-12"));
        let range = StatsRange::with_defaults(Some(day("2026-11-20")), None, today).unwrap();
        assert_eq!((range.from(), range.to()), (day("2026-11-20"), today));
        let error = StatsRange::with_defaults(Some(day("2026-11-26")), None, today).unwrap_err();
        assert_eq!(error.field, "from");
        assert_eq!(
            utc_day(Timestamp::from_millis(1_764_028_799_999)),
            Some(day("2025-11-24"))
        );
    }

    #[test]
    fn a_range_is_ordered_and_at_most_366_days() {
        let error = StatsRange::new(day("2026-11-02"), day("2026-11-01")).unwrap_err();
        assert_eq!(error.field, "from");
        assert!(StatsRange::new(day("2024-01-01"), day("2024-12-31")).is_ok());
        let error = StatsRange::new(day("2024-01-01"), day("2025-01-01")).unwrap_err();
        assert_eq!(error.field, "from");
        assert_eq!(
            StatsRange::new(day("2026-11-01"), day("2026-11-01"))
                .unwrap()
                .days(),
            1
        );
    }

    #[test]
    fn percentiles_read_in_seconds_and_rates_need_finished_deliveries() {
        let first = FirstResponse {
            conversations: 3,
            answered: 2,
            p50_tenth_millis: Some(3_300_000),
            p90_tenth_millis: None,
        };
        assert_eq!(first.p50_seconds(), Some(330.0));
        assert_eq!(first.p90_seconds(), None);
        let counts = DailyCounts {
            deliveries_ok: 19,
            deliveries_failed: 1,
            ..DailyCounts::default()
        };
        assert_eq!(counts.delivery_success_rate(), Some(0.95));
        assert_eq!(DailyCounts::default().delivery_success_rate(), None);
    }
}

//! Points in time as igrouter stores them: UTC, millisecond precision.

use chrono::{DateTime, TimeZone, Utc};

/// A UTC instant with millisecond precision.
///
/// Stored as epoch milliseconds on every backend, so no precision or time-zone differences can
/// creep in between SQLite, PostgreSQL and MySQL. Meta's webhook timestamps are milliseconds too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The instant `millis` milliseconds after the Unix epoch.
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// Whole seconds since the Unix epoch (rounded down).
    pub const fn as_secs(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// This instant shifted by `delta` (saturating at the ends of the range).
    pub fn plus(self, delta: std::time::Duration) -> Self {
        let millis = i64::try_from(delta.as_millis()).unwrap_or(i64::MAX);
        Self(self.0.saturating_add(millis))
    }

    /// This instant shifted back by `delta` (saturating at the ends of the range).
    pub fn minus(self, delta: std::time::Duration) -> Self {
        let millis = i64::try_from(delta.as_millis()).unwrap_or(i64::MAX);
        Self(self.0.saturating_sub(millis))
    }

    /// The same instant as a chrono value, `None` outside chrono's range.
    pub fn to_datetime(self) -> Option<DateTime<Utc>> {
        Utc.timestamp_millis_opt(self.0).single()
    }

    /// ISO-8601 / RFC 3339 in UTC with a `Z` suffix, as the CRM payloads and the API show it.
    pub fn to_rfc3339(self) -> String {
        match self.to_datetime() {
            Some(datetime) => datetime.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            None => self.0.to_string(),
        }
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(value: DateTime<Utc>) -> Self {
        Self(value.timestamp_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_as_utc_rfc3339() {
        let at = Timestamp::from_millis(1_763_202_600_000);
        assert_eq!(at.to_rfc3339(), "2025-11-15T10:30:00Z");
        assert_eq!(
            Timestamp::from_millis(1_459_991_487_970).to_rfc3339(),
            "2016-04-07T01:11:27.970Z"
        );
    }

    #[test]
    fn arithmetic_saturates() {
        let at = Timestamp::from_millis(i64::MAX - 1);
        assert_eq!(
            at.plus(std::time::Duration::from_secs(5)).as_millis(),
            i64::MAX
        );
        assert_eq!(Timestamp::from_millis(-1).as_secs(), -1);
    }
}

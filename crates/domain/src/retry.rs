//! Retry schedules (`CRM_RETRY_SCHEDULE`, `SEND_RETRY_SCHEDULE`): delays between attempts.

use std::time::Duration;

use crate::ValidationError;

/// The delays before the 2nd, 3rd, … attempt; after the last one the work is given up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(Vec<Duration>);

impl RetrySchedule {
    /// Parses a comma-separated list of durations such as `5s,30s,2m,1h` (units `ms`, `s`, `m`,
    /// `h`). An empty list means "never retry".
    ///
    /// # Errors
    /// A [`ValidationError`] naming `field` for an entry without a known unit or number.
    pub fn parse(field: &'static str, text: &str) -> Result<Self, ValidationError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Self(Vec::new()));
        }
        text.split(',')
            .map(|entry| {
                parse_duration(entry.trim()).map_err(|reason| ValidationError::new(field, reason))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    /// The delay before attempt `attempts_made + 1`, or `None` when no attempt is left.
    pub fn delay_after(&self, attempts_made: u32) -> Option<Duration> {
        let index = usize::try_from(attempts_made).ok()?.checked_sub(1)?;
        self.0.get(index).copied()
    }

    /// Total attempts this schedule allows (the first plus one per delay).
    pub fn max_attempts(&self) -> u32 {
        u32::try_from(self.0.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1)
    }

    /// The delays.
    pub fn delays(&self) -> &[Duration] {
        &self.0
    }
}

/// Parses one duration like `250ms`, `5s`, `2m`, `1h`.
///
/// # Errors
/// A reason (lowercase, for a [`ValidationError`]) when the text is not a number and a unit.
pub fn parse_duration(entry: &str) -> Result<Duration, String> {
    let split = entry
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("'{entry}' needs a unit (ms, s, m or h)"))?;
    let (number, unit) = entry.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("'{entry}' does not start with a whole number"))?;
    let millis_per_unit = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(format!("'{entry}' has an unknown unit (use ms, s, m or h)")),
    };
    number
        .checked_mul(millis_per_unit)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("'{entry}' is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_default_crm_schedule() {
        let schedule =
            RetrySchedule::parse("CRM_RETRY_SCHEDULE", "5s,30s,2m,10m,30m,1h,2h,4h,8h,8h").unwrap();
        assert_eq!(schedule.max_attempts(), 11);
        assert_eq!(schedule.delay_after(0), None);
        assert_eq!(schedule.delay_after(1), Some(Duration::from_secs(5)));
        assert_eq!(schedule.delay_after(3), Some(Duration::from_secs(120)));
        assert_eq!(
            schedule.delay_after(10),
            Some(Duration::from_secs(8 * 3600))
        );
        assert_eq!(schedule.delay_after(11), None);
    }

    #[test]
    fn rejects_entries_without_units_and_names_the_variable() {
        for bad in ["5", "5x", "s", "5s,,1m", "-1s", "99999999999999999999h"] {
            let error = RetrySchedule::parse("SEND_RETRY_SCHEDULE", bad).expect_err(bad);
            assert_eq!(error.field, "SEND_RETRY_SCHEDULE");
        }
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(RetrySchedule::parse("X", "").unwrap().max_attempts(), 1);
    }
}

//! When the next attempt is due after a failure: the schedule's delay (`CRM_RETRY_SCHEDULE`,
//! `SEND_RETRY_SCHEDULE`) plus up to 10% jitter, and how each worker weighs a back-off the other
//! side asked for. Pure, so every rule is unit-tested without a clock.

use std::time::Duration;

use domain::{DeliveryNext, RetrySchedule, Timestamp};

use crate::random;

/// Largest share of the scheduled delay added as jitter, so the retries of a burst that failed
/// together do not all come back at the same instant.
pub(crate) const MAX_JITTER: f64 = 0.10;

/// The jittered delay before the attempt after `attempts_made`, or `None` when the schedule is
/// used up. `jitter` is a random number in `[0, 1)`; it scales [`MAX_JITTER`].
pub(crate) fn jittered_delay(
    schedule: &RetrySchedule,
    attempts_made: u32,
    jitter: f64,
) -> Option<Duration> {
    let delay = schedule.delay_after(attempts_made)?;
    Some(delay.saturating_add(delay.mul_f64(MAX_JITTER * jitter.clamp(0.0, 1.0))))
}

/// A number in `[0, 1)` for the retry jitter; 0 (no jitter) if the system generator fails, which
/// only makes retries less spread.
pub(crate) fn jitter() -> f64 {
    random::bytes::<4>()
        .map(|bytes| f64::from(u32::from_le_bytes(bytes)) / (f64::from(u32::MAX) + 1.0))
        .unwrap_or(0.0)
}

/// What follows a CRM delivery attempt that did not deliver: a retry after the scheduled delay, or `Dead`
/// when `attempts_made` used the schedule up.
///
/// `jitter` is a random number in `[0, 1)`; it scales [`MAX_JITTER`]. A `Retry-After` the CRM
/// sent replaces the jittered delay, clamped to `[delay, 2 × delay]`: a CRM may ask for more
/// time, within reason, but cannot make igrouter retry sooner than planned.
pub(crate) fn after_failure(
    schedule: &RetrySchedule,
    attempts_made: u32,
    retry_after: Option<Duration>,
    jitter: f64,
    now: Timestamp,
) -> DeliveryNext {
    let Some(delay) = schedule.delay_after(attempts_made) else {
        return DeliveryNext::Dead;
    };
    let wait = match retry_after {
        Some(asked) => asked.clamp(delay, delay.saturating_mul(2)),
        None => jittered_delay(schedule, attempts_made, jitter).unwrap_or(delay),
    };
    DeliveryNext::RetryAt(now.plus(wait))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule() -> RetrySchedule {
        RetrySchedule::parse("CRM_RETRY_SCHEDULE", "5s,30s").unwrap()
    }

    const NOW: Timestamp = Timestamp::from_millis(1_000_000);

    fn retry_in(next: DeliveryNext) -> i64 {
        match next {
            DeliveryNext::RetryAt(at) => at.as_millis() - NOW.as_millis(),
            other => panic!("expected a retry, got {other:?}"),
        }
    }

    #[test]
    fn follows_the_schedule_then_gives_up() {
        assert_eq!(
            retry_in(after_failure(&schedule(), 1, None, 0.0, NOW)),
            5_000
        );
        assert_eq!(
            retry_in(after_failure(&schedule(), 2, None, 0.0, NOW)),
            30_000
        );
        assert_eq!(
            after_failure(&schedule(), 3, None, 0.0, NOW),
            DeliveryNext::Dead
        );
        let never = RetrySchedule::parse("X", "").unwrap();
        assert_eq!(after_failure(&never, 1, None, 0.5, NOW), DeliveryNext::Dead);
    }

    #[test]
    fn jitter_adds_at_most_a_tenth() {
        assert_eq!(
            retry_in(after_failure(&schedule(), 1, None, 0.5, NOW)),
            5_250
        );
        assert_eq!(
            retry_in(after_failure(&schedule(), 1, None, 0.999, NOW)),
            5_499
        );
        assert_eq!(
            retry_in(after_failure(&schedule(), 1, None, 7.0, NOW)),
            5_500
        );
    }

    #[test]
    fn retry_after_is_clamped_between_the_delay_and_twice_it() {
        let asked = |secs| Some(Duration::from_secs(secs));
        assert_eq!(
            retry_in(after_failure(&schedule(), 1, asked(7), 0.9, NOW)),
            7_000
        );
        assert_eq!(
            retry_in(after_failure(&schedule(), 1, asked(1), 0.9, NOW)),
            5_000
        );
        assert_eq!(
            retry_in(after_failure(&schedule(), 1, asked(3600), 0.9, NOW)),
            10_000
        );
        assert_eq!(
            after_failure(&schedule(), 3, asked(1), 0.0, NOW),
            DeliveryNext::Dead,
            "Retry-After does not add attempts"
        );
    }
}

//! What a Graph API answer means for the message: sent, retried (when, and whether the account
//! is held back), or failed for good. Pure, so every rule is unit-tested.

use std::time::Duration;

use domain::ports::InstagramError;
use domain::{RetrySchedule, SendResult, Timestamp};

use super::metrics::SendOutcome;
use crate::workers::retry;

/// Graph error codes that mean "slow down": application, user, page and custom-level throttling
/// and the business use case rate limits. They hold the whole account back, not just the message.
pub(crate) fn is_throttling(code: i64) -> bool {
    matches!(code, 4 | 17 | 32 | 613 | 80_000..=80_014)
}

/// The error message recorded when the Graph API's answer never came back.
pub(crate) const OUTCOME_UNKNOWN_MESSAGE: &str = "outcome unknown: the request reached the Graph API but no answer came back in time; \
     not resent, to never send the DM twice (check the conversation, then send again if it is missing)";

/// The decision after a failed send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// What the queue records.
    pub(crate) result: SendResult,
    /// No send of the account starts before this (Meta throttled the account).
    pub(crate) hold_account_until: Option<Timestamp>,
    /// The token was rejected: mark the account's token invalid.
    pub(crate) token_invalid: bool,
    /// How it is counted.
    pub(crate) outcome: SendOutcome,
    /// Meta's error code, for the metrics.
    pub(crate) error_code: Option<i64>,
}

/// Decides what a failed attempt number `attempts_made` leads to.
///
/// Retryable errors follow `schedule` (with jitter); a back-off Meta implies (`Retry-After`,
/// usage headers) is honoured as a floor, and a throttling code holds the whole account for the
/// same time. Once the schedule is used up the message fails with the last error. A rejected
/// token (190) and every other code fail at once. An unknown outcome fails at once too: Meta
/// offers no idempotency key, so a resend could deliver the DM twice.
pub(crate) fn after_error(
    error: InstagramError,
    schedule: &RetrySchedule,
    attempts_made: u32,
    jitter: f64,
    now: Timestamp,
) -> Failure {
    match error {
        InstagramError::Retryable {
            code,
            message,
            retry_after,
        } => {
            let throttled = code.is_some_and(is_throttling) || retry_after.is_some();
            match retry::jittered_delay(schedule, attempts_made, jitter) {
                Some(delay) => {
                    let wait = retry_after.map_or(delay, |asked| asked.max(delay));
                    let retry_at = now.plus(wait);
                    Failure {
                        result: SendResult::Retry {
                            retry_at,
                            error_code: code,
                            error_message: message,
                        },
                        hold_account_until: throttled.then_some(retry_at),
                        token_invalid: false,
                        outcome: SendOutcome::Retried,
                        error_code: code,
                    }
                }
                None => Failure {
                    result: SendResult::Failed {
                        error_code: code,
                        error_message: message,
                    },
                    hold_account_until: throttled
                        .then(|| now.plus(retry_after.unwrap_or(Duration::from_secs(1)))),
                    token_invalid: false,
                    outcome: SendOutcome::Failed,
                    error_code: code,
                },
            }
        }
        InstagramError::TokenInvalid { message } => Failure {
            result: SendResult::Failed {
                error_code: Some(190),
                error_message: message,
            },
            hold_account_until: None,
            token_invalid: true,
            outcome: SendOutcome::Failed,
            error_code: Some(190),
        },
        InstagramError::Permanent { code, message, .. } => Failure {
            result: SendResult::Failed {
                error_code: Some(code),
                error_message: message,
            },
            hold_account_until: None,
            token_invalid: code == 190,
            outcome: SendOutcome::Failed,
            error_code: Some(code),
        },
        InstagramError::OutcomeUnknown { message } => Failure {
            result: SendResult::Failed {
                error_code: None,
                error_message: format!("{OUTCOME_UNKNOWN_MESSAGE} ({message})"),
            },
            hold_account_until: None,
            token_invalid: false,
            outcome: SendOutcome::OutcomeUnknown,
            error_code: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp::from_millis(1_000_000);

    fn schedule() -> RetrySchedule {
        RetrySchedule::parse("SEND_RETRY_SCHEDULE", "1s,5s").unwrap()
    }

    fn retryable(code: Option<i64>, retry_after: Option<u64>) -> InstagramError {
        InstagramError::Retryable {
            code,
            message: "try later".to_owned(),
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    #[test]
    fn a_server_error_is_retried_on_the_schedule_without_holding_the_account() {
        let failure = after_error(retryable(Some(2), None), &schedule(), 1, 0.0, NOW);
        assert_eq!(
            failure.result,
            SendResult::Retry {
                retry_at: NOW.plus(Duration::from_secs(1)),
                error_code: Some(2),
                error_message: "try later".to_owned(),
            }
        );
        assert_eq!(failure.hold_account_until, None);
        assert_eq!(failure.outcome, SendOutcome::Retried);
    }

    #[test]
    fn throttling_holds_the_account_for_at_least_the_back_off_meta_asked_for() {
        let failure = after_error(retryable(Some(613), Some(30)), &schedule(), 1, 0.0, NOW);
        let until = NOW.plus(Duration::from_secs(30));
        assert!(matches!(failure.result, SendResult::Retry { retry_at, .. } if retry_at == until));
        assert_eq!(failure.hold_account_until, Some(until));
        let failure = after_error(retryable(Some(4), None), &schedule(), 2, 0.0, NOW);
        assert_eq!(
            failure.hold_account_until,
            Some(NOW.plus(Duration::from_secs(5)))
        );
    }

    #[test]
    fn retries_end_with_the_last_error() {
        let failure = after_error(retryable(Some(1), None), &schedule(), 3, 0.0, NOW);
        assert_eq!(
            failure.result,
            SendResult::Failed {
                error_code: Some(1),
                error_message: "try later".to_owned(),
            }
        );
        assert_eq!(failure.outcome, SendOutcome::Failed);
    }

    #[test]
    fn a_rejected_token_fails_at_once_and_marks_the_token() {
        let failure = after_error(
            InstagramError::TokenInvalid {
                message: "expired".to_owned(),
            },
            &schedule(),
            1,
            0.0,
            NOW,
        );
        assert!(failure.token_invalid);
        assert!(matches!(
            failure.result,
            SendResult::Failed {
                error_code: Some(190),
                ..
            }
        ));
    }

    #[test]
    fn permanent_errors_fail_at_once_with_their_code() {
        let failure = after_error(
            InstagramError::Permanent {
                code: 10,
                subcode: Some(2_018_278),
                message: "outside the window".to_owned(),
            },
            &schedule(),
            1,
            0.0,
            NOW,
        );
        assert_eq!(
            failure.result,
            SendResult::Failed {
                error_code: Some(10),
                error_message: "outside the window".to_owned(),
            }
        );
        assert!(!failure.token_invalid);
    }

    #[test]
    fn an_unknown_outcome_is_never_resent() {
        let failure = after_error(
            InstagramError::OutcomeUnknown {
                message: "timed out".to_owned(),
            },
            &schedule(),
            1,
            0.0,
            NOW,
        );
        assert!(matches!(
            &failure.result,
            SendResult::Failed { error_code: None, error_message } if error_message.starts_with("outcome unknown")
        ));
        assert_eq!(failure.outcome, SendOutcome::OutcomeUnknown);
    }
}

//! The deliveries resource's public JSON: a delivery as the API shows it (with the body the CRM
//! receives, as a JSON object), its attempts, and the recover body parsed into domain types.

use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::ports::DeliveryWithAttempts;
use domain::{AccountId, CrmDelivery, DeliveryAttempt, DeliveryStatus, Timestamp, ValidationError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use utoipa::ToSchema;

use crate::openapi::{CrmEventSchema, schemas};
use crate::routes::json_fields::{nullable_string, present, required_string};

/// The widest window one recover may replay (contract §3: at most 14 days), so one call cannot
/// flood a CRM that has just come back with its whole history.
pub(super) const MAX_RECOVER_WINDOW: Duration = Duration::from_secs(14 * 24 * 60 * 60);

/// A delivery in API answers.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Delivery)]
pub(super) struct DeliveryDto {
    /// The event id: the body's `event_id` and the `webhook-id` header.
    #[schema(schema_with = schemas::event_id)]
    id: String,
    /// The account whose CRM receives it.
    #[schema(schema_with = schemas::account_id)]
    account_id: String,
    #[schema(schema_with = schemas::crm_event)]
    event: &'static str,
    /// The igrouter message (`msg_…`) the event is about; `null` when there is none.
    #[schema(schema_with = schemas::nullable_message_id, required = true)]
    message_id: Option<String>,
    #[schema(schema_with = schemas::delivery_status)]
    status: &'static str,
    /// Attempts started so far, including one under way.
    attempt_count: u32,
    /// The stored `due_at`: when the next attempt starts. For a `delivering` delivery that is
    /// the end of the current attempt's claim, when another attempt starts if this one never
    /// reports back.
    #[schema(format = DateTime, required = true)]
    next_attempt_at: Option<String>,
    /// The error of the latest finished attempt; `null` when it succeeded or none has finished.
    #[schema(required = true)]
    last_error: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    /// When the CRM accepted it.
    #[schema(format = DateTime, required = true)]
    delivered_at: Option<String>,
    /// The `X-Request-Id` of the request that queued it (the webhook, or the send an
    /// `outbound.*` event is about), sent with every attempt; `null` when none was kept.
    #[schema(schema_with = schemas::nullable_request_id, required = true)]
    request_id: Option<String>,
    /// The stored body embedded as it is, so clients get an object rather than a string holding
    /// JSON, with exactly the bytes (member order included) the CRM receives.
    #[schema(value_type = CrmEventSchema)]
    payload: Box<RawValue>,
}

/// `GET /api/v1/deliveries/{id}`: the delivery and every attempt, oldest first.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = DeliveryDetail)]
pub(super) struct DeliveryDetailDto {
    #[serde(flatten)]
    delivery: DeliveryDto,
    /// Every finished attempt, oldest first.
    attempts: Vec<AttemptDto>,
}

/// One recorded attempt.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = DeliveryAttempt)]
struct AttemptDto {
    /// From 1.
    #[schema(minimum = 1)]
    number: u32,
    #[schema(format = DateTime)]
    started_at: String,
    /// `null` when the CRM did not answer.
    #[schema(required = true)]
    http_status: Option<u16>,
    latency_ms: u64,
    /// `null` for the attempt the CRM accepted.
    #[schema(required = true)]
    error: Option<String>,
    /// The start of the CRM's answer body.
    #[schema(required = true)]
    response_excerpt: Option<String>,
}

/// One page of deliveries.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct DeliveryPage {
    pub(super) data: Vec<DeliveryDto>,
    /// Pass it back as `cursor` for the next page; `null` on the last.
    #[schema(required = true)]
    pub(super) next_cursor: Option<String>,
}

/// The `202` answer to a recover.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Recovered)]
pub(super) struct RecoveredDto {
    /// How many failed deliveries were made pending again.
    pub(super) count: u64,
}

/// `POST /api/v1/deliveries/recover`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RecoverRequest)]
pub(crate) struct RecoverBody {
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = schemas::account_id, required = true)]
    account_id: Option<Value>,
    /// The window's start (RFC 3339, any offset), at most 14 days before `until`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, format = DateTime, required = true)]
    since: Option<Value>,
    /// The window's end, after `since`; absent or `null`: now.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    until: Option<Value>,
}

/// What a recover replays: the failed deliveries of `account` created in `[since, until)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RecoverWindow {
    pub(super) account: AccountId,
    pub(super) since: Timestamp,
    pub(super) until: Timestamp,
}

impl TryFrom<&CrmDelivery> for DeliveryDto {
    type Error = serde_json::Error;

    /// Fails only when the stored payload is not JSON, which igrouter never writes.
    fn try_from(delivery: &CrmDelivery) -> Result<Self, Self::Error> {
        Ok(Self {
            id: delivery.id.to_string(),
            account_id: delivery.account_id.to_string(),
            event: delivery.event_type.as_str(),
            message_id: delivery.message_id.as_ref().map(ToString::to_string),
            status: delivery.status.as_str(),
            attempt_count: delivery.attempts,
            next_attempt_at: delivery.due_at.map(Timestamp::to_rfc3339),
            last_error: delivery.last_error.clone(),
            created_at: delivery.created_at.to_rfc3339(),
            updated_at: delivery.updated_at.to_rfc3339(),
            delivered_at: delivery.delivered_at.map(Timestamp::to_rfc3339),
            request_id: delivery.request_id.as_ref().map(ToString::to_string),
            payload: RawValue::from_string(delivery.payload.clone())?,
        })
    }
}

impl TryFrom<&DeliveryWithAttempts> for DeliveryDetailDto {
    type Error = serde_json::Error;

    fn try_from(found: &DeliveryWithAttempts) -> Result<Self, Self::Error> {
        Ok(Self {
            delivery: DeliveryDto::try_from(&found.delivery)?,
            attempts: found.attempts.iter().map(AttemptDto::from).collect(),
        })
    }
}

impl From<&DeliveryAttempt> for AttemptDto {
    fn from(attempt: &DeliveryAttempt) -> Self {
        Self {
            number: attempt.number,
            started_at: attempt.started_at.to_rfc3339(),
            http_status: attempt.http_status,
            latency_ms: attempt.latency_ms,
            error: attempt.error.clone(),
            response_excerpt: attempt.response_excerpt.clone(),
        }
    }
}

impl RecoverBody {
    /// The window, validated against `now` (the default `until`): `since` before `until`, and at
    /// most [`MAX_RECOVER_WINDOW`] apart.
    pub(super) fn parse(self, now: Timestamp) -> Result<RecoverWindow, ValidationError> {
        let account = AccountId::parse(&required_string("account_id", self.account_id)?)?;
        let since = timestamp("since", &required_string("since", self.since)?)?;
        let until = nullable_string("until", self.until)?
            .flatten()
            .map(|text| timestamp("until", &text))
            .transpose()?;
        // Name the member the client can fix: with `until` left out, only `since` was chosen.
        let (until, order_field, order_reason) = match until {
            Some(until) => (until, "until", "must be after since"),
            None => (now, "since", "must be in the past (until defaults to now)"),
        };
        if since >= until {
            return Err(ValidationError::new(order_field, order_reason));
        }
        if since < until.minus(MAX_RECOVER_WINDOW) {
            return Err(ValidationError::new(
                "since",
                "must be at most 14 days before until",
            ));
        }
        Ok(RecoverWindow {
            account,
            since,
            until,
        })
    }
}

/// A `status` filter value.
///
/// # Errors
/// A [`ValidationError`] for `status` when it names no status.
pub(super) fn parse_status(name: &str) -> Result<DeliveryStatus, ValidationError> {
    DeliveryStatus::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = DeliveryStatus::ALL.map(DeliveryStatus::as_str).to_vec();
        ValidationError::new("status", format!("must be one of {}", names.join(", ")))
    })
}

/// An RFC 3339 timestamp with any offset, as the instant it names (to the millisecond).
fn timestamp(field: &'static str, text: &str) -> Result<Timestamp, ValidationError> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| Timestamp::from(at.with_timezone(&Utc)))
        .map_err(|_| {
            ValidationError::new(
                field,
                "must be an RFC 3339 timestamp, e.g. 2025-11-15T10:30:00Z",
            )
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: &str = "2025-11-15T10:30:00Z";

    fn now() -> Timestamp {
        timestamp("now", NOW).unwrap()
    }

    fn window(body: Value) -> Result<RecoverWindow, ValidationError> {
        serde_json::from_value::<RecoverBody>(body)
            .unwrap()
            .parse(now())
    }

    #[test]
    fn until_defaults_to_now_and_offsets_are_honoured() {
        let parsed = window(json!({
            "account_id": "acc_3k9x2m7q1z8w",
            "since": "2025-11-15T11:30:00.250+02:00",
            "until": null,
        }))
        .unwrap();
        assert_eq!(parsed.account.as_str(), "acc_3k9x2m7q1z8w");
        assert_eq!(
            parsed.since,
            now()
                .minus(Duration::from_secs(3600))
                .plus(Duration::from_millis(250))
        );
        assert_eq!(parsed.until, now());
        let parsed = window(json!({
            "account_id": "acc_3k9x2m7q1z8w",
            "since": "2025-11-01T10:30:00Z",
        }))
        .unwrap();
        assert_eq!(parsed.until, now());
        assert_eq!(
            parsed.since,
            now().minus(MAX_RECOVER_WINDOW),
            "14 days exactly"
        );
    }

    #[test]
    fn bad_windows_name_the_member_to_fix() {
        let account = "acc_3k9x2m7q1z8w";
        for (body, field) in [
            (json!({"since": NOW}), "account_id"),
            (json!({"account_id": "acc_x", "since": NOW}), "account_id"),
            (json!({"account_id": account}), "since"),
            (
                json!({"account_id": account, "since": "2025-11-15"}),
                "since",
            ),
            (
                json!({"account_id": account, "since": 1_763_202_600}),
                "since",
            ),
            (json!({"account_id": account, "since": NOW}), "since"),
            (
                json!({"account_id": account, "since": "2025-11-16T00:00:00Z"}),
                "since",
            ),
            (
                json!({"account_id": account, "since": "2025-11-10T00:00:00Z", "until": "2025-11-09T00:00:00Z"}),
                "until",
            ),
            (
                json!({"account_id": account, "since": "2025-11-10T00:00:00Z", "until": "tomorrow"}),
                "until",
            ),
            (
                json!({"account_id": account, "since": "2025-11-01T10:29:59.999Z"}),
                "since",
            ),
            (
                json!({"account_id": account, "since": "2025-10-01T00:00:00Z", "until": "2025-10-15T00:00:00.001Z"}),
                "since",
            ),
        ] {
            assert_eq!(window(body.clone()).unwrap_err().field, field, "{body}");
        }
        assert!(serde_json::from_value::<RecoverBody>(json!({"account": "x"})).is_err());
    }

    #[test]
    fn statuses_are_the_four_names() {
        assert_eq!(parse_status("failed").unwrap(), DeliveryStatus::Failed);
        for bad in ["", "FAILED", "dead", "sent"] {
            let error = parse_status(bad).unwrap_err();
            assert_eq!(error.field, "status", "{bad}");
            assert!(error.reason.contains("pending, delivering"), "{bad}");
        }
    }
}

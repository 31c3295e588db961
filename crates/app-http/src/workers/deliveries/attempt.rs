//! One delivery attempt: build the signed request from the account, post it, record what
//! happened and what comes next.

use std::sync::Arc;
use std::time::Instant;

use domain::ports::{
    AttemptRecord, Clock, CredentialCipher, CrmAttemptError, CrmNotifier, CrmRequest, CrmResponse,
    DeliveryQueueError,
};
use domain::{Account, CrmDelivery, DeliveryAttempt, DeliveryNext, RetrySchedule, Timestamp};

use super::metrics::{AttemptOutcome, DeliveryMetrics};
use super::recorder::Recorder;
use crate::workers::accounts::AccountLookup;
use crate::workers::retry;

/// What every attempt needs; shared by the worker's tasks.
pub(crate) struct AttemptContext {
    pub(crate) recorder: Recorder,
    pub(crate) cipher: Arc<dyn CredentialCipher>,
    pub(crate) notifier: Arc<dyn CrmNotifier>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) schedule: RetrySchedule,
    pub(crate) metrics: Arc<DeliveryMetrics>,
}

/// What one attempt produced, before it is recorded.
struct AttemptResult {
    http_status: Option<u16>,
    error: Option<String>,
    excerpt: Option<String>,
    retry_after: Option<std::time::Duration>,
}

impl AttemptResult {
    fn delivered(&self) -> bool {
        self.error.is_none()
    }

    fn failed(error: String) -> Self {
        Self {
            http_status: None,
            error: Some(error),
            excerpt: None,
            retry_after: None,
        }
    }

    fn from_response(response: CrmResponse) -> Self {
        let ok = (200..300).contains(&response.status);
        Self {
            http_status: Some(response.status),
            error: (!ok).then(|| format!("crm answered http {}", response.status)),
            excerpt: (!response.excerpt.is_empty()).then_some(response.excerpt),
            retry_after: if ok { None } else { response.retry_after },
        }
    }
}

/// Makes attempt number `delivery.attempts` of `delivery` (claimed by this worker) to
/// `recipient`'s CRM and records it.
pub(crate) async fn attempt(
    context: &AttemptContext,
    delivery: CrmDelivery,
    recipient: AccountLookup,
) {
    let started_at = context.clock.now();
    let started = Instant::now();
    let result = match recipient {
        AccountLookup::Found(account) => post(context, &delivery, &account, started_at).await,
        AccountLookup::Gone => AttemptResult::failed("the account no longer exists".to_owned()),
        AccountLookup::Unreadable => {
            AttemptResult::failed("the account could not be read".to_owned())
        }
    };
    let latency = started.elapsed();
    let next = if result.delivered() {
        DeliveryNext::Delivered
    } else {
        retry::after_failure(
            &context.schedule,
            delivery.attempts,
            result.retry_after,
            retry::jitter(),
            context.clock.now(),
        )
    };
    let record = DeliveryAttempt {
        number: delivery.attempts,
        started_at,
        http_status: result.http_status,
        latency_ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
        error: result.error.clone(),
        response_excerpt: result.excerpt,
    };
    let written = context
        .recorder
        .record(AttemptRecord {
            id: delivery.id.clone(),
            attempt: record,
            next,
        })
        .await;
    let outcome = match written {
        Ok(()) => match next {
            DeliveryNext::Delivered => {
                tracing::debug!(
                    crm.delivery_id = %delivery.id,
                    account.id = %delivery.account_id,
                    attempt = delivery.attempts,
                    http.status = result.http_status,
                    duration_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
                    "crm delivery delivered"
                );
                AttemptOutcome::Delivered
            }
            DeliveryNext::RetryAt(at) => {
                tracing::info!(
                    crm.delivery_id = %delivery.id,
                    account.id = %delivery.account_id,
                    attempt = delivery.attempts,
                    retry_at = %at.to_rfc3339(),
                    error = result.error.as_deref().unwrap_or_default(),
                    "crm delivery attempt failed; will retry"
                );
                AttemptOutcome::Retried
            }
            DeliveryNext::Dead => {
                tracing::warn!(
                    crm.delivery_id = %delivery.id,
                    account.id = %delivery.account_id,
                    attempts = delivery.attempts,
                    error = result.error.as_deref().unwrap_or_default(),
                    "crm delivery failed for good; replay it with POST /api/v1/deliveries/{{id}}/retry"
                );
                AttemptOutcome::Dead
            }
        },
        Err(DeliveryQueueError::ClaimLost | DeliveryQueueError::NotFound) => {
            tracing::info!(
                crm.delivery_id = %delivery.id,
                "crm delivery attempt finished after its claim was taken over or the delivery deleted; result dropped"
            );
            AttemptOutcome::ClaimLost
        }
        Err(error) => {
            tracing::error!(
                crm.delivery_id = %delivery.id,
                error = %error,
                "could not record a crm delivery attempt; it will be attempted again when its claim expires"
            );
            AttemptOutcome::RecordFailed
        }
    };
    context.metrics.record(outcome, latency);
}

/// Posts the signed body; any failure to even ask is a failed attempt with a reason.
async fn post(
    context: &AttemptContext,
    delivery: &CrmDelivery,
    account: &Account,
    sent_at: Timestamp,
) -> AttemptResult {
    let Some(url) = account.crm_webhook_url.clone() else {
        return AttemptResult::failed("the account has no crm_webhook_url".to_owned());
    };
    let secret = match context.cipher.open(&account.id, &account.webhook_secret) {
        Ok(secret) => secret,
        Err(error) => {
            tracing::error!(account.id = %account.id, error = %error, "could not open the account's webhook secret");
            return AttemptResult::failed("the webhook secret could not be decrypted".to_owned());
        }
    };
    let request = CrmRequest {
        url,
        secret,
        event_id: delivery.id.clone(),
        payload: delivery.payload.clone(),
        sent_at,
        request_id: delivery.request_id.clone(),
    };
    match context.notifier.deliver(&request).await {
        Ok(response) => AttemptResult::from_response(response),
        Err(error @ CrmAttemptError::Timeout) => AttemptResult::failed(format!("crm {error}")),
        Err(error) => AttemptResult::failed(error.to_string()),
    }
}

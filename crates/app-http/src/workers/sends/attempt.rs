//! One send: wait for the account's pace, fill an auto-reply's `{username}` in, call the Graph
//! API with the account's token, record the outcome with the CRM delivery it causes, and tell
//! anyone waiting on `Prefer: wait`.

use std::sync::Arc;
use std::time::Duration;

use domain::ports::{
    AccountStore, Clock, CredentialCipher, InstagramClient, OutboundQueue, OutboundQueueError,
    SendPacing,
};
use domain::{
    Account, AccountChanges, CrmDelivery, OutboundContent, OutboundMessage, OutboundStatus,
    RetrySchedule, SendResult, Timestamp,
};
use secrecy::SecretString;

use super::classify::{self, Failure};
use super::metrics::{SendMetrics, SendOutcome};
use crate::random;
use crate::replies::{self, ProfileCache};
use crate::workers::accounts::AccountLookup;
use crate::workers::retry;
use crate::workers::{SendOutcomes, Wake};

/// Longest a claimed send waits for its account's pace before it is handed back to the queue
/// instead (a held account); the send lease covers this wait.
pub(crate) const MAX_PACE_WAIT: Duration = Duration::from_secs(2);

/// What every send needs; shared by the worker's tasks.
pub(crate) struct SendContext {
    pub(crate) queue: Arc<dyn OutboundQueue>,
    pub(crate) accounts: Arc<dyn AccountStore>,
    pub(crate) cipher: Arc<dyn CredentialCipher>,
    pub(crate) instagram: Arc<dyn InstagramClient>,
    pub(crate) pacing: Arc<dyn SendPacing>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) schedule: RetrySchedule,
    pub(crate) metrics: Arc<SendMetrics>,
    pub(crate) outcomes: SendOutcomes,
    pub(crate) delivery_wake: Wake,
    pub(crate) profiles: ProfileCache,
}

/// Sends `message` (claimed by this worker, attempt `message.attempts`) from `sender`.
pub(crate) async fn send(context: &SendContext, message: OutboundMessage, sender: AccountLookup) {
    let account = match sender {
        AccountLookup::Found(account) => account,
        AccountLookup::Gone => {
            let failure = SendResult::Failed {
                error_code: None,
                error_message: "the account no longer exists".to_owned(),
            };
            finish(context, &message, None, failure, SendOutcome::Failed, None).await;
            return;
        }
        AccountLookup::Unreadable => {
            let failure = retry_later(context, &message, "the account could not be read");
            finish(context, &message, None, failure.0, failure.1, None).await;
            return;
        }
    };
    if let Some(since) = account.token_invalid_since {
        let failure = SendResult::Failed {
            error_code: Some(190),
            error_message: format!(
                "the account's access token was rejected by Meta at {}; set a new one with PATCH /api/v1/accounts/{}",
                since.to_rfc3339(),
                account.id
            ),
        };
        finish(
            context,
            &message,
            Some(&account),
            failure,
            SendOutcome::Failed,
            Some(190),
        )
        .await;
        return;
    }
    if !wait_for_pace(context, &message, &account).await {
        return;
    }
    let token = match context.cipher.open(&account.id, &account.access_token) {
        Ok(token) => token,
        Err(error) => {
            tracing::error!(account.id = %account.id, error = %error, "could not open the account's access token");
            let failure = retry_later(context, &message, "the access token could not be decrypted");
            finish(
                context,
                &message,
                Some(&account),
                failure.0,
                failure.1,
                None,
            )
            .await;
            return;
        }
    };
    let Some(message) = fill_username(context, message, &account, &token).await else {
        return;
    };
    call_graph(context, &message, &account, &token).await;
}

/// An auto-reply with `{username}` gets the customer's username (or the neutral fallback, see
/// `replies::fill`) written into its stored text before Meta is called, so status, history and
/// the CRM's `outbound.sent` show what the customer received. `None` when the message must not
/// be sent now: its claim was lost, or the text could not be stored (retried later).
async fn fill_username(
    context: &SendContext,
    mut message: OutboundMessage,
    account: &Account,
    token: &SecretString,
) -> Option<OutboundMessage> {
    let OutboundContent::Text(template) = &message.content else {
        return Some(message);
    };
    if message.rule_id.is_none() || !template.contains(replies::PLACEHOLDER) {
        return Some(message);
    }
    let username = context
        .profiles
        .username(
            context.instagram.as_ref(),
            token,
            &account.id,
            &message.recipient_id,
            message.request_id.as_ref(),
        )
        .await;
    let text = replies::fill(template, username.as_deref());
    let now = context.clock.now();
    match context
        .queue
        .fill_outbound_text(&message.id, message.attempts, &text, now)
        .await
    {
        Ok(()) => {
            message.content = OutboundContent::Text(text);
            message.updated_at = now;
            Some(message)
        }
        Err(OutboundQueueError::ClaimLost | OutboundQueueError::NotFound) => {
            tracing::info!(message.id = %message.id, "auto-reply taken over or deleted before its send; dropped here");
            context.metrics.record(SendOutcome::ClaimLost, None);
            None
        }
        Err(error) => {
            tracing::warn!(message.id = %message.id, error = %error, "could not store the auto-reply's text; it is sent later");
            let failure = retry_later(
                context,
                &message,
                "the auto-reply's text could not be stored",
            );
            finish(context, &message, Some(account), failure.0, failure.1, None).await;
            None
        }
    }
}

/// Waits for the account's next send slot. Returns false when the message was handed back to
/// the queue instead (the slot is too far off, or the pace could not be read).
async fn wait_for_pace(
    context: &SendContext,
    message: &OutboundMessage,
    account: &Account,
) -> bool {
    let now = context.clock.now();
    let rate = account.send_rate_per_second.max(1);
    let spacing = Duration::from_secs(1) / rate;
    // A tenth of a second's worth may go back to back, so a short burst (a few replies at once)
    // is not spaced out while the rate over any second still holds.
    let burst = (rate / 10).max(1);
    let slot = match context
        .pacing
        .reserve_send_slot(&account.id, now, spacing, burst)
        .await
    {
        Ok(slot) => slot,
        Err(error) => {
            tracing::warn!(account.id = %account.id, error = %error, "could not reserve a send slot");
            postpone(context, message, now.plus(Duration::from_secs(1))).await;
            return false;
        }
    };
    let wait_ms = slot.as_millis().saturating_sub(now.as_millis());
    let wait = Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0));
    tracing::debug!(message.id = %message.id, wait_ms, "send paced");
    if wait > MAX_PACE_WAIT {
        postpone(context, message, slot).await;
        return false;
    }
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    true
}

/// Hands the message back untried, due at `until`.
async fn postpone(context: &SendContext, message: &OutboundMessage, until: Timestamp) {
    let outcome = match context
        .queue
        .postpone_outbound(&message.id, message.attempts, until, context.clock.now())
        .await
    {
        Ok(()) => SendOutcome::Postponed,
        Err(OutboundQueueError::ClaimLost | OutboundQueueError::NotFound) => SendOutcome::ClaimLost,
        Err(error) => {
            tracing::warn!(message.id = %message.id, error = %error, "could not hand a send back to the queue; it returns when its claim expires");
            SendOutcome::RecordFailed
        }
    };
    context.metrics.record(outcome, None);
}

/// The Graph API call and what follows from its answer.
async fn call_graph(
    context: &SendContext,
    message: &OutboundMessage,
    account: &Account,
    token: &SecretString,
) {
    let answer = context
        .instagram
        .send_message(
            token,
            &message.recipient_id,
            &message.content,
            message.request_id.as_ref(),
        )
        .await;
    let now = context.clock.now();
    let (result, outcome, error_code) = match answer {
        Ok(sent) => (
            SendResult::Sent {
                instagram_message_id: sent.instagram_message_id,
            },
            SendOutcome::Sent,
            None,
        ),
        Err(error) => {
            let Failure {
                result,
                hold_account_until,
                token_invalid,
                outcome,
                error_code,
            } = classify::after_error(
                error,
                &context.schedule,
                message.attempts,
                retry::jitter(),
                now,
            );
            if let Some(until) = hold_account_until {
                tracing::info!(account.id = %account.id, until = %until.to_rfc3339(), error_code, "meta throttled the account: its sends wait");
                if let Err(error) = context.pacing.hold_sends(&account.id, until).await {
                    tracing::warn!(account.id = %account.id, error = %error, "could not hold the account's sends");
                }
            }
            if token_invalid {
                mark_token_invalid(context, account, now).await;
            }
            (result, outcome, error_code)
        }
    };
    finish(context, message, Some(account), result, outcome, error_code).await;
}

/// Records that Meta rejected the account's token, so later sends fail at once and the account
/// shows it until the token is replaced.
async fn mark_token_invalid(context: &SendContext, account: &Account, now: Timestamp) {
    tracing::warn!(account.id = %account.id, "meta rejected the account's access token (190): its sends fail until a new token is set");
    let changes = AccountChanges {
        token_invalid_since: Some(Some(now)),
        ..AccountChanges::default()
    };
    if let Err(error) = context
        .accounts
        .update_account(&account.id, changes, now)
        .await
    {
        tracing::error!(account.id = %account.id, error = %error, "could not mark the account's token invalid");
    }
}

/// A retry on the schedule after a failure of ours (not Meta's), or the end when none is left.
fn retry_later(
    context: &SendContext,
    message: &OutboundMessage,
    reason: &str,
) -> (SendResult, SendOutcome) {
    match retry::jittered_delay(&context.schedule, message.attempts, retry::jitter()) {
        Some(delay) => (
            SendResult::Retry {
                retry_at: context.clock.now().plus(delay),
                error_code: None,
                error_message: reason.to_owned(),
            },
            SendOutcome::Retried,
        ),
        None => (
            SendResult::Failed {
                error_code: None,
                error_message: reason.to_owned(),
            },
            SendOutcome::Failed,
        ),
    }
}

/// Writes the outcome (with its CRM delivery when final and the account forwards) and announces
/// a final one to `Prefer: wait` requests of this instance.
async fn finish(
    context: &SendContext,
    message: &OutboundMessage,
    account: Option<&Account>,
    result: SendResult,
    outcome: SendOutcome,
    error_code: Option<i64>,
) {
    let now = context.clock.now();
    let delivery = account.and_then(|account| crm_delivery(message, account, &result, now));
    let queued_delivery = delivery.is_some();
    let outcome = match record_outcome(context, message, result, delivery, now).await {
        Ok(stored) => {
            if stored.status.is_final() {
                context.outcomes.publish(&stored.id);
            }
            if queued_delivery {
                context.delivery_wake.ring_for([&message.account_id]);
            }
            outcome
        }
        Err(OutboundQueueError::ClaimLost | OutboundQueueError::NotFound) => {
            tracing::info!(message.id = %message.id, "send finished after its claim was taken over or the message deleted; result dropped");
            SendOutcome::ClaimLost
        }
        Err(error) => {
            tracing::error!(message.id = %message.id, error = %error, "could not record a send's outcome; it is taken up again when its claim expires");
            SendOutcome::RecordFailed
        }
    };
    context.metrics.record(outcome, error_code);
}

/// Pauses between tries to write an outcome when the database fails.
const RECORD_RETRIES: [Duration; 3] = [
    Duration::from_millis(250),
    Duration::from_secs(1),
    Duration::from_secs(3),
];

/// Writes the outcome, trying again a few times (well within the claim) when the database
/// fails: a call Meta answered but whose outcome is not written would be sent again once the
/// claim expires.
async fn record_outcome(
    context: &SendContext,
    message: &OutboundMessage,
    result: SendResult,
    delivery: Option<CrmDelivery>,
    now: Timestamp,
) -> Result<OutboundMessage, OutboundQueueError> {
    let mut pauses = RECORD_RETRIES.iter();
    loop {
        let written = context
            .queue
            .finish_outbound(
                &message.id,
                message.attempts,
                result.clone(),
                delivery.clone(),
                now,
            )
            .await;
        match (written, pauses.next()) {
            (Err(OutboundQueueError::Store(error)), Some(pause)) => {
                tracing::warn!(message.id = %message.id, error = %error, "could not record a send's outcome; trying again");
                tokio::time::sleep(*pause).await;
            }
            (written, _) => return written,
        }
    }
}

/// The `outbound.sent` / `outbound.failed` delivery a final result causes, for an account with
/// a CRM URL.
fn crm_delivery(
    message: &OutboundMessage,
    account: &Account,
    result: &SendResult,
    now: Timestamp,
) -> Option<CrmDelivery> {
    account.crm_webhook_url.as_ref()?;
    let mut after = message.clone();
    match result {
        SendResult::Sent {
            instagram_message_id,
        } => {
            after.status = OutboundStatus::Sent;
            after.instagram_message_id = Some(instagram_message_id.clone());
        }
        SendResult::Failed {
            error_code,
            error_message,
        } => {
            after.status = OutboundStatus::Failed;
            after.error_code = *error_code;
            after.error_message = Some(error_message.clone());
        }
        SendResult::Retry { .. } => return None,
    }
    after.updated_at = now;
    let event_id = match random::event_id() {
        Ok(id) => id,
        Err(error) => {
            tracing::error!(message.id = %message.id, error = %error, "no event id for the send's crm delivery");
            return None;
        }
    };
    match adapters_crm::outbound_payload(account, &event_id, &after) {
        Ok(payload) => Some(
            CrmDelivery::new_pending(
                event_id,
                account.id.clone(),
                payload.event_type,
                Some(message.id.clone()),
                format!("outbound:{}", message.id),
                payload.body,
                now,
            )
            // The CRM can match `outbound.sent` with the send request it answers.
            .with_request_id(message.request_id.clone()),
        ),
        Err(error) => {
            tracing::error!(message.id = %message.id, error = %error, "could not build the send's crm delivery");
            None
        }
    }
}

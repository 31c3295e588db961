//! The CRM delivery an inbound event causes. The body is built once, here, by `adapters-crm`
//! (which alone knows the CRM wire format), and stored with the delivery, so every retry sends
//! and signs the same bytes.

use domain::{Account, CrmDelivery, Message, Timestamp};

use super::IngestError;
use crate::random;
use crate::telemetry::request_id;

/// The pending delivery of `message` to `account`'s CRM, or `None` when the account has no CRM
/// URL (its events are stored, not forwarded).
///
/// Every echo is forwarded as `message.echo` for now: recognising echoes of messages igrouter
/// sent itself (which the CRM learns about as `outbound.sent`) needs the outbound queue.
///
/// # Errors
/// [`IngestError::Random`] when no event id can be drawn, [`IngestError::DeliveryBody`] when the
/// body cannot be built.
pub(super) fn delivery_for(
    message: &Message,
    account: &Account,
    now: Timestamp,
) -> Result<Option<CrmDelivery>, IngestError> {
    if account.crm_webhook_url.is_none() {
        return Ok(None);
    }
    let event_id = random::event_id().map_err(IngestError::Random)?;
    let payload = adapters_crm::message_payload(account, &event_id, message)
        .map_err(IngestError::DeliveryBody)?;
    Ok(Some(
        CrmDelivery::new_pending(
            event_id,
            account.id.clone(),
            payload.event_type,
            Some(message.id.clone()),
            message.event_key.clone(),
            payload.body,
            now,
        )
        .with_request_id(request_id::current()),
    ))
}

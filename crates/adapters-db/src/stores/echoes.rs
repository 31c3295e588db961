//! Echoes of igrouter's own sends. Meta echoes every message the business sends, the ones
//! igrouter sent included; such an echo is the same message as the send, so it is linked to it
//! (`messages.outbound_message_id`): the history lists the send alone, and the CRM, which hears
//! of the send as `outbound.sent`, gets no `message.echo` for it.
//!
//! The echo and the Graph API's answer race. When the echo comes second, the ingest use case
//! finds the send by its `mid` (`OutboundQueue::sends_by_instagram_ids`) and stores the echo
//! linked, without a delivery. When the echo comes first it is stored and its `message.echo`
//! delivery queued as for any echo; recording the send as `sent` then links it here, in the same
//! transaction, and withdraws that delivery if no attempt at it has started. One started already
//! reaches the CRM: there both events carry the same Meta id (`message_id` of the echo,
//! `instagram_message_id` of `outbound.sent`).

/// Links the stored echo of the send `$send_id` of account `$account_id`, whose Meta id is
/// `$mid`, to the send, and deletes the echo's `message.echo` delivery while it is pending and
/// untried. Runs inside the transaction that records the send as sent; `?` returns a failed
/// query's error from it.
macro_rules! link_echo {
    ($conn:expr, $send_id:expr, $account_id:expr, $mid:expr) => {{
        use domain::{CrmEventType, DeliveryStatus, EventKind, Message, Timestamp};
        use $crate::schema::{accounts, crm_deliveries, messages};

        // The echo's key is the `mid:` key it shares with the message itself; with the
        // business's Instagram id it is the unique index of `messages`.
        let key = Message::event_key_for(
            EventKind::Echo,
            Some($mid),
            "",
            Timestamp::from_millis(0),
            "",
        );
        let business = accounts::table
            .find($account_id)
            .select(accounts::instagram_account_id)
            .single_value();
        let echoes: Vec<String> = messages::table
            .filter(messages::instagram_account_id.nullable().eq(business))
            .filter(messages::event_key.eq(&key))
            .filter(messages::kind.eq(EventKind::Echo.as_str()))
            .filter(messages::outbound_message_id.is_null())
            .select(messages::id)
            .load($conn)
            .await?;
        if !echoes.is_empty() {
            diesel::update(messages::table.filter(messages::id.eq_any(&echoes)))
                .set(messages::outbound_message_id.eq($send_id))
                .execute($conn)
                .await?;
            // The delivery of an event is keyed by the event's key (unique per account).
            diesel::delete(
                crm_deliveries::table
                    .filter(crm_deliveries::account_id.eq($account_id))
                    .filter(crm_deliveries::dedupe_key.eq(&key))
                    .filter(crm_deliveries::event_type.eq(CrmEventType::MessageEcho.as_str()))
                    .filter(crm_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
                    .filter(crm_deliveries::attempts.eq(0)),
            )
            .execute($conn)
            .await?;
        }
    }};
}

pub(crate) use link_echo;

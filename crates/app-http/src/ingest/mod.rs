//! The ingest use case: a parsed webhook body becomes stored messages plus the CRM deliveries
//! they cause, committed together in one `MessageStore::ingest` transaction.
//!
//! For each event it looks the business account up (once per body and business id), builds the
//! `domain::Message` with a fresh id and the time the body was received, and, for accounts with
//! a CRM URL, the pending `CrmDelivery`. Echoes of messages igrouter sent are linked to their
//! send and not forwarded; an inbound text that one of the account's rules matches gets its
//! auto-reply, from the rules compiled in memory (`replies.rs`). Events for an unknown business
//! are stored without an account and not forwarded. Skipped items are logged at debug level and
//! counted.

mod counters;
mod delivery;
mod replies;

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use adapters_instagram::ParsedWebhook;
use domain::ports::{AccountStore, AccountStoreError, Clock, MessageStore, StoreError};
use domain::{Account, AccountId, EventKind, InboundRecord, IngestResult, InstagramId};

pub use counters::{CountersSnapshot, EVENT_OUTCOMES, EventCounts, SKIP_CODES, WebhookCounters};
pub(crate) use replies::IngestReplies;

use crate::random::{self, RandomUnavailable};
use crate::workers::Wake;

/// Stores what a webhook body holds. Cheap to share: every field is an `Arc`.
#[derive(Clone)]
pub(crate) struct Ingest {
    accounts: Arc<dyn AccountStore>,
    messages: Arc<dyn MessageStore>,
    clock: Arc<dyn Clock>,
    counters: Arc<WebhookCounters>,
    delivery_wake: Wake,
    replies: IngestReplies,
}

/// What one body caused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct IngestOutcome {
    /// Events stored now.
    pub(crate) stored: usize,
    /// Events that were already stored.
    pub(crate) duplicates: usize,
    /// CRM deliveries queued (by the stored events only).
    pub(crate) deliveries: usize,
    /// Auto-replies handed to the store with stored events; each is queued unless its rule's
    /// cooldown for the sender holds it back.
    pub(crate) replies: usize,
    /// Events for a business account the service does not know.
    pub(crate) unknown_account: usize,
    /// Items skipped by the parser.
    pub(crate) skipped: usize,
}

/// Why a body could not be stored. Nothing of it is stored in any case.
#[derive(Debug, thiserror::Error)]
pub(crate) enum IngestError {
    /// The account lookup failed.
    #[error("could not look up the business account")]
    Accounts(#[source] StoreError),
    /// The transaction failed, or the lookup of the sends echoes are copies of.
    #[error("could not store the webhook's events")]
    Store(#[source] StoreError),
    /// An account's auto-reply rules could not be read.
    #[error("could not read the auto-reply rules")]
    Rules(#[source] StoreError),
    /// No id could be drawn.
    #[error("could not draw an id")]
    Random(#[source] RandomUnavailable),
    /// A CRM delivery body could not be built.
    #[error("could not build a crm delivery")]
    DeliveryBody(#[source] adapters_crm::PayloadError),
}

impl Ingest {
    /// The use case over these ports; it counts into `counters`, rings `delivery_wake` after
    /// committing deliveries and `replies.send_wake` after committing auto-replies.
    pub(crate) fn new(
        accounts: Arc<dyn AccountStore>,
        messages: Arc<dyn MessageStore>,
        clock: Arc<dyn Clock>,
        counters: Arc<WebhookCounters>,
        delivery_wake: Wake,
        replies: IngestReplies,
    ) -> Self {
        Self {
            accounts,
            messages,
            clock,
            counters,
            delivery_wake,
            replies,
        }
    }

    /// The counters this use case (and the webhook handler) count into.
    pub(crate) fn counters(&self) -> &WebhookCounters {
        &self.counters
    }

    /// Stores every event of `parsed` with the deliveries it causes, in one transaction.
    ///
    /// # Errors
    /// [`IngestError`]; then nothing of the body is stored and Meta should retry.
    pub(crate) async fn ingest(&self, parsed: ParsedWebhook) -> Result<IngestOutcome, IngestError> {
        let ParsedWebhook { events, skipped } = parsed;
        for item in &skipped {
            tracing::debug!(
                webhook.skip_reason = item.reason.code(),
                "webhook item skipped: {item}"
            );
            self.counters.add_skipped(item.reason.code());
        }
        let mut outcome = IngestOutcome {
            skipped: skipped.len(),
            ..IngestOutcome::default()
        };
        if events.is_empty() {
            return Ok(outcome);
        }
        let now = self.clock.now();
        let mut accounts: HashMap<InstagramId, Option<Account>> = HashMap::new();
        let mut messages = Vec::with_capacity(events.len());
        for event in events {
            let account = self.account(&mut accounts, &event.business_id).await?;
            let id = random::message_id().map_err(IngestError::Random)?;
            messages.push(event.into_message(id, account.map(|a| a.id.clone()), now));
        }
        self.replies.link_echoes(&mut messages).await?;
        let mut records = Vec::with_capacity(messages.len());
        for message in messages {
            let Some(Some(account)) = accounts.get(&message.instagram_account_id) else {
                outcome.unknown_account += 1;
                records.push(InboundRecord {
                    message,
                    delivery: None,
                    auto_reply: None,
                });
                continue;
            };
            // An echo of igrouter's own send is not forwarded: the CRM gets `outbound.sent`.
            let delivery = match message.outbound_message_id {
                Some(_) => None,
                None => delivery::delivery_for(&message, account, now)?,
            };
            let auto_reply = self.replies.auto_reply(&message, account, now).await?;
            records.push(InboundRecord {
                message,
                delivery,
                auto_reply,
            });
        }
        let caused: Vec<(EventKind, bool, bool)> = records
            .iter()
            .map(|r| (r.message.kind, r.delivery.is_some(), r.auto_reply.is_some()))
            .collect();
        let forwarding: HashSet<AccountId> = records
            .iter()
            .filter_map(|r| r.delivery.as_ref().map(|d| d.account_id.clone()))
            .collect();
        let replying: HashSet<AccountId> = records
            .iter()
            .filter_map(|r| r.auto_reply.as_ref().map(|m| m.account_id.clone()))
            .collect();
        let results = self
            .messages
            .ingest(records)
            .await
            .map_err(IngestError::Store)?;
        for ((kind, forwarded, replied), result) in caused.into_iter().zip(results) {
            self.counters.add_event(kind, result);
            match result {
                IngestResult::Stored => {
                    outcome.stored += 1;
                    outcome.deliveries += usize::from(forwarded);
                    outcome.replies += usize::from(replied);
                }
                IngestResult::Duplicate => outcome.duplicates += 1,
            }
        }
        // Duplicates' accounts may be rung for too: one claim that finds nothing, no harm; and
        // so may a reply the cooldown held back.
        if outcome.deliveries > 0 {
            self.delivery_wake.ring_for(&forwarding);
        }
        if outcome.replies > 0 {
            self.replies.send_wake.ring_for(&replying);
        }
        self.count(&outcome);
        Ok(outcome)
    }

    /// The account of `business_id`, looked up once per body; warns the first time it is unknown.
    async fn account<'a>(
        &self,
        cache: &'a mut HashMap<InstagramId, Option<Account>>,
        business_id: &InstagramId,
    ) -> Result<Option<&'a Account>, IngestError> {
        let slot = match cache.entry(business_id.clone()) {
            Entry::Occupied(slot) => slot.into_mut(),
            Entry::Vacant(slot) => {
                let found = self
                    .accounts
                    .account_by_instagram_id(business_id)
                    .await
                    .map_err(|error| match error {
                        AccountStoreError::Store(error) => IngestError::Accounts(error),
                        other => IngestError::Accounts(StoreError::Backend(Box::new(other))),
                    })?;
                if found.is_none() {
                    tracing::warn!(
                        instagram.business_id = %business_id,
                        "webhook for an unknown business account: events stored, not forwarded"
                    );
                }
                slot.insert(found)
            }
        };
        Ok(slot.as_ref())
    }

    fn count(&self, outcome: &IngestOutcome) {
        let wide = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        self.counters
            .add_deliveries_queued(wide(outcome.deliveries));
        self.counters
            .add_unknown_account(wide(outcome.unknown_account));
    }
}

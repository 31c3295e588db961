//! `MessageStore::conversation`: one account's events (`messages`) and sends
//! (`outbound_messages`) in one newest-first listing.
//!
//! Each table is read on its own, through its own (account, time, id) index, with the same
//! keyset condition and `limit + 1` rows; the two runs are merged here. Whatever the page holds,
//! it is the first `limit + 1` of the merged order, because neither table can contribute more
//! than that. A SQL `UNION` would need the two row shapes padded into one, for no fewer rows read.

use std::cmp::Reverse;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use domain::{HistoryEntry, OutboundMessage, PageRequest};

use super::messages::Linked;
use super::outbound::OutboundRow;
use crate::Database;
use crate::error::DbError;
use crate::macros::with_conn;
use crate::schema::outbound_messages;

impl Database {
    /// Up to `page.limit + 1` entries of the account's conversation after `page.after`, newest
    /// first by (time, id).
    pub(super) async fn load_conversation(
        &self,
        account: &str,
        participant: Option<&str>,
        page: &PageRequest,
    ) -> Result<Vec<HistoryEntry>, DbError> {
        let events = self
            .load_history(account, participant, page, Linked::Without)
            .await?;
        let sends = self.load_sends(account, participant, page).await?;
        let mut entries: Vec<HistoryEntry> = events
            .into_iter()
            .map(HistoryEntry::Event)
            .chain(sends.into_iter().map(HistoryEntry::Sent))
            .collect();
        // Ids compare byte by byte here as in every backend's index: they are ASCII, and MySQL's
        // columns use a binary collation.
        entries.sort_by(|a, b| {
            (Reverse(a.at()), Reverse(a.id().as_str()))
                .cmp(&(Reverse(b.at()), Reverse(b.id().as_str())))
        });
        entries.truncate(usize::try_from(page.limit).unwrap_or(usize::MAX) + 1);
        Ok(entries)
    }

    /// Up to `page.limit + 1` of the account's sends after `page.after`, newest queued first.
    async fn load_sends(
        &self,
        account: &str,
        participant: Option<&str>,
        page: &PageRequest,
    ) -> Result<Vec<OutboundMessage>, DbError> {
        use outbound_messages::dsl as o;
        let limit = i64::from(page.limit) + 1;
        let rows: Vec<OutboundRow> = with_conn!(self, |conn| {
            let mut query = o::outbound_messages
                .filter(o::account_id.eq(account))
                .select(OutboundRow::as_select())
                .order((o::created_at.desc(), o::id.desc()))
                .limit(limit)
                .into_boxed();
            if let Some(participant) = participant {
                query = query.filter(o::recipient_id.eq(participant));
            }
            if let Some(cursor) = &page.after {
                let at = cursor.at.as_millis();
                query = query.filter(
                    o::created_at
                        .lt(at)
                        .or(o::created_at.eq(at).and(o::id.lt(cursor.id.clone()))),
                );
            }
            query.load(conn).await?
        });
        rows.into_iter().map(OutboundMessage::try_from).collect()
    }
}

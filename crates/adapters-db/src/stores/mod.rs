//! One module per port: the row structs of its tables and the trait implementation.

mod accounts;
mod api_keys;
mod batch;
mod claim;
mod conversation;
mod cooldowns;
mod cte;
mod deliveries;
mod echoes;
mod group_commit;
mod idempotency;
mod ingest;
mod messages;
mod outbound;
mod pacing;
mod queue_stats;
mod rules;
mod stats;

pub(crate) use group_commit::GroupQueue;

use domain::{Cursor, Page, Timestamp};

/// Turns `limit + 1` rows into a page: the extra row only says there is a next page.
pub(crate) fn page_of<T>(
    mut rows: Vec<T>,
    limit: u32,
    key: impl Fn(&T) -> (Timestamp, String),
) -> Page<T> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let has_more = rows.len() > limit;
    rows.truncate(limit);
    let next = if has_more {
        rows.last().map(|last| {
            let (at, id) = key(last);
            Cursor { at, id }
        })
    } else {
        None
    };
    Page { items: rows, next }
}

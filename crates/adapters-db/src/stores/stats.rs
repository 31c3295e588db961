//! `StatsStore`: an account's daily counts and first-response percentiles, aggregated by the
//! database in two queries whatever the range.
//!
//! Both queries are written once for the three backends; they use only what SQLite (≥ 3.25),
//! PostgreSQL and MariaDB (≥ 10.2) share: CTEs, `UNION ALL`, correlated subqueries, and the
//! window functions `LAG`, `MIN` and `COUNT` with `OVER`. The one dialect difference is the
//! placeholder (`$n` on PostgreSQL, `?` elsewhere), see [`placeholders`]. Times are epoch milliseconds, so a UTC day is integer
//! arithmetic (`t - (t - start) % 86400000` is the midnight that starts `t`'s day), and every
//! result is a `COUNT`, a `MIN`/`MAX` or integer arithmetic on `BIGINT`s: no `SUM` (a `NUMERIC`
//! on PostgreSQL, a `DECIMAL` on MariaDB) and no division (a `DECIMAL` on MariaDB). Only
//! integers the service computed and the domain's status and kind names are formatted into the
//! SQL; the account id is a bind parameter.
//!
//! Indexes: messages by `messages_history` and `messages_participant`, sends by `outbound_sent`
//! (`account_id, status, updated_at`, for the sent time) and `outbound_participant_sent`
//! (`account_id, recipient_id, status, updated_at`, the first-response probe: one seek),
//! deliveries by `deliveries_account_status` (bucketed by `created_at` for that reason too).

use async_trait::async_trait;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel_async::RunQueryDsl;
use domain::ports::{StatsStore, StoreError};
use domain::stats::{CONVERSATION_GAP_MILLIS, DAY_MILLIS};
use domain::{
    AccountId, AccountStats, DailyCounts, DeliveryStatus, Direction, EventKind, FirstResponse,
    OutboundStatus, StatsRange,
};

use crate::error::DbError;
use crate::macros::with_conn;
use crate::{Backend, Database};

/// One day with activity, as the daily query returns it.
#[derive(diesel::QueryableByName)]
struct DayRow {
    /// Midnight UTC that starts the day, epoch ms.
    #[diesel(sql_type = BigInt)]
    day_start: i64,
    #[diesel(sql_type = BigInt)]
    messages_in: i64,
    #[diesel(sql_type = BigInt)]
    messages_out: i64,
    #[diesel(sql_type = BigInt)]
    auto_replies: i64,
    #[diesel(sql_type = BigInt)]
    deliveries_ok: i64,
    #[diesel(sql_type = BigInt)]
    deliveries_failed: i64,
}

/// The first-response query's one row; percentiles in tenths of a millisecond.
#[derive(diesel::QueryableByName)]
struct FirstResponseRow {
    #[diesel(sql_type = BigInt)]
    conversations: i64,
    #[diesel(sql_type = BigInt)]
    answered: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    p50: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    p90: Option<i64>,
}

/// The condition, on `messages m`, of an echo of a message the business sent from elsewhere
/// (the Instagram app, another tool): not linked to one of igrouter's sends, and no send of the
/// account has its Meta id. The second half covers an echo committed while its send was being
/// recorded, which neither side could link (`stores/echoes.rs`).
fn foreign_echo() -> String {
    format!(
        "m.kind = '{echo}' AND m.outbound_message_id IS NULL \
         AND NOT EXISTS (SELECT 1 FROM outbound_messages s \
             WHERE s.account_id = m.account_id AND s.instagram_message_id = m.instagram_message_id)",
        echo = EventKind::Echo.as_str(),
    )
}

/// The condition, on `messages m`, of a message a customer sent.
fn customer_message() -> String {
    format!(
        "m.direction = '{inbound}' AND m.kind = '{message}'",
        inbound = Direction::Inbound.as_str(),
        message = EventKind::Message.as_str(),
    )
}

/// One row per day with activity in `[start, end)`: customer messages and foreign echoes by
/// Meta's time, sent rows by their sent time (series 2 API sends, 3 auto-replies), finished
/// deliveries by the time they were queued. Four `?`: the account id.
fn daily_sql(start: i64, end: i64) -> String {
    let day = |column: &str| format!("{column} - ({column} - {start}) % {DAY_MILLIS}");
    format!(
        "SELECT day_start, \
             COUNT(CASE WHEN series = 1 THEN 1 END) AS messages_in, \
             COUNT(CASE WHEN series IN (2, 3, 4) THEN 1 END) AS messages_out, \
             COUNT(CASE WHEN series = 3 THEN 1 END) AS auto_replies, \
             COUNT(CASE WHEN series = 5 THEN 1 END) AS deliveries_ok, \
             COUNT(CASE WHEN series = 6 THEN 1 END) AS deliveries_failed \
         FROM ( \
             SELECT {m_day} AS day_start, 1 AS series FROM messages m \
             WHERE m.account_id = ? AND m.occurred_at >= {start} AND m.occurred_at < {end} \
                 AND {customer} \
             UNION ALL \
             SELECT {m_day}, 4 FROM messages m \
             WHERE m.account_id = ? AND m.occurred_at >= {start} AND m.occurred_at < {end} \
                 AND {foreign} \
             UNION ALL \
             SELECT {o_day}, CASE WHEN o.rule_id IS NULL THEN 2 ELSE 3 END FROM outbound_messages o \
             WHERE o.account_id = ? AND o.status = '{sent}' \
                 AND o.updated_at >= {start} AND o.updated_at < {end} \
             UNION ALL \
             SELECT {d_day}, CASE WHEN d.status = '{delivered}' THEN 5 ELSE 6 END \
             FROM crm_deliveries d \
             WHERE d.account_id = ? AND d.status IN ('{delivered}', '{failed}') \
                 AND d.created_at >= {start} AND d.created_at < {end} \
         ) buckets \
         GROUP BY day_start ORDER BY day_start",
        m_day = day("m.occurred_at"),
        o_day = day("o.updated_at"),
        d_day = day("d.created_at"),
        customer = customer_message(),
        foreign = foreign_echo(),
        sent = OutboundStatus::Sent.as_str(),
        delivered = DeliveryStatus::Delivered.as_str(),
        failed = DeliveryStatus::Failed.as_str(),
    )
}

/// How far past the range the window in [`first_response_sql`] reads the business's messages
/// to find answers; an answer later than that is looked up by an index probe per conversation.
const ANSWER_HORIZON_MILLIS: i64 = 7 * DAY_MILLIS;

/// The conversations customers started in `[start, end)`, how many got an answer, and the
/// interpolated 50th and 90th percentiles of the time to it. Five `?`: the account id.
///
/// `timeline` holds the customers' messages from one gap before the range to its end, and the
/// business's messages from then to [`ANSWER_HORIZON_MILLIS`] after it. `LAG` gives each
/// customer message the time of the participant's message before it (a business message at the
/// same millisecond sorts after it, so it answers rather than precedes), and a message with none
/// within the gap starts a conversation. Its answer is the business's first message to the
/// participant at or after it, at any time: a running `MIN` over the participant's timeline,
/// newest first, finds it when it is within the horizon (one sort for the whole range); only
/// for the others, the earliest sent row (`outbound_participant_sent`) or foreign echo
/// (`messages_participant`) is looked up by two index probes. Each CTE is read once (MariaDB
/// computes a CTE again for every reference); the window in `answers` also keeps PostgreSQL
/// from inlining it into `waits`, which would repeat its probes in every branch of the `CASE`.
/// An unanswered conversation stays in `waits` with a NULL wait: `COUNT(waited)` ranks and counts
/// the answered ones only, wherever a backend sorts NULLs.
///
/// The percentiles interpolate linearly between the closest ranks, like `PERCENTILE_CONT`
/// (which SQLite lacks): with `n` waits sorted, the `q` quantile sits at 0-based position
/// `q·(n−1)`. In tenths, `k = 10q·(n−1)` is an integer; with `r` the 1-based rank, the row at
/// `r = ⌊k/10⌋ + 1` weighs `10r − k` and the next one `k + 20 − 10r`, and their weighted sum is
/// ten times the percentile. Both weights are found by comparisons and never go negative, so
/// no division and no unsigned overflow on MariaDB.
fn first_response_sql(start: i64, end: i64) -> String {
    let lookback = start.saturating_sub(CONVERSATION_GAP_MILLIS);
    let horizon = end.saturating_add(ANSWER_HORIZON_MILLIS);
    let gap = CONVERSATION_GAP_MILLIS;
    let percentile = |tenths: i64| {
        let k = format!("{tenths} * (n - 1)");
        format!(
            "MAX(CASE WHEN 10 * r <= {k} + 10 AND {k} < 10 * r THEN waited * (10 * r - {k}) END) \
             + COALESCE(MAX(CASE WHEN {k} + 10 < 10 * r AND 10 * r <= {k} + 20 \
                 THEN waited * ({k} + 20 - 10 * r) END), 0)"
        )
    };
    format!(
        "WITH timeline AS ( \
             SELECT m.participant_id AS participant, m.occurred_at AS moment, 0 AS outbound \
             FROM messages m \
             WHERE m.account_id = ? AND m.occurred_at >= {lookback} AND m.occurred_at < {end} \
                 AND {customer} \
             UNION ALL \
             SELECT m.participant_id, m.occurred_at, 1 FROM messages m \
             WHERE m.account_id = ? AND m.occurred_at >= {lookback} AND m.occurred_at < {horizon} \
                 AND {foreign} \
             UNION ALL \
             SELECT o.recipient_id, o.updated_at, 1 FROM outbound_messages o \
             WHERE o.account_id = ? AND o.status = '{sent}' \
                 AND o.updated_at >= {lookback} AND o.updated_at < {horizon} \
         ), \
         ordered AS ( \
             SELECT participant, moment, outbound, \
                 LAG(moment) OVER (PARTITION BY participant ORDER BY moment, outbound) AS previous, \
                 MIN(CASE WHEN outbound = 1 THEN moment END) OVER (PARTITION BY participant \
                     ORDER BY moment DESC, outbound DESC \
                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS answered_at \
             FROM timeline \
         ), \
         answers AS ( \
             SELECT moment, answered_at, \
                 CASE WHEN answered_at IS NULL THEN \
                     (SELECT MIN(o.updated_at) FROM outbound_messages o \
                      WHERE o.account_id = ? AND o.recipient_id = st.participant \
                          AND o.status = '{sent}' AND o.updated_at >= st.moment) END AS sent_at, \
                 CASE WHEN answered_at IS NULL THEN \
                     (SELECT MIN(m.occurred_at) FROM messages m \
                      WHERE m.account_id = ? AND m.participant_id = st.participant \
                          AND m.occurred_at >= st.moment AND {foreign}) END AS echo_at, \
                 COUNT(*) OVER () AS conversations \
             FROM ordered st \
             WHERE outbound = 0 AND moment >= {start} \
                 AND (previous IS NULL OR previous <= moment - {gap}) \
         ), \
         waits AS ( \
             SELECT conversations, \
                 CASE WHEN answered_at IS NOT NULL THEN answered_at \
                     WHEN echo_at IS NULL OR sent_at <= echo_at THEN sent_at \
                     ELSE echo_at END - moment AS waited \
             FROM answers \
         ), \
         ranked AS ( \
             SELECT conversations, waited, \
                 COUNT(waited) OVER (ORDER BY waited \
                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS r, \
                 COUNT(waited) OVER () AS n \
             FROM waits \
         ) \
         SELECT COALESCE(MAX(conversations), 0) AS conversations, \
             COUNT(waited) AS answered, \
             {p50} AS p50, \
             {p90} AS p90 \
         FROM ranked",
        customer = customer_message(),
        foreign = foreign_echo(),
        sent = OutboundStatus::Sent.as_str(),
        p50 = percentile(5),
        p90 = percentile(9),
    )
}

/// `sql` with its `?` placeholders as the backend wants them, and how many there are.
/// PostgreSQL numbers them (`$1`, `$2`, …); SQLite and MySQL take `?` in order. The queries
/// here hold no `?` but placeholders.
fn placeholders(backend: Backend, sql: &str) -> (String, usize) {
    let count = sql.matches('?').count();
    match backend {
        Backend::Postgres => {
            let mut numbered = String::with_capacity(sql.len() + count * 2);
            for (n, part) in sql.split('?').enumerate() {
                if n > 0 {
                    numbered.push('$');
                    numbered.push_str(&n.to_string());
                }
                numbered.push_str(part);
            }
            (numbered, count)
        }
        Backend::Sqlite | Backend::Mysql => (sql.to_owned(), count),
    }
}

/// Runs `$sql` with the account id `$account` bound to each of its `$count` placeholders,
/// loading rows of type `$row`, on connection `$conn`.
macro_rules! load_for_account {
    ($conn:expr, $sql:expr, $count:expr, $account:expr, $row:ty) => {{
        let mut query = diesel::sql_query($sql).into_boxed();
        for _ in 0..$count {
            query = query.bind::<Text, _>($account);
        }
        query.load::<$row>($conn).await?
    }};
}

fn count(value: i64) -> Result<u64, DbError> {
    u64::try_from(value).map_err(|_| DbError::Corrupt(format!("negative count {value}")))
}

impl Database {
    async fn read_stats(
        &self,
        account: &str,
        start: i64,
        end: i64,
    ) -> Result<(Vec<DayRow>, Option<FirstResponseRow>), DbError> {
        let (daily, daily_binds) = placeholders(self.backend(), &daily_sql(start, end));
        let (first, first_binds) = placeholders(self.backend(), &first_response_sql(start, end));
        with_conn!(self, |conn| {
            let days = load_for_account!(conn, daily.as_str(), daily_binds, account, DayRow);
            let first =
                load_for_account!(conn, first.as_str(), first_binds, account, FirstResponseRow);
            Ok((days, first.into_iter().next()))
        })
    }
}

#[async_trait]
impl StatsStore for Database {
    async fn account_stats(
        &self,
        account: &AccountId,
        range: &StatsRange,
    ) -> Result<AccountStats, StoreError> {
        let start = range.start().as_millis();
        let (rows, first) = self
            .read_stats(account.as_str(), start, range.end().as_millis())
            .await?;
        let mut days: Vec<_> = range
            .dates()
            .map(|date| (date, DailyCounts::default()))
            .collect();
        for row in rows {
            let index = usize::try_from((row.day_start - start) / DAY_MILLIS)
                .ok()
                .filter(|_| (row.day_start - start) % DAY_MILLIS == 0);
            let slot = index
                .and_then(|index| days.get_mut(index))
                .ok_or_else(|| DbError::Corrupt(format!("day {} out of range", row.day_start)))?;
            slot.1 = DailyCounts {
                messages_in: count(row.messages_in)?,
                messages_out: count(row.messages_out)?,
                auto_replies: count(row.auto_replies)?,
                deliveries_ok: count(row.deliveries_ok)?,
                deliveries_failed: count(row.deliveries_failed)?,
            };
        }
        let first_response = match first {
            Some(row) => FirstResponse {
                conversations: count(row.conversations)?,
                answered: count(row.answered)?,
                p50_tenth_millis: row.p50,
                p90_tenth_millis: row.p90,
            },
            None => FirstResponse::default(),
        };
        Ok(AccountStats {
            account_id: account.clone(),
            range: *range,
            days,
            first_response,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_numbers_its_placeholders() {
        let sql = "SELECT 1 WHERE a = ? AND b = ?";
        assert_eq!(
            placeholders(Backend::Postgres, sql),
            ("SELECT 1 WHERE a = $1 AND b = $2".to_owned(), 2)
        );
        assert_eq!(placeholders(Backend::Mysql, sql), (sql.to_owned(), 2));
        assert_eq!(daily_sql(0, 1).matches('?').count(), 4);
        assert_eq!(first_response_sql(0, 1).matches('?').count(), 5);
    }
}

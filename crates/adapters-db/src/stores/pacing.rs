//! `SendPacing` over `accounts.next_send_at_us`: the time, in microseconds, at which the
//! account's pace lets the next send start (GCRA's "theoretical arrival time"; it may lag the
//! clock by the burst tolerance, and a hold pushes it ahead).
//!
//! A reservation moves that time on by one spacing in a single `UPDATE`, then reads it back in
//! the same transaction. The `UPDATE` takes the row's write lock (SQLite: the database's), so
//! concurrent reservations from any instance queue on it and each gets its own slot.

use std::time::Duration;

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use domain::ports::{SendPacing, StoreError};
use domain::{AccountId, Timestamp};

use crate::error::{DbError, retry_conflicts};
use crate::macros::with_tx;
use crate::schema::accounts;
use crate::{Backend, Database};

/// `UPDATE accounts SET next_send_at_us = max(next_send_at_us, floor) + step WHERE id = <bind>`.
/// Only integers are formatted in; the id is a bind parameter.
fn advance_sql(backend: Backend, floor_us: i64, step_us: i64) -> String {
    let placeholder = match backend {
        Backend::Postgres => "$1",
        Backend::Sqlite | Backend::Mysql => "?",
    };
    format!(
        "UPDATE accounts SET next_send_at_us = \
         CASE WHEN next_send_at_us > {floor_us} THEN next_send_at_us ELSE {floor_us} END + {step_us} \
         WHERE id = {placeholder}"
    )
}

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

impl Database {
    /// [`Self::advance_pace`], run again when it loses a race (a MySQL deadlock).
    async fn advance_pace_retrying(
        &self,
        account: &str,
        floor_us: i64,
        step_us: i64,
    ) -> Result<Option<i64>, DbError> {
        retry_conflicts(|| self.advance_pace(account, floor_us, step_us)).await
    }

    /// Advances the pace and returns the new `next_send_at_us` (`None`: no such account).
    async fn advance_pace(
        &self,
        account: &str,
        floor_us: i64,
        step_us: i64,
    ) -> Result<Option<i64>, DbError> {
        let sql = advance_sql(self.backend(), floor_us, step_us);
        with_tx!(self, |conn| {
            let updated = diesel::sql_query(sql.as_str())
                .bind::<Text, _>(account)
                .execute(conn)
                .await?;
            if updated == 0 {
                return Ok(None);
            }
            let next: i64 = accounts::table
                .find(account)
                .select(accounts::next_send_at_us)
                .first(conn)
                .await?;
            Ok(Some(next))
        })
    }
}

#[async_trait]
impl SendPacing for Database {
    async fn reserve_send_slot(
        &self,
        account: &AccountId,
        now: Timestamp,
        spacing: Duration,
        burst: u32,
    ) -> Result<Timestamp, StoreError> {
        let now_us = now.as_millis().saturating_mul(1_000);
        let step_us = micros(spacing).max(1);
        // The pace may lag `now` by up to `burst - 1` steps: that many sends may start back to
        // back after a quiet spell.
        let tolerance_us = step_us.saturating_mul(i64::from(burst.saturating_sub(1)));
        let floor_us = now_us.saturating_sub(tolerance_us);
        let Some(next_us) = self
            .advance_pace_retrying(account.as_str(), floor_us, step_us)
            .await?
        else {
            return Ok(now);
        };
        // This send's slot is where the pace stood before this reservation moved it on.
        let start_us = next_us.saturating_sub(step_us).max(now_us);
        // Rounded up to whole milliseconds, so rounding never runs faster than the pace.
        Ok(Timestamp::from_millis(
            start_us.saturating_add(999).div_euclid(1_000),
        ))
    }

    async fn hold_sends(&self, account: &AccountId, until: Timestamp) -> Result<(), StoreError> {
        let until_us = until.as_millis().saturating_mul(1_000);
        self.advance_pace_retrying(account.as_str(), until_us, 0)
            .await?;
        Ok(())
    }
}

//! Claiming due work from a queue table safely with several service instances.
//!
//! Both queues (`crm_deliveries`, `outbound_messages`) keep one `due_at` column: when a pending
//! row's next attempt is due, or when a claimed row's lease runs out; NULL once final. A claim
//! picks the rows due first, pushes their `due_at` to the end of the lease and bumps `attempts`,
//! in one transaction. PostgreSQL and MariaDB lock the picked rows with `FOR UPDATE SKIP LOCKED`
//! so concurrent claimers take different rows instead of waiting; SQLite has no row locks, and
//! the `BEGIN IMMEDIATE` of `with_tx!` serialises claimers instead.

use domain::AccountId;

use crate::Backend;

/// The `SELECT` that picks up to `limit` due ids from `table`, locked where the backend can,
/// leaving out rows of the accounts in `skip_accounts`.
///
/// Integers and account ids are the only values formatted into the SQL, and an [`AccountId`]
/// is `acc_` and base32 letters by construction; [`quoted_id`] checks that again so the SQL
/// can never be injected even if that type changed.
pub(crate) fn due_ids_sql(
    backend: Backend,
    table: &str,
    now: i64,
    limit: u32,
    skip_accounts: &[AccountId],
) -> String {
    let lock = match backend {
        Backend::Sqlite => "",
        Backend::Postgres | Backend::Mysql => " FOR UPDATE SKIP LOCKED",
    };
    let skipped: Vec<String> = skip_accounts.iter().filter_map(quoted_id).collect();
    let skip = if skipped.is_empty() {
        String::new()
    } else {
        format!(" AND account_id NOT IN ({})", skipped.join(", "))
    };
    format!(
        "SELECT id FROM {table} WHERE due_at <= {now}{skip} ORDER BY due_at, id LIMIT {limit}{lock}"
    )
}

/// `'acc_…'` as an SQL literal, or `None` for an id holding anything but letters, digits and
/// `_` (impossible for a parsed [`AccountId`]; such an id is simply not skipped).
fn quoted_id(id: &AccountId) -> Option<String> {
    let text = id.as_str();
    text.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
        .then(|| format!("'{text}'"))
}

/// Claims up to `$limit` due rows of queue table `$table` (a `crate::schema` module) for
/// `$lease`, except those of the accounts in `$skip`, marking them `$claimed`, and loads them as `$row`, oldest first. A macro because
/// diesel's DSL is typed per table; both queues share the same queue columns.
macro_rules! claim_due_rows {
    ($db:expr, $table:ident, $row:ty, $claimed:expr, $now:expr, $limit:expr, $lease:expr, $skip:expr) => {{
        let select = $crate::stores::claim::due_ids_sql(
            $db.backend(),
            stringify!($table),
            $now.as_millis(),
            $limit,
            $skip,
        );
        let now = $now.as_millis();
        let lease_end = now.saturating_add(i64::try_from($lease.as_millis()).unwrap_or(i64::MAX));
        $crate::macros::with_tx!($db, |conn| {
            let ids: Vec<String> = diesel::sql_query(select.as_str())
                .load::<$crate::stores::claim::IdRow>(conn)
                .await?
                .into_iter()
                .map(|row| row.id)
                .collect();
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            diesel::update($table::table.filter($table::id.eq_any(&ids)))
                .set((
                    $table::status.eq($claimed),
                    $table::attempts.eq($table::attempts + 1),
                    $table::due_at.eq(Some(lease_end)),
                    $table::updated_at.eq(now),
                ))
                .execute(conn)
                .await?;
            let rows: Vec<$row> = $table::table
                .filter($table::id.eq_any(&ids))
                .select(<$row>::as_select())
                .order(($table::created_at.asc(), $table::id.asc()))
                .load(conn)
                .await?;
            Ok(rows)
        })
    }};
}

pub(crate) use claim_due_rows;

/// One id, as `sql_query` returns it.
#[derive(diesel::QueryableByName)]
pub(crate) struct IdRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub(crate) id: String,
}

/// What a guarded update found, when it did not simply succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Guarded<T> {
    Done(T),
    NotFound,
    ClaimLost,
}

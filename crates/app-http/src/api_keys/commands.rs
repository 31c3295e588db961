//! `igrouter api-keys create|list|revoke`, as functions over the ports so tests and the binary
//! share them.

use domain::ports::{AccountStore, AccountStoreError, ApiKeyStore, Clock, StoreError};
use domain::{AccountId, ApiKey, ApiKeyId, ApiKeyScope, Timestamp};

use super::token::NewApiKey;
use crate::random::RandomUnavailable;

/// Why an API key command failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiKeyCommandError {
    /// `--account` named an account that does not exist.
    #[error("unknown account {0}: no key was created")]
    UnknownAccount(AccountId),
    /// `revoke` named no active key.
    #[error("no active api key {0} (unknown or already revoked)")]
    NotActive(ApiKeyId),
    /// No randomness for the key.
    #[error(transparent)]
    Random(#[from] RandomUnavailable),
    /// The database failed.
    #[error("database error")]
    Store(#[from] StoreError),
    /// The database failed while checking an account.
    #[error("database error")]
    AccountStore(#[from] AccountStoreError),
}

/// Creates a key named `name` that sees `accounts` (every account when empty) and returns it
/// with its secret, which exists nowhere else.
///
/// # Errors
/// [`ApiKeyCommandError::UnknownAccount`] when an account does not exist; otherwise database or
/// randomness failures.
pub async fn create(
    keys: &dyn ApiKeyStore,
    account_store: &dyn AccountStore,
    clock: &dyn Clock,
    name: String,
    mut accounts: Vec<AccountId>,
) -> Result<NewApiKey, ApiKeyCommandError> {
    accounts.sort();
    accounts.dedup();
    for account in &accounts {
        if account_store.account(account).await?.is_none() {
            return Err(ApiKeyCommandError::UnknownAccount(account.clone()));
        }
    }
    let scope = if accounts.is_empty() {
        ApiKeyScope::All
    } else {
        ApiKeyScope::Accounts(accounts)
    };
    let key = NewApiKey::generate(name, scope, clock.now())?;
    keys.create_api_key(&key.record).await?;
    Ok(key)
}

/// Every key, revoked ones included, oldest first.
///
/// # Errors
/// When the database fails.
pub async fn list(keys: &dyn ApiKeyStore) -> Result<Vec<ApiKey>, ApiKeyCommandError> {
    Ok(keys.list_api_keys().await?)
}

/// Revokes a key; every instance refuses it from the next request on.
///
/// # Errors
/// [`ApiKeyCommandError::NotActive`] when no unrevoked key has this id.
pub async fn revoke(
    keys: &dyn ApiKeyStore,
    clock: &dyn Clock,
    id: &ApiKeyId,
) -> Result<(), ApiKeyCommandError> {
    if keys.revoke_api_key(id, clock.now()).await? {
        Ok(())
    } else {
        Err(ApiKeyCommandError::NotActive(id.clone()))
    }
}

/// The keys as an aligned text table: id, name, prefix, scope, created, last used, revoked.
pub fn render_table(keys: &[ApiKey]) -> String {
    let header = [
        "ID",
        "NAME",
        "PREFIX",
        "SCOPE",
        "CREATED",
        "LAST USED",
        "REVOKED",
    ]
    .map(String::from);
    let rows: Vec<[String; 7]> = keys
        .iter()
        .map(|key| {
            [
                key.id.to_string(),
                key.name.clone(),
                format!("{}…", key.prefix),
                match &key.scope {
                    ApiKeyScope::All => "all".to_owned(),
                    ApiKeyScope::Accounts(ids) => ids
                        .iter()
                        .map(AccountId::as_str)
                        .collect::<Vec<_>>()
                        .join(","),
                },
                key.created_at.to_rfc3339(),
                time_or_dash(key.last_used_at),
                time_or_dash(key.revoked_at),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|cell| cell.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut table = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        table.push_str(cells.join("  ").trim_end());
        table.push('\n');
    }
    table
}

fn time_or_dash(at: Option<Timestamp>) -> String {
    at.map_or_else(|| "-".to_owned(), Timestamp::to_rfc3339)
}

#[cfg(test)]
mod tests {
    use domain::ApiKeyHash;

    use super::*;

    #[test]
    fn the_table_has_a_header_and_one_aligned_line_per_key() {
        let key = |id: &str, scope, revoked| ApiKey {
            id: ApiKeyId::parse(id).unwrap(),
            name: "crm production".into(),
            prefix: "igr_abcdefgh".into(),
            hash: ApiKeyHash([0; 32]),
            scope,
            created_at: Timestamp::from_millis(1_763_202_600_000),
            last_used_at: None,
            revoked_at: revoked,
        };
        let table = render_table(&[
            key("key_aaaaaaaaaaaa", ApiKeyScope::All, None),
            key(
                "key_bbbbbbbbbbbb",
                ApiKeyScope::Accounts(vec![AccountId::parse("acc_cccccccccccc").unwrap()]),
                Some(Timestamp::from_millis(1_763_202_660_000)),
            ),
        ]);
        let lines: Vec<&str> = table.lines().collect();

        assert_eq!(lines.len(), 3, "{table}");
        assert!(lines[0].starts_with("ID  "), "{table}");
        assert!(lines[1].contains("  all  "), "{table}");
        assert!(lines[2].contains("acc_cccccccccccc"), "{table}");
        assert!(lines[2].ends_with("2025-11-15T10:31:00Z"), "{table}");
        assert_eq!(
            lines[0].find("NAME"),
            lines[1].find("crm production"),
            "{table}"
        );
    }
}

//! The single-account bootstrap (contract §1): with `INSTAGRAM_BUSINESS_ACCOUNT_ID` and
//! `INSTAGRAM_PAGE_ACCESS_TOKEN` set, that account exists after start-up, so a one-account
//! deployment needs no API call.
//!
//! Unknown Instagram id: the account is created with a placeholder username `ig_<id>` (the
//! characters of the id Instagram allows in a username, cut to 30 characters), a fresh random
//! webhook secret and no CRM URL; the API changes those later. Known id: its token is replaced
//! when it differs, and nothing is written when it does not, so restarts are idempotent.

use domain::account::DEFAULT_SEND_RATE_PER_SECOND;
use domain::ports::{AccountStore, AccountStoreError, CipherError, Clock, CredentialCipher};
use domain::{Account, AccountChanges, AccountId, Username, ValidationError};
use secrecy::{ExposeSecret, SecretString};

use crate::config::BootstrapAccount;
use crate::random::{self, RandomUnavailable};

/// Length in bytes of a generated CRM webhook secret.
pub const WEBHOOK_SECRET_LEN: usize = 32;

/// What the bootstrap did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootstrapOutcome {
    /// A new account was created.
    Created(AccountId),
    /// The account existed; its token was replaced.
    TokenUpdated(AccountId),
    /// The account existed with this token already.
    Unchanged(AccountId),
}

/// Why the bootstrap failed.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// No randomness for the id or the webhook secret.
    #[error(transparent)]
    Random(#[from] RandomUnavailable),
    /// The token could not be encrypted.
    #[error("could not encrypt the bootstrap account's credentials")]
    Seal(#[source] CipherError),
    /// The database failed.
    #[error("could not store the bootstrap account")]
    Store(#[from] AccountStoreError),
    /// No username could be derived from the Instagram id.
    #[error("INSTAGRAM_BUSINESS_ACCOUNT_ID gives no valid placeholder username")]
    Username(#[source] ValidationError),
}

/// Creates or updates the configured account.
///
/// # Errors
/// [`BootstrapError`] when the database, the cipher or the random generator fails.
pub async fn ensure_account(
    accounts: &dyn AccountStore,
    cipher: &dyn CredentialCipher,
    clock: &dyn Clock,
    wanted: &BootstrapAccount,
) -> Result<BootstrapOutcome, BootstrapError> {
    if let Some(existing) = accounts
        .account_by_instagram_id(&wanted.instagram_account_id)
        .await?
    {
        return update_token(accounts, cipher, clock, existing, &wanted.access_token).await;
    }
    let id = random::account_id()?;
    let webhook_secret = generate_webhook_secret()?;
    let now = clock.now();
    let account = Account {
        instagram_account_id: wanted.instagram_account_id.clone(),
        username: placeholder_username(wanted.instagram_account_id.as_str())
            .map_err(BootstrapError::Username)?,
        access_token: cipher
            .seal(&id, &wanted.access_token)
            .map_err(BootstrapError::Seal)?,
        webhook_secret: cipher
            .seal(&id, &webhook_secret)
            .map_err(BootstrapError::Seal)?,
        crm_webhook_url: None,
        token_invalid_since: None,
        send_rate_per_second: DEFAULT_SEND_RATE_PER_SECOND,
        created_at: now,
        updated_at: now,
        id,
    };
    match accounts.create_account(&account).await {
        Ok(()) => Ok(BootstrapOutcome::Created(account.id)),
        // Another instance created it between the lookup and the insert: update that one.
        Err(AccountStoreError::InstagramAccountTaken) => {
            let existing = accounts
                .account_by_instagram_id(&wanted.instagram_account_id)
                .await?
                .ok_or(AccountStoreError::InstagramAccountTaken)?;
            update_token(accounts, cipher, clock, existing, &wanted.access_token).await
        }
        Err(error) => Err(error.into()),
    }
}

/// `ig_<id>`, keeping only the characters a username allows, at most [`Username::MAX_LEN`].
///
/// # Errors
/// Never in practice: `ig_` followed by letters, digits, `.` and `_` is a valid username.
pub fn placeholder_username(instagram_id: &str) -> Result<Username, ValidationError> {
    let text: String = "ig_"
        .chars()
        .chain(
            instagram_id
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_')),
        )
        .take(Username::MAX_LEN)
        .collect();
    Username::parse(&text)
}

/// 32 random bytes as 64 hex digits: the text a CRM webhook secret is stored as.
///
/// # Errors
/// [`RandomUnavailable`] when the system generator fails.
pub fn generate_webhook_secret() -> Result<SecretString, RandomUnavailable> {
    let bytes = random::bytes::<WEBHOOK_SECRET_LEN>()?;
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    Ok(SecretString::from(hex))
}

async fn update_token(
    accounts: &dyn AccountStore,
    cipher: &dyn CredentialCipher,
    clock: &dyn Clock,
    existing: Account,
    token: &SecretString,
) -> Result<BootstrapOutcome, BootstrapError> {
    // A value no key opens (checked at start-up for one account only) is simply replaced.
    let same = cipher
        .open(&existing.id, &existing.access_token)
        .is_ok_and(|stored| stored.expose_secret() == token.expose_secret());
    if same {
        return Ok(BootstrapOutcome::Unchanged(existing.id));
    }
    let changes = AccountChanges {
        access_token: Some(
            cipher
                .seal(&existing.id, token)
                .map_err(BootstrapError::Seal)?,
        ),
        ..AccountChanges::default()
    };
    accounts
        .update_account(&existing.id, changes, clock.now())
        .await?;
    Ok(BootstrapOutcome::TokenUpdated(existing.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_usernames_are_valid_and_short() {
        assert_eq!(
            placeholder_username("17841400000000000").unwrap().as_str(),
            "ig_17841400000000000"
        );
        assert_eq!(
            placeholder_username(&"9".repeat(64))
                .unwrap()
                .as_str()
                .len(),
            30
        );
        assert_eq!(placeholder_username("a-b:c").unwrap().as_str(), "ig_abc");
    }

    #[test]
    fn webhook_secrets_are_32_random_bytes() {
        let one = generate_webhook_secret().unwrap();
        let two = generate_webhook_secret().unwrap();
        assert_eq!(one.expose_secret().len(), 64);
        assert_ne!(one.expose_secret(), two.expose_secret());
    }
}

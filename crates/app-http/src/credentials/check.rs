//! The start-up check that the configured keys open what is stored: a service started with the
//! wrong `CREDENTIALS_KEY` would otherwise fail every Graph API call and CRM signature later, one
//! message at a time.

use domain::AccountId;
use domain::PageRequest;
use domain::ports::{AccountStore, AccountStoreError, CredentialCipher};

/// No configured key opens the stored credentials: the operator must fix `CREDENTIALS_KEY`.
#[derive(Debug, thiserror::Error)]
#[error(
    "CREDENTIALS_KEY does not decrypt the stored credentials of account {account}: set \
     CREDENTIALS_KEY to the key they were encrypted with (during a rotation, the old key goes in \
     CREDENTIALS_KEY_PREVIOUS)"
)]
pub struct CredentialsKeyMismatch {
    /// The account whose credentials did not open.
    pub account: AccountId,
}

/// Why the check could not say yes.
#[derive(Debug, thiserror::Error)]
pub enum CheckKeyError {
    /// The keys do not open the stored values.
    #[error(transparent)]
    Mismatch(#[from] CredentialsKeyMismatch),
    /// The accounts could not be read.
    #[error("could not read an account to check CREDENTIALS_KEY")]
    Store(#[source] AccountStoreError),
}

/// Opens the newest account's access token and webhook secret, when there is an account.
///
/// One account is enough to catch a wrong key: every value is sealed under the same key (or the
/// previous one, during a rotation).
///
/// # Errors
/// [`CheckKeyError::Mismatch`] when neither configured key opens them; `Store` when the database
/// fails.
pub async fn check_key(
    accounts: &dyn AccountStore,
    cipher: &dyn CredentialCipher,
) -> Result<(), CheckKeyError> {
    let page = PageRequest {
        limit: 1,
        after: None,
    };
    let newest = accounts
        .list_accounts(None, &page)
        .await
        .map_err(CheckKeyError::Store)?;
    let Some(account) = newest.items.first() else {
        return Ok(());
    };
    for sealed in [&account.access_token, &account.webhook_secret] {
        if cipher.open(&account.id, sealed).is_err() {
            return Err(CredentialsKeyMismatch {
                account: account.id.clone(),
            }
            .into());
        }
    }
    Ok(())
}

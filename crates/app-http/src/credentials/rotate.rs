//! `igrouter credentials rotate`: re-encrypts every account's access token and webhook secret
//! under `CREDENTIALS_KEY`, reading each with `CREDENTIALS_KEY` or `CREDENTIALS_KEY_PREVIOUS`.
//!
//! Accounts are read page by page, newest first, and each one is updated on its own. Rotation is
//! idempotent: if it stops half way (a crash, an account no key opens), every account already
//! done opens with the current key, so running it again with the same keys finishes the job.

use domain::ports::{AccountStore, AccountStoreError, Clock, CredentialCipher};
use domain::{AccountChanges, AccountId, PageRequest};

use super::check::CredentialsKeyMismatch;
use super::cipher::AesGcmCipher;

/// Why a rotation stopped.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    /// Neither configured key opens this account's credentials.
    #[error(transparent)]
    Mismatch(#[from] CredentialsKeyMismatch),
    /// Encryption failed (no randomness).
    #[error("could not encrypt the credentials of account {account}")]
    Seal {
        /// The account being rotated.
        account: AccountId,
    },
    /// The database failed.
    #[error("could not read or update the accounts")]
    Store(#[from] AccountStoreError),
}

/// Re-seals every account's credentials under the current key; returns how many accounts were
/// rotated.
///
/// # Errors
/// [`RotateError`] at the first account that cannot be opened or written.
pub async fn rotate_all(
    accounts: &dyn AccountStore,
    cipher: &AesGcmCipher,
    clock: &dyn Clock,
) -> Result<u64, RotateError> {
    let mut rotated = 0_u64;
    let mut page = PageRequest::first();
    loop {
        let listing = accounts.list_accounts(None, &page).await?;
        for account in &listing.items {
            let mismatch = || CredentialsKeyMismatch {
                account: account.id.clone(),
            };
            let seal_failed = |_| RotateError::Seal {
                account: account.id.clone(),
            };
            let (token, _) = cipher
                .open_reporting(&account.id, &account.access_token)
                .map_err(|_| mismatch())?;
            let (secret, _) = cipher
                .open_reporting(&account.id, &account.webhook_secret)
                .map_err(|_| mismatch())?;
            let changes = AccountChanges {
                access_token: Some(cipher.seal(&account.id, &token).map_err(seal_failed)?),
                webhook_secret: Some(cipher.seal(&account.id, &secret).map_err(seal_failed)?),
                // Setting a token clears this mark; a rotation must keep Meta's verdict.
                token_invalid_since: Some(account.token_invalid_since),
                ..AccountChanges::default()
            };
            if accounts
                .update_account(&account.id, changes, clock.now())
                .await?
                .is_some()
            {
                rotated += 1;
                tracing::debug!(account.id = %account.id, "credentials re-encrypted");
            }
        }
        match listing.next {
            Some(next) => page.after = Some(next),
            None => return Ok(rotated),
        }
    }
}

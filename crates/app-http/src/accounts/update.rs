//! Changing and deleting an account: `PATCH` and `DELETE /api/v1/accounts/{id}`.

use domain::ports::{AccountStore, Clock, CredentialCipher};
use domain::{Account, AccountChanges, AccountId, Username, WebhookUrl};
use secrecy::SecretString;

use super::AccountWriteError;
use crate::webhook_url::{DestinationPolicy, check_destination};

/// What a client may change; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct AccountUpdate {
    /// New username.
    pub username: Option<Username>,
    /// New access token, in clear; setting one clears the token-invalid mark.
    pub access_token: Option<SecretString>,
    /// New CRM URL; `Some(None)` stops forwarding.
    pub crm_webhook_url: Option<Option<WebhookUrl>>,
    /// New CRM signing secret, in clear.
    pub webhook_secret: Option<SecretString>,
}

impl AccountUpdate {
    /// True when nothing would change.
    fn is_empty(&self) -> bool {
        self.username.is_none()
            && self.access_token.is_none()
            && self.crm_webhook_url.is_none()
            && self.webhook_secret.is_none()
    }
}

/// Applies `update` to account `id` and returns it as stored afterwards; `None` when it does not
/// exist. An empty update writes nothing (and leaves `updated_at` alone).
///
/// # Errors
/// [`AccountWriteError::Destination`] for a refused `crm_webhook_url`; `Seal` or `Store` when a
/// dependency fails.
pub async fn update(
    store: &dyn AccountStore,
    cipher: &dyn CredentialCipher,
    clock: &dyn Clock,
    destinations: DestinationPolicy,
    id: &AccountId,
    update: AccountUpdate,
) -> Result<Option<Account>, AccountWriteError> {
    if update.is_empty() {
        return Ok(store.account(id).await?);
    }
    if let Some(Some(url)) = &update.crm_webhook_url {
        check_destination(url, destinations)
            .await
            .map_err(AccountWriteError::Destination)?;
    }
    let seal = |secret: &SecretString| cipher.seal(id, secret).map_err(AccountWriteError::Seal);
    let changes = AccountChanges {
        username: update.username,
        access_token: update.access_token.as_ref().map(seal).transpose()?,
        webhook_secret: update.webhook_secret.as_ref().map(seal).transpose()?,
        crm_webhook_url: update.crm_webhook_url,
        ..AccountChanges::default()
    };
    Ok(store.update_account(id, changes, clock.now()).await?)
}

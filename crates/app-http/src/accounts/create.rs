//! Creating an account: `POST /api/v1/accounts`.

use domain::account::DEFAULT_SEND_RATE_PER_SECOND;
use domain::ports::{AccountStore, Clock, CredentialCipher};
use domain::{Account, InstagramId, Username, WebhookUrl};
use secrecy::SecretString;

use super::AccountWriteError;
use crate::bootstrap::generate_webhook_secret;
use crate::random;
use crate::webhook_url::{DestinationPolicy, check_destination};

/// A new account, validated.
#[derive(Debug)]
pub struct NewAccount {
    /// Meta's id for the business account.
    pub instagram_account_id: InstagramId,
    /// Its Instagram username.
    pub username: Username,
    /// The Graph API access token, in clear (sealed before it is stored).
    pub access_token: SecretString,
    /// Where its events go; `None` stores them without forwarding.
    pub crm_webhook_url: Option<WebhookUrl>,
    /// The CRM signing secret; `None` generates one.
    pub webhook_secret: Option<SecretString>,
}

/// The account as stored, and the webhook secret when it was generated here: the only moment it
/// can be told to the client.
#[derive(Debug)]
pub struct CreatedAccount {
    /// The stored account (credentials sealed).
    pub account: Account,
    /// The generated webhook secret; `None` when the client chose one.
    pub generated_webhook_secret: Option<SecretString>,
}

/// Checks the CRM URL's destination, seals the credentials for a fresh account id and stores the
/// account.
///
/// # Errors
/// [`AccountWriteError::Destination`] for a refused `crm_webhook_url`;
/// `Store(InstagramAccountTaken)` when an account has this Instagram id already; `Random`,
/// `Seal` or `Store` when a dependency fails.
pub async fn create(
    store: &dyn AccountStore,
    cipher: &dyn CredentialCipher,
    clock: &dyn Clock,
    destinations: DestinationPolicy,
    new: NewAccount,
) -> Result<CreatedAccount, AccountWriteError> {
    if let Some(url) = &new.crm_webhook_url {
        check_destination(url, destinations)
            .await
            .map_err(AccountWriteError::Destination)?;
    }
    let id = random::account_id()?;
    let (webhook_secret, generated) = match new.webhook_secret {
        Some(chosen) => (chosen, false),
        None => (generate_webhook_secret()?, true),
    };
    let now = clock.now();
    let account = Account {
        instagram_account_id: new.instagram_account_id,
        username: new.username,
        access_token: cipher
            .seal(&id, &new.access_token)
            .map_err(AccountWriteError::Seal)?,
        webhook_secret: cipher
            .seal(&id, &webhook_secret)
            .map_err(AccountWriteError::Seal)?,
        crm_webhook_url: new.crm_webhook_url,
        token_invalid_since: None,
        send_rate_per_second: DEFAULT_SEND_RATE_PER_SECOND,
        created_at: now,
        updated_at: now,
        id,
    };
    store.create_account(&account).await?;
    Ok(CreatedAccount {
        account,
        generated_webhook_secret: generated.then_some(webhook_secret),
    })
}

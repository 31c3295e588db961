//! Account administration, the use cases behind `POST`/`PATCH`/`DELETE /api/v1/accounts`: input
//! already parsed into domain types goes in, credentials are sealed for the account they belong
//! to, the CRM URL's destination is checked, and the store is called once.

mod cache;
mod create;
mod secrets;
mod update;

use domain::ports::{AccountStoreError, CipherError};

use crate::random::RandomUnavailable;
use crate::webhook_url::DestinationError;

pub use cache::{CachedAccounts, LOOKUP_TTL};
pub use create::{CreatedAccount, NewAccount, create};
pub use secrets::{
    ACCESS_TOKEN_MAX_LEN, WEBHOOK_SECRET_MAX_LEN, WEBHOOK_SECRET_MIN_LEN, parse_access_token,
    parse_webhook_secret,
};
pub use update::{AccountUpdate, update};

/// Why an account could not be created or changed.
#[derive(Debug, thiserror::Error)]
pub enum AccountWriteError {
    /// The CRM webhook URL points somewhere this deployment refuses.
    #[error("crm_webhook_url refused")]
    Destination(#[source] DestinationError),
    /// No randomness for the id or the webhook secret.
    #[error(transparent)]
    Random(#[from] RandomUnavailable),
    /// A credential could not be encrypted.
    #[error("could not encrypt the account's credentials")]
    Seal(#[source] CipherError),
    /// The store refused or failed (`InstagramAccountTaken` among others).
    #[error(transparent)]
    Store(#[from] AccountStoreError),
}

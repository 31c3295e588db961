//! The accounts resource's public JSON: the account as the CRM sees it (never with a credential),
//! and the create and update bodies, parsed into the use cases' domain-typed input.

use domain::{Account, InstagramId, Username, ValidationError, WebhookUrl};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::accounts::{
    AccountUpdate, CreatedAccount, NewAccount, parse_access_token, parse_webhook_secret,
};
use crate::routes::json_fields::{nullable_string, optional_string, present, required_string};

/// An account in API answers. Credentials are deliberately absent: they are write-only.
#[derive(Debug, Serialize)]
pub(super) struct AccountDto {
    id: String,
    instagram_account_id: String,
    username: String,
    crm_webhook_url: Option<String>,
    token_invalid: bool,
    send_rate_per_second: u32,
    created_at: String,
    updated_at: String,
}

/// The `201` answer to a create: the account, plus the webhook secret when igrouter generated it
/// (the one time it is ever shown).
#[derive(Serialize)]
pub(super) struct CreatedAccountDto {
    #[serde(flatten)]
    account: AccountDto,
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_secret: Option<String>,
}

/// One page of accounts.
#[derive(Debug, Serialize)]
pub(super) struct AccountPage {
    pub(super) data: Vec<AccountDto>,
    pub(super) next_cursor: Option<String>,
}

/// `POST /api/v1/accounts`. No `Debug`: it holds the token and the secret in clear.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateAccountBody {
    #[serde(default, deserialize_with = "present")]
    instagram_account_id: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    username: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    access_token: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    crm_webhook_url: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    webhook_secret: Option<Value>,
}

/// `PATCH /api/v1/accounts/{id}`: every member optional. No `Debug`, as above.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateAccountBody {
    #[serde(default, deserialize_with = "present")]
    username: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    access_token: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    crm_webhook_url: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    webhook_secret: Option<Value>,
}

impl From<&Account> for AccountDto {
    fn from(account: &Account) -> Self {
        Self {
            id: account.id.to_string(),
            instagram_account_id: account.instagram_account_id.to_string(),
            username: account.username.as_str().to_owned(),
            crm_webhook_url: account
                .crm_webhook_url
                .as_ref()
                .map(|url| url.as_str().to_owned()),
            token_invalid: account.token_invalid_since.is_some(),
            send_rate_per_second: account.send_rate_per_second,
            created_at: account.created_at.to_rfc3339(),
            updated_at: account.updated_at.to_rfc3339(),
        }
    }
}

impl From<&CreatedAccount> for CreatedAccountDto {
    fn from(created: &CreatedAccount) -> Self {
        Self {
            account: AccountDto::from(&created.account),
            webhook_secret: created
                .generated_webhook_secret
                .as_ref()
                .map(|secret| secret.expose_secret().to_owned()),
        }
    }
}

impl CreateAccountBody {
    /// The new account, validated field by field in the order of the contract.
    ///
    /// `crm_webhook_url` must be there, but may be `null`: such an account's events are stored
    /// and not forwarded until a URL is set. A `null` `webhook_secret` is the same as none: one is
    /// generated.
    pub(super) fn parse(self) -> Result<NewAccount, ValidationError> {
        const URL: &str = "crm_webhook_url";
        let instagram_account_id = InstagramId::parse(
            "instagram_account_id",
            &required_string("instagram_account_id", self.instagram_account_id)?,
        )?;
        let username = Username::parse(&required_string("username", self.username)?)?;
        let access_token = parse_access_token(required_string("access_token", self.access_token)?)?;
        let crm_webhook_url = match nullable_string(URL, self.crm_webhook_url)? {
            None => {
                return Err(ValidationError::new(
                    URL,
                    "is required (null stores events without forwarding them)",
                ));
            }
            Some(url) => url.map(|url| WebhookUrl::parse(URL, &url)).transpose()?,
        };
        let webhook_secret = nullable_string("webhook_secret", self.webhook_secret)?
            .flatten()
            .map(parse_webhook_secret)
            .transpose()?;
        Ok(NewAccount {
            instagram_account_id,
            username,
            access_token,
            crm_webhook_url,
            webhook_secret,
        })
    }
}

impl UpdateAccountBody {
    /// The changes, validated; `crm_webhook_url: null` stops forwarding, other members cannot be
    /// `null`.
    pub(super) fn parse(self) -> Result<AccountUpdate, ValidationError> {
        const URL: &str = "crm_webhook_url";
        Ok(AccountUpdate {
            username: optional_string("username", self.username)?
                .map(|username| Username::parse(&username))
                .transpose()?,
            access_token: optional_string("access_token", self.access_token)?
                .map(parse_access_token)
                .transpose()?,
            crm_webhook_url: nullable_string(URL, self.crm_webhook_url)?
                .map(|url| url.map(|url| WebhookUrl::parse(URL, &url)).transpose())
                .transpose()?,
            webhook_secret: optional_string("webhook_secret", self.webhook_secret)?
                .map(parse_webhook_secret)
                .transpose()?,
        })
    }
}
